"""Storage: the workspace directory, the engine that runs Ibis expressions on DuckDB or Spark, the
canonical model and its numbered migrations."""

from __future__ import annotations

from insightloop.store.engine import BackendName, Engine
from insightloop.store.layout import WorkspaceLayout
from insightloop.store.migrate import (
    MIGRATIONS,
    Migration,
    applied_migrations,
    current_version,
    latest_version,
    migrate,
)
from insightloop.store.schema import CANONICAL_MODEL, Column, TableSpec, schema_at, table_spec

__all__ = [
    "CANONICAL_MODEL",
    "MIGRATIONS",
    "BackendName",
    "Column",
    "Engine",
    "Migration",
    "TableSpec",
    "WorkspaceLayout",
    "applied_migrations",
    "current_version",
    "latest_version",
    "migrate",
    "schema_at",
    "table_spec",
]
