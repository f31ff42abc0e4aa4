"""``insightloop quarantine``: list, show, export and retry the rows a contract rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import ibis
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer
from rich.table import Table

from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.cli.render import render_load
from insightloop.workspace import Workspace

quarantine_app = typer.Typer(
    help="Rows that broke a data contract: why, where from, and retrying them after a fix.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

SourceOption = Annotated[str | None, typer.Option("--source", "-s", help="Only this source.")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", "-r", help="Only rows with this reason code.")
]
ResolvedOption = Annotated[
    bool, typer.Option("--resolved/--unresolved", help="Rows loaded by a retry, or still held.")
]


def _held(ws: Workspace, source: str | None, reason: str | None, resolved: bool) -> Any:
    t = ws.engine.table("quarantine")
    t = t.filter(t.resolved.fill_null(False) == resolved)
    if source is not None:
        t = t.filter(t.source == source)
    if reason is not None:
        t = t.filter(t.reason_codes.contains(reason))
    return t


@quarantine_app.command("list")
def list_rows(
    source: SourceOption = None,
    reason: ReasonOption = None,
    resolved: ResolvedOption = False,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Counts per source and reason, then the latest rows (without their values: use `show`)."""
    with Workspace.open(workspace, read_only=True) as ws:
        t = _held(ws, source, reason, resolved)
        codes = t.select("source", code=t.reason_codes.unnest())
        counts = ws.engine.records(
            codes.group_by("source", "code")
            .aggregate(rows=codes.count())
            .order_by("source", ibis.desc("rows"))
        )
        total = int(ws.engine.execute(t.count()))
        rows = ws.engine.records(
            t.select("quarantine_id", "source", "entity", "location", "reason_codes",
                     "quarantined_at", "retried_at")
            .order_by(ibis.desc("quarantined_at"), "location")
            .limit(limit)
        )  # fmt: skip
    if as_json:
        print_json({"total": total, "by_reason": counts, "rows": rows})
        return
    state = "resolved" if resolved else "held"
    if total == 0:
        console.print(f"No {state} rows in the quarantine.")
        return
    summary = Table("source", "reason", "rows", title=f"{total:,} {state} rows by reason")
    for c in counts:
        summary.add_row(c["source"], c["code"], f"{c['rows']:,}")
    console.print(summary)
    table = Table("id", "source", "entity", "location", "reasons", "quarantined at")
    for r in rows:
        table.add_row(
            r["quarantine_id"][:12], r["source"], r["entity"], r["location"],
            ", ".join(r["reason_codes"]), str(r["quarantined_at"])[:19],
        )  # fmt: skip
    console.print(table)
    if total > len(rows):
        console.print(f"{len(rows)} of {total:,} shown; --limit shows more, `export` writes all.")


@quarantine_app.command("show")
def show(
    quarantine_id: Annotated[str, typer.Argument(help="The row's id (or its first characters).")],
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """One quarantined row with its raw values, exactly as received."""
    with Workspace.open(workspace, read_only=True) as ws:
        t = ws.engine.table("quarantine")
        rows = ws.engine.records(t.filter(t.quarantine_id.startswith(quarantine_id)).limit(2))
    if not rows:
        fail(f"No quarantined row has an id starting with {quarantine_id!r}.",
             hint="`insightloop quarantine list` shows the ids.")  # fmt: skip
    if len(rows) > 1:
        fail(f"Several rows have an id starting with {quarantine_id!r}.",
             hint="Give more characters of the id.")  # fmt: skip
    row = rows[0]
    row["raw"] = json.loads(row["raw"])
    if as_json:
        print_json(row)
        return
    for key, value in row.items():
        if key != "raw":
            console.print(f"[bold]{key}[/]: {value}")
    values = Table("raw column", "value", title="Values as received")
    for column, value in row["raw"].items():
        values.add_row(column, "" if value is None else repr(value))
    console.print(values)


@quarantine_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="File to write: .csv, .jsonl or .parquet.")],
    source: SourceOption = None,
    reason: ReasonOption = None,
    resolved: ResolvedOption = False,
    workspace: WorkspaceOption = Path("."),
) -> None:
    """Write the quarantined rows, raw values included, to a file for repair."""
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".parquet"):
        fail(f"Cannot write {out.name!r}.", hint="End the file name in .csv, .jsonl or .parquet.")
    with Workspace.open(workspace, read_only=True) as ws:
        table = ws.engine.to_pyarrow(_held(ws, source, reason, resolved).order_by("location"))
    if suffix == ".parquet":
        pq.write_table(table, out)
    else:
        codes = [";".join(c) for c in table.column("reason_codes").to_pylist()]
        flat = table.set_column(
            table.column_names.index("reason_codes"), "reason_codes", pa.array(codes)
        )
        if suffix == ".csv":
            pa_csv.write_csv(flat, out)
        else:
            with open(out, "w", encoding="utf-8") as handle:
                for row in flat.to_pylist():
                    handle.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
    console.print(f"Wrote {table.num_rows:,} rows to {out}.")


@quarantine_app.command("retry")
def retry(
    sources: Annotated[
        list[str] | None, typer.Argument(help="Sources whose rows to retry (default: all).")
    ] = None,
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="Only these quarantine ids (repeatable).")
    ] = None,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Run held rows again through the source's current mapping and contract: those that pass
    are loaded and marked resolved, the others stay with their new reasons."""
    with Workspace.open(workspace) as ws:
        report = ws.retry_quarantine(sources, ids=ids)
    data: dict[str, Any] = report.to_dict()
    if as_json:
        print_json(data)
        return
    if not report.batches:
        console.print("No held rows to retry.")
        return
    render_load(data)
