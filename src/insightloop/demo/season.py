"""The seasonal clock: calendar days and operational time, per persona.

The purchase process runs in *operational time*. A persona-specific daily intensity (a
pre-Christmas peak scaled by the persona's ``december_boost``, a Black Friday spike and a summer
dip) maps it to calendar time. The intensity is normalised to mean 1 over the calibration window,
so the window lasts the same number of operational weeks for every persona, and a year of
calendar time is a year of operational time.
"""

from __future__ import annotations

import numpy as np

from insightloop.demo.params import DATA_END, HOLDOUT_END, PERIOD_START, PERSONAS, day_number

__all__ = [
    "END_DAY",
    "HOLDOUT_DAY",
    "START_DAY",
    "WINDOW_WEEKS",
    "season_grid",
    "to_calendar",
    "to_operational",
]

START_DAY = day_number(PERIOD_START)
END_DAY = day_number(DATA_END)
HOLDOUT_DAY = day_number(HOLDOUT_END)


def season_grid() -> tuple[np.ndarray, np.ndarray]:
    """Calendar day boundaries and, per persona, cumulative operational weeks at each boundary."""
    days = np.arange(START_DAY, HOLDOUT_DAY + 1, dtype=np.float64)
    _, month_day = np.divmod(days[:-1] - START_DAY, 365.25)
    christmas = np.exp(-(((month_day - 349.0) / 11.0) ** 2))
    black_friday = np.exp(-(((month_day - 328.0) / 2.5) ** 2))
    summer = np.exp(-(((month_day - 200.0) / 25.0) ** 2))
    cumulative = np.zeros((len(PERSONAS), len(days)))
    calibration = days[:-1] < END_DAY
    for k, persona in enumerate(PERSONAS):
        weight = 1.0 + persona.december_boost * christmas + 0.6 * black_friday - 0.2 * summer
        weight = weight / weight[calibration].mean()
        cumulative[k, 1:] = np.cumsum(weight) / 7.0
    return days, cumulative


_DAYS, _CUMULATIVE = season_grid()
# Operational length of the calibration window: the same for every persona by normalisation.
WINDOW_WEEKS = (END_DAY - START_DAY) / 7.0


def to_operational(persona: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Operational weeks elapsed at calendar ``day`` for each person's persona."""
    out = np.empty(len(day))
    for k in range(len(PERSONAS)):
        mask = persona == k
        out[mask] = np.interp(day[mask], _DAYS, _CUMULATIVE[k])
    return out


def to_calendar(persona: np.ndarray, weeks: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_operational`: calendar day at which ``weeks`` have elapsed."""
    out = np.empty(len(weeks))
    for k in range(len(PERSONAS)):
        mask = persona == k
        out[mask] = np.interp(weeks[mask], _CUMULATIVE[k], _DAYS)
    return out
