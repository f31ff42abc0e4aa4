"""What a sample of raw values looks like: e-mails, phones, dates, amounts, ids, free text.

:func:`profile_values` looks at up to a few hundred non-empty values of one column and returns a
:class:`ColumnProfile` with the dominant kind, the share of values of that kind and, for dates,
the strptime format that reads them all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from insightloop.ingest.normalise import normalise_country

__all__ = ["DATE_FORMATS", "KINDS", "ColumnProfile", "profile_values"]

KINDS = (
    "empty",
    "email",
    "phone",
    "timestamp",
    "date",
    "amount",
    "integer",
    "id",
    "country",
    "boolean",
    "text",
)
#: Formats tried on date-like values, most specific first.
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y%m%d",
    "%Y年%m月%d日",
)
_AMBIGUOUS = (("%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"), ("%d/%m/%Y", "%m/%d/%Y"))
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().\-]{6,22}$")
_AMOUNT = re.compile(r"^[-+]?(?:[$€£¥]|kr|SEK|USD|EUR)?\s?\d[\d\s.,']*(?:\s?(?:kr|SEK|€))?$")
_DECIMALS = re.compile(r"[.,]\d{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-/]{3,}$")
_BOOLEAN = {"true", "false", "yes", "no", "y", "n", "ja", "nej", "是", "否", "t", "f"}


@dataclass(frozen=True)
class ColumnProfile:
    """The dominant kind of a column's values.

    Parameters
    ----------
    kind
        One of :data:`KINDS`.
    share
        Share of the sampled non-empty values of that kind (0 to 1).
    distinct
        Share of distinct values among the sampled non-empty ones.
    fill
        Share of sampled rows that are not empty.
    date_format
        The strptime format of ``date`` and ``timestamp`` columns, if one reads them all.
    decimal_comma
        Whether amounts are written ``12,50``.
    """

    kind: str
    share: float
    distinct: float = 0.0
    fill: float = 0.0
    date_format: str | None = None
    decimal_comma: bool = False


def _digits(value: str) -> int:
    return sum(ch.isdigit() for ch in value)


def _date_format(values: Sequence[str]) -> tuple[str | None, float]:
    """The first format that reads the most values, and the share it reads; US and European
    orders that both read everything are ambiguous (``None``)."""
    best: tuple[str | None, float] = (None, 0.0)
    readable: list[str] = []
    for fmt in DATE_FORMATS:
        read = 0
        for value in values:
            try:
                datetime.strptime(value, fmt)
            except ValueError:
                continue
            read += 1
        share = read / len(values)
        if share >= 0.9:
            readable.append(fmt)
        if share > best[1]:
            best = (fmt, share)
    for day_first, month_first in _AMBIGUOUS:
        if day_first in readable and month_first in readable:
            return None, best[1]
    return best


def _kind(value: str) -> str:
    if _EMAIL.match(value):
        return "email"
    if value.casefold() in _BOOLEAN:
        return "boolean"
    if value.isdigit() and len(value) <= 6:
        return "integer"
    if _AMOUNT.match(value) and _DECIMALS.search(value) and _digits(value) <= 15:
        return "amount"
    dialled = value.startswith(("+", "(", "0")) or not value.isdigit()
    if _PHONE.match(value) and 7 <= _digits(value) <= 15 and dialled:
        return "phone"
    if _ID.match(value) and any(ch.isdigit() for ch in value):
        return "id"
    if len(value) <= 40 and normalise_country(value).value is not None:
        return "country"
    return "text"


def profile_values(values: Sequence[str | None]) -> ColumnProfile:
    """Profile a column from a sample of its values.

    Examples
    --------
    >>> profile_values(["a@x.se", "b@y.com", None]).kind
    'email'
    >>> p = profile_values(["22/11/1970", "16/04/1964"])
    >>> p.kind, p.date_format
    ('date', '%d/%m/%Y')
    >>> p = profile_values(["12,99", "0,00", "101,50"])
    >>> p.kind, p.decimal_comma
    ('amount', True)
    """
    present = [v.strip() for v in values if v is not None and v.strip()]
    if not present:
        return ColumnProfile("empty", 1.0)
    fill = len(present) / len(values)
    distinct = len(set(present)) / len(present)
    looks_dated = sum(any(ch in v for ch in "-/.年") or len(v) == 8 for v in present)
    if looks_dated / len(present) >= 0.9:
        fmt, share = _date_format(present)
        if share >= 0.9:
            kind = "timestamp" if fmt is not None and "%H" in fmt else "date"
            if fmt is None:
                kind = "timestamp" if any(":" in v for v in present) else "date"
            return ColumnProfile(kind, share, distinct, fill, fmt)
    counts: dict[str, int] = {}
    for value in present:
        kind = _kind(value)
        counts[kind] = counts.get(kind, 0) + 1
    kind, count = max(counts.items(), key=lambda item: item[1])
    if kind == "integer" and counts.get("amount"):
        kind, count = "amount", count + counts["amount"]
    comma = kind == "amount" and sum(bool(re.search(r",\d{2}$", v)) for v in present) > count / 2
    return ColumnProfile(kind, count / len(present), distinct, fill, None, comma)
