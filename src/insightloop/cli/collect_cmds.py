"""``insightloop collect``: the landing log of received events: its state, and loading it now."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.ingest.collect import pending_bytes, segments
from insightloop.pipeline.collect import load_collected
from insightloop.workspace import Workspace

collect_app = typer.Typer(
    help="Events received by the collection API (/v1/batch, /v1/track, ...): the landing log "
    "and its loader.",
    no_args_is_help=True,
)
app.add_typer(collect_app, name="collect")


@collect_app.command("status")
def status(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """Segments of the landing log, bytes waiting to be loaded, and the last loads."""
    with Workspace.open(workspace, read_only=True) as ws:
        folder = ws.layout.landing_dir
        waiting = pending_bytes(ws.engine, folder)
        t = ws.engine.table("load_batches")
        t = t.filter(
            (t.entity == "events") & t.location.startswith("landing") & t.finished_at.notnull()
        )
        last = ws.engine.records(
            t.order_by(t.finished_at.desc())
            .limit(5)
            .select(
                "finished_at",
                "source",
                "rows_read",
                "rows_loaded",
                "rows_quarantined",
                "duplicates_skipped",
            )
        )
    files = segments(folder)
    kept = segments(folder / "loaded")
    data: dict[str, Any] = {
        "landing_dir": str(folder),
        "segments": len(files),
        "segment_bytes": sum(f.stat().st_size for f in files),
        "pending_bytes": waiting,
        "loaded_segments_kept": len(kept),
        "last_loads": [{**r, "finished_at": str(r["finished_at"])} for r in last],
    }
    if as_json:
        print_json(data)
        return
    console.print(f"Landing log: [bold]{folder}[/]")
    console.print(f"  segments being written or loaded: {len(files)}")
    console.print(f"  waiting to be loaded: {waiting:,} bytes")
    console.print(f"  loaded segments kept for replay: {len(kept)}")
    if last:
        table = Table("finished", "source", "read", "loaded", "quarantined", "duplicates",
                      title="Last loads of received events")  # fmt: skip
        for r in last:
            table.add_row(str(r["finished_at"])[:19], r["source"], str(r["rows_read"]),
                          str(r["rows_loaded"]), str(r["rows_quarantined"]),
                          str(r["duplicates_skipped"]))  # fmt: skip
        console.print(table)


@collect_app.command("load")
def load(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """Load the received events now (the server does this every few seconds by itself)."""
    with Workspace.open(workspace) as ws:
        run_id = f"collect-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        report = load_collected(ws.engine, ws.settings, ws.layout, run_id=run_id, wait=False)
    if report is None:
        fail(
            "Another loader is running (a server's background loader, or another "
            "`insightloop collect load`).",
            hint="Wait for it: a server loads every collect.load_interval_seconds by itself.",
        )
    assert report is not None
    if as_json:
        print_json(report.to_dict())
        return
    console.print(
        f"Loaded {report.rows_loaded:,} received message(s) from {report.records:,} request(s); "
        f"{report.rows_quarantined:,} quarantined, {report.duplicates_skipped:,} duplicate(s) "
        f"skipped; {report.devices_attached:,} device(s) attached to customers."
    )
    for damage in report.damaged:
        console.print(f"[yellow]warning:[/] unreadable end of a segment: {damage}")
