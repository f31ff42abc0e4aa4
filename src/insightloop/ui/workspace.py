"""The workspace as the pages use it: opened for one request and closed right after."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request

from insightloop.errors import EngineError
from insightloop.workspace import Workspace

__all__ = ["PageError", "open_workspace"]

# DuckDB refuses a read-only and a writing connection to one file in one process at once.
_BUSY = re.compile(r"different configuration|lock", re.IGNORECASE)


class PageError(Exception):
    """A request the page cannot serve now: shown as an error page with what to do."""

    def __init__(self, status: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.hint = hint


#: How long a page waits for the database while another task of the server holds it (the event
#: loader's passes take a fraction of a second).
WAIT_SECONDS = 3.0


def _open(request: Request, read_only: bool) -> Workspace | None:
    try:
        return Workspace.open(request.app.state.workspace_root, read_only=read_only)
    except EngineError as exc:
        if not _BUSY.search(exc.message):
            raise
        return None


@contextmanager
def open_workspace(
    request: Request, *, read_only: bool = True, wait: float = WAIT_SECONDS
) -> Iterator[Workspace]:
    """The server's workspace, for this request only (a server that held the database open
    would lock ``insightloop run`` out). While another task of the server holds it, the page
    waits up to ``wait`` seconds; still busy is a 503 page that says to try again."""
    deadline = time.monotonic() + wait
    ws = _open(request, read_only)
    while ws is None and time.monotonic() < deadline:
        time.sleep(0.05)
        ws = _open(request, read_only)
    if ws is None:
        raise PageError(
            503,
            "The workspace database is busy with another task (a pipeline run, the event loader "
            "or another change).",
            "Try again in a few seconds.",
        )
    try:
        yield ws
    finally:
        ws.close()
