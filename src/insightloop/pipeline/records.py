"""Run records: what each `insightloop run` did, kept in the workspace.

Records are append-only, because Spark's Parquet tables cannot be updated in place: a run writes a
``running`` row when it starts and its final row when it ends, and the latest row of a run is its
state. A run whose process died keeps only its ``running`` row and is reported as interrupted
once a later run has started.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import ibis

from insightloop.__about__ import __version__
from insightloop.store import Engine

__all__ = ["RunRecord", "StepRecord", "last_run", "new_run_id", "now_utc", "recent_runs"]

RUNS_TABLE = "pipeline_runs"
STEP_RUNS_TABLE = "pipeline_step_runs"

RunStatus = Literal["running", "succeeded", "failed", "interrupted"]
StepStatus = Literal["succeeded", "failed", "skipped"]


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id(at: datetime | None = None) -> str:
    """A run id that sorts by start time: ``run-20260101T120000-1a2b3c``."""
    at = at or now_utc()
    return f"run-{at:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class StepRecord:
    step: str
    position: int
    status: StepStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rows_written: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass
class RunRecord:
    run_id: str
    started_at: datetime
    status: RunStatus
    steps: list[str]
    backend: str
    finished_at: datetime | None = None
    error: str | None = None
    step_records: list[StepRecord] = field(default_factory=list)

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = self.seconds
        for rec, step in zip(out["step_records"], self.step_records, strict=True):
            rec["seconds"] = step.seconds
        return json.loads(json.dumps(out, default=str))


def write_run(engine: Engine, run: RunRecord) -> None:
    """Append the run's current state (and, once finished, its step records)."""
    engine.insert(
        RUNS_TABLE,
        [
            {
                "run_id": run.run_id,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
                "status": run.status,
                "steps": json.dumps(run.steps),
                "error": run.error,
                "backend": run.backend,
                "insightloop_version": __version__,
            }
        ],
    )
    if run.finished_at is not None and run.step_records:
        engine.insert(
            STEP_RUNS_TABLE,
            [
                {
                    "run_id": run.run_id,
                    **{k: v for k, v in asdict(s).items() if k != "summary"},
                    "summary": json.dumps(s.summary, default=str, sort_keys=True),
                }
                for s in run.step_records
            ],
        )


def recent_runs(engine: Engine, limit: int = 10) -> list[RunRecord]:
    """The latest runs, newest first, each in its latest state with its steps."""
    if not engine.has_table(RUNS_TABLE):
        return []
    t = engine.table(RUNS_TABLE)
    # A finished row outranks the running row of the same run.
    rank = ibis.row_number().over(
        group_by=t.run_id, order_by=[t.finished_at.isnull().asc(), t.finished_at.desc()]
    )
    latest = t.mutate(_rank=rank).filter(ibis._["_rank"] == 0).drop("_rank")
    rows = engine.records(latest.order_by(ibis.desc("started_at")).limit(limit))
    if not rows:
        return []
    newest_start = rows[0]["started_at"]
    s = engine.table(STEP_RUNS_TABLE)
    step_rows = engine.records(
        s.filter(s.run_id.isin([r["run_id"] for r in rows])).order_by(["run_id", "position"])
    )
    out = []
    for r in rows:
        status = r["status"]
        if status == "running" and r["started_at"] < newest_start:
            status = "interrupted"
        out.append(
            RunRecord(
                run_id=r["run_id"],
                started_at=r["started_at"],
                finished_at=r["finished_at"],
                status=status,
                steps=json.loads(r["steps"]),
                backend=r["backend"],
                error=r["error"],
                step_records=[
                    StepRecord(
                        step=x["step"],
                        position=int(x["position"]),
                        status=x["status"],
                        started_at=x["started_at"],
                        finished_at=x["finished_at"],
                        rows_written=int(x["rows_written"] or 0),
                        summary=json.loads(x["summary"]) if x["summary"] else {},
                        error=x["error"],
                    )
                    for x in step_rows
                    if x["run_id"] == r["run_id"]
                ],
            )
        )
    return out


def last_run(engine: Engine) -> RunRecord | None:
    runs = recent_runs(engine, limit=1)
    return runs[0] if runs else None
