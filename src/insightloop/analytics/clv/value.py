"""Customer lifetime value: expected purchases times expected spend, discounted per period.

For a customer with summary ``(x, t_x, T)`` the purchase models give ``P(alive)`` and the expected
purchases ``g(t)`` in ``(T, T+t]`` if alive; the spend model gives ``E[M]``, the expected value of
one purchase. With the horizon ``H`` cut into ``K = ceil(H / P)`` periods of length ``P`` (the last
one possibly shorter), ``t_k = min(k P, H)`` and ``d`` the discount rate per period::

    expected purchases  = P(alive) g(H)
    CLV                 = P(alive) g(H) E[M]
    discounted CLV      = P(alive) E[M] sum_{k=1..K} (g(t_k) - g(t_{k-1})) / (1 + d)^k

Purchases made during period ``k`` are discounted as if paid at its end. ``g`` depends on ``x``
and ``T`` only, so it is evaluated once per distinct ``(x, T)`` pair: summaries built from
daily transactions have far fewer pairs than customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import pyarrow as pa

from insightloop.analytics.clv.errors import ClvInputError
from insightloop.analytics.clv.fitting import (
    ArrayLike,
    FloatArray,
    as_array,
    check_summary,
    compress_rows,
)

__all__ = [
    "PurchaseModel",
    "ValueForecast",
    "customer_value",
    "discounted_purchases_if_alive",
    "rate_per_period",
]


class PurchaseModel(Protocol):
    """What :class:`~insightloop.analytics.clv.BetaGeoModel` and
    :class:`~insightloop.analytics.clv.ParetoNBDModel` have in common."""

    kind: ClassVar[str]
    param_names: ClassVar[tuple[str, ...]]

    @property
    def params(self) -> dict[str, float]: ...

    def expected_purchases(self, t: ArrayLike) -> FloatArray: ...

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def expected_purchases_if_alive(
        self, t: ArrayLike, frequency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray: ...


def rate_per_period(annual_rate: float, period_days: float) -> float:
    """The discount rate per period equivalent to an annual rate (compounded).

    Examples
    --------
    >>> round(rate_per_period(0.10, 7.0), 6)
    0.001828
    """
    if annual_rate <= -1:
        raise ClvInputError(f"The discount rate must be above -100%, not {annual_rate}.")
    return float((1 + annual_rate) ** (period_days / 365.25) - 1)


def discounted_purchases_if_alive(
    model: PurchaseModel,
    frequency: ArrayLike,
    T: ArrayLike,
    *,
    horizon: float,
    period: float = 1.0,
    discount_rate: float = 0.0,
) -> tuple[FloatArray, FloatArray]:
    """Expected purchases in ``(T, T+horizon]`` if alive: plain and discounted per period.

    Parameters
    ----------
    horizon, period
        Length of the forecast and of one discounting period, in the model's time unit.
    discount_rate
        Rate per period (see :func:`rate_per_period`).
    """
    if not (horizon > 0 and period > 0):
        raise ClvInputError(f"horizon and period must be positive; they are {horizon}, {period}.")
    if discount_rate <= -1:
        raise ClvInputError(f"The discount rate must be above -100%, not {discount_rate}.")
    x, big_t = as_array(frequency, "frequency"), as_array(T, "T")
    (ux, ut), _, inverse = compress_rows(x, big_t)
    steps = math.ceil(horizon / period - 1e-9)
    previous = np.zeros(len(ux))
    discounted = np.zeros(len(ux))
    for k in range(1, steps + 1):
        current = model.expected_purchases_if_alive(min(k * period, horizon), ux, ut)
        discounted += (current - previous) / (1 + discount_rate) ** k
        previous = current
    return previous[inverse], discounted[inverse]


@dataclass(frozen=True)
class ValueForecast:
    """Per-customer forecasts over a horizon (arrays in the order of the input)."""

    probability_alive: FloatArray
    expected_purchases: FloatArray
    expected_spend: FloatArray
    clv: FloatArray
    discounted_clv: FloatArray

    columns: ClassVar[tuple[str, ...]] = (
        "p_alive", "expected_purchases", "expected_spend", "clv", "discounted_clv",
    )  # fmt: skip

    def to_arrow(self) -> pa.Table:
        """The forecasts as a pyarrow Table with the names of :attr:`columns`."""
        values = (
            self.probability_alive,
            self.expected_purchases,
            self.expected_spend,
            self.clv,
            self.discounted_clv,
        )
        return pa.table(dict(zip(self.columns, values, strict=True)))

    def totals(self) -> dict[str, Any]:
        """Portfolio totals: customers, expected active customers, purchases and value."""
        return {
            "customers": len(self.clv),
            "expected_active_customers": float(self.probability_alive.sum()),
            "expected_purchases": float(self.expected_purchases.sum()),
            "clv": float(self.clv.sum()),
            "discounted_clv": float(self.discounted_clv.sum()),
        }


def customer_value(
    model: PurchaseModel,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    spend: ArrayLike,
    *,
    horizon: float,
    period: float = 1.0,
    discount_rate: float = 0.0,
) -> ValueForecast:
    """Expected purchases and lifetime value of each customer over ``horizon`` time units.

    Parameters
    ----------
    model
        A fitted purchase model.
    frequency, recency, T
        The customer summaries, in the model's time unit.
    spend
        Expected value of one purchase per customer, e.g.
        :meth:`GammaGammaModel.conditional_expected_spend`, or one number for everyone.
    horizon, period
        Forecast length and discounting period, in the model's time unit.
    discount_rate
        Rate per period (see :func:`rate_per_period`).

    Examples
    --------
    >>> from insightloop.analytics.clv import BetaGeoModel
    >>> model = BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> value = customer_value(model, [0, 2], [0.0, 30.43], [38.86, 38.86], 35.0,
    ...                        horizon=52, discount_rate=0.002)
    >>> value.clv.round(2).tolist(), value.discounted_clv.round(2).tolist()
    ([8.82, 54.56], [8.39, 51.96])
    """
    x, t_x, big_t, _ = check_summary(frequency, recency, T)
    spend_array = np.broadcast_to(as_array(spend, "spend"), x.shape).astype(np.float64)
    alive = model.probability_alive(x, t_x, big_t)
    plain, discounted = discounted_purchases_if_alive(
        model, x, big_t, horizon=horizon, period=period, discount_rate=discount_rate
    )
    expected = alive * plain
    return ValueForecast(
        probability_alive=alive,
        expected_purchases=expected,
        expected_spend=spend_array,
        clv=expected * spend_array,
        discounted_clv=alive * discounted * spend_array,
    )
