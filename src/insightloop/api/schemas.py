"""Response schemas of the API (one family per resource)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ErrorPublic", "RunPublic", "RunsPublic", "StatusPublic", "TablePublic"]


class ErrorPublic(BaseModel):
    code: str = Field(description="Stable machine-readable error code.")
    message: str = Field(description="What went wrong.")
    hint: str | None = Field(None, description="What to do about it.")


class TablePublic(BaseModel):
    name: str
    layer: str
    owner: str
    rows: int


class StepRunPublic(BaseModel):
    step: str
    position: int
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    seconds: float | None
    rows_written: int
    summary: dict[str, Any]
    error: str | None


class RunPublic(BaseModel):
    run_id: str
    started_at: datetime
    finished_at: datetime | None
    seconds: float | None
    status: str
    steps: list[str]
    backend: str
    error: str | None
    step_records: list[StepRunPublic]


class RunsPublic(BaseModel):
    data: list[RunPublic]
    count: int


class StatusPublic(BaseModel):
    path: str
    name: str
    backend: str
    schema_version: int
    latest_schema_version: int
    schema_current: bool
    tables: list[TablePublic]
    last_run: RunPublic | None
