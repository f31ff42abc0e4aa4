"""Personas of a workspace's customers: :mod:`insightloop.analytics.personas` fitted on the
behavioural and value measures of every customer who ordered, with the share of their spend in
each product category, computed in the engine.

Writes ``customer_personas`` (customer, persona id, label, distance to the persona's centre) and
``personas`` (one card per persona as JSON); the model goes to
``<workspace>/models/personas/model.json`` and is the ``previous`` model of the next run, so
persona ids and labels stay stable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.analytics.activity import Activity
from insightloop.analytics.attributes import PERSONAS_TABLE
from insightloop.analytics.measures import MEASURES_TABLE
from insightloop.analytics.measures.compute import as_of_end
from insightloop.analytics.personas import PersonaModel, fit_personas
from insightloop.errors import InsightloopError
from insightloop.store import Engine

__all__ = ["CARDS_TABLE", "FEATURES", "PersonasReport", "build_personas"]

CARDS_TABLE = "personas"

#: Measures the personas are clustered on (recency and tenure are left to the lifecycle stages:
#: with them, the clusters split active from lapsed customers instead of telling types apart).
FEATURES = (
    "orders_365d",
    "revenue_365d",
    "avg_order_value",
    "purchase_interval_days",
    "store_share",
    "web_share",
    "app_share",
    "discount_rate",
    "return_rate",
    "contacts_365d",
    "events_90d",
)
#: Categories with the most customers that get a spend-share feature each.
MAX_CATEGORIES = 12


@dataclass(frozen=True)
class PersonasReport:
    """What :func:`build_personas` fitted and wrote."""

    customers: int
    k: int = 0
    personas: list[dict[str, Any]] = field(default_factory=list)
    new: tuple[str, ...] = ()
    retired: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "k": self.k,
            "personas": self.personas,
            "new": list(self.new),
            "retired": list(self.retired),
            "note": self.note,
        }


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_") or "other"


def _category_shares(engine: Engine, purchases: ir.Table) -> ir.Table | None:
    """Per customer, the share of spend in each of the most common categories."""
    p = purchases.filter(purchases.category.notnull() & (purchases.amount > 0))
    common = p.group_by("category").aggregate(n=p.customer_id.nunique())
    top = engine.records(common.order_by([ibis.desc("n"), "category"]).limit(MAX_CATEGORIES))
    names = [str(r["category"]) for r in top]
    total = p.amount.sum()
    shares = {
        f"cat_{_slug(c)}": p.amount.sum(where=p.category == c) / total.nullif(0) for c in names
    }
    return p.group_by(_cid=p.customer_id).aggregate(**shares) if shares else None


def features_expr(engine: Engine, acts: Activity, as_of: date) -> ir.Table:
    """The feature table: one row per customer who ever ordered."""
    m = engine.table(MEASURES_TABLE)
    m = m.filter(m.orders > 0)
    m = m.mutate(
        discount_rate=ibis.cases(
            (m.revenue_365d > 0, m.discount_365d / m.revenue_365d), else_=ibis.null("float64")
        )
    )
    t = m.select("customer_id", *FEATURES, "top_channel", "top_category", "profit_12m")
    purchases = acts.purchases.filter(acts.purchases.at < ibis.literal(as_of_end(as_of)))
    shares = _category_shares(engine, purchases)
    if shares is not None:
        t = t.left_join(shares, t.customer_id == shares._cid).drop("_cid")
    return t


def build_personas(
    engine: Engine,
    acts: Activity,
    *,
    as_of: date,
    models_dir: Path,
    now: datetime,
    k: int | None = None,
    k_max: int = 8,
) -> PersonasReport:
    """Fit (or refit, keeping ids) the personas and write them; see the module docstring."""
    features = engine.to_pyarrow(features_expr(engine, acts, as_of).order_by("customer_id"))
    if features.num_rows < 50:
        return PersonasReport(features.num_rows, note="fewer than 50 customers who ordered")
    path = models_dir / "model.json"
    previous = None
    if path.exists():
        try:
            previous = PersonaModel.load(path)
        except InsightloopError:
            previous = None  # an unreadable or older model: start afresh (ids are new)
    numeric = [
        c
        for c in features.column_names
        if c not in {"customer_id", "top_channel", "top_category", "profit_12m"}
    ]
    result = fit_personas(
        features,
        feature_columns=numeric,
        categorical_columns=("top_channel", "top_category"),
        value_column="profit_12m",
        k=k,
        k_max=k_max,
        previous=previous,
    )
    models_dir.mkdir(parents=True, exist_ok=True)
    result.model.save(path)
    a = result.assignments
    engine.materialise(
        PERSONAS_TABLE,
        ibis.memtable(
            pa.table(
                {
                    "customer_id": a["customer_id"],
                    "persona_id": a["persona_id"],
                    "persona": a["label"],
                    "persona_distance": a["distance"],
                }
            )
        ),
    )
    cards = [c.to_dict() for c in result.cards]
    engine.materialise(
        CARDS_TABLE,
        ibis.memtable(
            pa.table(
                {
                    "persona_id": pa.array([c["persona_id"] for c in cards], pa.string()),
                    "label": pa.array([c["label"] for c in cards], pa.string()),
                    "size": pa.array([c["size"] for c in cards], pa.int64()),
                    "share": pa.array([c["share"] for c in cards], pa.float64()),
                    "card": pa.array([json.dumps(c, default=str) for c in cards], pa.string()),
                    "computed_at": pa.array([now] * len(cards), pa.timestamp("us")),
                }
            )
        ),
    )
    return PersonasReport(
        customers=features.num_rows,
        k=result.k,
        personas=[
            {"persona_id": c["persona_id"], "label": c["label"], "share": c["share"]} for c in cards
        ],
        new=result.new_persona_ids,
        retired=result.retired_persona_ids,
    )
