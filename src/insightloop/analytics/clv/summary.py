"""Customer summaries from transactions: frequency, recency, T and mean repeat value.

Purchases on the same day count as one (their amounts are added), as in Fader, Hardie & Lee
(2005) and the lifetimes package: the models describe purchase occasions, and several order lines
or orders on one day are one occasion. All times are measured from each customer's first purchase,
in a unit of ``unit_days`` days (weeks by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.analytics.clv.errors import ClvInputError
from insightloop.analytics.clv.transactions import Transactions, day_number, transactions_from

__all__ = ["DailyPurchases", "daily_purchases", "rfm_summary", "summarise", "unit_days"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
DateLike = date | datetime | str | int | np.datetime64
Unit = Literal["weeks", "days"] | float

_UNITS = {"weeks": 7.0, "days": 1.0}


def unit_days(unit: Unit) -> float:
    """Days in a time unit: ``"weeks"`` (7), ``"days"`` (1) or a positive number of days."""
    if isinstance(unit, str):
        if unit not in _UNITS:
            raise ClvInputError(f"Unknown time unit '{unit}'.", hint="Use 'weeks' or 'days'.")
        return _UNITS[unit]
    if not unit > 0:
        raise ClvInputError(f"The time unit must be a positive number of days, not {unit}.")
    return float(unit)


@dataclass(frozen=True)
class DailyPurchases:
    """Purchase occasions: one row per customer and day, sorted by customer then day.

    Parameters
    ----------
    ids
        Distinct customer ids, sorted; ``customer`` indexes into it.
    customer, day, value
        Customer index, day number and summed amount of each occasion.
    """

    ids: pa.Array
    customer: IntArray
    day: IntArray
    value: FloatArray

    @property
    def first_day(self) -> IntArray:
        """Day of each customer's first purchase (indexed like ``ids``)."""
        starts = np.flatnonzero(np.r_[True, np.diff(self.customer) != 0])
        return self.day[starts]


def daily_purchases(transactions: Transactions) -> DailyPurchases:
    """Group transactions into purchase occasions (one per customer and day)."""
    encoded = transactions.customer.dictionary_encode()
    dictionary = encoded.dictionary
    # Sorted ids make the output independent of the input's row order.
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    day = transactions.day
    amount = transactions.amount if transactions.amount is not None else np.zeros(len(day))
    sort = np.lexsort((day, codes))
    codes, day, amount = codes[sort], day[sort], amount[sort]
    starts = np.flatnonzero(np.r_[True, (np.diff(codes) != 0) | (np.diff(day) != 0)])
    value = np.add.reduceat(amount, starts) if len(starts) else np.zeros(0)
    return DailyPurchases(dictionary.take(pa.array(order)), codes[starts], day[starts], value)


def summarise(
    daily: DailyPurchases,
    *,
    calibration_end: int,
    observation_end: int | None = None,
    unit: Unit = "weeks",
) -> pa.Table:
    """The customer summary of purchase occasions (day numbers for the two ends).

    See :func:`rfm_summary` for the columns.
    """
    days = unit_days(unit)
    if observation_end is not None and observation_end < calibration_end:
        raise ClvInputError(
            "The holdout end is before the calibration end.",
            hint="Give an observation (holdout) end after the calibration end.",
        )
    n = len(daily.ids)
    first = daily.first_day
    acquired = first <= calibration_end
    in_cal = daily.day <= calibration_end
    c = daily.customer[in_cal]
    count = np.bincount(c, minlength=n)
    total = np.bincount(c, weights=daily.value[in_cal], minlength=n)
    last = np.full(n, np.iinfo(np.int64).min)
    # Rows are sorted by day within a customer: the last row of each customer is the latest.
    ends = np.flatnonzero(np.r_[np.diff(c) != 0, True]) if len(c) else np.zeros(0, np.int64)
    last[c[ends]] = daily.day[in_cal][ends]
    starts = np.flatnonzero(np.r_[True, np.diff(daily.customer) != 0])
    first_value = daily.value[starts]
    frequency = np.maximum(count - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(frequency > 0, (total - first_value) / np.maximum(frequency, 1), 0.0)
    columns: dict[str, Any] = {
        "customer_id": daily.ids,
        "frequency": frequency,
        "recency": (last - first) / days,
        "T": (calibration_end - first) / days,
        "monetary_value": monetary,
    }
    if observation_end is not None:
        held = (daily.day > calibration_end) & (daily.day <= observation_end)
        h = daily.customer[held]
        held_count = np.bincount(h, minlength=n)
        held_total = np.bincount(h, weights=daily.value[held], minlength=n)
        columns["frequency_holdout"] = held_count
        columns["monetary_value_holdout"] = np.where(
            held_count > 0, held_total / np.maximum(held_count, 1), 0.0
        )
        columns["duration_holdout"] = np.full(n, (observation_end - calibration_end) / days)
    keep = np.flatnonzero(acquired)
    return pa.table(
        {
            name: (v.take(pa.array(keep)) if isinstance(v, pa.Array) else np.asarray(v)[keep])
            for name, v in columns.items()
        }
    )


def rfm_summary(
    transactions: Any,
    *,
    customer: str | None = None,
    at: str | None = None,
    amount: str | None = None,
    calibration_end: DateLike | None = None,
    observation_end: DateLike | None = None,
    unit: Unit = "weeks",
) -> pa.Table:
    """Per-customer frequency, recency, T and mean repeat value from transactions.

    Parameters
    ----------
    transactions
        pyarrow Table, pandas DataFrame or mapping of column name to array, one row per
        transaction (order or order line).
    customer, at, amount
        Column names of the customer id, purchase time (timestamp, date, ``YYYYMMDD`` or date
        text) and amount; found by common names when not given. Without an amount column the
        monetary values are 0.
    calibration_end
        Last day of the calibration period (inclusive); default the last purchase day. Customers
        whose first purchase is later are left out.
    observation_end
        Last day of a holdout period after ``calibration_end`` (inclusive); adds the holdout
        columns.
    unit
        ``"weeks"`` (default), ``"days"`` or a number of days per time unit.

    Returns
    -------
    pyarrow.Table
        Sorted by ``customer_id``; ``frequency`` (repeat purchase days in the calibration
        period), ``recency`` (last minus first purchase), ``T`` (calibration end minus first
        purchase), ``monetary_value`` (mean value of the repeat purchase days, 0 without one),
        and with a holdout ``frequency_holdout``, ``monetary_value_holdout`` and
        ``duration_holdout``.

    Examples
    --------
    >>> table = rfm_summary(
    ...     {"customer_id": ["a", "a", "a", "b"],
    ...      "at": ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"],
    ...      "amount": [10.0, 5.0, 20.0, 8.0]},
    ...     calibration_end="2024-01-29",
    ... )
    >>> table.to_pydict()
    {'customer_id': ['a', 'b'], 'frequency': [1, 0], 'recency': [2.0, 0.0], 'T': [4.0, 3.0], \
'monetary_value': [20.0, 0.0]}
    """
    checked = transactions_from(
        transactions, customer=customer, at=at, amount=amount, require_amount=False
    )
    if len(checked) == 0:
        raise ClvInputError("There are no transactions.", hint="Check the input file or filter.")
    daily = daily_purchases(checked)
    cal = int(daily.day.max()) if calibration_end is None else day_number(calibration_end)
    obs = None if observation_end is None else day_number(observation_end)
    if (daily.first_day > cal).all():
        raise ClvInputError(
            "No customer made a first purchase by the calibration end.",
            hint="Choose a later --calibration-end.",
        )
    return summarise(daily, calibration_end=cal, observation_end=obs, unit=unit)
