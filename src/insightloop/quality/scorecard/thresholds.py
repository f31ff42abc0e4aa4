"""The thresholds that decide which measures are flagged, and the shape of a measure row.

Every measure of the scorecard is one row of the ``quality_metrics`` table. The functions that
compute measures return Arrow tables in that table's schema (:func:`quality_metrics_schema`) so the
caller inserts them as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Self, get_args

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from insightloop.errors import ConfigError
from insightloop.store.schema import table_spec

__all__ = [
    "METRICS",
    "METRICS_TABLE",
    "Metric",
    "QualityThresholds",
    "measure_table",
    "quality_metrics_schema",
]

METRICS_TABLE = "quality_metrics"

Metric = Literal["completeness", "validity", "uniqueness", "freshness", "volume"]
METRICS: tuple[Metric, ...] = get_args(Metric)
"""The metrics of the scorecard, in the order a report shows them."""


class QualityThresholds(BaseModel):
    """When a measure is flagged. Every value has a default; override any of them per source.

    Examples
    --------
    >>> QualityThresholds().min_validity
    0.95
    >>> QualityThresholds.from_config({"min_validity": 0.9}, {"volume_low": 0.3}).volume_low
    0.3
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_required_completeness: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Completeness below this is flagged for columns the contract requires.",
    )
    max_completeness_drop: float = Field(
        default=0.20,
        ge=0,
        le=1,
        description="A column's completeness falling by more than this against the source's "
        "previous batch is flagged (0.20 = 20 percentage points).",
    )
    min_validity: float = Field(
        default=0.95,
        ge=0,
        le=1,
        description="Validity (per column and of the batch) below this is flagged.",
    )
    min_uniqueness: float = Field(
        default=0.99, ge=0, le=1, description="Uniqueness below this is flagged."
    )
    volume_history: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Earlier loaded batches whose median is the usual volume.",
    )
    volume_min_history: int = Field(
        default=3, ge=1, description="Fewer earlier batches than this: the volume is not judged."
    )
    volume_low: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Rows read below this share of the usual volume are flagged.",
    )
    volume_high: float = Field(
        default=2.0,
        ge=1,
        description="Rows read above this multiple of the usual volume are flagged.",
    )
    max_age_hours: float | None = Field(
        default=None,
        gt=0,
        description="Freshness older than this many hours is flagged; None reports it only.",
    )

    @model_validator(mode="after")
    def _history_fits(self) -> Self:
        if self.volume_min_history > self.volume_history:
            raise ValueError(
                f"volume_min_history ({self.volume_min_history}) exceeds volume_history "
                f"({self.volume_history}); no batch could ever be judged"
            )
        return self

    @classmethod
    def from_config(cls, *layers: Mapping[str, Any] | None) -> QualityThresholds:
        """The defaults changed by each layer in turn (e.g. workspace-wide, then per source).

        Raises
        ------
        ConfigError
            Listing every invalid or unknown setting at once, with the value given.
        """
        merged: dict[str, Any] = {}
        for layer in layers:
            merged.update(layer or {})
        try:
            return cls.model_validate(merged)
        except ValidationError as exc:
            problems = [_problem(e) for e in exc.errors()]
            raise ConfigError(
                f"The data-quality thresholds have {len(problems)} problem(s):"
                + "".join(f"\n  - {p}" for p in problems),
                hint="Fix the settings listed; see docs/data-quality.md for each threshold.",
            ) from None


def _problem(error: Any) -> str:
    name = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        known = ", ".join(QualityThresholds.model_fields)
        return f"{name}: unknown setting; use one of {known}."
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{name}: {message} (got {error['input']!r})." if name else f"{message}."


def quality_metrics_schema() -> pa.Schema:
    """The Arrow schema of the ``quality_metrics`` table.

    Examples
    --------
    >>> quality_metrics_schema().names[:6]
    ['batch_id', 'run_id', 'source', 'entity', 'metric', 'field']
    """
    return table_spec(METRICS_TABLE).schema().to_pyarrow()


def utc_naive(moment: datetime) -> datetime:
    """``moment`` as a naive UTC timestamp, the convention of every table (naive means UTC).

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> utc_naive(datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))
    datetime.datetime(2025, 1, 1, 10, 0)
    """
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def detail_json(detail: Mapping[str, Any]) -> str:
    """A measure's detail as compact JSON text with sorted keys (never values of a record)."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)


def measure_table(
    measures: Sequence[Mapping[str, Any]],
    *,
    batch_id: str,
    run_id: str,
    source: str | None,
    entity: str | None,
    measured_at: datetime,
) -> pa.Table:
    """Rows of ``quality_metrics`` from measures (``metric``, ``field``, ``value``, ``flagged``,
    ``detail``), stamped with the shared columns; ``source`` and ``entity`` may come per
    measure instead."""
    at = utc_naive(measured_at)
    rows = [
        {
            "batch_id": batch_id,
            "run_id": run_id,
            "source": m.get("source", source),
            "entity": m.get("entity", entity),
            "metric": m["metric"],
            "field": m.get("field", ""),
            "value": None if m["value"] is None else float(m["value"]),
            "flagged": bool(m["flagged"]),
            "detail": detail_json(m["detail"]),
            "measured_at": at,
        }
        for m in measures
    ]
    return pa.Table.from_pylist(rows, schema=quality_metrics_schema())
