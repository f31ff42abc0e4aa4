"""Dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from insightloop.workspace import Workspace

__all__ = ["WorkspaceDep"]


def _workspace(request: Request) -> Iterator[Workspace]:
    # Opened per request and closed right after: DuckDB lets one process write at a time, and a
    # server that held the file open would lock `insightloop run` out.
    root: Path = request.app.state.workspace_root
    ws = Workspace.open(root, read_only=True)
    try:
        yield ws
    finally:
        ws.close()


WorkspaceDep = Annotated[Workspace, Depends(_workspace)]
