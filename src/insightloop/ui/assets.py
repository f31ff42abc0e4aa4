"""The UI's static files: its own style sheet and script, htmx (vendored) and Plotly (from the
installed ``plotly`` package), all served by the app itself so the UI works on an offline
network."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import metadata, resources
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = [
    "HTMX_SHA256",
    "HTMX_VERSION",
    "STATIC_DIR",
    "asset_url",
    "assets_router",
    "mount_static",
    "plotly_js",
    "plotly_url",
]

STATIC_DIR = Path(__file__).parent / "static"
#: The vendored htmx (static/vendor/htmx/README.md says where it comes from).
HTMX_VERSION = "2.0.11"
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
_YEAR = "public, max-age=31536000, immutable"


@cache
def plotly_js() -> Path:
    """plotly.js as the ``plotly`` Python package ships it."""
    path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():
        raise FileNotFoundError(
            f"plotly.min.js is missing from the plotly package ({path}); reinstall it: "
            "pip install --force-reinstall plotly"
        )
    return path


@cache
def plotly_url() -> str:
    """The address of plotly.js, with the package's version in it (so it can be cached)."""
    return f"/assets/plotly-{metadata.version('plotly')}.min.js"


@cache
def asset_url(name: str) -> str:
    """The address of one of the UI's own static files (``pages/segments.js``), with a short
    hash of its content in it, so browsers cache it until it changes."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


assets_router = APIRouter(include_in_schema=False)


@assets_router.get("/assets/plotly-{version}.min.js")
def plotly(version: str) -> FileResponse:
    return FileResponse(plotly_js(), media_type="text/javascript", headers={"Cache-Control": _YEAR})


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
