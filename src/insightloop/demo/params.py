"""The planted truth of the demo company: every parameter the generator draws from.

These constants *are* the ground truth that analytics are scored against, so they live in one
module and are written verbatim to ``truth/params.json``. Changing any of them changes the
generated files, hence :data:`GENERATOR_VERSION`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "BGNBD",
    "CATEGORIES",
    "CHUNK_SIZE",
    "COUNTRIES",
    "DATA_END",
    "GAMMA_GAMMA",
    "GENERATOR_VERSION",
    "HOLDOUT_END",
    "MAX_CUSTOMERS",
    "MIN_CUSTOMERS",
    "PERIOD_START",
    "PERSONAS",
    "UPLIFT_SEGMENTS",
    "Country",
    "Persona",
    "day_number",
    "params_document",
]

GENERATOR_VERSION = "1.1.0"  # 1.1: web items state their discount and returned units
MIN_CUSTOMERS = 100
MAX_CUSTOMERS = 5_000_000
# Persons are generated in fixed-size chunks, each from its own seed stream; the chunk size is
# part of the output's definition, so it is a constant, not a tuning knob.
CHUNK_SIZE = 10_000

PERIOD_START = dt.date(2022, 1, 1)
DATA_END = dt.date(2025, 1, 1)  # exclusive: the last day with data is 2024-12-31
HOLDOUT_WEEKS = 26
HOLDOUT_END = DATA_END + dt.timedelta(weeks=HOLDOUT_WEEKS)


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the time axis of the whole generator."""
    return (day - dt.date(1970, 1, 1)).days


# Buy-till-you-die process (Fader, Hardie & Lee 2005, "Counting your customers the easy way").
# lambda ~ Gamma(shape r, rate alpha) per week; dropout p ~ Beta(a, b) after each repeat purchase.
BGNBD = {"r": 0.8, "alpha": 7.0, "a": 0.9, "b": 5.0}
# Spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV"): z ~ Gamma(p, nu),
# nu ~ Gamma(q, gamma); values in EUR.
GAMMA_GAMMA = {"p": 3.5, "q": 3.8, "gamma": 55.0}


@dataclass(frozen=True)
class Country:
    """A market of the retailer."""

    code: str
    language: str
    currency: str
    eur_per_unit: float
    share: float
    office: str
    utc_offset_hours: int
    phone_prefix: str
    locale: str


COUNTRIES = (
    Country("SE", "sv", "SEK", 0.087, 0.30, "nordics", 1, "46", "sv-SE"),
    Country("GB", "en", "GBP", 1.17, 0.24, "hq", 0, "44", "en-GB"),
    Country("IE", "en", "EUR", 1.0, 0.05, "hq", 0, "353", "en-IE"),
    Country("US", "en", "USD", 0.92, 0.21, "hq", -5, "1", "en-US"),
    Country("CN", "zh", "CNY", 0.128, 0.20, "china", 8, "86", "zh-CN"),
)

CATEGORIES = (
    "fashion",
    "shoes",
    "beauty",
    "home",
    "kitchen",
    "electronics",
    "toys",
    "sports",
    "books",
    "delicatessen",
)
RETURN_RATE = (0.22, 0.18, 0.04, 0.06, 0.05, 0.08, 0.05, 0.09, 0.02, 0.01)


@dataclass(frozen=True)
class Persona:
    """A planted customer type.

    Assignment is a multinomial choice on the person's own latent draws (``weights`` apply to the
    standardised log purchase rate, log mean spend, age and logit dropout), so personas differ in
    frequency, spend and loyalty while the population keeps the exact planted BG/NBD and
    Gamma-Gamma mixing distributions.
    """

    name: str
    description: str
    prior: float
    weights: tuple[float, float, float, float]
    channels: tuple[float, float, float]  # store, web, app
    categories: tuple[float, ...]  # over CATEGORIES
    price_sensitivity: tuple[float, float]  # Beta(a, b) of the latent price sensitivity
    loyalty_rate: float
    scan_rate: float
    app_rate: float
    browse_per_year: float
    contacts_per_year: float
    nps_base: float
    december_boost: float
    uplift_mix: tuple[float, float, float, float]  # persuadable, sure_thing, lost_cause, sleeping
    consent_rate: float


PERSONAS = (
    Persona(
        name="store_loyalist",
        description="Frequent, loyal store shopper; groceries, home and kitchen; scans the card.",
        prior=0.0,
        weights=(1.4, -0.2, 0.8, -1.0),
        channels=(0.86, 0.11, 0.03),
        categories=(0.02, 0.02, 0.06, 0.22, 0.2, 0.03, 0.03, 0.04, 0.08, 0.3),
        price_sensitivity=(2.0, 8.0),
        loyalty_rate=0.92,
        scan_rate=0.85,
        app_rate=0.1,
        browse_per_year=1.5,
        contacts_per_year=0.35,
        nps_base=8.4,
        december_boost=0.35,
        uplift_mix=(0.15, 0.35, 0.15, 0.35),
        consent_rate=0.7,
    ),
    Persona(
        name="digital_native",
        description="Young app-first shopper; fashion, beauty and electronics; browses a lot.",
        prior=0.0,
        weights=(0.4, -0.1, -1.6, 0.2),
        channels=(0.1, 0.32, 0.58),
        categories=(0.3, 0.14, 0.18, 0.04, 0.02, 0.2, 0.01, 0.07, 0.03, 0.01),
        price_sensitivity=(3.0, 5.0),
        loyalty_rate=0.25,
        scan_rate=0.5,
        app_rate=0.85,
        browse_per_year=9.0,
        contacts_per_year=0.5,
        nps_base=7.2,
        december_boost=0.5,
        uplift_mix=(0.45, 0.1, 0.35, 0.1),
        consent_rate=0.55,
    ),
    Persona(
        name="bargain_hunter",
        description="Price-sensitive web shopper; buys on promotion, leaves after bad experiences.",
        prior=0.0,
        weights=(0.1, -1.3, 0.0, 0.8),
        channels=(0.28, 0.62, 0.1),
        categories=(0.25, 0.12, 0.06, 0.18, 0.08, 0.12, 0.1, 0.05, 0.03, 0.01),
        price_sensitivity=(6.0, 2.5),
        loyalty_rate=0.45,
        scan_rate=0.6,
        app_rate=0.3,
        browse_per_year=5.0,
        contacts_per_year=0.6,
        nps_base=6.4,
        december_boost=0.6,
        uplift_mix=(0.6, 0.05, 0.2, 0.15),
        consent_rate=0.75,
    ),
    Persona(
        name="premium_omnichannel",
        description="High spender across store, web and app; electronics, home and beauty.",
        prior=0.0,
        weights=(0.3, 1.6, 0.5, -0.3),
        channels=(0.42, 0.33, 0.25),
        categories=(0.12, 0.08, 0.16, 0.2, 0.1, 0.24, 0.02, 0.04, 0.03, 0.01),
        price_sensitivity=(1.5, 9.0),
        loyalty_rate=0.7,
        scan_rate=0.75,
        app_rate=0.55,
        browse_per_year=4.5,
        contacts_per_year=0.45,
        nps_base=8.0,
        december_boost=0.5,
        uplift_mix=(0.15, 0.6, 0.1, 0.15),
        consent_rate=0.6,
    ),
    Persona(
        name="seasonal_gifter",
        description="Buys rarely, mostly gifts before Christmas; toys, books and beauty.",
        prior=0.0,
        weights=(-1.5, 0.3, 0.3, 0.4),
        channels=(0.42, 0.5, 0.08),
        categories=(0.06, 0.03, 0.2, 0.08, 0.05, 0.08, 0.3, 0.05, 0.14, 0.01),
        price_sensitivity=(3.0, 5.0),
        loyalty_rate=0.3,
        scan_rate=0.55,
        app_rate=0.15,
        browse_per_year=2.5,
        contacts_per_year=0.3,
        nps_base=7.6,
        december_boost=3.0,
        uplift_mix=(0.5, 0.1, 0.3, 0.1),
        consent_rate=0.5,
    ),
)

# Campaign response: probability without treatment (``base``) and the treatment effect on that
# probability (``uplift``), both multiplied per campaign by its strength.
UPLIFT_SEGMENTS = {
    "persuadable": {"base": 0.03, "uplift": 0.09},
    "sure_thing": {"base": 0.2, "uplift": 0.0},
    "lost_cause": {"base": 0.01, "uplift": 0.0},
    "sleeping_dog": {"base": 0.09, "uplift": -0.05},
}

# Service failures and churn. Dropout itself follows the planted BG/NBD exactly; failures are
# far more likely on the purchase after which the person drops out, which is how "a late delivery
# or an unresolved contact makes people leave" shows in the data without bending the BG/NBD.
CHURN_DRIVERS = {
    "late_rate_on_surviving_order": 0.06,
    "late_rate_on_dropout_order": 0.35,
    "december_late_factor": 1.8,
    "contact_after_late_delivery": 0.45,
    "contact_after_return": 0.25,
    "unresolved_rate_on_surviving_purchase": 0.14,
    "unresolved_rate_on_dropout_purchase": 0.55,
    "complaint_after_dropout_store_visit": 0.2,
    "price_sensitivity_logit_p_correlation": 0.6,
}

# Survey scores: latent = persona nps_base + coefficients * drivers + Normal(0, noise_sd), then
# rounded and clipped to 0-10 (NPS); CSAT and CES are cut from the same latent.
NPS_DRIVERS = {
    "delay_day": -0.7,
    "delay_cap_days": 8,
    "returned_item": -0.6,
    "unresolved_contact": -2.8,
    "resolved_contact": 0.4,
    "noise_sd": 1.3,
}

DEFECT_RATE = 0.006


def params_document(seed: int, customers: int) -> dict[str, Any]:
    """Everything planted, as the JSON document written to ``truth/params.json``."""
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "customers": customers,
        "chunk_size": CHUNK_SIZE,
        "period_start": PERIOD_START.isoformat(),
        "period_end": (DATA_END - dt.timedelta(days=1)).isoformat(),
        "data_end_exclusive": DATA_END.isoformat(),
        "holdout_weeks": HOLDOUT_WEEKS,
        "holdout_end_exclusive": HOLDOUT_END.isoformat(),
        "time_unit_of_rates": "week",
        "bgnbd": dict(BGNBD),
        "gamma_gamma": dict(GAMMA_GAMMA),
        "spend_currency": "EUR",
        "countries": [asdict(c) for c in COUNTRIES],
        "categories": list(CATEGORIES),
        "return_rate_by_category": dict(zip(CATEGORIES, RETURN_RATE, strict=True)),
        "personas": [
            {**asdict(p), "categories": dict(zip(CATEGORIES, p.categories, strict=True))}
            for p in PERSONAS
        ],
        "uplift_segments": UPLIFT_SEGMENTS,
        "churn_drivers": CHURN_DRIVERS,
        "nps_drivers": NPS_DRIVERS,
        "defect_rate": DEFECT_RATE,
    }
