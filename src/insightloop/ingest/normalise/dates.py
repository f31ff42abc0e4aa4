"""Dates, dates of birth and timestamps: read per source, timestamps converted to naive UTC.

Per source: a list of strptime ``formats`` tried first, ``day_first`` for ``05/04/2023``
(``True`` day first, ``False`` month first, ``None`` reject when a reader could not tell), and the
IANA time zone of timestamps written without an offset. See
:mod:`~insightloop.ingest.normalise.date_parsing` for the common formats read after the source's.

Decisions, stated once:

- A timestamp with an offset (``Z``, ``+02:00``) or an epoch number is an instant; one without is
  wall-clock time in the source time zone. A date alone means midnight there. Local times that a
  daylight-saving change skips or repeats resolve as ``zoneinfo`` does with ``fold=0``.
- ``datetime`` values (from typed sources) are instants when aware; naive ones are taken to be
  UTC already, which is what these functions return, so ``f(f(x)) == f(x)``.
- A date field keeps the calendar date as written, whatever time or offset follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from insightloop.errors import ConfigError
from insightloop.ingest.normalise.date_parsing import Parsed, parse_date_text
from insightloop.ingest.normalise.reasons import Normalised

__all__ = [
    "EARLIEST_BIRTH",
    "check_formats",
    "check_time_zone",
    "normalise_birth_date",
    "normalise_date",
    "normalise_timestamp",
]

EARLIEST_BIRTH = date(1900, 1, 1)
"""Dates of birth before this are taken as placeholders (``1900-01-01``-style defaults pass)."""

_PROBE = datetime(2001, 2, 3, 4, 5, 6)


@lru_cache(maxsize=256)
def check_time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or :class:`~insightloop.errors.ConfigError`.

    Examples
    --------
    >>> check_time_zone("Europe/Stockholm").key
    'Europe/Stockholm'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(
            f"Unknown time zone {name!r}.",
            hint="Use an IANA time zone name such as Europe/Stockholm, Asia/Shanghai or UTC.",
        ) from error


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """The strptime ``formats`` as a tuple, or ``ConfigError`` naming the unusable ones.

    Examples
    --------
    >>> check_formats(["%d/%m/%Y"])
    ('%d/%m/%Y',)
    """
    return _checked_formats((formats,) if isinstance(formats, str) else tuple(formats))


@lru_cache(maxsize=256)
def _checked_formats(formats: tuple[str, ...]) -> tuple[str, ...]:
    bad = []
    for pattern in formats:
        try:
            datetime.strptime(_PROBE.strftime(pattern), pattern)
        except (TypeError, ValueError):
            bad.append(pattern)
        else:
            if "%" not in pattern:
                bad.append(pattern)
    if bad:
        raise ConfigError(
            f"Unusable date formats {bad!r}.",
            hint="Give strptime formats such as '%d/%m/%Y' or '%Y-%m-%d %H:%M'.",
        )
    return formats


def _to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=65_536)
def _read(text: str, formats: tuple[str, ...], day_first: bool | None) -> Parsed | str:
    stripped = " ".join(text.split())
    if not stripped:
        return "date_empty"
    return parse_date_text(stripped, formats, day_first)


@lru_cache(maxsize=65_536)
def _timestamp(
    text: str, formats: tuple[str, ...], day_first: bool | None, zone: ZoneInfo
) -> Normalised[datetime]:
    parsed = _read(text, formats, day_first)
    if isinstance(parsed, str):
        return Normalised(None, parsed)
    try:
        return Normalised(_to_utc(parsed.moment, zone))
    except (OverflowError, ValueError):
        return Normalised(None, "date_out_of_range")


def normalise_timestamp(
    value: str | datetime | date | None,
    *,
    formats: Sequence[str] = (),
    day_first: bool | None = None,
    time_zone: str = "UTC",
) -> Normalised[datetime]:
    """Read a timestamp and return it as a naive ``datetime`` in UTC.

    Parameters
    ----------
    value
        Text, or a ``datetime``/``date`` from a typed source (see the module notes).
    formats
        The source's strptime formats, tried before the common formats.
    day_first
        How the source orders ``05/04/2023``; ``None`` rejects it as ``date_ambiguous``.
    time_zone
        IANA name of the source's time zone, for text without an offset.

    Returns
    -------
    Normalised[datetime]
        The UTC time, or ``None`` with ``date_empty``, ``date_unparseable``,
        ``date_impossible``, ``date_ambiguous`` or ``date_out_of_range``.

    Raises
    ------
    ConfigError
        If ``time_zone`` or one of ``formats`` is unusable.

    Examples
    --------
    >>> normalise_timestamp("2023-04-05 10:20", time_zone="Europe/Stockholm").value
    datetime.datetime(2023, 4, 5, 8, 20)
    >>> normalise_timestamp("05/04/2023 3:15 PM", day_first=True).value
    datetime.datetime(2023, 4, 5, 15, 15)
    >>> normalise_timestamp("1680690000").value, normalise_timestamp("2023-02-30").reason
    (datetime.datetime(2023, 4, 5, 10, 20), 'date_impossible')
    """
    zone = check_time_zone(time_zone)
    patterns = check_formats(formats)
    if value is None:
        return Normalised(None, "date_empty")
    if isinstance(value, datetime):
        return Normalised(value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value)
    if isinstance(value, date):
        return Normalised(_to_utc(datetime(value.year, value.month, value.day), zone))
    return _timestamp(value, patterns, day_first, zone)


@lru_cache(maxsize=65_536)
def _date(text: str, formats: tuple[str, ...], day_first: bool | None) -> Normalised[date]:
    parsed = _read(text, formats, day_first)
    if isinstance(parsed, str):
        return Normalised(None, parsed)
    return Normalised(parsed.moment.date())


def normalise_date(
    value: str | date | None, *, formats: Sequence[str] = (), day_first: bool | None = None
) -> Normalised[date]:
    """Read a calendar date (any time or offset after it is ignored).

    Examples
    --------
    >>> normalise_date("05.04.2023").value, normalise_date("Apr 5, 2023").value
    (datetime.date(2023, 4, 5), datetime.date(2023, 4, 5))
    >>> normalise_date("04/13/2023").value, normalise_date("04/05/2023").reason
    (datetime.date(2023, 4, 13), 'date_ambiguous')
    >>> normalise_date("45021").value  # an Excel serial day
    datetime.date(2023, 4, 5)
    """
    patterns = check_formats(formats)
    if value is None:
        return Normalised(None, "date_empty")
    if isinstance(value, datetime):
        return Normalised(value.date())
    if isinstance(value, date):
        return Normalised(value)
    return _date(value, patterns, day_first)


def normalise_birth_date(
    value: str | date | None,
    *,
    formats: Sequence[str] = (),
    day_first: bool | None = None,
    today: date | None = None,
) -> Normalised[date]:
    """Read a date of birth; one in the future or before 1900 is ``date_out_of_range``.

    ``today`` defaults to the machine's date; pass it for reproducible runs.

    Examples
    --------
    >>> normalise_birth_date("1985-07-14").value
    datetime.date(1985, 7, 14)
    >>> normalise_birth_date("1899-12-31").reason
    'date_out_of_range'
    >>> normalise_birth_date("2030-01-01", today=date(2025, 1, 1)).reason
    'date_out_of_range'
    """
    result = normalise_date(value, formats=formats, day_first=day_first)
    limit = today or date.today()
    if result.value is not None and not EARLIEST_BIRTH <= result.value <= limit:
        return Normalised(None, "date_out_of_range")
    return result
