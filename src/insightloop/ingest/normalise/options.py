"""Per-source normalisation options, checked all at once when a source is configured.

Each source system writes its data its own way: Swedish CRM phone numbers without ``+46``,
a US web shop's ``04/05/2023`` meaning April, a Swedish ERP's ``1.234,50``. A source carries one
:class:`SourceOptions`; the batch functions take its fields as keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from insightloop.errors import ConfigError
from insightloop.ingest.normalise.currencies import check_currency
from insightloop.ingest.normalise.dates import check_formats, check_time_zone
from insightloop.ingest.normalise.phones import check_region

__all__ = ["SourceOptions"]


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How one source writes phone numbers, dates and amounts.

    Parameters
    ----------
    region
        Default phone region, ISO 3166-1 alpha-2 (``SE``, ``GB``, ``US``, ``CN``, ``IE``), for
        numbers written without a country code. ``None``: international numbers only.
    day_first
        ``True`` if ``05/04/2023`` is 5 April, ``False`` if it is 4 May, ``None`` to reject such
        dates as ambiguous (unless a part is over 12).
    date_formats
        strptime formats tried before the common formats (``("%d/%m/%y",)``).
    time_zone
        IANA time zone of timestamps written without an offset.
    decimal_comma
        ``True`` if ``1,234`` means 1.234 (``1.234,50`` style), ``False`` if it means 1234,
        ``None`` to reject such amounts as ambiguous.
    currency
        ISO 4217 currency of amounts that name none.

    Raises
    ------
    ConfigError
        Listing every unusable option at once.

    Examples
    --------
    >>> SourceOptions(region="se", time_zone="Europe/Stockholm", currency="sek").region
    'SE'
    >>> SourceOptions(region="XX", currency="KRONOR")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    insightloop.errors.ConfigError: Unusable source options: region: ...; currency: ...
    """

    region: str | None = None
    day_first: bool | None = None
    date_formats: tuple[str, ...] = ()
    time_zone: str = "UTC"
    decimal_comma: bool | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        checks: dict[str, Any] = {
            "region": lambda: check_region(self.region),
            "date_formats": lambda: check_formats(self.date_formats),
            "time_zone": lambda: check_time_zone(self.time_zone).key,
            "currency": lambda: check_currency(self.currency),
        }
        problems = []
        for name, check in checks.items():
            try:
                object.__setattr__(self, name, check())
            except ConfigError as error:
                problems.append(f"{name}: {error.message}")
        for name in ("day_first", "decimal_comma"):
            if getattr(self, name) not in (True, False, None):
                problems.append(f"{name}: must be true, false or unset")
        if problems:
            raise ConfigError(
                "Unusable source options: " + "; ".join(problems),
                hint="Fix the values named above in the source's settings.",
            )

    def as_dict(self) -> dict[str, Any]:
        """The options as plain values (for logs and the source's settings file).

        Examples
        --------
        >>> SourceOptions(region="GB").as_dict()["region"]
        'GB'
        """
        return {field.name: getattr(self, field.name) for field in fields(self)}
