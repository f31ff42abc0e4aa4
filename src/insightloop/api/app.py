"""The application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from insightloop.__about__ import __version__
from insightloop.api.deps import WorkspaceDep
from insightloop.api.errors import install_error_handlers
from insightloop.api.routers import status
from insightloop.config import load_settings
from insightloop.errors import ConfigError
from insightloop.store import WorkspaceLayout
from insightloop.ui import mount_static, render_status_page

__all__ = ["create_app"]


def create_app(workspace: str | Path | None = None) -> FastAPI:
    """Build the application over ``workspace`` (default: ``$INSIGHTLOOP_WORKSPACE``)."""
    root = workspace if workspace is not None else os.environ.get("INSIGHTLOOP_WORKSPACE")
    if not root:
        raise ConfigError(
            "No workspace given to the server.",
            hint="Run `insightloop serve --workspace DIR` or set INSIGHTLOOP_WORKSPACE.",
        )
    layout = WorkspaceLayout(Path(root).expanduser().resolve())
    layout.require()
    # Fail at start-up, not on the first request, when the configuration is invalid.
    settings = load_settings(layout.config_file)
    logging.getLogger("insightloop").setLevel(settings.log_level)
    app = FastAPI(
        title="insightloop",
        version=__version__,
        description="Customer intelligence platform: insight API and web pages.",
        # FastAPI's Swagger and ReDoc pages load their scripts from a CDN; the product must work
        # on an offline network, so only the OpenAPI document itself is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.workspace_root = layout.root
    install_error_handlers(app)
    app.include_router(status.router)
    mount_static(app)

    @app.get("/healthz", tags=["service"], operation_id="health")
    def health() -> dict[str, str]:
        """Liveness probe: the process answers (does not touch the workspace)."""
        return {"status": "ok"}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(ws: WorkspaceDep) -> HTMLResponse:
        return HTMLResponse(render_status_page(ws.status(), ws.runs(10)))

    return app
