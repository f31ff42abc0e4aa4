"""The customer summary as an Ibis expression, for the engine (DuckDB, Spark, other backends).

The same definitions as :func:`~insightloop.analytics.clv.rfm_summary`: purchases on one day are
one occasion with their amounts added; only the calibration period is summarised. Built from
portable Ibis operations only (cast to date, group-by, a window minimum, conditional sums and date
differences), so the pipeline can run it where the ``orders`` table lives and pull one row per
customer as Arrow for the models.
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import ibis.expr.types as ir

from insightloop.analytics.clv.errors import ClvInputError

__all__ = ["rfm_summary_expr"]


def rfm_summary_expr(
    table: ir.Table,
    *,
    customer: str,
    at: str,
    amount: str,
    calibration_end: date | datetime | str,
    unit_days: float = 7.0,
) -> ir.Table:
    """Expression of the per-customer summary of ``table`` up to ``calibration_end``.

    Parameters
    ----------
    table
        One row per transaction (e.g. the ``orders`` table).
    customer, at, amount
        Column names of the customer id, purchase timestamp or date, and amount. Rows with no
        customer or time are left out; missing amounts count as 0.
    calibration_end
        Last day of the calibration period, inclusive.
    unit_days
        Days per time unit (7 for weeks).

    Returns
    -------
    ibis.expr.types.Table
        ``customer_id``, ``frequency`` (int64), ``recency``, ``T``, ``monetary_value``
        (float64), one row per customer whose first purchase is on or before
        ``calibration_end``; unordered.

    Examples
    --------
    >>> import ibis
    >>> orders = ibis.memtable({"customer_id": ["a", "a", "b"],
    ...                         "ordered_at": ["2024-01-01 10:00", "2024-01-15 09:00",
    ...                                        "2024-01-08 12:00"],
    ...                         "total_amount": [10.0, 20.0, 8.0]})
    >>> orders = orders.mutate(ordered_at=orders.ordered_at.cast("timestamp"))
    >>> expr = rfm_summary_expr(orders, customer="customer_id", at="ordered_at",
    ...                         amount="total_amount", calibration_end="2024-01-29")
    >>> ibis.duckdb.connect().to_pyarrow(expr.order_by("customer_id")).to_pydict()["T"]
    [4.0, 3.0]
    """
    for name in (customer, at, amount):
        if name not in table.columns:
            raise ClvInputError(
                f"Column '{name}' is not in the table.",
                hint=f"Name one of: {', '.join(table.columns)}.",
            )
    if not unit_days > 0:
        raise ClvInputError(f"unit_days must be positive, not {unit_days}.")
    end = _as_date(calibration_end)
    cal = ibis.date(end.year, end.month, end.day)
    day = table[at].cast("date")
    rows = table.filter(table[customer].notnull(), day.notnull(), day <= cal)
    daily = rows.group_by(customer_id=rows[customer], day=rows[at].cast("date")).aggregate(
        value=rows[amount].cast("float64").fill_null(0.0).sum()
    )
    daily = daily.mutate(first=daily.day.min().over(group_by=daily.customer_id))
    per = daily.group_by("customer_id").aggregate(
        days=daily.count(),
        first=daily.day.min(),
        last=daily.day.max(),
        repeat_value=daily.value.sum(where=daily.day > daily.first),
    )
    frequency = (per.days - 1).cast("int64")
    return per.select(
        customer_id=per.customer_id,
        frequency=frequency,
        recency=per.last.delta(per.first, unit="day").cast("float64") / unit_days,
        T=cal.delta(per.first, unit="day").cast("float64") / unit_days,
        monetary_value=ibis.ifelse(
            frequency > 0, per.repeat_value.fill_null(0.0) / frequency.cast("float64"), 0.0
        ),
    )


def _as_date(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ClvInputError(
            f"'{value}' is not a date.", hint="Give the calibration end as YYYY-MM-DD."
        ) from None
