"""Lifecycle stages: where each customer is in their life with the company, and when they moved.

The stage of a customer as of the measures' day, first rule that holds (settings in
``[analytics.lifecycle]``):

``prospect``
    Known, but never ordered.
``won_back``
    The latest order came after a pause of at least ``lapsed_days`` and is at most
    ``won_back_days`` old.
``new``
    The first order is at most ``new_days`` old.
``lapsed``
    No order for ``lapsed_days``, or a probability alive (BG/NBD) below ``lapsed_p_alive``.
``at_risk``
    A probability alive below ``at_risk_p_alive`` or, without one, no order for twice the
    customer's usual interval between purchases (and at least 60 days).
``active``
    Everyone else who ordered.

``customer_lifecycle`` holds the current stage and since when; ``lifecycle_history`` one row per
stage a customer was in (``entered_at``, ``exited_at``; empty while current), stamped with the
as-of moment of the run that saw the change, so that a re-run on the same data changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.analytics.activity import Activity
from insightloop.analytics.attributes import CLV_TABLE, LIFECYCLE_TABLE
from insightloop.analytics.config import LifecycleConfig
from insightloop.analytics.measures import MEASURES_TABLE
from insightloop.analytics.measures.compute import as_of_end
from insightloop.store import Engine

__all__ = ["HISTORY_TABLE", "STAGES", "LifecycleReport", "build_lifecycle", "lifecycle_expr"]

HISTORY_TABLE = "lifecycle_history"
STAGES = ("prospect", "new", "active", "at_risk", "lapsed", "won_back")
_DAY = 86_400.0


@dataclass(frozen=True)
class LifecycleReport:
    """Customers per stage after a run, and how many moved."""

    as_of: date
    stages: dict[str, int] = field(default_factory=dict)
    moved: int = 0
    transitions: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "stages": self.stages,
            "moved": self.moved,
            "transitions": self.transitions,
        }


def _pause_before_last(orders: ir.Table) -> ir.Table:
    """Per customer, the days between the latest order and the one before it."""
    ranked = orders.mutate(
        _r=ibis.row_number().over(group_by=orders.customer_id, order_by=ibis.desc(orders.at))
    )
    last_two = ranked.filter(ranked._r < 2)
    per = last_two.group_by(_pid="customer_id").aggregate(
        _last=last_two.at.max(), _prev=last_two.at.min(), _n=last_two.count()
    )
    pause = (per._last.epoch_seconds() - per._prev.epoch_seconds()) / _DAY
    return per.select("_pid", _pause=ibis.cases((per._n > 1, pause), else_=ibis.null("float64")))


def lifecycle_expr(
    measures: ir.Table,
    orders: ir.Table,
    config: LifecycleConfig,
    *,
    p_alive: ir.Table | None = None,
) -> ir.Table:
    """``customer_id`` and ``lifecycle_stage`` of every customer in ``measures`` (a table of
    the measures as of one day); ``orders`` are the orders up to that day; ``p_alive``
    (``customer_id``, ``p_alive``) when lifetime value has been fitted."""
    t = measures.select("customer_id", "orders", "recency_days", "tenure_days",
                        "purchase_interval_days", "first_order_at", "as_of")  # fmt: skip
    pauses = _pause_before_last(orders)
    t = t.left_join(pauses, t.customer_id == pauses._pid).drop("_pid")
    if p_alive is not None:
        alive = p_alive.select(_aid="customer_id", _p=p_alive.p_alive)
        t = t.left_join(alive, t.customer_id == alive._aid).drop("_aid")
    else:
        t = t.mutate(_p=ibis.null("float64"))
    p = t._p
    end = t.as_of.cast("timestamp") + ibis.interval(days=1)
    first_age = (end.epoch_seconds() - t.first_order_at.epoch_seconds()) / _DAY
    usual = ibis.greatest(t.purchase_interval_days * 2, 60.0)
    stage = ibis.cases(
        (t.orders == 0, "prospect"),
        (
            (t._pause >= config.lapsed_days) & (t.recency_days <= config.won_back_days),
            "won_back",
        ),
        (first_age <= config.new_days, "new"),
        ((t.recency_days > config.lapsed_days) | (p < config.lapsed_p_alive), "lapsed"),
        (
            (p < config.at_risk_p_alive)
            | (p.isnull() & t.purchase_interval_days.notnull() & (t.recency_days > usual)),
            "at_risk",
        ),
        else_="active",
    )
    return t.select("customer_id", lifecycle_stage=stage)


def _history_schema() -> pa.Schema:
    return pa.schema(
        [
            ("customer_id", pa.string()),
            ("stage", pa.string()),
            ("entered_at", pa.timestamp("us")),
            ("exited_at", pa.timestamp("us")),
        ]
    )


def build_lifecycle(
    engine: Engine, acts: Activity, config: LifecycleConfig, *, as_of: date
) -> LifecycleReport:
    """Compute every customer's stage as of ``as_of`` (the measures' day), write
    ``customer_lifecycle`` and record the moves in ``lifecycle_history``."""
    moment = as_of_end(as_of)
    measures = engine.table(MEASURES_TABLE)
    orders = acts.orders.filter(acts.orders.at < ibis.literal(moment))
    p_alive = engine.table(CLV_TABLE) if engine.has_table(CLV_TABLE) else None
    stages = engine.to_pyarrow(lifecycle_expr(measures, orders, config, p_alive=p_alive))
    if not engine.has_table(HISTORY_TABLE):
        engine.materialise(HISTORY_TABLE, ibis.memtable(_history_schema().empty_table()))
    history = engine.table(HISTORY_TABLE)
    open_rows = engine.to_pyarrow(
        history.filter(history.exited_at.isnull()).select("customer_id", "stage", "entered_at")
    )
    before = {
        c: (s, e)
        for c, s, e in zip(
            *(open_rows[k].to_pylist() for k in ("customer_id", "stage", "entered_at")),
            strict=True,
        )
    }
    now_stage = dict(
        zip(
            stages["customer_id"].to_pylist(),
            stages["lifecycle_stage"].to_pylist(),
            strict=True,
        )
    )
    leaving = [(c, s, e) for c, (s, e) in before.items() if now_stage.get(c) != s]
    entering = [(c, s) for c, s in now_stage.items() if before.get(c, (None, None))[0] != s]
    transitions: dict[str, int] = {}
    for c, s in entering:
        key = f"{before[c][0]}->{s}" if c in before else f"->{s}"
        transitions[key] = transitions.get(key, 0) + 1
    with engine.transaction():
        if leaving:
            keys = pa.table(
                {
                    "customer_id": pa.array([c for c, _, _ in leaving], pa.string()),
                    "stage": pa.array([s for _, s, _ in leaving], pa.string()),
                    "entered_at": pa.array([e for _, _, e in leaving], pa.timestamp("us")),
                }
            )
            engine.update_matching(HISTORY_TABLE, keys, {"exited_at": moment})
        if entering:
            rows = pa.table(
                {
                    "customer_id": pa.array([c for c, _ in entering], pa.string()),
                    "stage": pa.array([s for _, s in entering], pa.string()),
                    "entered_at": pa.array([moment] * len(entering), pa.timestamp("us")),
                    "exited_at": pa.nulls(len(entering), pa.timestamp("us")),
                }
            )
            engine.insert(HISTORY_TABLE, rows)
    history = engine.table(HISTORY_TABLE)
    current = history.filter(history.exited_at.isnull())
    engine.materialise(
        LIFECYCLE_TABLE,
        current.select(
            "customer_id",
            lifecycle_stage=current.stage,
            stage_since=current.entered_at,
        ),
    )
    counts: dict[str, int] = dict.fromkeys(STAGES, 0)
    for s in now_stage.values():
        counts[s] = counts.get(s, 0) + 1
    return LifecycleReport(as_of, counts, len(entering), dict(sorted(transitions.items())))
