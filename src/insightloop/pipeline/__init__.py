"""The pipeline: ordered, idempotent steps run over a workspace, with a record of every run."""

from __future__ import annotations

from insightloop.pipeline.records import RunRecord, StepRecord, last_run, new_run_id, recent_runs
from insightloop.pipeline.runner import RunObserver, run_pipeline
from insightloop.pipeline.steps import STEPS, Step, StepContext, StepResult, resolve_steps

__all__ = [
    "STEPS",
    "RunObserver",
    "RunRecord",
    "Step",
    "StepContext",
    "StepRecord",
    "StepResult",
    "last_run",
    "new_run_id",
    "recent_runs",
    "resolve_steps",
    "run_pipeline",
]
