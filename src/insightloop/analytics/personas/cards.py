"""Persona cards: size, value, distinguishing traits and typical categorical values per persona.

All statistics are in the original units of the feature table, over every customer (not only
the fitting sample), and nulls are left out of each column's statistics.

A trait's **effect size** is Cohen's d of the feature between the persona and the rest of the
base: ``(mean_in - mean_rest) / pooled_sd`` (Cohen 1988, *Statistical Power Analysis for the
Behavioral Sciences*); 0.2 is small, 0.5 medium, 0.8 large. The card shows the persona's mean next
to the mean of the whole base, the number an analyst compares against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CategoryValue",
    "PersonaCard",
    "Trait",
    "category_values",
    "feature_effects",
    "value_summary",
]


@dataclass(frozen=True)
class Trait:
    """A feature on which the persona differs from the base.

    Attributes
    ----------
    feature
        The feature column.
    cluster_mean, base_mean
        Mean in the persona and in the whole base (original units, nulls left out).
    effect_size
        Cohen's d, persona versus the rest of the base.
    direction
        ``"higher"`` or ``"lower"`` than the rest of the base.
    """

    feature: str
    cluster_mean: float
    base_mean: float
    effect_size: float
    direction: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class CategoryValue:
    """A common value of a categorical column in the persona, against the base.

    ``lift`` is ``cluster_share / base_share``: 2.0 means twice as common as in the base.
    """

    column: str
    value: str
    cluster_share: float
    base_share: float
    lift: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class PersonaCard:
    """What one persona is, for the people who act on it.

    Attributes
    ----------
    persona_id, label
        Stable id and readable label.
    size, share
        Customers in the persona, and their share of all customers.
    value_share
        The persona's share of the total of the value column (``None`` without one).
    value_per_customer
        Mean of the value column in the persona (``None`` without one).
    value_index
        ``value_share / share``: 2.0 means each customer is worth twice the average.
    mean_distance
        Mean distance of its customers to the centroid (standardised units): the spread.
    traits
        The features that set it apart, largest ``|effect_size|`` first.
    categories
        The most common values of each categorical column, with their lift.
    is_new
        Whether the persona appeared in this run (no previous persona matched it).
    """

    persona_id: str
    label: str
    size: int
    share: float
    value_share: float | None
    value_per_customer: float | None
    value_index: float | None
    mean_distance: float
    traits: tuple[Trait, ...]
    categories: tuple[CategoryValue, ...]
    is_new: bool = False

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (traits and categories as lists of dicts)."""
        data = asdict(self)
        data["traits"] = [t.to_dict() for t in self.traits]
        data["categories"] = [c.to_dict() for c in self.categories]
        return data


def feature_effects(
    matrix: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Persona means ``(k, p)``, base means ``(p,)`` and Cohen's d ``(k, p)`` of each column.

    Examples
    --------
    >>> x = np.array([[1.0], [2.0], [3.0], [11.0], [12.0], [13.0]])
    >>> means, base, d = feature_effects(x, np.array([0, 0, 0, 1, 1, 1]), 2)
    >>> means.ravel().tolist(), base.tolist(), d.ravel().tolist()
    ([2.0, 12.0], [7.0], [-10.0, 10.0])
    """
    p = matrix.shape[1]
    means = np.full((k, p), np.nan)
    base = np.full(p, np.nan)
    effects = np.zeros((k, p))
    for j in range(p):
        x = matrix[:, j]
        observed = ~np.isnan(x)
        lab = labels[observed]
        total = int(observed.sum())
        if total == 0:
            continue
        centre = float(x[observed].mean())
        y = x[observed] - centre
        n_in = np.bincount(lab, minlength=k).astype(np.float64)
        s_in = np.bincount(lab, weights=y, minlength=k)
        q_in = np.bincount(lab, weights=y * y, minlength=k)
        n_out, s_out, q_out = total - n_in, y.sum() - s_in, (y * y).sum() - q_in
        with np.errstate(divide="ignore", invalid="ignore"):
            m_in = s_in / n_in
            m_out = s_out / n_out
            ss = np.maximum(q_in - n_in * m_in**2, 0.0) + np.maximum(q_out - n_out * m_out**2, 0.0)
            pooled = np.sqrt(ss / (total - 2.0))
            d = (m_in - m_out) / pooled
        ok = (n_in > 0) & (n_out > 0) & (pooled > 0)
        effects[:, j] = np.where(ok, d, 0.0)
        means[:, j] = np.where(n_in > 0, m_in + centre, np.nan)
        base[j] = centre
    return means, base, effects


def top_traits(
    names: Sequence[str],
    means: np.ndarray,
    base: np.ndarray,
    effects: np.ndarray,
    limit: int,
) -> tuple[Trait, ...]:
    """The ``limit`` features with the largest ``|d|`` for one persona (ties: column order)."""
    order = sorted(range(len(names)), key=lambda j: (-abs(float(effects[j])), j))
    return tuple(
        Trait(
            feature=names[j],
            cluster_mean=float(means[j]),
            base_mean=float(base[j]),
            effect_size=float(effects[j]),
            direction="higher" if effects[j] >= 0 else "lower",
        )
        for j in order[:limit]
        if np.isfinite(means[j])
    )


def category_values(
    column: pa.ChunkedArray, name: str, labels: np.ndarray, k: int, limit: int
) -> list[tuple[CategoryValue, ...]]:
    """Per persona, the ``limit`` most common values of a categorical column, with their lift.

    Nulls are left out of both shares. Ties in share are broken by lift, then by value.
    """
    encoded = pc.dictionary_encode(column).combine_chunks()
    dictionary = [str(v) for v in encoded.dictionary.to_pylist()]
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    valid = codes >= 0
    m = max(len(dictionary), 1)
    counts = np.bincount(labels[valid] * m + codes[valid], minlength=k * m).reshape(k, m)
    base = counts.sum(axis=0).astype(np.float64)
    base_share = base / max(base.sum(), 1.0)
    out = []
    for c in range(k):
        in_cluster = counts[c].astype(np.float64)
        share = in_cluster / max(in_cluster.sum(), 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lift = np.where(base_share > 0, share / base_share, 0.0)
        order = sorted(
            (v for v in range(len(dictionary)) if in_cluster[v] > 0),
            key=lambda v: (-share[v], -lift[v], dictionary[v]),
        )
        out.append(
            tuple(
                CategoryValue(
                    name, dictionary[v], float(share[v]), float(base_share[v]), float(lift[v])
                )
                for v in order[:limit]
            )
        )
    return out


def value_summary(values: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each persona's share of the value total and its mean value (nulls count as 0 in the
    share and are left out of the mean)."""
    observed = ~np.isnan(values)
    filled = np.where(observed, values, 0.0)
    sums = np.bincount(labels, weights=filled, minlength=k)
    counts = np.bincount(labels[observed], minlength=k)
    total = float(filled.sum())
    shares = sums / total if total != 0 else np.full(k, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return shares, means
