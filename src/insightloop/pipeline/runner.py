"""Run pipeline steps on a workspace and record what happened."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from insightloop.config import Settings
from insightloop.errors import InsightloopError
from insightloop.pipeline.records import (
    RunRecord,
    StepRecord,
    new_run_id,
    now_utc,
    write_run,
)
from insightloop.pipeline.steps import STEPS, Step, StepContext, resolve_steps
from insightloop.store import Engine, WorkspaceLayout, migrate

__all__ = ["RunObserver", "run_pipeline"]

log = logging.getLogger(__name__)


@dataclass
class RunObserver:
    """Callbacks for progress display; every one is optional."""

    on_step_start: Callable[[Step, int, int], None] | None = None
    on_step_progress: Callable[[Step, float], None] | None = None
    on_step_end: Callable[[Step, StepRecord], None] | None = None


def _describe_failure(exc: BaseException) -> str:
    # Our own errors are written for users and hold no personal data; any other exception's text
    # could quote a customer record, so only its type goes into the run record.
    if isinstance(exc, InsightloopError):
        return str(exc)
    return f"internal error ({type(exc).__name__}); the traceback is in the workspace's logs folder"


def run_pipeline(
    engine: Engine,
    settings: Settings,
    layout: WorkspaceLayout,
    step_names: Sequence[str] | None = None,
    *,
    steps: Sequence[Step] = STEPS,
    observer: RunObserver | None = None,
) -> RunRecord:
    """Run the named steps (default: all), in pipeline order, and record the run.

    Pending schema migrations are applied first. A failed step fails the run; with
    ``pipeline.stop_on_error`` (the default) the later steps are recorded as skipped.

    Returns
    -------
    RunRecord
        The finished run; its ``status`` is ``succeeded`` or ``failed``.

    Raises
    ------
    PipelineError
        Before anything runs, when a step name is unknown.
    """
    observer = observer or RunObserver()
    selected = resolve_steps(step_names, steps)
    migrate(engine)
    run = RunRecord(
        run_id=new_run_id(),
        started_at=now_utc(),
        status="running",
        steps=[s.name for s in selected],
        backend=engine.backend,
    )
    write_run(engine, run)
    failed = False
    for position, step in enumerate(selected):
        if failed and settings.pipeline.stop_on_error:
            run.step_records.append(StepRecord(step.name, position, "skipped"))
            continue
        if observer.on_step_start:
            observer.on_step_start(step, position, len(selected))

        def report(fraction: float, step: Step = step) -> None:
            if observer.on_step_progress:
                observer.on_step_progress(step, fraction)

        ctx = StepContext(engine, settings, layout, run.run_id, progress=report)
        record = StepRecord(step.name, position, "succeeded", started_at=now_utc())
        try:
            result = step.run(ctx)
            record.rows_written = result.rows_written
            record.summary = result.summary
        except Exception as exc:
            log.exception("pipeline step %s failed in run %s", step.name, run.run_id)
            record.status = "failed"
            record.error = _describe_failure(exc)
            run.error = f"step '{step.name}' failed: {record.error}"
            failed = True
        record.finished_at = now_utc()
        run.step_records.append(record)
        if observer.on_step_end:
            observer.on_step_end(step, record)
    run.status = "failed" if failed else "succeeded"
    run.finished_at = now_utc()
    write_run(engine, run)
    return run
