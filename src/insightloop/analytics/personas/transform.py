"""The feature transform: imputation, missing indicators, log1p, standardisation, clipping.

Every decision is taken once, from the fitting sample, and stored (:meth:`FeatureTransform.to_dict`)
so that a re-run or the assignment of new customers applies exactly the same transform. Per column,
in this order:

1. **Drop** a column missing on more than ``max_missing_share`` of customers, a column whose
   observed values are all equal, and a column with weight 0; the reason is recorded.
2. **Log**: a column whose observed values are all non-negative and whose sample skewness exceeds
   ``skew_threshold`` becomes ``log1p(max(x, 0))`` (counts, money and durations are heavy-tailed;
   without the log a few big spenders would each get a cluster of their own).
3. **Impute** nulls with the median (of the logged values where logged).
4. **Missing indicator**: when a column is missing on a share of customers between
   ``missing_indicator_share`` and one minus it, the gap itself describes a group (a null purchase
   interval marks a one-time buyer), so a 0/1 column is added. Rarer gaps are imputed only: an
   indicator set on 1 % of customers would be a large, noisy distance axis. Columns missing on
   exactly the same customers share one indicator, so one gap is not counted several times.
5. **Standardise** (mean and standard deviation, or median and IQR / 1.349), **clip** to
   ``+-clip`` so no customer dominates a centroid, and multiply by the column's weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from insightloop.analytics.personas.settings import PersonaSettings

__all__ = ["ColumnTransform", "FeatureTransform", "MissingIndicator", "fit_transform"]

INDICATOR_SUFFIX = "__missing"


@dataclass(frozen=True)
class ColumnTransform:
    """How one feature column becomes one standardised column.

    Attributes
    ----------
    name
        The feature column.
    log
        Whether ``log1p(max(x, 0))`` is taken first.
    impute
        The value (after the log) that replaces a null: the sample median.
    center, scale
        ``z = (x - center) / scale``.
    weight
        Multiplies the clipped ``z``.
    skewness
        Sample skewness of the observed values (the log decision), kept for the record.
    missing_share
        Share of the sample missing the column.
    """

    name: str
    log: bool
    impute: float
    center: float
    scale: float
    weight: float = 1.0
    skewness: float = 0.0
    missing_share: float = 0.0


@dataclass(frozen=True)
class MissingIndicator:
    """A standardised 0/1 column that is 1 where ``columns[0]`` is null.

    ``columns`` lists every feature that was missing on exactly these customers in the sample.
    """

    name: str
    columns: tuple[str, ...]
    center: float
    scale: float
    weight: float = 1.0


@dataclass(frozen=True)
class FeatureTransform:
    """The fitted transform from feature columns to the standardised clustering space."""

    columns: tuple[ColumnTransform, ...]
    indicators: tuple[MissingIndicator, ...] = ()
    dropped: dict[str, str] = field(default_factory=dict)
    scaling: str = "standard"
    clip: float = 5.0

    @property
    def features(self) -> tuple[str, ...]:
        """The feature columns the transform reads, in the order :meth:`apply` expects them."""
        return tuple(c.name for c in self.columns)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of the standardised columns: the features, then the missing indicators."""
        return self.features + tuple(i.name for i in self.indicators)

    def apply(self, matrix: np.ndarray) -> np.ndarray:
        """Transform an ``(n, len(features))`` matrix (NaN for null) to the clustering space."""
        n = matrix.shape[0]
        out = np.empty((n, len(self.columns) + len(self.indicators)), dtype=np.float64)
        position = {name: j for j, name in enumerate(self.features)}
        for j, col in enumerate(self.columns):
            x = matrix[:, j]
            v = np.log1p(np.maximum(x, 0.0)) if col.log else x.astype(np.float64, copy=True)
            v[np.isnan(v)] = col.impute
            v -= col.center
            v /= col.scale
            np.clip(v, -self.clip, self.clip, out=v)
            v *= col.weight
            out[:, j] = v
        for i, ind in enumerate(self.indicators):
            missing = np.isnan(matrix[:, position[ind.columns[0]]]).astype(np.float64)
            z = np.clip((missing - ind.center) / ind.scale, -self.clip, self.clip)
            out[:, len(self.columns) + i] = z * ind.weight
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (floats are kept exactly by JSON's shortest repr)."""
        return {
            "scaling": self.scaling,
            "clip": self.clip,
            "columns": [asdict(c) for c in self.columns],
            "indicators": [{**asdict(i), "columns": list(i.columns)} for i in self.indicators],
            "dropped": dict(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureTransform:
        """Rebuild a transform written by :meth:`to_dict`."""
        return cls(
            columns=tuple(ColumnTransform(**c) for c in data["columns"]),
            indicators=tuple(
                MissingIndicator(**{**i, "columns": tuple(i["columns"])})
                for i in data["indicators"]
            ),
            dropped=dict(data["dropped"]),
            scaling=str(data["scaling"]),
            clip=float(data["clip"]),
        )


def _skewness(values: np.ndarray) -> float:
    centred = values - values.mean()
    m2 = float(np.mean(centred**2))
    if m2 <= 0.0:
        return 0.0
    return float(np.mean(centred**3) / m2**1.5)


def _centre_scale(values: np.ndarray, scaling: str) -> tuple[float, float]:
    if scaling == "robust":
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        iqr = float(q3 - q1)
        if iqr > 0.0:
            return float(median), iqr / 1.349
        return float(median), float(values.std())
    return float(values.mean()), float(values.std())


def fit_transform(
    matrix: np.ndarray, names: Sequence[str], settings: PersonaSettings
) -> FeatureTransform:
    """Fit the transform on the sample ``matrix`` (columns ``names``, NaN for null).

    Examples
    --------
    >>> x = np.array([[1.0, 5.0], [2.0, 5.0], [np.nan, 5.0], [100.0, 5.0]])
    >>> t = fit_transform(x, ["orders", "flat"], PersonaSettings())
    >>> t.features, t.dropped
    (('orders',), {'flat': 'constant'})
    >>> t.output_names
    ('orders', 'orders__missing')
    """
    columns: list[ColumnTransform] = []
    indicators: list[MissingIndicator] = []
    masks: list[np.ndarray] = []
    dropped: dict[str, str] = {}
    share = settings.missing_indicator_share
    for j, name in enumerate(names):
        x = matrix[:, j]
        missing = np.isnan(x)
        missing_share = float(missing.mean()) if len(x) else 1.0
        weight = float(settings.weights.get(name, 1.0))
        observed = x[~missing]
        if weight == 0.0:
            dropped[name] = "weight 0"
            continue
        if missing_share > settings.max_missing_share or observed.size == 0:
            dropped[name] = f"missing on {missing_share:.0%} of the sample"
            continue
        if float(np.ptp(observed)) == 0.0:
            dropped[name] = "constant"
            continue
        skewness = _skewness(observed)
        log = bool(observed.min() >= 0.0 and skewness > settings.skew_threshold)
        values = np.log1p(observed) if log else observed
        impute = float(np.median(values))
        filled = np.where(missing, impute, np.log1p(np.maximum(x, 0.0)) if log else x)
        center, scale = _centre_scale(filled, settings.scaling)
        if not scale > 0.0:
            dropped[name] = "constant once imputed"
            continue
        columns.append(
            ColumnTransform(name, log, impute, center, scale, weight, skewness, missing_share)
        )
        if not share <= missing_share <= 1.0 - share:
            continue
        for k, mask in enumerate(masks):
            if np.array_equal(mask, missing):
                old = indicators[k]
                indicators[k] = MissingIndicator(
                    old.name, (*old.columns, name), old.center, old.scale, old.weight
                )
                break
        else:
            masks.append(missing)
            spread = float(np.sqrt(missing_share * (1.0 - missing_share)))
            indicators.append(
                MissingIndicator(name + INDICATOR_SUFFIX, (name,), missing_share, spread, weight)
            )
    return FeatureTransform(
        tuple(columns), tuple(indicators), dropped, settings.scaling, settings.clip
    )
