"""Writing the measures: the ``customer_measures`` table, its definitions and cut points.

:func:`build_measures` computes every customer's measures as of a date, scores RFM and value
tiers, and replaces ``customer_measures`` (one row per customer), ``measure_definitions`` (name,
version, description, type, hash of each measure) and ``analytics_cuts`` (the cut points of the
scores). :func:`refresh_measures` recomputes only some customers (those touched by new data)
against the kept cut points.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from insightloop.analytics.activity import (
    Activity,
    activity,
    newest_data_day,
    purchases_of,
    unconverted_currencies,
)
from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.measures.catalogue import definition_hash
from insightloop.analytics.measures.compute import (
    BREAKDOWNS,
    all_measures,
    measures_expr,
    newest_day,
)
from insightloop.analytics.measures.scores import Cuts, apply_scores, compute_cuts, tier_summary
from insightloop.errors import PipelineError
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = [
    "CUTS_TABLE",
    "DEFINITIONS_TABLE",
    "MEASURES_TABLE",
    "MeasuresReport",
    "build_measures",
    "refresh_measures",
]

MEASURES_TABLE = "customer_measures"
DEFINITIONS_TABLE = "measure_definitions"
CUTS_TABLE = "analytics_cuts"
_STAGE = "_measures_stage"
_SCORES = ("rfm_r", "rfm_f", "rfm_m", "rfm_score", "value_tier")


@dataclass(frozen=True)
class MeasuresReport:
    """What :func:`build_measures` or :func:`refresh_measures` wrote."""

    as_of: date | None
    customers: int
    measures: int
    tiers: list[dict[str, Any]] = field(default_factory=list)
    unconverted: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "customers": self.customers,
            "measures": self.measures,
            "tiers": self.tiers,
            "unconverted_currencies": self.unconverted,
        }


def _definitions(config: AnalyticsConfig, now: datetime) -> pa.Table:
    rows = [
        {
            "name": m.name,
            "version": m.version,
            "description": m.description,
            "dtype": m.dtype,
            "behaviour": m.behaviour,
            "unit": m.unit,
            "definition_hash": definition_hash(m),
            "updated_at": now,
        }
        for m in all_measures(config)
    ]
    rows += [
        {
            "name": b.name,
            "version": 1,
            "description": b.description,
            "dtype": b.dtype,
            "behaviour": b.behaviour,
            "unit": "",
            "definition_hash": "",
            "updated_at": now,
        }
        for b in BREAKDOWNS
    ]
    rows += [
        {
            "name": name,
            "version": 1,
            "description": text,
            "dtype": "string" if name in {"rfm_score", "value_tier"} else "int64",
            "behaviour": None,
            "unit": "",
            "definition_hash": "",
            "updated_at": now,
        }
        for name, text in (
            ("rfm_r", "Recency score 1-5 (5: most recent fifth)."),
            ("rfm_f", "Frequency score 1-5 (orders in the last 365 days)."),
            ("rfm_m", "Monetary score 1-5 (amount ordered in the last 365 days)."),
            ("rfm_score", "The three RFM scores as digits, e.g. 545."),
            ("value_tier", "Value tier by [analytics] tier_measure ([analytics] tiers)."),
        )
    ]
    return pa.Table.from_pylist(rows)


def _staged(engine: Engine, acts: Activity, config: AnalyticsConfig) -> tuple[Activity, list[str]]:
    """``acts`` with the orders, their lines and the contacts written once as tables: several
    measures and breakdowns read each, and the engine would otherwise attach them to their
    customers once per use."""
    names = {b: f"{_STAGE}_{b}" for b in ("orders", "contacts")}
    engine.materialise(names["orders"], acts.orders)
    engine.materialise(names["contacts"], acts.contacts)
    orders = engine.table(names["orders"])
    names["purchases"] = f"{_STAGE}_purchases"
    engine.materialise(names["purchases"], purchases_of(orders, engine, config))
    staged = acts.replace(
        orders=orders,
        contacts=engine.table(names["contacts"]),
        purchases=engine.table(names["purchases"]),
    )
    return staged, list(names.values())


def build_measures(
    engine: Engine,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    *,
    now: datetime,
    as_of: date | None = None,
    progress: Callable[[float], None] = lambda fraction: None,
) -> MeasuresReport:
    """Compute and store every customer's measures, RFM scores and value tier as of ``as_of``
    (default ``[analytics] as_of``, else the day of the newest activity)."""
    as_of = as_of or config.as_of or newest_data_day(engine) or now.date()
    acts, staged = _staged(engine, activity(engine, identity, config), config)
    progress(0.3)
    try:
        engine.materialise(_STAGE, measures_expr(engine, acts, config, as_of=as_of))
        progress(0.6)
        stage = engine.table(_STAGE)
        cuts = compute_cuts(engine, stage, config)
        engine.materialise(MEASURES_TABLE, apply_scores(stage, cuts, config))
    finally:
        for name in (_STAGE, *staged):
            engine.drop_table(name)
    progress(0.9)
    _replace(engine, CUTS_TABLE, _cut_rows(cuts, as_of, now))
    _replace(engine, DEFINITIONS_TABLE, _definitions(config, now))
    t = engine.table(MEASURES_TABLE)
    return MeasuresReport(
        as_of=as_of,
        customers=int(engine.execute(t.count())),
        measures=len(t.columns) - 2,
        tiers=tier_summary(engine, t, config),
        unconverted=unconverted_currencies(engine, config),
    )


def _cut_rows(cuts: Cuts, as_of: date, now: datetime) -> pa.Table:
    rows = [{**r, "as_of": as_of, "computed_at": now} for r in cuts.rows()]
    schema = pa.schema(
        [
            ("name", pa.string()),
            ("position", pa.int64()),
            ("value", pa.float64()),
            ("as_of", pa.date32()),
            ("computed_at", pa.timestamp("us")),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


def _day(value: Any) -> date | None:
    if value is None or value is pd.NaT:
        return None
    return pd.Timestamp(value).date()


def _replace(engine: Engine, name: str, rows: pa.Table) -> None:
    import ibis

    engine.materialise(name, ibis.memtable(rows))


def refresh_measures(
    engine: Engine,
    identity: IdentityConfig,
    config: AnalyticsConfig,
    customer_ids: Sequence[str],
    *,
    values: Sequence[str] | None = None,
) -> MeasuresReport:
    """Recompute the measures of ``customer_ids`` only, scored against the last full run's cut
    points, as of the later of that run's date and the newest day of these customers' activity.

    ``values``: the customers' identifier values, so that only their rows are read.

    Raises
    ------
    PipelineError
        When no full run has written the measures yet.
    """
    if not engine.has_table(CUTS_TABLE) or not engine.has_table(MEASURES_TABLE):
        raise PipelineError(
            "The measures have not been computed yet, so they cannot be refreshed.",
            hint="Run `insightloop run measures` once; later loads refresh what they touch.",
        )
    ids = sorted(set(customer_ids))
    if not ids:
        return MeasuresReport(as_of=None, customers=0, measures=0)
    rows = engine.records(engine.table(CUTS_TABLE))
    cuts = Cuts.from_rows(rows)
    kept = engine.execute(engine.table(CUTS_TABLE).as_of.max())
    acts = activity(engine, identity, config, values)
    days = [d for d in (_day(kept), newest_day(engine, acts)) if d is not None]
    as_of = max(days) if days else None
    if as_of is None:
        return MeasuresReport(as_of=None, customers=0, measures=0)
    expr = apply_scores(
        measures_expr(engine, acts, config, as_of=as_of, customer_ids=ids), cuts, config
    )
    current = engine.table(MEASURES_TABLE)
    fresh = engine.to_pyarrow(expr.select(*current.columns))
    with engine.transaction():
        engine.delete_matching(MEASURES_TABLE, pa.table({"customer_id": pa.array(ids)}))
        engine.insert(MEASURES_TABLE, fresh)
    return MeasuresReport(as_of=as_of, customers=fresh.num_rows, measures=len(current.columns) - 2)
