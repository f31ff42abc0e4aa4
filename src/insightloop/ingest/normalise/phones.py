"""Phone numbers to E.164 (``+46701234567``), with the kind of line identity resolution needs.

A number is parsed with a default region per source (ISO 3166-1 alpha-2): national formats
(``070-123 45 67``), international ones (``+46 70 ...``, ``0046 70 ...``, ``011 44 ...`` from the
US), any spaces, dots, dashes, slashes and brackets, full-width digits, and extensions
(``ext. 12``, ``x12``, ``#12``; returned apart, since E.164 has no room for them).

Speed: most values are an optional ``+`` and digits with separators. Those are reduced to their
digits and resolved by :func:`~insightloop.ingest.normalise.phone_shortcut.shortcut` without
``phonenumbers.parse``; each distinct number is classified once (an LRU cache keyed by the
digits, another by the parsed number), so ``070-123 45 67`` and ``+46 70 123 45 67`` share work.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType

from insightloop.errors import ConfigError
from insightloop.ingest.normalise.phone_shortcut import shortcut
from insightloop.ingest.normalise.phone_types import number_type

__all__ = ["PHONE_KINDS", "NormalisedPhone", "check_region", "normalise_phone"]

PHONE_KINDS = ("mobile", "fixed_line", "fixed_line_or_mobile", "other")
"""Line kinds: ``fixed_line_or_mobile`` where the numbering plan cannot tell (US, Canada)."""

_KIND = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
}
_POSSIBILITY_REASON = {
    phonenumbers.ValidationResult.TOO_SHORT: "phone_too_short",
    phonenumbers.ValidationResult.TOO_LONG: "phone_too_long",
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "phone_local_only",
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "phone_invalid_country_code",
    phonenumbers.ValidationResult.INVALID_LENGTH: "phone_invalid",
}
_PARSE_REASON = {
    NumberParseException.INVALID_COUNTRY_CODE: "phone_invalid_country_code",
    NumberParseException.NOT_A_NUMBER: "phone_unparseable",
    NumberParseException.TOO_SHORT_AFTER_IDD: "phone_too_short",
    NumberParseException.TOO_SHORT_NSN: "phone_too_short",
    NumberParseException.TOO_LONG: "phone_too_long",
}
# An optional "+" then digits and the separators people type; anything else takes the long road.
_SIMPLE = re.compile(r"\s*(\+?)[\d\s().\-/]*")
_NOT_DIGIT = re.compile(r"\D+")
_RUNS = ("01234567890123456789", "98765432109876543210")


@dataclass(frozen=True, slots=True)
class NormalisedPhone:
    """A phone number in E.164, or the reason there is none.

    Parameters
    ----------
    value
        E.164 text such as ``+46701234567``, or ``None``.
    reason
        A ``phone_*`` code from :data:`~insightloop.ingest.normalise.REASONS`, or ``None``.
    kind
        One of :data:`PHONE_KINDS` for a valid number, else ``None``.
    extension
        The extension digits the text carried (``ext. 12``), else ``None``.
    """

    value: str | None
    reason: str | None = None
    kind: str | None = None
    extension: str | None = None

    @property
    def ok(self) -> bool:
        """Whether there is a normalised number."""
        return self.value is not None


@lru_cache(maxsize=512)
def check_region(region: str | None) -> str | None:
    """Return ``region`` in upper case, or raise :class:`~insightloop.errors.ConfigError`.

    Examples
    --------
    >>> check_region("se"), check_region(None)
    ('SE', None)
    """
    if region is None:
        return None
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"Unknown default phone region {region!r}.",
            hint="Use an ISO 3166-1 alpha-2 code such as SE, GB, US, CN or IE.",
        )
    return code


def _is_junk(digits: str) -> bool:
    if digits.count(digits[0]) == len(digits):
        return True
    if len(digits) >= 8 and digits.endswith(digits[-1] * 7):
        return True  # +46 70 000 00 00: a real prefix and a made-up subscriber number
    return len(digits) >= 7 and (digits in _RUNS[0] or digits in _RUNS[1])


def _possibility_reason(country_code: int, national: str) -> str:
    """Why a number of no known type fails: its length, else ``phone_invalid``."""
    zeros = len(national) - len(national.lstrip("0"))
    number = PhoneNumber(
        country_code=country_code,
        national_number=int(national),
        italian_leading_zero=True if zeros else None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )
    possibility = phonenumbers.is_possible_number_with_reason(number)
    return _POSSIBILITY_REASON.get(possibility, "phone_invalid")


@lru_cache(maxsize=131_072)
def _classify(country_code: int, national: str) -> NormalisedPhone:
    """Validate a number given as calling code and national significant number (as digits,
    with any leading zeros) and format it in E.164, which is exactly ``+``, code, number."""
    if _is_junk(national):
        return NormalisedPhone(None, "phone_junk")
    kind = number_type(country_code, national)
    if kind == PhoneNumberType.UNKNOWN:
        return NormalisedPhone(None, _possibility_reason(country_code, national))
    return NormalisedPhone(f"+{country_code}{national}", None, _KIND.get(kind, "other"))


def _parse(text: str, region: str | None) -> NormalisedPhone:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as error:
        missing = error.error_type == NumberParseException.INVALID_COUNTRY_CODE and region is None
        if missing and not text.lstrip().startswith("+"):
            return NormalisedPhone(None, "phone_missing_country_code")
        return NormalisedPhone(None, _PARSE_REASON.get(error.error_type, "phone_unparseable"))
    national = phonenumbers.national_significant_number(number)
    result = _classify(number.country_code or 0, national)
    if result.value is not None and number.extension:
        return NormalisedPhone(result.value, None, result.kind, number.extension)
    return result


@lru_cache(maxsize=131_072)
def _from_digits(plus: bool, digits: str, region: str | None) -> NormalisedPhone:
    if len(digits) >= 3 and len(set(digits)) == 1:
        return NormalisedPhone(None, "phone_junk")
    number = shortcut(plus, digits, region)
    if number is not None:
        return _classify(*number)
    return _parse(("+" if plus else "") + digits, region)


@lru_cache(maxsize=131_072)
def _normalise(text: str, region: str | None) -> NormalisedPhone:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    simple = _SIMPLE.fullmatch(text)
    if simple is not None:
        digits = _NOT_DIGIT.sub("", text)
        if not digits:
            return NormalisedPhone(None, "phone_empty")
        return _from_digits(bool(simple.group(1)), digits, region)
    if not text.strip():
        return NormalisedPhone(None, "phone_empty")
    return _parse(text, region)


def normalise_phone(text: str | None, region: str | None = None) -> NormalisedPhone:
    """Normalise one phone number to E.164 and tell its kind of line.

    Parameters
    ----------
    text
        The number as received.
    region
        The source's default region for numbers written without a country code (ISO 3166-1
        alpha-2, any case). ``None`` accepts international numbers only.

    Returns
    -------
    NormalisedPhone
        The E.164 value, its kind and extension; or ``None`` and a ``phone_*`` reason.

    Raises
    ------
    ConfigError
        If ``region`` is not a region phonenumbers knows.

    Examples
    --------
    >>> normalise_phone("070-123 45 67", "SE")
    NormalisedPhone(value='+46701234567', reason=None, kind='mobile', extension=None)
    >>> normalise_phone("0046 8 123 456 78", "GB").value
    '+46812345678'
    >>> normalise_phone("(212) 555-0123 ext. 45", "US").extension
    '45'
    >>> normalise_phone("0000000", "SE").reason
    'phone_junk'
    """
    code = check_region(region)
    if text is None:
        return NormalisedPhone(None, "phone_empty")
    return _normalise(text, code)
