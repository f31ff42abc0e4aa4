"""Database values as text, row keys, and watermarks that round-trip as text.

Every value a driver returns becomes the text the file readers would produce for it:

* integers and decimals as written (``42``, ``12.50``; never an exponent), floats in shortest
  round-trip form, booleans ``true`` / ``false``, bytes as lowercase hex;
* dates ``2024-05-01``; timestamps ISO 8601 with a ``T`` (``2024-05-01T12:30:00.250000``);
  timestamps *with a time zone* converted to UTC and written with a trailing ``Z``
  (``2024-05-01T10:00:00Z``); times ``12:30:00``; intervals as ISO 8601 durations (``P1DT2H``);
* JSON documents, arrays and structs as JSON text; anything else (UUIDs, network addresses)
  through ``str``; NULL stays null.

A watermark is stored as that text and parsed back into a typed parameter by
:func:`parse_watermark` for the column's :data:`WatermarkKind`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

import orjson

__all__ = [
    "WATERMARK_KINDS",
    "WatermarkKind",
    "order_key",
    "parse_watermark",
    "primary_key_text",
    "render",
    "row_hash",
]

WatermarkKind = Literal["timestamptz", "timestamp", "date", "integer", "decimal", "float", "text"]
WATERMARK_KINDS: tuple[WatermarkKind, ...] = (
    "timestamptz", "timestamp", "date", "integer", "decimal", "float", "text",
)  # fmt: skip

_UTC = dt.UTC


def _datetime(value: dt.datetime) -> str:
    if value.utcoffset() is not None:
        return value.astimezone(_UTC).replace(tzinfo=None).isoformat() + "Z"
    return value.isoformat()


def _decimal(value: Decimal) -> str:
    text = str(value)
    return format(value, "f") if "E" in text else text


def _duration(value: dt.timedelta) -> str:
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if value.microseconds:
        clock += f"{seconds}.{value.microseconds:06d}".rstrip("0") + "S"
    elif seconds:
        clock += f"{seconds}S"
    days = f"{value.days}D" if value.days else ""
    if not days and not clock:
        return "PT0S"
    return f"{sign}P{days}" + (f"T{clock}" if clock else "")


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=render)


# Order matters for the isinstance fallback: bool before int, datetime before date.
_RENDERERS: dict[type, Callable[[Any], str]] = {
    str: str,
    bool: lambda value: "true" if value else "false",
    int: int.__repr__,
    float: float.__repr__,
    Decimal: _decimal,
    dt.datetime: _datetime,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
    dt.timedelta: _duration,
    bytes: bytes.hex,
    bytearray: bytearray.hex,
    memoryview: memoryview.hex,
    UUID: str,
    dict: _json,
    list: _json,
    tuple: _json,
}


def render(value: object) -> str | None:
    """``value`` as text (see the module docstring); ``None`` stays ``None``.

    Examples
    --------
    >>> import datetime as dt, decimal
    >>> zone = dt.timezone(dt.timedelta(hours=2))
    >>> stamp, span = dt.datetime(2024, 5, 1, 12, tzinfo=zone), dt.timedelta(hours=10, minutes=30)
    >>> [render(v) for v in (True, decimal.Decimal("1E+2"), b"\\x00\\xff", None, stamp, span)]
    ['true', '100', '00ff', None, '2024-05-01T10:00:00Z', 'PT10H30M']
    """
    if value is None:
        return None
    renderer = _RENDERERS.get(type(value))
    if renderer is None:
        renderer = next((r for t, r in _RENDERERS.items() if isinstance(value, t)), str)
    return renderer(value)


def parse_watermark(text: str, kind: WatermarkKind) -> object:
    """The stored watermark ``text`` as a parameter that compares with a ``kind`` column.

    A timestamp without an offset given for a ``timestamptz`` column is taken as UTC; one with
    an offset given for a ``timestamp`` column is converted to UTC.

    Raises
    ------
    ValueError
        When ``text`` is not a value of that kind.

    Examples
    --------
    >>> parse_watermark("2024-05-01T10:00:00Z", "timestamptz")
    datetime.datetime(2024, 5, 1, 10, 0, tzinfo=datetime.timezone.utc)
    >>> parse_watermark("42", "integer"), parse_watermark("2024-05-01", "date")
    (42, datetime.date(2024, 5, 1))
    """
    if kind == "timestamptz":
        stamp = dt.datetime.fromisoformat(text)
        return stamp.replace(tzinfo=_UTC) if stamp.utcoffset() is None else stamp.astimezone(_UTC)
    if kind == "timestamp":
        stamp = dt.datetime.fromisoformat(text)
        if stamp.utcoffset() is None:
            return stamp
        return stamp.astimezone(_UTC).replace(tzinfo=None)
    if kind == "date":
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return dt.datetime.fromisoformat(text).date()
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        try:
            return Decimal(text)
        except InvalidOperation:
            raise ValueError("not a decimal") from None
    if kind == "float":
        return float(text)
    return text


def order_key(value: object) -> tuple[int, Any]:
    """A sort key that orders a column the way SQLite orders mixed storage classes.

    Numbers sort before text, text before bytes; within a class, values compare as usual.

    Examples
    --------
    >>> max([3, "a", 10], key=order_key)
    'a'
    """
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, bytes | bytearray | memoryview):
        return (2, bytes(value))
    return (0, value)


def row_hash(texts: Sequence[str | None]) -> str:
    """A row's key when it has no primary key: ``row:`` and 16 hex digits of SHA-256.

    Examples
    --------
    >>> row_hash(["1", "Åsa", None])  # doctest: +ELLIPSIS
    'row:...'
    >>> len(row_hash(["1"])), row_hash(["1", None]) == row_hash(["1", ""])
    (20, False)
    """
    return "row:" + hashlib.sha256(orjson.dumps(list(texts))).hexdigest()[:16]


def primary_key_text(names: Sequence[str], texts: Sequence[str | None]) -> str:
    """A row's key from its primary-key columns: ``id=42`` or ``a=1,b=x``.

    Examples
    --------
    >>> primary_key_text(["a", "b"], ["1", "x"])
    'a=1,b=x'
    """
    return ",".join(
        f"{name}={'' if text is None else text}" for name, text in zip(names, texts, strict=True)
    )
