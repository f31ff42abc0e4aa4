"""The true purchase process: BG/NBD with seasonality, Gamma-Gamma spend, and the holdout.

Each person makes a first purchase at acquisition time ``t0``; while alive, repeat purchases
arrive as a Poisson process with the person's rate, and after each repeat purchase the person
drops out with probability ``p`` (Fader, Hardie & Lee 2005). The process runs in operational
time (:mod:`insightloop.demo.season`), so December peaks without changing how many purchases a
person makes. After the data end the same process runs on through the holdout; that part is
never written as data, only summarised in the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insightloop.demo.params import GAMMA_GAMMA, PERSONAS
from insightloop.demo.population import Persons
from insightloop.demo.season import (
    END_DAY,
    HOLDOUT_DAY,
    START_DAY,
    to_calendar,
    to_operational,
)

__all__ = [
    "CHANNELS",
    "END_DAY",
    "START_DAY",
    "Holdout",
    "Transactions",
    "simulate_holdout",
    "simulate_purchases",
    "to_operational",
]

MS_PER_DAY = 86_400_000
CHANNELS = ("store", "web", "app")


@dataclass
class Transactions:
    """All calibration-window purchases of a chunk, sorted by person then time."""

    person: np.ndarray
    day: np.ndarray  # fractional local calendar day (days since 1970-01-01)
    is_first: np.ndarray
    is_dropout: np.ndarray  # the repeat purchase after which the person drops out
    spend_eur: np.ndarray  # Gamma-Gamma draw the basket is built to match
    channel: np.ndarray  # index into CHANNELS

    @property
    def n(self) -> int:
        """Number of transactions."""
        return len(self.person)


@dataclass
class Holdout:
    """Per-person summary of the simulated (unwritten) holdout period."""

    alive_at_end: np.ndarray
    purchases: np.ndarray
    value_eur: np.ndarray
    churned: np.ndarray
    churn_risk: np.ndarray
    expected_purchases: np.ndarray
    expected_value_eur: np.ndarray


def simulate_purchases(
    rng: np.random.Generator, persons: Persons
) -> tuple[Transactions, np.ndarray]:
    """Purchases in the calibration window, and whether each person is alive at the data end."""
    n = persons.n
    op0 = to_operational(persons.persona, persons.t0)
    span = to_operational(persons.persona, np.full(n, float(END_DAY))) - op0
    possible = rng.poisson(persons.lam * span)
    dropout_at = rng.geometric(persons.p)
    repeats = np.minimum(possible, dropout_at)
    alive = dropout_at > possible

    owner = np.repeat(np.arange(n), possible)
    times = rng.random(len(owner)) * span[owner]
    order = np.lexsort((times, owner))
    times = times[order]
    starts = np.cumsum(possible) - possible
    rank = np.arange(len(owner)) - starts[owner]
    keep = rank < repeats[owner]
    owner, times, rank = owner[keep], times[keep], rank[keep]
    repeat_day = to_calendar(persons.persona[owner], op0[owner] + times)
    is_dropout = ~alive[owner] & (rank == repeats[owner] - 1)

    person = np.concatenate([np.arange(n), owner])
    day = np.concatenate([persons.t0, repeat_day])
    first = np.concatenate([np.ones(n, bool), np.zeros(len(owner), bool)])
    dropout = np.concatenate([np.zeros(n, bool), is_dropout])
    order = np.lexsort((day, person))
    person, day, first, dropout = person[order], day[order], first[order], dropout[order]

    spend = rng.gamma(GAMMA_GAMMA["p"], 1.0 / persons.nu[person])
    mix = np.array([pp.channels for pp in PERSONAS])[persons.persona[person]]
    channel = (rng.random(len(person))[:, None] > np.cumsum(mix, axis=1)).sum(axis=1)
    channel = np.minimum(channel, len(CHANNELS) - 1)
    return Transactions(person, day, first, dropout, spend, channel), alive


def simulate_holdout(rng: np.random.Generator, persons: Persons, alive: np.ndarray) -> Holdout:
    """Continue the true process through the holdout; return only per-person summaries.

    Alive persons keep purchasing at rate ``lam`` and drop out with probability ``p`` after
    each purchase, so dropouts arrive as a Poisson process of rate ``lam * p``: the chance of
    having churned by the holdout end is ``1 - exp(-lam * p * H)`` (1 for the already dead), and
    the expected number of holdout purchases is ``(1 - exp(-lam * p * H)) / p``.
    """
    n = persons.n
    end = to_operational(persons.persona, np.full(n, float(END_DAY)))
    horizon = to_operational(persons.persona, np.full(n, float(HOLDOUT_DAY))) - end
    possible = rng.poisson(persons.lam * horizon)
    dropout_at = rng.geometric(persons.p)
    purchases = np.where(alive, np.minimum(possible, dropout_at), 0)
    churned = alive & (dropout_at <= possible)
    shape = GAMMA_GAMMA["p"] * np.maximum(purchases, 1)
    value = np.where(purchases > 0, rng.gamma(shape, 1.0 / persons.nu), 0.0)
    survive = np.exp(-persons.lam * persons.p * horizon)
    expected = np.where(alive, (1.0 - survive) / persons.p, 0.0)
    return Holdout(
        alive_at_end=alive,
        purchases=purchases,
        value_eur=np.round(value, 2),
        churned=churned,
        churn_risk=np.where(alive, 1.0 - survive, 1.0),
        expected_purchases=expected,
        expected_value_eur=expected * GAMMA_GAMMA["p"] / persons.nu,
    )
