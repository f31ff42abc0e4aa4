"""Rendering of the web pages."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from insightloop.__about__ import __version__

if TYPE_CHECKING:
    from fastapi import FastAPI

    from insightloop.pipeline import RunRecord
    from insightloop.workspace import WorkspaceStatus

__all__ = ["mount_static", "render_status_page"]

STATIC_DIR = Path(__file__).parent / "static"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("insightloop.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.filters["thousands"] = lambda n: f"{n:,}"
    return env


def render_status_page(status: WorkspaceStatus, runs: list[RunRecord]) -> str:
    """The workspace overview: schema, tables with row counts, and recent pipeline runs."""
    layers = [
        (title, [t for t in status.tables if t.layer == layer])
        for layer, title in (
            ("source", "Source-level data"),
            ("unified", "Unified customer data"),
            ("system", "System"),
        )
    ]
    return (
        _environment()
        .get_template("status.html")
        .render(status=status, layers=layers, runs=runs, last_run=status.last_run)
    )


def mount_static(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
