"""Readable persona labels made from the strongest traits, deterministically.

A label joins up to three phrases with " · ", strongest trait first, e.g.
``"High value · app · electronics"``. Each trait with ``|d| >= label_min_effect`` gives a phrase
from the rules below, matched on the feature name (``_365d``-style window suffixes are ignored):
a high ``orders_365d`` reads "Frequent", a high ``share_store`` reads "store", a high
``share_cat_toys`` reads "toys". A low channel or category share names nothing (customers are
not described by what they do not buy). Unknown features read "High x" / "Low x". When no trait is
strong enough, a categorical value with lift >= 1.5 held by at least 40 % of the persona may name
it; otherwise it is "Typical customers". Labels of one model are unique: a clash takes the next
phrase, and at last the persona id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from insightloop.analytics.personas.cards import CategoryValue, Trait

__all__ = ["MAX_PHRASES", "make_label", "phrase"]

MAX_PHRASES = 3
_WINDOW = re.compile(r"_(\d+[dwmy]|ltm|ytd|total|all|count|pct|percent)$")
# (pattern on the normalised feature name, phrase when higher, phrase when lower); first match wins.
_RULES: tuple[tuple[str, str | None, str | None], ...] = (
    (
        r"avg_order_value|aov|basket_value|order_value|avg_spend|basket_size",
        "Big baskets",
        "Small baskets",
    ),
    (r"recency|days_since|inactive", "Lapsing", "Recently active"),
    (r"tenure|customer_age|days_since_first|first_purchase", "Long-standing", "New"),
    (r"(^|_)age($|_)|birth", "Older", "Young"),
    (r"interval|gap", "Occasional", "Regular"),
    (r"return", "Many returns", "Few returns"),
    (r"contact|complaint|ticket|call", "Service-heavy", None),
    (r"discount|promo|coupon|markdown|price_sensitiv", "Deal seekers", "Full price"),
    (
        r"(^|_)(orders|order_count|frequency|purchases|transactions|visits|trips)($|_)",
        "Frequent",
        "Infrequent",
    ),
    (r"revenue|spend|sales|profit|clv|margin|monetary|value", "High value", "Low value"),
    (r"nps|satisfaction|csat", "Satisfied", "Dissatisfied"),
    (r"churn", "At risk", "Safe"),
    (r"browse|session|page_view|pageview", "Browsers", None),
)
_SHARE = re.compile(
    r"^(?:share|pct|frac|ratio)_(?:(?:cat|category|channel|chan)_)?(.+)$"
    r"|^(?:cat|category|channel)_(.+?)(?:_share|_pct)?$"
    r"|^(.+)_share$"
)


def phrase(feature: str, direction: str) -> str | None:
    """The phrase a trait contributes to a label, or ``None`` when it names nothing.

    Examples
    --------
    >>> phrase("orders_365d", "higher"), phrase("share_app", "higher"), phrase("share_app", "lower")
    ('Frequent', 'app', None)
    >>> phrase("share_cat_home_garden", "higher"), phrase("loyalty_points", "lower")
    ('home garden', 'Low loyalty points')
    """
    name = _WINDOW.sub("", feature.lower())
    higher = direction == "higher"
    for pattern, up, down in _RULES:
        if re.search(pattern, name):
            return up if higher else down
    share = _SHARE.match(name)
    if share:
        word = next(g for g in share.groups() if g)
        return word.replace("_", " ") if higher else None
    words = name.replace("_", " ").strip()
    return f"{'High' if higher else 'Low'} {words}"


def _capitalised(parts: Sequence[str]) -> str:
    words = [
        p[:1].upper() + p[1:] if i == 0 else p[:1].lower() + p[1:] for i, p in enumerate(parts)
    ]
    return " · ".join(words)


def make_label(
    traits: Iterable[Trait],
    categories: Iterable[CategoryValue],
    *,
    persona_id: str,
    taken: set[str],
    min_effect: float,
) -> str:
    """A unique, readable label for one persona; ``taken`` holds the labels already in use.

    The first ``MAX_PHRASES`` phrases name it; when that label is taken (compared ignoring
    case), further phrases are added, and at last the persona id.

    Examples
    --------
    >>> t = [Trait("share_store", 0.9, 0.4, 2.1, "higher"),
    ...      Trait("orders_365d", 9.0, 4.0, 1.2, "higher")]
    >>> make_label(t, [], persona_id="P01", taken=set(), min_effect=0.5)
    'Store · frequent'
    """
    phrases: list[str] = []
    for trait in traits:
        if abs(trait.effect_size) < min_effect:
            break
        text = phrase(trait.feature, trait.direction)
        if text and text.lower() not in {p.lower() for p in phrases}:
            phrases.append(text)
    if not phrases:
        strong = [c for c in categories if c.lift >= 1.5 and c.cluster_share >= 0.4]
        strong.sort(key=lambda c: (-c.lift, c.column, c.value))
        phrases = [f"{c.value}" for c in strong[:1]]
    if not phrases:
        phrases = ["Typical customers"]
    used = {t.lower() for t in taken}
    for n in range(min(MAX_PHRASES, len(phrases)), len(phrases) + 1):
        label = _capitalised(phrases[:n])
        if label.lower() not in used:
            return label
    return f"{_capitalised(phrases[:MAX_PHRASES])} ({persona_id})"
