"""``insightloop query``: any measure by any dimensions, with filters, without writing SQL."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import MAX_ROWS, QueryResult, catalogue, parse_query, run_query
from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.config import load_settings
from insightloop.errors import InsightloopError
from insightloop.identity.config import identity_config
from insightloop.store import WorkspaceLayout
from insightloop.workspace import Workspace

__all__ = ["query"]

_EXAMPLES = """

Examples:

  insightloop query revenue,orders --by channel,period --period quarter --since 2024-01-01

  insightloop query customers,profit_12m --by value_tier --where 'country in SE,NO'

  insightloop query nps,responses --by segment --where 'orders_365d>0'
"""


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} is not a date: {value!r}.", hint=f"Give {option} as YYYY-MM-DD.")


@app.command("query", epilog=_EXAMPLES)
def query(
    measures: Annotated[
        str | None,
        typer.Argument(
            help="Measures, comma-separated: revenue, orders, customers, profit_12m, nps, ... "
            "or sum:<column> / avg:<column> of a customer attribute (see --list).",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", "-b", help="Dimensions to split by (up to 3, comma-separated)."),
    ] = None,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="A filter (repeatable, all must hold): 'country=SE', 'country!=SE', "
            "'orders_365d>0' (>=, <, <=), 'value_tier in top,middle', 'channel not in app', "
            "'recency_days between 0,90'.",
        ),
    ] = None,
    period: Annotated[
        str,
        typer.Option(
            "--period", help="Grain of the period dimension: day, week, month, quarter or year."
        ),
    ] = "month",
    since: Annotated[
        str | None, typer.Option("--since", help="Activity from this day (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Activity up to this day, included.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, max=MAX_ROWS, help="At most this many rows.")
    ] = 100,
    order: Annotated[
        str | None,
        typer.Option(
            "--order",
            help="Sort by this measure or dimension (default: the period when split by it, "
            "else the first measure).",
        ),
    ] = None,
    ascending: Annotated[bool, typer.Option("--asc", help="Sort ascending.")] = False,
    min_group_size: Annotated[
        int,
        typer.Option(
            "--min-group-size",
            min=0,
            help="Hide the figures of groups of fewer customers (small-cell suppression).",
        ),
    ] = 0,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Also write the rows to this CSV file.")
    ] = None,
    show_sql: Annotated[bool, typer.Option("--sql", help="Print the SQL the engine ran.")] = False,
    list_catalogue: Annotated[
        bool, typer.Option("--list", help="List the measures and dimensions, then exit.")
    ] = False,
    workspace: WorkspaceOption = Path("."),
    as_json: JsonOption = False,
) -> None:
    """Aggregate measures by dimensions (segment, value tier, lifecycle stage, country,
    channel, category, period, ...), with filters; a totals row closes the table."""
    if list_catalogue:
        _show_catalogue(_currency(workspace), as_json)
        return
    if not measures:
        fail(
            "Name at least one measure, e.g. `insightloop query revenue --by channel`.",
            hint="`insightloop query --list` lists the measures and dimensions.",
        )
    q = parse_query(
        measures,
        by=by,
        where=where or (),
        period=period,
        since=_day(since, "--since"),
        until=_day(until, "--until"),
        limit=limit,
        order=order,
        ascending=ascending,
    )
    with Workspace.open(workspace, read_only=True) as ws:
        result = run_query(
            ws.engine,
            q,
            identity=identity_config(ws.settings.identity),
            config=analytics_config(ws.settings.analytics),
            min_group_size=min_group_size,
        )
    if csv_file is not None:
        _write_csv(result, csv_file)
    if as_json:
        print_json(result.to_dict())
        return
    _show(result)
    if show_sql:
        console.print(Text(result.sql))
    if csv_file is not None:
        console.print(f"Wrote {len(result.rows):,} rows to {csv_file}.", highlight=False)


def _currency(workspace: Path) -> str | None:
    """The workspace's reporting currency (None outside a workspace: the list needs none)."""
    layout = WorkspaceLayout(workspace.expanduser().resolve())
    if not layout.config_file.exists():
        return None
    try:
        return analytics_config(load_settings(layout.config_file).analytics).currency
    except InsightloopError:
        return None


def _show_catalogue(currency: str | None, as_json: bool) -> None:
    cat = catalogue(currency)
    if as_json:
        print_json(cat)
        return
    measures = Table("measure", "kind", "from", "unit", "meaning", title="Measures")
    for m in cat["measures"]:
        measures.add_row(m["name"], m["kind"], m["source"], m["unit"], m["description"])
    console.print(measures)
    console.print(
        "Also sum:<column> and avg:<column> of any numeric customer attribute "
        "(docs/analytics.md lists them).",
        highlight=False,
    )
    dims = Table("dimension", "kind", "splits", "meaning", title="Dimensions")
    for d in cat["dimensions"]:
        dims.add_row(d["name"], d["kind"], ", ".join(d["applies_to"]), d["description"])
    console.print(dims)


def _cell(value: Any, unit: str = "") -> Text:
    if value is None:
        return Text("")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, int):
        return Text(f"{value:,}")
    if isinstance(value, float):
        places = 3 if unit in ("probability", "share") else 1 if unit == "points" else 2
        return Text(f"{value:,.{places}f}")
    if isinstance(value, date):
        return Text(value.isoformat())
    return Text(str(value))  # a Text, so that "[" in a value is not Rich markup


def _show(result: QueryResult) -> None:
    split = f" by {', '.join(result.dimensions)}" if result.dimensions else ""
    table = Table(title=f"{', '.join(result.measures)}{split}", show_footer=False)
    for d in result.dimensions:
        table.add_column(d)
    for m in result.measures:
        unit = result.units.get(m, "")
        table.add_column(f"{m} ({unit})" if unit and unit != m else m, justify="right")
    hidden = Text("·", style="dim")
    for row in result.rows:
        cells = [_cell(row[d]) for d in result.dimensions]
        for m in result.measures:
            value = row[m]
            cells.append(
                hidden if value is None and row["suppressed"] else _cell(value, result.units[m])
            )
        table.add_row(*cells)
    if result.dimensions:
        table.add_section()
        total = [Text("total", style="bold")] + [Text("")] * (len(result.dimensions) - 1)
        for m in result.measures:
            value = result.totals.get(m)
            empty = value is None and result.totals.get("suppressed")
            total.append(hidden if empty else _cell(value, result.units[m]))
        table.add_row(*total, style="bold")
    console.print(table)
    notes = []
    if result.truncated:
        notes.append(f"Showing the first {len(result.rows):,} rows: raise --limit to see more.")
    if result.suppressed or result.totals.get("suppressed"):
        notes.append(f"· hidden: fewer than {result.min_group_size} customers behind the figure.")
    if result.as_of is not None:
        notes.append(f"Customer measures as of {result.as_of.isoformat()}.")
    for note in notes:
        console.print(note, highlight=False)


def _write_csv(result: QueryResult, path: Path) -> None:
    columns = [*result.columns, "suppressed"]
    try:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(columns)
            for row in result.rows:
                writer.writerow(_csv_value(row[c]) for c in columns)
    except OSError as exc:
        fail(f"Cannot write {path}: {exc.strerror}.", hint="Check the directory and permissions.")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else value
