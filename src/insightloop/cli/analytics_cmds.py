"""``insightloop tiers``: the value tiers and their shares of customers, revenue and margin."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from insightloop.analytics.config import analytics_config
from insightloop.analytics.measures import MEASURES_TABLE, tier_summary
from insightloop.cli.app import JsonOption, WorkspaceOption, app, console, fail, print_json
from insightloop.workspace import Workspace

__all__ = ["tiers"]


def _pct(value: object) -> str:
    return "" if value is None else f"{float(str(value)):.0%}"


@app.command("tiers")
def tiers(workspace: WorkspaceOption = Path("."), as_json: JsonOption = False) -> None:
    """Value tiers (by 12-month profit unless configured): each tier's customers and its share of
    customers, revenue, gross margin and profit."""
    with Workspace.open(workspace, read_only=True) as ws:
        if not ws.engine.has_table(MEASURES_TABLE):
            fail(
                "The measures have not been computed in this workspace yet.",
                hint="Run `insightloop run` (or `insightloop run measures`) first.",
            )
        config = analytics_config(ws.settings.analytics)
        rows = tier_summary(ws.engine, ws.engine.table(MEASURES_TABLE), config)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"Value tiers by {config.tier_measure} ({config.currency})")
    for column in ("tier", "customers", "share", "revenue", "share", "margin", "share", "profit",
                   "share"):  # fmt: skip
        table.add_column(column, justify="left" if column == "tier" else "right")
    for r in rows:
        table.add_row(
            str(r["tier"]),
            f"{r['customers']:,}",
            _pct(r["customers_share"]),
            f"{r['revenue']:,.0f}",
            _pct(r["revenue_share"]),
            f"{r['gross_margin']:,.0f}",
            _pct(r["gross_margin_share"]),
            f"{r['profit']:,.0f}",
            _pct(r["profit_share"]),
        )
    console.print(table)
