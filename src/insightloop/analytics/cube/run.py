"""Run a slicing query: plan it, compile it, let the engine aggregate, return a small result.

Only the aggregated rows (at most ``limit`` + 1) and one totals row leave the engine; no
customer row is loaded into Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.cube.build import SUPPRESSED, column_name, cube_expr, ordered
from insightloop.analytics.cube.plan import CubeSources, Plan, plan_query
from insightloop.analytics.cube.query import Query
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = ["DEFAULT_MIN_GROUP_SIZE", "QueryResult", "run_query"]

#: The smallest group whose figures are shown to those who may not see personal data.
DEFAULT_MIN_GROUP_SIZE = 5


@dataclass(frozen=True)
class QueryResult:
    """What a query gives.

    Attributes
    ----------
    columns
        The dimensions, then the measures (the keys of each row, besides ``suppressed``).
    rows
        One dict per group, sorted as asked; ``suppressed`` is true when a value of the row was
        hidden (fewer than ``min_group_size`` customers behind it).
    totals
        Every measure over everything the filters keep (not the sum of the rows: a customer in
        two segments counts once, an average is the average of all).
    units
        Each measure's unit (the reporting currency for money).
    truncated
        Whether more groups exist than ``limit`` rows show.
    sql
        The SQL the engine ran for the rows (for transparency and debugging); empty when
        ``run_query`` was asked not to show it (compiling it again costs as much as a query).
    as_of
        The day the customer measures are computed as of (None without them).
    """

    query: Query
    dimensions: list[str]
    measures: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    units: dict[str, str]
    truncated: bool
    sql: str
    min_group_size: int = 0
    as_of: date | None = None

    @property
    def columns(self) -> list[str]:
        return [*self.dimensions, *self.measures]

    @property
    def suppressed(self) -> int:
        """How many rows had a value hidden."""
        return sum(1 for r in self.rows if r[SUPPRESSED])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (dates as ISO text)."""
        return {
            "query": self.query.model_dump(mode="json"),
            "columns": self.columns,
            "dimensions": self.dimensions,
            "measures": self.measures,
            "units": self.units,
            "rows": [_jsonable(r) for r in self.rows],
            "totals": _jsonable(self.totals),
            "count": len(self.rows),
            "truncated": self.truncated,
            "min_group_size": self.min_group_size,
            "suppressed_rows": self.suppressed,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "sql": self.sql,
        }


def run_query(
    engine: Engine,
    query: Query,
    *,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    min_group_size: int = 0,
    sources: CubeSources | None = None,
    with_sql: bool = True,
    with_totals: bool = True,
) -> QueryResult:
    """Aggregate the query's measures by its dimensions in the engine.

    Parameters
    ----------
    min_group_size
        Small-cell suppression: a value computed from fewer distinct customers than this is
        returned empty and its row flagged ``suppressed`` (the totals too). 0 shows everything;
        the API uses :data:`DEFAULT_MIN_GROUP_SIZE` for roles that may not see personal data.
    sources
        What the workspace offers to slice, when several queries share it (its expressions and
        schemas are built once); by default read for this query.
    with_sql
        Whether the result shows the SQL (``sql``); without, the query is compiled once less.
    with_totals
        Whether to compute the totals (``totals``); without, they are empty and the query with
        dimensions costs one engine query instead of two.

    Raises
    ------
    QueryError
        The query names something unknown or combines what cannot be combined (every problem
        listed, with what is possible).

    Examples
    --------
    >>> import tempfile
    >>> from insightloop import Workspace
    >>> from insightloop.analytics.config import analytics_config
    >>> from insightloop.identity.config import identity_config
    >>> ws = Workspace.init(tempfile.mkdtemp() + "/ws")
    >>> result = run_query(
    ...     ws.engine,
    ...     Query(measures=["orders", "revenue"], by=["channel"]),
    ...     identity=identity_config({}),
    ...     config=analytics_config({}),
    ... )
    >>> result.columns, result.rows, result.totals
    (['channel', 'orders', 'revenue'], [], {'orders': 0, 'revenue': 0.0, 'suppressed': False})
    >>> ws.close()
    """
    if min_group_size < 0:
        raise ValueError("min_group_size cannot be negative")
    if sources is None:
        sources = CubeSources(engine, identity, config)
    plan = plan_query(query, sources)
    rows_expr = ordered(cube_expr(plan, sources, min_group_size=min_group_size), plan)
    rows = [_named(r, plan) for r in engine.records(rows_expr)]
    if not with_totals:
        totals = []
    elif plan.by:
        everything = plan.without_dimensions()
        totals_expr = cube_expr(everything, sources, min_group_size=min_group_size)
        totals = [_named(r, everything) for r in engine.records(totals_expr)]
    else:
        totals = [dict(r) for r in rows]  # without dimensions the one row is the totals
    truncated = len(rows) > query.limit
    return QueryResult(
        query=query,
        dimensions=[d.name for d in plan.by],
        measures=[m.name for m in plan.measures],
        rows=rows[: query.limit],
        totals=totals[0] if totals else {},
        units={m.name: plan.unit(m) for m in plan.measures},
        truncated=truncated,
        sql=engine.to_sql(rows_expr) if with_sql else "",
        min_group_size=min_group_size,
        as_of=sources.as_of if any(m.kind == "customer" for m in plan.measures) else None,
    )


def _named(row: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """An engine row with the measures' own names (``sum:x``, not ``sum__x``)."""
    named: dict[str, Any] = {d.name: row[d.name] for d in plan.by}
    for m in plan.measures:
        value = row[column_name(m)]
        named[m.name] = None if isinstance(value, float) and math.isnan(value) else value
    named[SUPPRESSED] = bool(row[SUPPRESSED])
    return named


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in row.items()}
