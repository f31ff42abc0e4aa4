"""Warming the query path up when the server starts.

The first query a Python process sends through Ibis imports the backend's compiler and SQL
dialect (about a hundred modules) and fills their caches: some 0.3 s that would otherwise land on
whoever opens the first page after a start. :func:`warm_up` pays it at start-up with a query of
the shapes the pages use (filter, join, grouping, window, order) on a throw-away in-memory
database, so no workspace data is read and nothing is written.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import ibis
import pyarrow as pa

from insightloop.store import Engine

__all__ = ["warm_up"]

log = logging.getLogger(__name__)


def warm_up(backend: str) -> float:
    """Compile and run one representative query on ``backend``; returns the seconds it took.

    Only DuckDB is warmed: a Spark workspace's session starts with its first query, which is
    the cost to avoid there, and starting one here would hold a second session per worker.
    """
    if backend != "duckdb":
        return 0.0
    start = time.perf_counter()
    engine = Engine.in_memory()
    try:
        facts = ibis.memtable(
            pa.table(
                {
                    "customer_id": ["a", "a", "b"],
                    "at": [datetime(2024, 1, 1), datetime(2024, 2, 1), datetime(2024, 2, 3)],
                    "amount": [10.0, 20.0, 5.0],
                }
            )
        )
        people = ibis.memtable(pa.table({"cid": ["a", "b"], "country": ["SE", None]}))
        joined = facts.left_join(people, facts.customer_id == people.cid)
        joined = joined.filter(joined.at >= datetime(2024, 1, 1), joined.country.notnull())
        monthly = joined.group_by(month=joined.at.truncate("M"), country=joined.country).aggregate(
            revenue=joined.amount.sum(), buyers=joined.customer_id.nunique()
        )
        ranked = monthly.mutate(rank=ibis.row_number().over(order_by=ibis.desc("revenue")))
        engine.records(ranked.order_by("month").limit(10))
    finally:
        engine.close()
    seconds = time.perf_counter() - start
    log.debug("query path warmed up in %.2f s", seconds)
    return seconds
