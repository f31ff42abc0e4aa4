"""Orders and order lines with their customers, materialised for slicing.

Every slicing query (the dashboard's overview and explorer, ``POST /api/v1/query``) over
orders or order lines needs each row's customer: a look-up through the identifier map by source
key, e-mail and phone, a de-duplication per order, the order lines' totals and the currency
conversion (:mod:`insightloop.analytics.activity`). Done for every query, that is most of its
time. The pipeline's ``activity`` step does it once per run into two tables,
``activity_orders`` and ``activity_purchases`` (the columns of ``Activity.orders`` and
``Activity.purchases``), and records what they were built from in ``activity_stamp``.

:func:`slicing_activity` uses them while they are current, and the live expressions otherwise:
the stamp holds the number and newest id of the load batches (a file or database increment
loaded since), of the merges and splits and of the manual identity decisions (a merge or unmerge
from the dashboard or the CLI), the size and newest run id of the identifier map (rewritten by
every resolution and decision; the devices the collection API's loader adds are left out, since
orders are found by source key and e-mail, never by device) and the analytics settings the
amounts were converted with. Checking it costs one query of a few aggregations.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import orjson
import pyarrow as pa

from insightloop.analytics.activity import Activity, activity, purchases_of
from insightloop.analytics.config import AnalyticsConfig
from insightloop.identity.attach import IDENTIFIER_MAP
from insightloop.identity.config import IdentityConfig
from insightloop.identity.realtime import REALTIME_RULE
from insightloop.store import Engine

__all__ = [
    "ORDERS_TABLE",
    "PURCHASES_TABLE",
    "STAMP_TABLE",
    "build_activity_marts",
    "marts_current",
    "slicing_activity",
]

ORDERS_TABLE = "activity_orders"
PURCHASES_TABLE = "activity_purchases"
STAMP_TABLE = "activity_stamp"

#: (table, key column, time column) whose row count and newest row say that something changed.
_WATCHED = (
    ("load_batches", "batch_id", "finished_at"),
    ("merge_log", "merge_id", "at"),
    ("identity_decisions", "decision_id", "at"),
)


#: The tables' layout: raised when their columns change, so tables an older release wrote count
#: as stale (2: order lines carry their discount).
_FORMAT = 2


def _fingerprint(engine: Engine, config: AnalyticsConfig) -> str:
    """What the materialised tables depend on, as a digest (see the module docs): one query."""
    parts: list[object] = [_FORMAT, config.currency, sorted(config.exchange_rates.items())]
    present = set(engine.tables())
    stats = []
    for name, key, at in _WATCHED:
        if name in present:
            t = engine.table(name)
            stats.append(_stat(t, name, t[key].max(), t[at].max()))
    if IDENTIFIER_MAP in present:
        # Rewritten by every resolution and manual decision (with its run id); the loader of
        # received events adds only devices (anonymous ids), which orders are never found by.
        m = engine.table(IDENTIFIER_MAP)
        m = m.filter(m.rule.isnull() | (m.rule != REALTIME_RULE))
        stats.append(_stat(m, IDENTIFIER_MAP, m.run_id.max(), ibis.null("string")))
    if stats:
        rows = engine.records(stats[0].union(*stats[1:], distinct=False))
        parts.extend(sorted([r["t"], r["n"], r["k"], r["at"]] for r in rows))
    digest = hashlib.sha256(orjson.dumps(parts, default=str))
    return digest.hexdigest()


def _stat(t: ir.Table, name: str, key: ir.Value, at: ir.Value) -> ir.Table:
    """One row: the table's name, row count, newest key and newest time (as text, so that the
    rows of every table stack into one query)."""
    return t.aggregate(
        t=ibis.literal(name),
        n=t.count().cast("int64"),
        k=key.cast("string"),
        at=at.cast("string"),
    )


def build_activity_marts(
    engine: Engine, identity: IdentityConfig, config: AnalyticsConfig, *, run_id: str
) -> dict[str, Any]:
    """Write ``activity_orders``, ``activity_purchases`` and their stamp; returns a summary."""
    # Taken first: whatever changes while the tables are written makes them stale, not wrong.
    fingerprint = _fingerprint(engine, config)
    live = activity(engine, identity, config)
    engine.materialise(ORDERS_TABLE, live.orders)
    engine.materialise(PURCHASES_TABLE, purchases_of(engine.table(ORDERS_TABLE), engine, config))
    stamp = pa.table(
        {
            "run_id": pa.array([run_id], pa.string()),
            "built_at": pa.array([datetime.now(UTC)], pa.timestamp("us", tz="UTC")),
            "fingerprint": pa.array([fingerprint], pa.string()),
        }
    )
    engine.materialise(STAMP_TABLE, ibis.memtable(stamp))
    return {
        "orders": engine.count(ORDERS_TABLE),
        "order_lines": engine.count(PURCHASES_TABLE),
        "tables": [ORDERS_TABLE, PURCHASES_TABLE],
    }


def marts_current(engine: Engine, config: AnalyticsConfig) -> bool:
    """Whether the materialised tables exist and nothing they depend on changed since."""
    present = set(engine.tables())
    if not all(t in present for t in (ORDERS_TABLE, PURCHASES_TABLE, STAMP_TABLE)):
        return False
    rows = engine.records(engine.table(STAMP_TABLE).select("fingerprint"))
    return len(rows) == 1 and rows[0]["fingerprint"] == _fingerprint(engine, config)


def slicing_activity(engine: Engine, identity: IdentityConfig, config: AnalyticsConfig) -> Activity:
    """The behaviour tables for slicing: orders and order lines from the materialised tables
    while they are current, everything else (and everything when they are not) live."""
    if not marts_current(engine, config):
        return activity(engine, identity, config)
    sales = (engine.table(ORDERS_TABLE), engine.table(PURCHASES_TABLE))
    return activity(engine, identity, config, sales=sales)
