"""The result types of the normalisers and the registry of every reason code they return.

A normaliser never raises for bad data: it returns a result whose ``value`` is ``None`` and whose
``reason`` says why (a *rejection*), or a value together with a reason (a *warning*, such as a
placeholder e-mail address that is valid but useless). The data-quality layer writes the codes into
the quarantine table, so a code, once published here, keeps its spelling and meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

__all__ = ["REASONS", "Normalised", "Reason", "is_rejection"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Normalised(Generic[T]):
    """A normalised value, or the reason it could not be normalised.

    Parameters
    ----------
    value
        The normalised value; ``None`` when the input was rejected (or was empty).
    reason
        ``None`` when all is well; otherwise a code from :data:`REASONS`. With a ``value`` it is a
        warning, without one a rejection.

    Examples
    --------
    >>> Normalised("x").ok, Normalised(None, "email_empty").ok
    (True, False)
    """

    value: T | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether there is a normalised value (possibly with a warning)."""
        return self.value is not None


@dataclass(frozen=True, slots=True)
class Reason:
    """What a reason code means.

    Parameters
    ----------
    code
        The stable snake_case code, prefixed by the kind of value (``email_``, ``phone_``, ...).
    severity
        ``"reject"``: no value is returned. ``"warn"``: the value is returned and flagged.
    meaning
        One sentence for the documentation and the quarantine viewer.
    """

    code: str
    severity: Literal["reject", "warn"]
    meaning: str


def _table(*rows: tuple[str, Literal["reject", "warn"], str]) -> Mapping[str, Reason]:
    return MappingProxyType(
        {code: Reason(code, severity, meaning) for code, severity, meaning in rows}
    )


REASONS: Mapping[str, Reason] = _table(
    ("email_empty", "reject", "No address: null, blank, or only brackets and `mailto:`."),
    ("email_missing_at", "reject", "There is no `@` in the address."),
    ("email_invalid_syntax", "reject", "The address breaks the e-mail syntax rules."),
    ("email_placeholder", "warn", "A well-known placeholder such as `noemail@...`."),
    ("phone_empty", "reject", "No number: null, blank, or punctuation only."),
    ("phone_unparseable", "reject", "The text is not recognisable as a phone number."),
    ("phone_missing_country_code", "reject", "A national number and no default region."),
    ("phone_invalid_country_code", "reject", "The country calling code does not exist."),
    ("phone_junk", "reject", "All one digit (`0000000`) or a digit run (`123456789`)."),
    ("phone_too_short", "reject", "Too few digits for any number of the country."),
    ("phone_too_long", "reject", "Too many digits for any number of the country."),
    ("phone_local_only", "reject", "Dialable only locally: the area code is missing."),
    ("phone_invalid", "reject", "The length is possible, but no number range of the country fits."),
    ("name_empty", "reject", "No name: null or blank."),
    ("name_no_letters", "reject", "The text has no letters at all (`---`, `123`)."),
    ("name_placeholder", "warn", "A placeholder such as `test`, `unknown` or `n/a`."),
    ("address_empty", "reject", "No street or city: null or blank."),
    ("postcode_empty", "reject", "No postcode: null or blank."),
    ("postcode_invalid", "reject", "Not a valid postcode format of the given country."),
    ("country_empty", "reject", "No country: null or blank."),
    ("country_unknown", "reject", "Neither an ISO 3166-1 code nor a known country name."),
    ("date_empty", "reject", "No date: null or blank."),
    ("date_unparseable", "reject", "Matches none of the source's formats or the common formats."),
    ("date_impossible", "reject", "Has the shape of a date that does not exist (`2023-02-30`)."),
    ("date_ambiguous", "reject", "Day and month cannot be told apart and `day_first` is unset."),
    ("date_out_of_range", "reject", "A birth date in the future or before 1900, or out of range."),
    ("amount_empty", "reject", "No amount: null or blank."),
    ("amount_not_a_number", "reject", "Not a number in any accepted notation."),
    ("amount_ambiguous", "reject", "`1,234` or `1.234` and the source's `decimal_comma` is unset."),
    ("amount_unknown_currency", "reject", "A three-letter code that is not ISO 4217."),
    ("amount_out_of_range", "reject", "More than 24 digits before the decimal separator."),
)
"""Every reason code any normaliser returns, with its severity and meaning."""


def is_rejection(reason: str | None) -> bool:
    """Whether ``reason`` rejects the value (``False`` for ``None`` and for warnings).

    Examples
    --------
    >>> is_rejection("phone_junk"), is_rejection("email_placeholder"), is_rejection(None)
    (True, False, False)
    """
    return reason is not None and REASONS[reason].severity == "reject"
