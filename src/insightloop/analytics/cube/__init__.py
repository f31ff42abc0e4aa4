"""Slicing (OLAP-style): any measure by any dimensions, with filters, without writing SQL.

- :class:`Query` (and :func:`parse_query` for the CLI's compact syntax): measures, up to three
  dimensions, filters, a period grain and a window.
- :data:`MEASURES` and :data:`DIMENSIONS` (and :func:`catalogue`): what can be asked for;
  customer measures (one row per customer, as of the measures' day) and activity measures
  (rows of a behaviour table, sliceable by period).
- :func:`run_query`: plan, compile to one Ibis expression, aggregate in the engine, return a
  :class:`QueryResult` with a totals row and optional small-cell suppression.
"""

from __future__ import annotations

from insightloop.analytics.cube.catalogue import (
    DIMENSIONS,
    MEASURES,
    CubeDimension,
    CubeMeasure,
    catalogue,
)
from insightloop.analytics.cube.errors import QueryError
from insightloop.analytics.cube.plan import CubeSources, Plan, plan_query
from insightloop.analytics.cube.query import (
    MAX_ROWS,
    OPS,
    Filter,
    Query,
    parse_filter,
    parse_query,
)
from insightloop.analytics.cube.run import DEFAULT_MIN_GROUP_SIZE, QueryResult, run_query

__all__ = [
    "DEFAULT_MIN_GROUP_SIZE",
    "DIMENSIONS",
    "MAX_ROWS",
    "MEASURES",
    "OPS",
    "CubeDimension",
    "CubeMeasure",
    "CubeSources",
    "Filter",
    "Plan",
    "Query",
    "QueryError",
    "QueryResult",
    "catalogue",
    "parse_filter",
    "parse_query",
    "plan_query",
    "run_query",
]
