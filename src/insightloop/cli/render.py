"""Rich rendering shared by the commands: run progress, run records, workspace status."""

from __future__ import annotations

from typing import Literal

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from insightloop.cli.app import console
from insightloop.pipeline import RunObserver, RunRecord, Step, StepRecord
from insightloop.workspace import Workspace, WorkspaceStatus

__all__ = ["STATUS_STYLE", "render_run", "render_status", "run_with_progress"]

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "red",
    "running": "yellow",
    "interrupted": "red",
    "skipped": "dim",
}


def run_with_progress(ws: Workspace, steps: list[str] | None) -> RunRecord:
    progress = Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def start(step: Step, position: int, total: int) -> None:
        tasks[step.name] = progress.add_task(f"{position + 1}/{total} {step.name}", total=1.0)

    def advance(step: Step, fraction: float) -> None:
        progress.update(tasks[step.name], completed=min(max(fraction, 0.0), 1.0))

    def end(step: Step, record: StepRecord) -> None:
        progress.update(tasks[step.name], completed=1.0)

    with progress:
        return ws.run(steps, observer=RunObserver(start, advance, end))


def render_run(record: RunRecord) -> None:
    table = Table("step", "status", "rows written", "seconds", "error", title=record.run_id)
    for s in record.step_records:
        style = STATUS_STYLE.get(s.status, "")
        seconds = f"{s.seconds:.2f}" if s.seconds is not None else ""
        table.add_row(
            s.step, f"[{style}]{s.status}[/]", str(s.rows_written), seconds, s.error or ""
        )
    console.print(table)
    style = STATUS_STYLE.get(record.status, "")
    console.print(f"Run [bold]{record.run_id}[/]: [{style}]{record.status}[/]")


def render_status(st: WorkspaceStatus) -> None:
    schema_note = "up to date" if st.schema_current else "run `insightloop migrate`"
    console.print(f"[bold]{st.name}[/] at {st.path}")
    console.print(f"  engine: {st.backend}")
    console.print(
        f"  schema: version {st.schema_version} of {st.latest_schema_version} ({schema_note})"
    )
    layers: tuple[Literal["source", "unified", "system"], ...] = ("source", "unified", "system")
    table = Table("table", "layer", "rows", "owner", title="Tables")
    for layer in layers:
        for t in (t for t in st.tables if t.layer == layer):
            table.add_row(t.name, t.layer, f"{t.rows:,}", t.owner)
    console.print(table)
    run_ = st.last_run
    if run_ is None:
        console.print("Last run: none yet (`insightloop run`).")
    else:
        style = STATUS_STYLE.get(run_.status, "")
        took = f" in {run_.seconds:.1f} s" if run_.seconds is not None else ""
        console.print(
            f"Last run: {run_.run_id} started {run_.started_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"[{style}]{run_.status}[/]{took}"
        )
        if run_.error:
            console.print(f"  error: {run_.error}")
