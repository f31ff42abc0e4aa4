"""The product catalogue: SKUs per category with list prices per market, unit cost and margin.

Prices are log-uniform inside each category's range, so a basket of any planted value can be
filled with real catalogue items (see :mod:`insightloop.demo.baskets`). Local list prices follow
each market's price points (``129`` kronor, ``12.99`` pounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from insightloop.demo.fmt import (
    compose,
    concat,
    digit_matrix,
    format_datetime,
    money,
    scramble,
    take,
)
from insightloop.demo.params import CATEGORIES, COUNTRIES, PERIOD_START, day_number

__all__ = ["CURRENCIES", "Catalogue", "make_catalogue"]

SKUS_PER_CATEGORY = 200
CURRENCIES = tuple(dict.fromkeys(c.currency for c in COUNTRIES))
EUR_PER_UNIT = np.array(
    [next(c.eur_per_unit for c in COUNTRIES if c.currency == cur) for cur in CURRENCIES]
)
_WHOLE_PRICE_CURRENCIES = {"SEK", "CNY"}
_PRICE_RANGE = {
    "fashion": (8, 250),
    "shoes": (25, 220),
    "beauty": (3, 90),
    "home": (5, 400),
    "kitchen": (3, 250),
    "electronics": (10, 1200),
    "toys": (4, 150),
    "sports": (5, 300),
    "books": (5, 45),
    "delicatessen": (2, 40),
}
_MARGIN = {
    "fashion": 0.55,
    "shoes": 0.5,
    "beauty": 0.6,
    "home": 0.45,
    "kitchen": 0.42,
    "electronics": 0.22,
    "toys": 0.4,
    "sports": 0.38,
    "books": 0.3,
    "delicatessen": 0.35,
}
_NOUNS = {
    "fashion": ("Shirt", "Dress", "Jacket", "Knit Sweater", "Scarf", "Trousers", "Blazer"),
    "shoes": ("Sneaker", "Boot", "Loafer", "Sandal", "Running Shoe"),
    "beauty": ("Face Cream", "Lip Balm", "Shampoo", "Perfume", "Hand Soap", "Serum"),
    "home": ("Cushion", "Throw", "Lamp", "Vase", "Rug", "Candle Holder", "Mirror"),
    "kitchen": ("Cutting Board", "Chef Knife", "Saucepan", "Mug Set", "Teapot", "Bowl"),
    "electronics": ("Headphones", "Speaker", "Smartwatch", "Charger", "Tablet", "E-reader"),
    "toys": ("Puzzle", "Plush Bear", "Building Set", "Board Game", "Wooden Train"),
    "sports": ("Yoga Mat", "Water Bottle", "Running Jacket", "Dumbbell", "Backpack"),
    "books": ("Cookbook", "Novel", "Travel Guide", "Picture Book", "Biography"),
    "delicatessen": ("Coffee Beans", "Dark Chocolate", "Olive Oil", "Tea Tin", "Honey"),
}
_ADJECTIVES = (
    "Classic",
    "Nordic",
    "Organic",
    "Linen",
    "Oak",
    "Urban",
    "Soft",
    "Premium",
    "Everyday",
    "Eco",
    "Vintage",
    "Compact",
    "Deluxe",
    "Minimal",
)
_CATEGORY_CODES = np.frombuffer(b"FASHBEHOKIELTOSPBODE", np.uint8).reshape(len(CATEGORIES), 2)
_BRANDS = pa.array(
    [
        "Loop Basics",
        "Fjällstig",
        "Northwind",
        "Maison Ceres",
        "Kite & Co",
        "Huaxia Home",
        "Brightside",
        "Sølvik",
        "Tern",
        "Atlas Sport",
    ]
)


@dataclass(frozen=True)
class Catalogue:
    """SKU columns (position = SKU index) and a price index for basket filling."""

    sku: pa.Array
    name: pa.Array
    category: np.ndarray
    brand: np.ndarray
    price_eur: np.ndarray
    local_cents: np.ndarray  # (n_sku, len(CURRENCIES)) list prices in cents
    cost_eur: np.ndarray
    launched: np.ndarray
    active: np.ndarray
    _sorted: np.ndarray  # per currency: SKU positions sorted by (category, local price)
    _keys: np.ndarray  # per currency: category * 1e9 + local cents, sorted

    @property
    def n(self) -> int:
        """Number of SKUs."""
        return len(self.category)

    @property
    def min_price_eur(self) -> np.ndarray:
        """Cheapest list price (EUR) per category."""
        return np.array([self.price_eur[self.category == c].min() for c in range(len(CATEGORIES))])

    def pick(
        self, category: np.ndarray, currency: np.ndarray, target_cents: np.ndarray
    ) -> np.ndarray:
        """For each line, the SKU of ``category`` whose local price is nearest to the target."""
        out = np.empty(len(category), dtype=np.int64)
        for c in range(len(CURRENCIES)):
            mask = currency == c
            keys = self._keys[c]
            wanted = category[mask] * 1_000_000_000 + target_cents[mask]
            hi = np.searchsorted(keys, wanted)
            lo_bound = category[mask] * SKUS_PER_CATEGORY
            hi = np.clip(hi, lo_bound, lo_bound + SKUS_PER_CATEGORY - 1)
            lo = np.maximum(hi - 1, lo_bound)
            closer_lo = np.abs(keys[lo] - wanted) < np.abs(keys[hi] - wanted)
            out[mask] = self._sorted[c][np.where(closer_lo, lo, hi)]
        return out

    def table(self) -> dict[str, pa.Array]:
        """The ``products/catalogue.csv`` columns as strings."""
        columns: dict[str, pa.Array] = {
            "sku": self.sku,
            "product_name": self.name,
            "category": take(pa.array(CATEGORIES), self.category),
            "brand": take(_BRANDS, self.brand),
        }
        for c, currency in enumerate(CURRENCIES):
            columns[f"list_price_{currency.lower()}"] = money(self.local_cents[:, c])
        cost_cents = np.round(self.cost_eur * 100).astype(np.int64)
        columns["unit_cost_eur"] = money(cost_cents)
        margin = np.round((1 - self.cost_eur / self.price_eur) * 1000).astype(np.int64)
        columns["margin_pct"] = money(margin * 10)
        columns["launch_date"] = format_datetime(self.launched * 86_400_000, "YYYY-MM-DD")
        columns["active"] = pa.array(np.where(self.active, "true", "false"))
        return columns


def make_catalogue(rng: np.random.Generator) -> Catalogue:
    """Draw the catalogue (same for every chunk: it comes from the run's global seed stream)."""
    n_cat = len(CATEGORIES)
    n = n_cat * SKUS_PER_CATEGORY
    category = np.repeat(np.arange(n_cat), SKUS_PER_CATEGORY)
    lo = np.array([_PRICE_RANGE[c][0] for c in CATEGORIES])[category]
    hi = np.array([_PRICE_RANGE[c][1] for c in CATEGORIES])[category]
    price_eur = np.round(np.exp(np.log(lo) + rng.random(n) * np.log(hi / lo)), 2)
    local = np.empty((n, len(CURRENCIES)), dtype=np.int64)
    for c, currency in enumerate(CURRENCIES):
        raw = price_eur / EUR_PER_UNIT[c]
        if currency in _WHOLE_PRICE_CURRENCIES:
            local[:, c] = (np.ceil(raw / 10) * 10 - 1) * 100
        else:
            local[:, c] = np.ceil(raw).astype(np.int64) * 100 - 1
    margin = np.array([_MARGIN[c] for c in CATEGORIES])[category]
    cost_eur = np.round(price_eur * (1 - np.clip(margin + rng.normal(0, 0.06, n), 0.05, 0.8)), 2)

    code = compose(
        n,
        [
            _CATEGORY_CODES[category],
            "-",
            digit_matrix(10_000 + scramble(np.arange(n), 10_000, 3), 5),
        ],
    )
    noun_pool = [noun for c in CATEGORIES for noun in _NOUNS[c]]
    noun_start = np.cumsum([0] + [len(_NOUNS[c]) for c in CATEGORIES])
    noun_count = np.array([len(_NOUNS[c]) for c in CATEGORIES])
    noun = noun_start[category] + rng.integers(0, 1 << 30, n) % noun_count[category]
    adjective = rng.integers(0, len(_ADJECTIVES), n)
    name = concat(take(pa.array(_ADJECTIVES), adjective), " ", take(pa.array(noun_pool), noun))
    window = day_number(PERIOD_START)
    launched = window - rng.integers(30, 1500, n) + (rng.random(n) < 0.2) * rng.integers(0, 1000, n)

    order = [np.lexsort((local[:, c], category)) for c in range(len(CURRENCIES))]
    keys = [category[o] * 1_000_000_000 + local[o, c] for c, o in enumerate(order)]
    return Catalogue(
        sku=code,
        name=name,
        category=category,
        brand=rng.integers(0, len(_BRANDS), n),
        price_eur=price_eur,
        local_cents=local,
        cost_eur=cost_eur,
        launched=launched,
        active=rng.random(n) > 0.04,
        _sorted=np.stack(order),
        _keys=np.stack(keys),
    )
