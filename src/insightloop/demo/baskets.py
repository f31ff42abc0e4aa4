"""Turn each planted purchase into a basket of catalogue items, a time, a delivery and returns.

The basket is built to match the purchase's Gamma-Gamma spend: the spend is split over a few
lines, each line takes the catalogue item of a preferred category whose price is nearest its
share, so the realised amount is within about a percent of the planted draw. Price-sensitive
people buy more on promotion. Online orders get a promised and an actual delivery date; the
order after which a person drops out is late far more often (see ``CHURN_DRIVERS``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insightloop.demo.catalogue import CURRENCIES, EUR_PER_UNIT, Catalogue
from insightloop.demo.fmt import civil_from_days
from insightloop.demo.params import CATEGORIES, CHURN_DRIVERS, COUNTRIES, PERSONAS, RETURN_RATE
from insightloop.demo.population import Persons
from insightloop.demo.purchases import END_DAY, Transactions

__all__ = ["Baskets", "build_baskets"]

MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
_DISCOUNTS = np.array([10, 15, 20, 25, 30, 40, 50])
_PROMISED_DAYS = np.array([2, 2, 3, 4, 3])  # by COUNTRIES
_COUNTRY_CODES = np.array([c.code for c in COUNTRIES])
_CHEAPEST = CATEGORIES.index("delicatessen")


@dataclass
class Baskets:
    """Lines (``line_*``) and per-transaction facts of one chunk's purchases."""

    line_txn: np.ndarray
    line_sku: np.ndarray
    line_qty: np.ndarray
    line_list_cents: np.ndarray
    line_unit_cents: np.ndarray
    line_discount: np.ndarray  # percent
    line_returned: np.ndarray
    line_return_day: np.ndarray
    currency: np.ndarray  # per transaction: index into CURRENCIES
    total_cents: np.ndarray
    value_eur: np.ndarray
    local_ms: np.ndarray
    utc_ms: np.ndarray
    promised_day: np.ndarray  # online only (else -1)
    delivered_ms: np.ndarray  # UTC; -1 when not delivered by the data end or not online
    late_days: np.ndarray
    first_line: np.ndarray  # per transaction: position of its first line

    @property
    def n_lines(self) -> int:
        """Number of basket lines."""
        return len(self.line_txn)


def _country_index(codes: np.ndarray) -> np.ndarray:
    out = np.zeros(len(codes), dtype=np.int64)
    for i, code in enumerate(_COUNTRY_CODES):
        out[codes == code] = i
    return out


def build_baskets(
    rng: np.random.Generator, persons: Persons, txns: Transactions, catalogue: Catalogue
) -> Baskets:
    """Fill, time and deliver every transaction of the chunk."""
    person = txns.person
    country = _country_index(persons.country[person])
    currency = np.array([CURRENCIES.index(c.currency) for c in COUNTRIES])[country]
    offset_h = np.array([c.utc_offset_hours for c in COUNTRIES])[country]

    lines_per = 1 + rng.poisson(0.4 + 0.35 * np.log1p(txns.spend_eur / 25.0))
    lines_per = np.clip(lines_per, 1, np.maximum(1, (txns.spend_eur / 12.0).astype(np.int64)))
    lines_per = np.minimum(lines_per, 8)
    first_line = np.cumsum(lines_per) - lines_per
    txn = np.repeat(np.arange(txns.n), lines_per)
    share = rng.gamma(1.2, size=len(txn))
    share = share / np.bincount(txn, weights=share)[txn]

    persona = persons.persona[person[txn]]
    mix = np.array([pp.categories for pp in PERSONAS])[persona]
    category = (rng.random(len(txn))[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
    category = np.minimum(category, mix.shape[1] - 1)
    # A share too small for any item of the chosen category goes to the cheapest category.
    share_eur = txns.spend_eur[txn] * share
    category = np.where(share_eur < 1.3 * catalogue.min_price_eur[category], _CHEAPEST, category)
    sens = persons.price_sens[person[txn]]
    promo = rng.random(len(txn)) < 0.05 + 0.55 * sens
    depth = np.minimum(
        (sens * len(_DISCOUNTS) * rng.random(len(txn))).astype(np.int64), len(_DISCOUNTS) - 1
    )
    discount = np.where(promo, _DISCOUNTS[depth], 0)
    line_currency = currency[txn]
    target = txns.spend_eur[txn] * share / (1 - discount / 100) / EUR_PER_UNIT[line_currency] * 100
    sku = catalogue.pick(category, line_currency, np.round(target).astype(np.int64))
    list_cents = catalogue.local_cents[sku, line_currency]
    qty = np.clip(np.round(target / list_cents), 1, 12).astype(np.int64)
    unit = np.round(list_cents * (1 - discount / 100)).astype(np.int64)
    total = np.bincount(txn, weights=qty * unit, minlength=txns.n).astype(np.int64)
    value_eur = np.round(total / 100 * EUR_PER_UNIT[currency], 2)

    day_int = np.floor(txns.day).astype(np.int64)
    frac = txns.day - day_int
    # Monotone maps of the day fraction keep each person's purchase order intact.
    hours = np.where(txns.channel == 0, 9.0 + frac * 11.5, 6.5 + frac * 17.4)
    local_ms = day_int * MS_PER_DAY + (hours * MS_PER_HOUR).astype(np.int64)
    utc_ms = local_ms - offset_h * MS_PER_HOUR

    online = txns.channel > 0
    promised_days = _PROMISED_DAYS[country] + rng.integers(0, 2, txns.n)
    promised = np.where(online, day_int + promised_days, -1)
    _, month, _ = civil_from_days(day_int)
    drivers = CHURN_DRIVERS
    late_p = np.where(
        txns.is_dropout,
        drivers["late_rate_on_dropout_order"],
        drivers["late_rate_on_surviving_order"],
    )
    late_p = late_p * np.where(month == 12, drivers["december_late_factor"], 1.0)
    late = online & (rng.random(txns.n) < late_p)
    late_days = np.where(late, rng.geometric(0.4, txns.n), 0)
    early = np.minimum(rng.integers(0, 2, txns.n), promised_days - 1)
    delivered_day = np.where(late, promised + late_days, promised - early)
    delivered_ms = (
        delivered_day * MS_PER_DAY
        + rng.integers(8, 20, txns.n) * MS_PER_HOUR
        - offset_h * MS_PER_HOUR
    )
    delivered_ms = np.where(online & (delivered_day < END_DAY), delivered_ms, -1)

    returns_p = np.asarray(RETURN_RATE)[category] * np.where(late[txn], 1.6, 1.0)
    return_day = delivered_day[txn] + 2 + rng.geometric(0.15, len(txn))
    returned = online[txn] & (delivered_ms[txn] >= 0) & (rng.random(len(txn)) < returns_p)
    returned &= return_day < END_DAY
    return Baskets(
        line_txn=txn,
        line_sku=sku,
        line_qty=qty,
        line_list_cents=list_cents,
        line_unit_cents=unit,
        line_discount=discount,
        line_returned=returned,
        line_return_day=np.where(returned, return_day, -1),
        currency=currency,
        total_cents=total,
        value_eur=value_eur,
        local_ms=local_ms,
        utc_ms=utc_ms,
        promised_day=promised,
        delivered_ms=delivered_ms,
        late_days=np.where(online, late_days, 0),
        first_line=first_line,
    )
