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

__all__ = ["CARDS_TABLE", "FEATURES", "PersonasReport", "build_personas", "features_expr"]

CARDS_TABLE = "personas"

#: Measures the personas are clustered on, besides the shares and the age below. Recency and
#: tenure are left to the lifecycle stages (with them, the clusters split active from lapsed
#: customers instead of telling types apart); windows like ``_365d`` are left out too: a type
#: shows over a customer's whole history, and most customers have no order in any one year.
FEATURES = ("orders", "avg_order_value")
#: Columns the cards describe but the clustering does not use.
DESCRIBED = ("top_channel", "top_category", "profit_12m")
#: Categories (those with the most customers) that get a share feature each; channels likewise.
MAX_CATEGORIES = 12
MAX_CHANNELS = 6
#: Prior strength of the shares, in orders or order lines: a customer's share is
#: ``(count + SHARE_PRIOR * base share) / (total + SHARE_PRIOR)``, so one app order makes a
#: customer lean towards the app, not 100 % app (empirical Bayes shrinkage towards the base).
SHARE_PRIOR = 2.0
#: Ages outside this range (placeholders such as 1900-01-01) are treated as unknown.
AGE_RANGE = (10.0, 110.0)


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


def _shares(
    engine: Engine, rows: ir.Table, column: str, prefix: str, limit: int, flags: dict[str, Any]
) -> ir.Table | None:
    """Per customer, the shrunk share of ``rows`` with each of the most common values of
    ``column`` (and of each 0/1 flag in ``flags``), as ``<prefix><slug>`` columns."""
    common = rows.filter(rows[column].notnull())
    common = common.group_by(column).aggregate(n=common.customer_id.nunique())
    top = engine.records(common.order_by([ibis.desc("n"), column]).limit(limit))
    counts = {f"{prefix}{_slug(str(r[column]))}": rows[column] == r[column] for r in top}
    counts.update(flags)
    if not counts:
        return None
    sums = {name: cond.cast("int64").sum() for name, cond in counts.items()}
    base = engine.records(rows.aggregate(_n=rows.count(), **sums))[0]
    if not base["_n"]:
        return None
    per = rows.group_by(_cid=rows.customer_id).aggregate(_n=rows.count(), **sums)
    return per.select(
        "_cid",
        **{
            name: (per[name] + SHARE_PRIOR * (base[name] or 0) / base["_n"])
            / (per._n + SHARE_PRIOR)
            for name in counts
        },
    )


def _age(engine: Engine, as_of: date) -> ir.Table | None:
    if not engine.has_table("customers"):
        return None
    c = engine.table("customers")
    end = ibis.literal(as_of_end(as_of)).epoch_seconds()
    years = (end - c.birth_date.cast("timestamp").epoch_seconds()) / (365.25 * 86_400)
    low, high = AGE_RANGE
    age = ibis.cases((years.between(low, high), years), else_=ibis.null("float64"))
    return c.group_by(_aid=c.customer_id).aggregate(age_years=age.cast("float64").max())


def features_expr(engine: Engine, acts: Activity, as_of: date) -> ir.Table:
    """The feature table: one row per customer who ever ordered (docs/personas.md)."""
    m = engine.table(MEASURES_TABLE)
    t = m.filter(m.orders > 0).select("customer_id", *FEATURES, *DESCRIBED)
    end = ibis.literal(as_of_end(as_of))
    orders = acts.orders.filter(acts.orders.at < end)
    lines = acts.purchases.filter(acts.purchases.at < end)
    parts = [
        _shares(engine, orders, "channel", "share_", MAX_CHANNELS, {}),
        _shares(
            engine,
            lines,
            "category",
            "share_cat_",
            MAX_CATEGORIES,
            {"discount_share": ibis.coalesce(lines.discount, 0) > 0},
        ),
    ]
    for part in parts:
        if part is not None:
            t = t.left_join(part, t.customer_id == part._cid).drop("_cid")
    age = _age(engine, as_of)
    if age is not None:
        t = t.left_join(age, t.customer_id == age._aid).drop("_aid")
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
    numeric = [c for c in features.column_names if c not in {"customer_id", *DESCRIBED}]
    if previous is not None and not set(previous.feature_columns) <= set(numeric):
        # A feature of the previous model is gone (a category left the top ones, or a release
        # changed the features): the personas start afresh, with new ids.
        previous = None
    result = fit_personas(
        features,
        # With a previous model, its own columns (a new category's share waits for a new model).
        feature_columns=None if previous is not None else numeric,
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
