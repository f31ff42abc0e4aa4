"""Synthetic customer feature tables with planted customer types, for the persona tests.

Each type differs in purchase frequency, basket value, channel mix, category mix and discount
use, the way the demo company's personas do (``insightloop.demo.params.PERSONAS``); tenure,
return rate and contacts are shared noise. The truth column ``planted`` is returned separately,
never inside the feature table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["CATEGORIES", "GIFTER", "TYPES", "PlantedType", "planted_table"]

CATEGORIES = ("fashion", "home", "electronics", "toys", "delicatessen")


@dataclass(frozen=True)
class PlantedType:
    """One planted customer type."""

    name: str
    prior: float
    orders: float
    basket_eur: float
    channels: tuple[float, float, float]  # store, web, app
    categories: tuple[float, float, float, float, float]  # over CATEGORIES
    discount: tuple[float, float]  # Beta(a, b) of the share of orders on discount


TYPES = (
    PlantedType(
        "store_loyalist", 0.35, 14.0, 45.0, (0.85, 0.1, 0.05), (0.1, 0.35, 0.1, 0.1, 0.35), (2, 8)
    ),
    PlantedType(
        "digital_native", 0.25, 7.0, 60.0, (0.08, 0.3, 0.62), (0.5, 0.05, 0.35, 0.05, 0.05), (3, 5)
    ),
    PlantedType(
        "bargain_hunter", 0.25, 4.0, 28.0, (0.25, 0.65, 0.1), (0.3, 0.3, 0.2, 0.15, 0.05), (7, 2)
    ),
    PlantedType(
        "premium", 0.15, 6.0, 260.0, (0.4, 0.35, 0.25), (0.15, 0.3, 0.45, 0.05, 0.05), (1, 9)
    ),
)
GIFTER = PlantedType(
    "seasonal_gifter", 0.15, 1.5, 70.0, (0.45, 0.5, 0.05), (0.05, 0.05, 0.1, 0.7, 0.1), (3, 5)
)


def planted_table(
    n: int, seed: int, types: tuple[PlantedType, ...] = TYPES
) -> tuple[pa.Table, np.ndarray]:
    """A feature table of ``n`` customers and the planted type index of each row."""
    rng = np.random.default_rng(seed)
    prior = np.array([t.prior for t in types])
    kind = rng.choice(len(types), size=n, p=prior / prior.sum())
    orders_mean = np.array([t.orders for t in types])[kind]
    orders = 1 + rng.poisson(orders_mean - 1)
    aov = np.array([t.basket_eur for t in types])[kind] * rng.lognormal(0.0, 0.3, n)
    revenue = orders * aov * rng.lognormal(0.0, 0.1, n)
    interval = 365.0 / orders * rng.lognormal(0.0, 0.2, n)
    recency = np.minimum(rng.exponential(interval), 365.0)
    channels = np.vstack([rng.dirichlet(np.array(types[k].channels) * 30) for k in kind])
    cats = np.vstack([rng.dirichlet(np.array(types[k].categories) * 20) for k in kind])
    a = np.array([t.discount[0] for t in types])[kind]
    b = np.array([t.discount[1] for t in types])[kind]
    columns: dict[str, object] = {
        "customer_id": [f"C{i:07d}" for i in range(n)],
        "orders_365d": orders,
        "revenue_365d": np.round(revenue, 2),
        "avg_order_value": np.round(aov, 2),
        "recency_days": np.round(recency),
        "tenure_days": rng.integers(60, 2500, n),
        "purchase_interval_days": pa.array(np.round(interval, 1), mask=orders == 1),
        "share_store": channels[:, 0],
        "share_web": channels[:, 1],
        "share_app": channels[:, 2],
        "discount_share": rng.beta(a, b),
        "return_rate": rng.beta(1.0, 12.0, n),
        "contacts_365d": rng.poisson(0.5, n),
    }
    for j, name in enumerate(CATEGORIES):
        columns[f"share_cat_{name}"] = cats[:, j]
    columns["top_channel"] = np.array(["store", "web", "app"])[channels.argmax(axis=1)]
    columns["top_category"] = np.array(CATEGORIES)[cats.argmax(axis=1)]
    columns["country"] = rng.choice(["SE", "GB", "US", "CN"], size=n, p=[0.3, 0.3, 0.2, 0.2])
    return pa.table(columns), kind
