"""Rich rendering shared by the commands: run progress, run records, workspace status."""

from __future__ import annotations

from typing import Any, Literal

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
    for s in record.step_records:
        if s.step == "load" and s.summary.get("rows_read") is not None:
            render_account(s.summary)
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


def render_account(totals: dict[str, Any]) -> None:
    """The invariant line: read = loaded + quarantined + duplicates skipped."""
    ok = totals.get("balanced", False)
    mark = "[green]balanced[/]" if ok else "[red]DOES NOT BALANCE[/]"
    console.print(
        f"Rows read {totals['rows_read']:,} = loaded {totals['rows_loaded']:,} "
        f"(of which updated {totals['rows_updated']:,}) + quarantined "
        f"{totals['rows_quarantined']:,} + duplicates skipped {totals['duplicates_skipped']:,}: "
        f"{mark}"
    )


def render_load(report: dict[str, Any]) -> None:
    """A load report: one row per batch, the totals and the account."""
    table = Table(
        "source", "location", "status", "read", "loaded", "updated", "quarantined",
        "duplicates", "seconds", title="Load",
    )  # fmt: skip
    for b in report["batches"]:
        style = {"loaded": "green", "unchanged": "dim", "failed": "red"}.get(b["status"], "")
        table.add_row(
            b["source"], b["location"], f"[{style}]{b['status']}[/]", f"{b['rows_read']:,}",
            f"{b['rows_loaded']:,}", f"{b['rows_updated']:,}", f"{b['rows_quarantined']:,}",
            f"{b['duplicates_skipped']:,}", f"{b['seconds']:.2f}",
        )  # fmt: skip
    console.print(table)
    totals = report["totals"]
    render_account(totals)
    for code, rows in totals["rejections"].items():
        console.print(f"  quarantined for [bold]{code}[/]: {rows:,} rows")
    for code, rows in totals["warnings"].items():
        console.print(f"  loaded with warning {code}: {rows:,} rows")
    for b in report["batches"]:
        if b["status"] == "failed":
            console.print(f"[red]Failed[/] {b['source']} ({b['location']}): {b['error']}")
    if totals["rows_quarantined"]:
        console.print("See the rows with `insightloop quarantine list`.")
