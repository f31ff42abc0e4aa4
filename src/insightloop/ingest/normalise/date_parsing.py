"""Reading date and time text: the source's own strptime formats first, then the common formats.

The common formats, tried in this order (the first that matches the shape decides):

==========================  ====================================================================
Shape                       Read as
==========================  ====================================================================
``2023-04-05``              ISO 8601 date; ``/`` or ``.`` as separators too (``2023/04/05``)
``2023-04-05T10:20:30Z``    ISO 8601 date and time, ``T`` or space, fractions, ``Z``/``+02:00``
``05.04.2023 10:20``        day.month.year, always day first (the dotted European convention)
``05/04/2023``, ``5-4-2023``  day and month by the source's ``day_first``; a part over 12 decides
``5 Apr 2023``, ``Apr 5, 2023``  English month names or their three-letter forms
``20230405``                eight digits: year, month, day
``45021.5``                 five digits (10000-99999), optionally a fraction: an Excel serial day
``1680690000``              9 to 11 digits, optionally a fraction: Unix epoch seconds (UTC)
``1680690000000``           12 to 14 digits: Unix epoch milliseconds (UTC)
==========================  ====================================================================

Times may carry ``AM``/``PM``. Two-digit years and bare years (``1985``) are not dates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["Parsed", "parse_date_text"]

_TIME = (
    r"(?:[T ]\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp][Mm])?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?"
)
_ISO = re.compile(r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME)
_DMY = re.compile(r"(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME)
_COMPACT = re.compile(
    r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?(?P<tz>Z)?"
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY_MONTH = re.compile(r"(?P<d>\d{1,2})[ -]" + _MONTH + r"[ -](?P<y>\d{4})", re.IGNORECASE)
_MONTH_DAY = re.compile(_MONTH + r" (?P<d>\d{1,2}),? (?P<y>\d{4})", re.IGNORECASE)
_NUMBER = re.compile(r"(?P<int>\d+)(?:\.(?P<frac>\d+))?")
_EPOCH = datetime(1970, 1, 1)
_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 is 1900-01-01 once Excel's 1900-02-29 is skipped


@dataclass(frozen=True, slots=True)
class Parsed:
    """Text read as a wall-clock time, aware when the text gave an offset (epochs are in UTC)."""

    moment: datetime
    has_time: bool


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    if minutes >= 24 * 60:
        raise ValueError("offset out of range")
    return timezone(timedelta(minutes=-minutes if text[0] == "-" else minutes))


def _build(year: str, month: int, day: str, found: re.Match[str]) -> Parsed:
    """A datetime from the matched parts; ``ValueError`` when they name no real moment."""
    parts = found.groupdict()
    hour = int(parts.get("H") or 0)
    ampm = (parts.get("ampm") or "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            raise ValueError("12-hour clock out of range")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    micro = int(((parts.get("F") or "") + "000000")[:6])
    moment = datetime(
        int(year),
        month,
        int(day),
        hour,
        int(parts.get("M") or 0),
        int(parts.get("S") or 0),
        micro,
        tzinfo=_offset(parts.get("tz")),
    )
    return Parsed(moment, parts.get("H") is not None)


def _day_and_month(first: int, second: int, dotted: bool, day_first: bool | None) -> bool | None:
    """Whether the first part is the day; ``None`` when nothing can tell."""
    if dotted or day_first is not None:
        return dotted or bool(day_first)
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    return True if first == second else None


def _number(found: re.Match[str]) -> Parsed | str:
    whole, fraction = found["int"], found["frac"]
    if len(whole) == 8 and fraction is None:
        return _build(whole[:4], int(whole[4:6]), whole[6:], found)
    value = float(found[0])
    if len(whole) == 5 and whole[0] != "0":
        moment = _EXCEL_EPOCH + timedelta(seconds=round(value * 86_400))
        return Parsed(moment, fraction is not None)
    if 9 <= len(whole) <= 11:
        return Parsed((_EPOCH + timedelta(seconds=value)).replace(tzinfo=UTC), True)
    if 12 <= len(whole) <= 14:
        return Parsed((_EPOCH + timedelta(milliseconds=value)).replace(tzinfo=UTC), True)
    return "date_unparseable"


def _common(text: str, day_first: bool | None) -> Parsed | str:
    if found := _ISO.fullmatch(text):
        return _build(found["y"], int(found["m"]), found["d"], found)
    if found := _DMY.fullmatch(text):
        first, second = int(found["a"]), int(found["b"])
        is_day = _day_and_month(first, second, found["sep"] == ".", day_first)
        if is_day is None:
            return "date_ambiguous"
        day, month = (found["a"], second) if is_day else (found["b"], first)
        return _build(found["y"], month, day, found)
    if (found := _DAY_MONTH.fullmatch(text)) or (found := _MONTH_DAY.fullmatch(text)):
        return _build(found["y"], _MONTHS[found["mon"].lower()], found["d"], found)
    found = _COMPACT.fullmatch(text)
    if found and (found["H"] is not None or found["tz"] is not None):
        return _build(found["y"], int(found["m"]), found["d"], found)
    if found := _NUMBER.fullmatch(text):
        return _number(found)
    return "date_unparseable"


def parse_date_text(text: str, formats: Sequence[str], day_first: bool | None) -> Parsed | str:
    """Read ``text`` (already stripped), or return a ``date_*`` reason code.

    Examples
    --------
    >>> parse_date_text("2023-04-05T10:20:30+02:00", (), None).moment.isoformat()
    '2023-04-05T10:20:30+02:00'
    >>> parse_date_text("03/04/2023", (), None), parse_date_text("2023-02-30", (), None)
    ('date_ambiguous', 'date_impossible')
    >>> parse_date_text("5/4/23", ("%d/%m/%y",), None).moment.date().isoformat()
    '2023-04-05'
    """
    for pattern in formats:
        try:
            return Parsed(datetime.strptime(text, pattern), "%H" in pattern or "%I" in pattern)
        except ValueError:
            continue
    try:
        return _common(text, day_first)
    except (ValueError, OverflowError):
        return "date_impossible"
