"""``insightloop serve``: the HTTP server (API and web pages) over a workspace."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from insightloop.cli.app import WorkspaceOption, app, console
from insightloop.config import load_settings
from insightloop.store import WorkspaceLayout

__all__ = ["serve", "serve_workspace"]


def serve_workspace(root: Path, host: str, port: int, workers: int = 1) -> None:
    """Run the server in the foreground until interrupted."""
    import uvicorn

    from insightloop.api.loader_process import start_loader_process, stop_loader_process

    # The app factory reads the workspace from the environment, which worker processes inherit.
    os.environ["INSIGHTLOOP_WORKSPACE"] = str(root)
    # Received events are loaded by a process of their own, not by the workers that answer.
    loader = start_loader_process(root)
    console.print(f"insightloop is serving [bold]{root}[/] at [bold]http://{host}:{port}/[/]")
    console.print("Press Ctrl+C to stop.")
    try:
        uvicorn.run(
            "insightloop.api.app:serving_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,  # not shown at warning level, but its arguments cost per request
            # uvloop + httptools: the default h11 stack stalls keep-alive responses
            # (ARCHITECTURE.md).
            loop="auto",
            http="auto",
        )
    finally:
        stop_loader_process(loader)  # after its last pass over what has landed


@app.command()
def serve(
    workspace: WorkspaceOption = Path("."),
    host: Annotated[str | None, typer.Option(help="Interface (default: server.host).")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: server.port).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (default: server.workers).")
    ] = None,
) -> None:
    """Serve the workspace's web pages and API."""
    layout = WorkspaceLayout(workspace.expanduser().resolve())
    layout.require()
    server = load_settings(layout.config_file).server
    serve_workspace(
        layout.root, host or server.host, port or server.port, workers or server.workers
    )
