"""Transactions as the models need them: one table, three named columns, dates as day numbers.

Accepts a pyarrow Table, a pandas DataFrame or a mapping of column name to array, finds the
customer, date and amount columns by common names when they are not given, and checks everything
up front so that one error lists every problem with the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.analytics.clv.errors import ClvInputError

__all__ = [
    "AMOUNT_NAMES",
    "CUSTOMER_NAMES",
    "DATE_NAMES",
    "Transactions",
    "day_number",
    "read_transactions",
    "to_arrow",
    "transactions_from",
]

IntArray = npt.NDArray[np.int64]

#: Column names tried, in this order, when a column is not named (compared case-insensitively).
CUSTOMER_NAMES = ("customer_id", "customer", "customerid", "cust_id", "client_id", "user_id", "id")
DATE_NAMES = (
    "at", "date", "ordered_at", "order_date", "purchase_date", "transaction_date", "timestamp",
    "datetime", "created_at", "time",
)  # fmt: skip
AMOUNT_NAMES = (
    "amount", "total_amount", "value", "revenue", "sales", "spend", "total", "price",
    "dollar_value", "monetary_value",
)  # fmt: skip

_EPOCH = date(1970, 1, 1)
# Text dates are tried in these formats; the first that parses every value wins.
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Transactions:
    """Checked transactions: customer ids, purchase days and amounts, one entry per purchase.

    Parameters
    ----------
    customer
        Customer ids as an Arrow array (any type, no nulls).
    day
        Day of each purchase, in days since 1970-01-01 (times of day are dropped).
    amount
        Value of each purchase (>= 0), or ``None`` when no amounts were given.
    columns
        The (customer, date, amount) column names used, for messages and model files.
    """

    customer: pa.Array
    day: IntArray
    amount: npt.NDArray[np.float64] | None
    columns: tuple[str, str, str | None]

    def __len__(self) -> int:
        return len(self.day)


def to_arrow(data: Any) -> pa.Table:
    """A pyarrow Table from a pyarrow Table, a pandas DataFrame or a mapping of arrays."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, Mapping):
        return pa.table({str(k): _column(v) for k, v in data.items()})
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise ClvInputError(
        f"Transactions must be a pyarrow Table, a pandas DataFrame or a dict of arrays, not "
        f"{type(data).__name__}."
    )


def _column(values: Any) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values
    return pa.array(np.asarray(values)) if isinstance(values, np.ndarray) else pa.array(values)


def _find(
    names: list[str], given: str | None, candidates: tuple[str, ...], what: str, option: str
) -> str:
    if given is not None:
        if given not in names:
            raise ClvInputError(
                f"The {what} column '{given}' is not in the transactions.",
                hint=f"Pass {option} COLUMN with one of: {', '.join(names)}.",
            )
        return given
    lower = {n.lower(): n for n in names}
    for candidate in candidates:
        if candidate in lower:
            return lower[candidate]
    raise ClvInputError(
        f"No {what} column found among: {', '.join(names)} (looked for {', '.join(candidates)}).",
        hint=f"Name it with {option} COLUMN.",
    )


def transactions_from(
    data: Any,
    *,
    customer: str | None = None,
    at: str | None = None,
    amount: str | None = None,
    require_amount: bool = True,
) -> Transactions:
    """Check transactions and convert them for the models.

    Parameters
    ----------
    data
        pyarrow Table, pandas DataFrame or mapping of column name to values.
    customer, at, amount
        Column names; each one left as ``None`` is found by common names
        (:data:`CUSTOMER_NAMES`, :data:`DATE_NAMES`, :data:`AMOUNT_NAMES`).
    require_amount
        Whether a missing amount column is an error (otherwise amounts are ``None``).

    Raises
    ------
    ClvInputError
        Naming every problem found: missing columns, empty values, unparsable dates, negative
        amounts.

    Examples
    --------
    >>> t = transactions_from({"customer_id": [1, 1, 2], "date": ["2024-01-01", "2024-01-08",
    ...                        "2024-01-02"], "amount": [10.0, 5.0, 7.5]})
    >>> t.columns, t.day.tolist()
    (('customer_id', 'date', 'amount'), [19723, 19730, 19724])
    """
    table = to_arrow(data)
    names = table.column_names
    customer = _find(names, customer, CUSTOMER_NAMES, "customer", "--customer")
    at = _find(names, at, DATE_NAMES, "date", "--date")
    try:
        amount = _find(names, amount, AMOUNT_NAMES, "amount", "--amount")
    except ClvInputError:
        if require_amount or amount is not None:
            raise
        amount = None
    problems: list[str] = []
    ids = table.column(customer).combine_chunks()
    if ids.null_count:
        problems.append(f"{ids.null_count} rows have no customer id in '{customer}'")
    days = np.zeros(0, dtype=np.int64)
    try:
        days = day_numbers(table.column(at), at)
    except ClvInputError as exc:
        problems.append(exc.message)
    values = None
    if amount is not None:
        column = table.column(amount)
        try:
            values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            problems.append(f"amount column '{amount}' is not numeric ({column.type})")
        else:
            if column.null_count:
                problems.append(f"{column.null_count} rows have no amount in '{amount}'")
            elif not np.isfinite(values).all():
                problems.append(f"amount column '{amount}' has infinite values")
            elif (values < 0).any():
                problems.append(
                    f"{int((values < 0).sum())} rows have a negative amount in '{amount}'"
                )
    if problems:
        raise ClvInputError(
            "The transactions cannot be used: " + "; ".join(problems) + ".",
            hint="Fix or drop those rows (returns are not purchases: leave them out), or name "
            "other columns with --customer, --date and --amount.",
        )
    return Transactions(ids, days, values, (customer, at, amount))


def day_numbers(column: pa.ChunkedArray | pa.Array, name: str) -> IntArray:
    """Days since 1970-01-01 of timestamps, dates, ``YYYYMMDD`` integers or date text.

    Time-zone-aware timestamps are taken in UTC.
    """
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if column.null_count:
        raise ClvInputError(f"{column.null_count} rows have no date in '{name}'")
    kind = column.type
    if pa.types.is_timestamp(kind):
        raw = column.cast(pa.timestamp(kind.unit)).to_numpy(zero_copy_only=False)
        return raw.astype("datetime64[D]").astype(np.int64)
    if pa.types.is_date(kind):
        return (
            column.cast(pa.date32())
            .to_numpy(zero_copy_only=False)
            .astype("datetime64[D]")
            .astype(np.int64)
        )
    if pa.types.is_integer(kind):
        column = column.cast(pa.string())
        kind = pa.string()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.utf8_trim_whitespace(column)
        for fmt in _DATE_FORMATS:
            try:
                parsed = pc.strptime(text, format=fmt, unit="s")
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            return day_numbers(parsed, name)
    raise ClvInputError(f"the dates in '{name}' cannot be read ({kind}); write them as YYYY-MM-DD")


def day_number(value: date | datetime | str | int | np.datetime64) -> int:
    """Days since 1970-01-01 of one date (a ``datetime`` is cut to its UTC day).

    Examples
    --------
    >>> day_number("1997-09-30"), day_number(date(1997, 9, 30))
    (10134, 10134)
    """
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[D]").astype(np.int64))
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ClvInputError(
                f"'{value}' is not a date.", hint="Write dates as YYYY-MM-DD."
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        value = value.date()
    if not isinstance(value, date):
        raise ClvInputError(f"{value!r} is not a date.", hint="Pass a date such as 1997-09-30.")
    return (value - _EPOCH).days


def day_to_date(day: int) -> date:
    """The date of a day number."""
    return _EPOCH + timedelta(days=int(day))


def read_transactions(path: str | Path) -> pa.Table:
    """Read a CSV or Parquet file of transactions into a pyarrow Table.

    Raises
    ------
    ClvInputError
        When the file is missing, of another format, or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise ClvInputError(
            f"{path} does not exist.", hint="Check the path of the transactions file."
        )
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            return pq.read_table(path)
        if suffix in {".csv", ".txt", ".tsv"}:
            import pyarrow.csv as pacsv

            parse = pacsv.ParseOptions(delimiter="\t" if suffix == ".tsv" else ",")
            return pacsv.read_csv(path, parse_options=parse)
    except (pa.ArrowInvalid, OSError):
        # Arrow's message quotes the offending row, which may be personal data: leave it out.
        raise ClvInputError(
            f"{path.name} cannot be read as {suffix[1:]}.",
            hint="Check that the file is a complete CSV (with a header row) or Parquet file.",
        ) from None
    raise ClvInputError(
        f"{path.name}: unknown file type '{suffix}'.",
        hint="Give a .csv or .parquet file.",
    )
