"""The persons of one chunk: households, demographics, latent behaviour and planted personas.

Latent purchase rate, dropout probability and spend rate are drawn from exactly the planted
BG/NBD and Gamma-Gamma mixing distributions; personas are then *chosen from* those draws (plus
age), so each persona behaves distinctly while the population keeps the planted parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from insightloop.demo import geo
from insightloop.demo.names import FIRST, LAST
from insightloop.demo.params import (
    BGNBD,
    COUNTRIES,
    DATA_END,
    GAMMA_GAMMA,
    PERSONAS,
    UPLIFT_SEGMENTS,
    day_number,
)
from insightloop.demo.season import WINDOW_WEEKS, to_calendar

__all__ = ["Persons", "make_persons"]

_HOUSEHOLD_SIZES = np.array([1, 2, 3, 4])
_HOUSEHOLD_SIZE_P = np.array([0.46, 0.34, 0.12, 0.08])
_LANDLINE_RATE = np.array([0.35, 0.45, 0.45, 0.4, 0.25])  # by COUNTRIES
_SEGMENTS = tuple(UPLIFT_SEGMENTS)
PRICE_SENSITIVITY_LOADING = 0.8  # on standardised logit(p): price-sensitive people leave sooner


@dataclass
class Persons:
    """Column arrays of one chunk's persons (index = position in the chunk)."""

    start: int
    gidx: np.ndarray
    household: np.ndarray
    hh_pos: np.ndarray
    hh_size: np.ndarray
    country: np.ndarray
    language: np.ndarray
    sex: np.ndarray
    first: np.ndarray
    last: np.ndarray
    dob: np.ndarray
    city: np.ndarray
    street: np.ndarray
    house: np.ndarray
    flat: np.ndarray
    postcode: pa.Array
    mobile: np.ndarray
    has_landline: np.ndarray
    lam: np.ndarray
    p: np.ndarray
    nu: np.ndarray
    persona: np.ndarray
    price_sens: np.ndarray
    uplift_segment: np.ndarray
    base_response: np.ndarray
    uplift: np.ndarray
    t0: np.ndarray
    email_change: np.ndarray

    @property
    def n(self) -> int:
        """Number of persons in the chunk."""
        return len(self.gidx)


def _digamma(x: float) -> float:
    shift = 0.0
    while x < 6.0:
        shift -= 1.0 / x
        x += 1.0
    inv = 1.0 / (x * x)
    series = inv * (1 / 12 - inv * (1 / 120 - inv * (1 / 252 - inv * (1 / 240))))
    return shift + math.log(x) - 0.5 / x - series


def _trigamma(x: float) -> float:
    shift = 0.0
    while x < 6.0:
        shift += 1.0 / (x * x)
        x += 1.0
    inv = 1.0 / (x * x)
    return shift + 1 / x + inv / 2 + inv / x * (1 / 6 - inv * (1 / 30 - inv / 42))


def _standardise_log_gamma(values: np.ndarray, shape: float, rate: float) -> np.ndarray:
    """Exact z-score of log X for X ~ Gamma(shape, rate), independent of the sample."""
    return (np.log(values) - (_digamma(shape) - math.log(rate))) / math.sqrt(_trigamma(shape))


def _households(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sizes = rng.choice(_HOUSEHOLD_SIZES, size=n, p=_HOUSEHOLD_SIZE_P)
    ends = np.cumsum(sizes)
    count = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:count]
    sizes[-1] -= int(ends[count - 1]) - n
    household = np.repeat(np.arange(count), sizes)
    first_member = np.repeat(np.cumsum(sizes) - sizes, sizes)
    return household, np.arange(n) - first_member, np.repeat(sizes, sizes)


def make_persons(rng: np.random.Generator, start: int, n: int) -> Persons:
    """Draw ``n`` persons whose global indices start at ``start``; households stay in the chunk."""
    household, hh_pos, hh_size = _households(rng, n)
    head = hh_pos == 0
    n_hh = int(household.max()) + 1
    shares = np.array([c.share for c in COUNTRIES])
    country_idx = rng.choice(len(COUNTRIES), size=n_hh, p=shares / shares.sum())[household]
    country = np.array([c.code for c in COUNTRIES])[country_idx]
    language = np.array([c.language for c in COUNTRIES])[country_idx]

    city_hh = np.empty(n_hh, dtype=np.int64)
    street_hh = np.empty(n_hh, dtype=np.int64)
    hh_country = country[head]
    for code in np.unique(hh_country):
        mask = hh_country == code
        options = geo.cities_of(code)
        weights = 1.0 / np.arange(1, len(options) + 1) ** 0.8
        city_hh[mask] = rng.choice(options, int(mask.sum()), p=weights / weights.sum())
        street_hh[mask] = geo.streets_for(code, rng, int(mask.sum()))
    flat_hh = np.where(rng.random(n_hh) < 0.45, rng.integers(1001, 1899, n_hh), 0)
    house_hh = 1 + rng.geometric(0.04, n_hh)

    sex = rng.integers(0, 2, n)
    partner = (hh_pos == 1) & (rng.random(n) < 0.85)
    sex[partner] = 1 - sex[np.flatnonzero(partner) - 1]
    first = np.empty(n, dtype=np.int64)
    last = np.empty(n, dtype=np.int64)
    for lang in ("sv", "en", "zh"):
        mask = language == lang
        first[mask] = FIRST.draw(rng, lang, sex[mask])
        last[mask] = LAST.draw(rng, lang, np.full(int(mask.sum()), -1))
    # Family members mostly share the household's surname; Chinese spouses keep their own.
    shares_name = (rng.random(n) < 0.75) & ~((language == "zh") & (hh_pos == 1))
    head_index = np.flatnonzero(head)[household]
    last = np.where(shares_name, last[head_index], last)

    age = 18 + rng.beta(2.2, 3.0, n) * 67
    partner_age = np.clip(age[head_index] + rng.normal(0, 4, n), 18, 90)
    age = np.where(hh_pos == 1, partner_age, age)
    age = np.where(hh_pos >= 2, 18 + rng.random(n) * 9, age)
    dob = (day_number(DATA_END) - age * 365.25).astype(np.int64)

    bg, gg = BGNBD, GAMMA_GAMMA
    lam = rng.gamma(bg["r"], 1.0 / bg["alpha"], n)
    p = rng.beta(bg["a"], bg["b"], n)
    nu = rng.gamma(gg["q"], 1.0 / gg["gamma"], n)
    z_lam = _standardise_log_gamma(lam, bg["r"], bg["alpha"])
    z_spend = -_standardise_log_gamma(nu, gg["q"], gg["gamma"])
    z_age = (age - 45.0) / 15.0
    logit_p = np.log(p) - np.log1p(-p)
    z_p = (logit_p - (_digamma(bg["a"]) - _digamma(bg["b"]))) / math.sqrt(
        _trigamma(bg["a"]) + _trigamma(bg["b"])
    )
    features = np.stack([z_lam, z_spend, z_age, z_p], axis=1)
    weights = np.array([pp.weights for pp in PERSONAS])
    prior = np.array([pp.prior for pp in PERSONAS])
    scores = features @ weights.T + prior + rng.gumbel(size=(n, len(PERSONAS)))
    persona = np.argmax(scores, axis=1)

    ps_a = np.array([pp.price_sensitivity[0] for pp in PERSONAS])[persona]
    ps_b = np.array([pp.price_sensitivity[1] for pp in PERSONAS])[persona]
    base_ps = np.clip(rng.beta(ps_a, ps_b), 1e-4, 1 - 1e-4)
    logit_ps = np.log(base_ps) - np.log1p(-base_ps) + PRICE_SENSITIVITY_LOADING * z_p
    price_sens = 1.0 / (1.0 + np.exp(-logit_ps))

    mix = np.array([pp.uplift_mix for pp in PERSONAS])[persona]
    segment = (rng.random(n)[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
    segment = np.minimum(segment, len(_SEGMENTS) - 1)
    seg_base = np.array([UPLIFT_SEGMENTS[s]["base"] for s in _SEGMENTS])[segment]
    seg_uplift = np.array([UPLIFT_SEGMENTS[s]["uplift"] for s in _SEGMENTS])[segment]
    base_response = seg_base * rng.lognormal(0, 0.3, n)
    uplift = seg_uplift * rng.lognormal(0, 0.3, n)

    # Acquisition is drawn in operational time, on the same scale for every persona, so the
    # time each person is observed for does not depend on their latent behaviour (the BG/NBD
    # likelihood treats it as given); in calendar time acquisitions then peak before Christmas.
    t0 = to_calendar(persona, WINDOW_WEEKS * rng.random(n) ** 0.85)
    changes = rng.random(n) < 0.25
    email_change = np.where(changes, t0 + (day_number(DATA_END) - t0) * rng.random(n), np.inf)

    gidx = start + np.arange(n, dtype=np.int64)
    city = city_hh[household]
    landline_hh = rng.random(n_hh) < _LANDLINE_RATE[country_idx[head]]
    return Persons(
        start=start,
        gidx=gidx,
        household=start + np.flatnonzero(head)[household],
        hh_pos=hh_pos,
        hh_size=hh_size,
        country=country,
        language=language,
        sex=sex,
        first=first,
        last=last,
        dob=dob,
        city=city,
        street=street_hh[household],
        house=house_hh[household],
        flat=flat_hh[household],
        postcode=geo.postcode(city_hh, rng).take(pa.array(household)),
        mobile=geo.mobile_nsn(country, city, gidx, 1, rng),
        has_landline=landline_hh[household],
        lam=lam,
        p=p,
        nu=nu,
        persona=persona,
        price_sens=price_sens,
        uplift_segment=segment,
        base_response=base_response,
        uplift=uplift,
        t0=t0,
        email_change=email_change,
    )
