"""Customers drawn from the models, for tests, benchmarks and what-if studies (numpy only)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from insightloop.analytics.clv.bgnbd import BetaGeoModel
from insightloop.analytics.clv.fitting import ArrayLike, as_array
from insightloop.analytics.clv.gamma_gamma import GammaGammaModel

__all__ = ["simulate_bgnbd", "simulate_spend"]


def simulate_bgnbd(
    model: BetaGeoModel, T: ArrayLike, *, seed: int | np.random.Generator | None = None
) -> pa.Table:
    """Summaries ``(frequency, recency, T)`` of customers drawn from a BG/NBD model.

    Each customer buys at the events of a Poisson process of rate ``lambda``; after each repeat
    purchase they drop out with probability ``p``. The purchases before drop-out are
    geometric, and given ``n`` events in ``(0, T]`` the time of the ``k``-th is ``T`` times a
    ``Beta(k, n - k + 1)`` draw, so no customer is simulated event by event.

    Examples
    --------
    >>> model = BetaGeoModel(r=0.25, alpha=4.0, a=0.8, b=2.5)
    >>> simulate_bgnbd(model, [39.0] * 3, seed=1).column_names
    ['frequency', 'recency', 'T']
    """
    rng = np.random.default_rng(seed)
    big_t = as_array(T, "T")
    n = len(big_t)
    rate = rng.gamma(model.r, 1.0 / model.alpha, n)
    dropout = rng.beta(model.a, model.b, n)
    events = rng.poisson(rate * big_t)
    # Repeat purchases up to and including the one after which the customer drops out.
    lifetime = rng.geometric(np.clip(dropout, 1e-300, 1.0))
    x = np.minimum(events, lifetime)
    safe = np.maximum(x, 1)
    recency = np.where(x > 0, big_t * rng.beta(safe, np.maximum(events - x, 0) + 1), 0.0)
    return pa.table({"frequency": x, "recency": recency, "T": big_t})


def simulate_spend(
    model: GammaGammaModel, frequency: ArrayLike, *, seed: int | np.random.Generator | None = None
) -> np.ndarray:
    """Mean value of each customer's ``frequency`` repeat purchases under a Gamma-Gamma model
    (0 where ``frequency`` is 0)."""
    rng = np.random.default_rng(seed)
    x = as_array(frequency, "frequency")
    nu = rng.gamma(model.q, 1.0 / model.gamma, len(x))
    # The sum of x Gamma(p, nu) values is Gamma(p x, nu); its mean is that over x.
    total = rng.gamma(np.maximum(model.p * x, 1e-12), 1.0 / nu)
    return np.where(x > 0, total / np.maximum(x, 1), 0.0)
