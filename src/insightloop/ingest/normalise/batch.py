"""Column-at-a-time normalisation: Arrow (or a list) in, an Arrow table of results out.

Real columns repeat values (a city, a birth date, a household's phone), so each function
dictionary-encodes the column, normalises each *distinct* value once with the scalar function,
and spreads the results back with one ``take``. The result is therefore the scalar function's
result, row by row, by construction. A null is normalised like ``None`` (an ``*_empty`` reason).

Every function returns a ``pyarrow.Table`` with one row per input row: ``value`` and ``reason``
(null when all is well), plus the extra fields of the scalar result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.ingest.normalise import (
    addresses,
    countries,
    currencies,
    dates,
    emails,
    money,
    names,
    phones,
    vectorised,
)
from insightloop.ingest.normalise.phone_columns import plain_phones

__all__ = [
    "Column",
    "clear_caches",
    "normalise_amounts",
    "normalise_birth_dates",
    "normalise_cities",
    "normalise_countries",
    "normalise_dates",
    "normalise_emails",
    "normalise_names",
    "normalise_phones",
    "normalise_postcodes",
    "normalise_streets",
    "normalise_timestamps",
    "split_names",
]

Column: TypeAlias = "pa.Array | pa.ChunkedArray | Sequence[Any]"
"""A column: a pyarrow array (chunked or not) or a Python sequence with ``None`` for nulls."""

_TEXT = pa.string()
_VALUE_REASON = (("value", _TEXT), ("reason", _TEXT))
_NO_REASON = pa.scalar(None, _TEXT)


def _as_array(values: Column) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_null(values.type):
        values = values.cast(_TEXT)
    return values


def _distinct(array: pa.Array) -> tuple[list[Any], pa.Array]:
    """The distinct non-null values, and for each row its value's position (nulls point past
    the end)."""
    if pa.types.is_struct(array.type):
        # Arrow cannot dictionary-encode structs: rows are deduplicated as tuples instead.
        positions: dict[tuple[Any, ...], int] = {}
        codes = [
            positions.setdefault(() if row is None else tuple(row.values()), len(positions))
            for row in array.to_pylist()
        ]
        return list(positions), pa.array(codes, type=pa.int64())
    encoded = pc.dictionary_encode(array)
    distinct = encoded.dictionary.to_pylist()
    return distinct, pc.fill_null(encoded.indices, len(distinct))


def _apply(
    values: Column,
    normalise: Callable[[Any], tuple[Any, ...]],
    schema: Sequence[tuple[str, pa.DataType]],
    *,
    text: bool = True,
) -> pa.Table:
    """Normalise each distinct value once and lay the results out as columns."""
    array = _as_array(values)
    if text and not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(_TEXT)
    distinct, indices = _distinct(array)
    results = [normalise(value) for value in distinct]
    results.append(normalise(None))
    columns = {
        name: pa.array([result[i] for result in results], type=kind).take(indices)
        for i, (name, kind) in enumerate(schema)
    }
    return pa.table(columns)


def _answered(
    array: pa.Array,
    done: pa.Array,
    fast: dict[str, pa.Array | pa.Scalar],
    one: Callable[[Any], tuple[Any, ...]],
    schema: Sequence[tuple[str, pa.DataType]],
    *,
    text: bool = True,
) -> pa.Table:
    """The columns of ``schema``: from ``fast`` where ``done`` (a vectorised pass answered the
    row; a column ``fast`` lacks is null there), from ``one`` value by value elsewhere."""
    slow = _apply(pc.if_else(done, pa.scalar(None, array.type), array), one, schema, text=text)
    return pa.table(
        {
            name: pc.if_else(
                done, fast.get(name, pa.scalar(None, kind)), slow.column(name).combine_chunks()
            )
            for name, kind in schema
        }
    )


def normalise_emails(values: Column) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_email` over a column.

    Examples
    --------
    >>> normalise_emails(["A@X.SE", None, "a@x.se"]).column("value").to_pylist()
    ['a@x.se', None, 'a@x.se']
    """
    array = _as_array(values)
    if len(array) < vectorised.MIN_ROWS or not pa.types.is_string(array.type):
        return _apply(array, lambda v: _pair(emails.normalise_email(v)), _VALUE_REASON)
    # Plain addresses in one vectorised pass; the others value by value.
    fast, placeholder = vectorised.plain_emails(array)
    reason = pc.if_else(placeholder, pa.scalar("email_placeholder"), pa.scalar(None, _TEXT))
    return _answered(
        array,
        pc.is_valid(fast),
        {"value": fast, "reason": reason},
        lambda v: _pair(emails.normalise_email(v)),
        _VALUE_REASON,
    )


def normalise_phones(values: Column, *, region: str | None = None) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_phone` over a column.

    The table has ``value``, ``reason``, ``kind`` and ``extension``.

    Examples
    --------
    >>> table = normalise_phones(["070-123 45 67", "+46 70 123 45 67", "0000000"], region="SE")
    >>> table.column("value").to_pylist(), table.column("reason").to_pylist()[2]
    (['+46701234567', '+46701234567', None], 'phone_junk')
    """
    code = phones.check_region(region)

    def one(value: str | None) -> tuple[Any, ...]:
        result = phones.normalise_phone(value, code)
        return result.value, result.reason, result.kind, result.extension

    schema = (*_VALUE_REASON, ("kind", _TEXT), ("extension", _TEXT))
    array = _as_array(values)
    fast = None
    if code is not None and pa.types.is_string(array.type) and len(array) >= vectorised.MIN_ROWS:
        fast = plain_phones(array, code)
    if fast is None:
        return _apply(array, one, schema)
    # Plain valid numbers of the region in one vectorised pass; the others value by value.
    value, kind = fast
    return _answered(array, pc.is_valid(value), {"value": value, "kind": kind}, one, schema)


def normalise_names(values: Column, *, part: names.NamePart = "full") -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_name` over a column."""
    names.normalise_name(None, part)  # checks ``part`` once, before the loop
    return _apply(values, lambda v: _pair(names.normalise_name(v, part)), _VALUE_REASON)


def split_names(values: Column) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.split_name` over a column: ``given``, ``family``,
    ``reason``."""

    def one(value: str | None) -> tuple[Any, ...]:
        parts = names.split_name(value)
        return parts.given, parts.family, parts.reason

    return _apply(values, one, (("given", _TEXT), ("family", _TEXT), ("reason", _TEXT)))


def normalise_streets(values: Column) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_street` over a column."""
    return _apply(values, lambda v: _pair(addresses.normalise_street(v)), _VALUE_REASON)


def normalise_cities(values: Column) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_city` over a column."""
    return _apply(values, lambda v: _pair(addresses.normalise_city(v)), _VALUE_REASON)


def normalise_countries(values: Column) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_country` over a column."""
    return _apply(values, lambda v: _pair(countries.normalise_country(v)), _VALUE_REASON)


def normalise_postcodes(values: Column, *, country: str | Column | None) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_postcode` over a column.

    ``country`` is one ISO 3166-1 alpha-2 code for the whole column, or a column beside it
    (codes or names, normalised with ``normalise_country``; unknown ones leave the postcode
    unchecked, as for countries without a postcode format).

    Examples
    --------
    >>> table = normalise_postcodes(["12345", "sw1a1aa"], country=["Sverige", "UK"])
    >>> table.column("value").to_pylist()
    ['123 45', 'SW1A 1AA']
    """
    if country is None or isinstance(country, str):
        code = countries.check_country(country)
        return _apply(values, lambda v: _pair(addresses.normalise_postcode(v, code)), _VALUE_REASON)
    postcodes = _as_array(values).cast(_TEXT)
    places = pc.dictionary_encode(_as_array(country).cast(_TEXT))
    # Each distinct place is read once; the postcodes of each country are then normalised
    # together, every distinct postcode once.
    codes = pa.array([_country_code(p) for p in places.dictionary.to_pylist()], _TEXT)
    code_of_row = pc.fill_null(codes.take(places.indices), "")
    positions, values_out, reasons_out = [], [], []

    def of_country(code: str | None) -> Callable[[Any], tuple[Any, ...]]:
        return lambda value: _pair(addresses.normalise_postcode(value, code))

    for code in pc.unique(code_of_row).to_pylist():
        rows = pc.indices_nonzero(pc.equal(code_of_row, code))
        result = _apply(postcodes.take(rows), of_country(code or None), _VALUE_REASON)
        positions.append(rows)
        values_out.append(result.column("value").combine_chunks())
        reasons_out.append(result.column("reason").combine_chunks())
    if not positions:
        return pa.table({"value": pa.nulls(0, _TEXT), "reason": pa.nulls(0, _TEXT)})
    order = pc.sort_indices(pa.concat_arrays(positions))
    return pa.table(
        {
            "value": pa.concat_arrays(values_out).take(order),
            "reason": pa.concat_arrays(reasons_out).take(order),
        }
    )


def normalise_timestamps(
    values: Column,
    *,
    formats: Sequence[str] = (),
    day_first: bool | None = None,
    time_zone: str = "UTC",
) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_timestamp` over a column (text or
    timestamps); ``value`` is ``timestamp[us]`` in UTC without a time zone."""
    options: dict[str, Any] = {"formats": formats, "day_first": day_first, "time_zone": time_zone}
    dates.normalise_timestamp(None, **options)  # checks the options once, before the loop
    array = _as_array(values)
    fast = _iso_timestamps(array, time_zone) if pa.types.is_string(array.type) else None
    if fast is not None and formats and len(array) >= vectorised.MIN_ROWS:
        # Then the values written exactly in the source's first format, rewritten as ISO text.
        rest = pc.if_else(pc.is_valid(fast), pa.scalar(None, _TEXT), array)
        moments = vectorised.formatted_moments(rest, dates.check_formats(formats)[0])
        if moments is not None:
            fast = pc.coalesce(fast, _iso_timestamps(moments, time_zone))

    def one(value: Any) -> tuple[Any, ...]:
        return _pair(dates.normalise_timestamp(value, **options))

    schema = (("value", pa.timestamp("us")), ("reason", _TEXT))
    if fast is None:
        return _apply(array, one, schema, text=False)
    # Unambiguous ISO 8601 text is parsed in one vectorised pass; the rest value by value.
    return _answered(array, pc.is_valid(fast), {"value": fast}, one, schema, text=False)


# Years 1950-2059 only: before that, zones had local mean time and wartime rules on which
# DuckDB's time zone data and Python's zoneinfo do not always agree.
_ISO_TIMESTAMP = (
    r"^(19[5-9]\d|20[0-5]\d)-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?"
    r"(Z|[+-]\d{2}(:?\d{2})?)?$"
)


# Text without an offset, read in a zone whose offset changes, is left to the value-by-value
# parser within three hours of a change: a local time the clocks skip or pass twice is read as
# zoneinfo reads it (the first). Text with an offset names its moment, whatever the zone; DuckDB
# works out the zone's offset only for the rows that reach the second WHEN (the check took 0.35 s
# per 122,880 events, the cast alone 0.02 s).
_ISO_SQL = """
SELECT CASE WHEN regexp_matches(v, '(Z|[+-]\\d{2}(:?\\d{2})?)$') THEN t
            WHEN date_part('timezone', t) = date_part('timezone', t - INTERVAL 3 HOUR)
             AND date_part('timezone', t) = date_part('timezone', t + INTERVAL 3 HOUR) THEN t END
FROM (SELECT v, try_cast(v AS TIMESTAMPTZ) AS t FROM candidates)
"""
_ISO_SQL_FIXED = "SELECT try_cast(v AS TIMESTAMPTZ) FROM candidates"
#: Names of UTC in the time zone database: its offset never changes.
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
     "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0",
     "Greenwich", "Etc/Greenwich"}
)  # fmt: skip


def _iso_timestamps(array: pa.Array, time_zone: str) -> pa.Array:
    """ISO 8601 timestamps read by DuckDB in one pass (UTC, naive); null where the text is not
    strict ISO 8601 or not a real moment, for the value-by-value parser to decide. Text without
    an offset is read in ``time_zone``, as the value-by-value parser does."""
    iso = pc.match_substring_regex(array, _ISO_TIMESTAMP)
    candidates = pc.if_else(iso, array, pa.scalar(None, _TEXT))
    with vectorised.scratch(candidates) as con:
        con.execute("SET TimeZone = ?", [time_zone])
        query = _ISO_SQL_FIXED if time_zone in _UTC_NAMES else _ISO_SQL
        moments = con.execute(query).to_arrow_table()
    column = moments.column(0).combine_chunks()
    return column.cast(pa.timestamp("us", "UTC")).cast(pa.timestamp("us"))


def normalise_dates(
    values: Column, *, formats: Sequence[str] = (), day_first: bool | None = None
) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_date` over a column; ``value`` is
    ``date32``."""
    patterns = dates.check_formats(formats)
    return _dates(
        values,
        patterns,
        lambda v: _pair(dates.normalise_date(v, formats=patterns, day_first=day_first)),
        None,
    )


def normalise_birth_dates(
    values: Column,
    *,
    formats: Sequence[str] = (),
    day_first: bool | None = None,
    today: date | None = None,
) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_birth_date` over a column, with one
    ``today`` for the whole column."""
    limit = today or date.today()
    patterns = dates.check_formats(formats)
    return _dates(
        values,
        patterns,
        lambda v: _pair(
            dates.normalise_birth_date(v, formats=patterns, day_first=day_first, today=limit)
        ),
        (dates.EARLIEST_BIRTH, limit),
    )


def _dates(
    values: Column,
    patterns: tuple[str, ...],
    one: Callable[[Any], tuple[Any, ...]],
    within: tuple[date, date] | None,
) -> pa.Table:
    """Dates by ``one`` value by value, after a vectorised pass over the values written exactly
    in the first of ``patterns`` (see :func:`.vectorised.formatted_dates`); ``within`` bounds
    the dates (outside: ``date_out_of_range``), as ``one`` does."""
    schema = (("value", pa.date32()), ("reason", _TEXT))
    array = _as_array(values)
    fast = None
    if patterns and pa.types.is_string(array.type) and len(array) >= vectorised.MIN_ROWS:
        fast = vectorised.formatted_dates(array, patterns[0])
    if fast is None:
        return _apply(array, one, schema, text=False)
    done = pc.is_valid(fast)
    answers: dict[str, pa.Array | pa.Scalar] = {"value": fast}
    if within is not None:
        low, high = (pa.scalar(bound, pa.date32()) for bound in within)
        outside = pc.or_(pc.less(fast, low), pc.greater(fast, high))
        answers["reason"] = pc.if_else(outside, pa.scalar("date_out_of_range"), _NO_REASON)
        answers["value"] = pc.if_else(outside, pa.scalar(None, pa.date32()), fast)
    return _answered(array, done, answers, one, schema, text=False)


def normalise_amounts(
    values: Column, *, decimal_comma: bool | None = None, currency: str | None = None
) -> pa.Table:
    """:func:`~insightloop.ingest.normalise.normalise_amount` over a column (text, integers or
    decimals): ``value`` as ``decimal128(38, 4)``, ``currency``, ``reason``.

    Examples
    --------
    >>> table = normalise_amounts(["1 234,50 kr", "€12", "x"], currency="SEK")
    >>> table.column("currency").to_pylist(), table.column("reason").to_pylist()
    (['SEK', 'EUR', None], [None, None, 'amount_not_a_number'])
    """
    money.normalise_amount(None, currency=currency)

    def one(value: Any) -> tuple[Any, ...]:
        if isinstance(value, float):
            value = repr(value)
        result = money.normalise_amount(value, decimal_comma=decimal_comma, currency=currency)
        return result.value, result.currency, result.reason

    schema = (("value", pa.decimal128(38, 4)), ("currency", _TEXT), ("reason", _TEXT))
    array = _as_array(values)
    if len(array) < vectorised.MIN_ROWS or not pa.types.is_string(array.type):
        return _apply(array, one, schema, text=False)
    # Plain amounts (``-1234.5``, ``99,90``: at most one decimal mark, not followed by exactly
    # three digits, which could group thousands) in one vectorised pass; the others one by one.
    plain = pc.fill_null(pc.match_substring_regex(array, _PLAIN_AMOUNT), False)
    dotted = pc.replace_substring(pc.if_else(plain, array, pa.scalar(None, _TEXT)), ",", ".")
    default = pa.scalar(currencies.check_currency(currency), _TEXT)
    fast = {"value": dotted.cast(pa.decimal128(38, 4)), "currency": default}
    return _answered(array, plain, fast, one, schema, text=False)


_PLAIN_AMOUNT = r"^-?\d{1,18}([.,](\d{1,2}|\d{4}))?$"


def clear_caches() -> None:
    """Empty the normalisers' LRU caches (to free memory, or to time a cold start).

    Examples
    --------
    >>> clear_caches()
    """
    for module in (addresses, countries, dates, emails, money, names, phones):
        for item in vars(module).values():
            if callable(getattr(item, "cache_clear", None)):
                item.cache_clear()


def _pair(result: Any) -> tuple[Any, Any]:
    return result.value, result.reason


def _country_code(place: str | None) -> str | None:
    return countries.normalise_country(place).value
