"""insightloop: an open-source customer intelligence platform.

Collect and unify customer data, understand it, act on it, and learn from the outcomes. The Python
entry point is :class:`Workspace`; the command line is ``insightloop``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from insightloop.__about__ import __version__
from insightloop.errors import InsightloopError

if TYPE_CHECKING:
    from insightloop.workspace import Workspace, WorkspaceStatus

__all__ = ["InsightloopError", "Workspace", "WorkspaceStatus", "__version__"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that `import insightloop.errors` (and the demo generator) do not
    # pay for importing Ibis and the engines.
    if name in ("Workspace", "WorkspaceStatus"):
        from insightloop import workspace

        return getattr(workspace, name)
    raise AttributeError(f"module 'insightloop' has no attribute {name!r}")
