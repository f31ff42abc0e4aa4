"""The one exception hierarchy of insightloop.

Every error that a user can cause or fix is an :class:`InsightloopError`. Its message says what is
wrong, the current value where there is one, and what to do next. Messages never contain personal
data: they name fields, files, lines and keys, not the values of a customer record.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DemoError",
    "EngineError",
    "IdentityDecisionError",
    "InsightloopError",
    "MigrationError",
    "PipelineError",
    "WorkspaceError",
]


class InsightloopError(Exception):
    """Base class of every error insightloop raises on purpose.

    Parameters
    ----------
    message
        What went wrong, stated for the person who has to fix it.
    hint
        What to do next; shown after the message by the CLI and in the API error envelope.
    """

    code = "insightloop_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  Hint: {self.hint}" if self.hint else self.message


class ConfigError(InsightloopError):
    """A setting is missing, malformed or unsafe."""

    code = "config_error"


class WorkspaceError(InsightloopError):
    """A workspace directory is missing, incomplete or not a workspace."""

    code = "workspace_error"


class EngineError(InsightloopError):
    """The database backend failed to run a statement (the statement is attached)."""

    code = "engine_error"

    def __init__(self, message: str, *, sql: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.sql = sql


class MigrationError(InsightloopError):
    """The workspace schema cannot be brought to the version this release expects."""

    code = "migration_error"


class PipelineError(InsightloopError):
    """A pipeline step is unknown, or failed."""

    code = "pipeline_error"


class IdentityDecisionError(InsightloopError):
    """A manual identity decision (merge, unmerge, accept, reject) cannot be taken as asked."""

    code = "invalid_decision"


class DemoError(InsightloopError):
    """The demo company cannot be generated with the given arguments."""

    code = "demo_error"
