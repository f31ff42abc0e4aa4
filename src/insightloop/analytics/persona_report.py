"""The personas of a workspace as people read them: each card of the ``personas`` table with its
current size (counted in the engine from ``customer_personas``), readable trait names, and its
typical channels and categories.

The cards come from the ``personas`` step (:mod:`insightloop.analytics.workspace_personas`); this
module only reads them. Small-cell suppression hides the figures of a persona of fewer than
``min_group_size`` customers, as slicing does for roles that may not see personal data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from insightloop.analytics.attributes import PERSONAS_TABLE
from insightloop.analytics.measures import BUILT_IN, MEASURES_TABLE
from insightloop.analytics.workspace_personas import CARDS_TABLE
from insightloop.store import Engine

__all__ = [
    "PersonaCardView",
    "PersonaTrait",
    "PersonasOverview",
    "TypicalValue",
    "persona_overview",
    "trait_label",
]

#: The value the pipeline's personas are worth by (``value_column`` of the personas step).
VALUE_MEASURE = "profit_12m"
#: Descriptive columns of the cards and how the page names them.
_CHANNEL_COLUMN = "top_channel"
_CATEGORY_COLUMN = "top_category"
_DESCRIPTIONS = {m.name: m.description.rstrip(".") for m in BUILT_IN}
_DESCRIPTIONS["discount_rate"] = "Discounts over the amount ordered, last 365 days"


def trait_label(feature: str) -> str:
    """A readable name for a feature the personas are clustered on.

    Examples
    --------
    >>> trait_label("orders_365d")
    'Orders in the last 365 days'
    >>> trait_label("cat_home_garden")
    'Share of spend on home garden'
    >>> trait_label("loyalty_points")
    'loyalty_points'
    """
    if feature.startswith("cat_"):
        return f"Share of spend on {feature[4:].replace('_', ' ')}"
    return _DESCRIPTIONS.get(feature, feature)


def _is_share(feature: str) -> bool:
    return feature.startswith("cat_") or feature.endswith(("_share", "_rate"))


@dataclass(frozen=True)
class PersonaTrait:
    """A feature that sets a persona apart: its mean in the persona and in the whole base, and
    Cohen's d of the persona against the rest (``effect_size``; 0.2 small, 0.8 large)."""

    feature: str
    label: str
    cluster_mean: float
    base_mean: float
    effect_size: float
    direction: str
    is_share: bool


@dataclass(frozen=True)
class TypicalValue:
    """A common value of a descriptive column in the persona: its share there and its lift
    (share in the persona over share in the base)."""

    value: str
    share: float
    lift: float


@dataclass(frozen=True)
class PersonaCardView:
    """One persona for the page.

    ``size`` is counted now from ``customer_personas``; ``share`` is its share of the customers
    with a persona (those who ordered). ``value_share`` is its share of the 12-month profit of
    those customers and ``value_index`` that over ``share`` (2.0: each customer is worth twice the
    average). ``hidden`` is true when the persona has fewer customers than the minimum group size:
    its figures are then left out (None, no traits).
    """

    persona_id: str
    label: str
    size: int | None
    share: float | None
    value_share: float | None
    value_per_customer: float | None
    value_index: float | None
    traits: tuple[PersonaTrait, ...]
    channels: tuple[TypicalValue, ...]
    categories: tuple[TypicalValue, ...]
    is_new: bool
    hidden: bool


@dataclass(frozen=True)
class PersonasOverview:
    """Every persona, with how many customers have one and how many customers there are."""

    personas: tuple[PersonaCardView, ...]
    with_persona: int
    customers: int | None
    computed_at: datetime | None
    value_measure: str
    min_group_size: int


def _typical(card: dict[str, Any], column: str) -> tuple[TypicalValue, ...]:
    return tuple(
        TypicalValue(str(c["value"]), float(c["cluster_share"]), float(c["lift"]))
        for c in card.get("categories", ())
        if c.get("column") == column
    )


def _traits(card: dict[str, Any]) -> tuple[PersonaTrait, ...]:
    return tuple(
        PersonaTrait(
            feature=str(t["feature"]),
            label=trait_label(str(t["feature"])),
            cluster_mean=float(t["cluster_mean"]),
            base_mean=float(t["base_mean"]),
            effect_size=float(t["effect_size"]),
            direction=str(t["direction"]),
            is_share=_is_share(str(t["feature"])),
        )
        for t in card.get("traits", ())
    )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def persona_overview(engine: Engine, *, min_group_size: int = 0) -> PersonasOverview | None:
    """The persona cards with their current sizes, largest first.

    Parameters
    ----------
    min_group_size
        A persona with fewer customers than this (but some) shows no figures (``hidden``).

    Returns
    -------
    PersonasOverview or None
        None when the ``personas`` step has not written its tables (or wrote no persona).

    Examples
    --------
    >>> persona_overview(Engine.in_memory()) is None
    True
    """
    if not (engine.has_table(CARDS_TABLE) and engine.has_table(PERSONAS_TABLE)):
        return None
    cards_table = engine.table(CARDS_TABLE)
    rows = engine.records(cards_table.select("persona_id", "card", "computed_at"))
    if not rows:
        return None
    members = engine.table(PERSONAS_TABLE)
    counted = {
        str(r["persona_id"]): int(r["n"])
        for r in engine.records(members.group_by("persona_id").aggregate(n=members.count()))
    }
    with_persona = sum(counted.values())
    customers = (
        int(engine.execute(engine.table(MEASURES_TABLE).count()))
        if engine.has_table(MEASURES_TABLE)
        else None
    )
    views = []
    for r in rows:
        card = json.loads(r["card"])
        size = counted.get(str(r["persona_id"]), 0)
        hidden = 0 < size < min_group_size
        views.append(
            PersonaCardView(
                persona_id=str(r["persona_id"]),
                label=str(card.get("label") or r["persona_id"]),
                size=None if hidden else size,
                share=None if hidden or not with_persona else size / with_persona,
                value_share=None if hidden else _optional(card.get("value_share")),
                value_per_customer=None if hidden else _optional(card.get("value_per_customer")),
                value_index=None if hidden else _optional(card.get("value_index")),
                traits=() if hidden else _traits(card),
                channels=() if hidden else _typical(card, _CHANNEL_COLUMN),
                categories=() if hidden else _typical(card, _CATEGORY_COLUMN),
                is_new=bool(card.get("is_new")),
                hidden=hidden,
            )
        )
    views.sort(key=lambda v: (-counted.get(v.persona_id, 0), v.persona_id))
    computed = max((r["computed_at"] for r in rows if r["computed_at"] is not None), default=None)
    return PersonasOverview(
        personas=tuple(views),
        with_persona=with_persona,
        customers=customers,
        computed_at=computed,
        value_measure=VALUE_MEASURE,
        min_group_size=min_group_size,
    )
