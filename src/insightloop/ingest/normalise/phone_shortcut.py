"""An exact shortcut past ``phonenumbers.parse`` for phone numbers made of digits only.

``phonenumbers.parse`` costs about 25 µs a call, mostly in handling text that real columns rarely
hold (letters, extensions, RFC 3966 URIs). Once a number is reduced to an optional ``+`` and its
digits, the country calling code and the national number follow from the region metadata that
phonenumbers ships: the international prefix (``00``, ``011``) and the national prefix for
parsing (``0``, ``1``). :func:`shortcut` answers only when it can tell that ``parse`` would return
the same number, and returns ``None`` otherwise, for the caller to ask phonenumbers itself. A
property test compares the two on generated numbers of many regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType

from insightloop.ingest.normalise.phone_types import number_type

__all__ = ["shortcut"]

# The national significant number lengths phonenumbers accepts (its _MIN/_MAX_LENGTH_FOR_NSN).
_MIN_NSN, _MAX_NSN = 2, 17


@dataclass(frozen=True, slots=True)
class _Plan:
    """What parsing needs to know about one region: its calling code and prefix patterns."""

    country_code: int
    country_code_text: str
    international_prefix: re.Pattern[str] | None
    national_prefix: re.Pattern[str] | None
    has_transform_rule: bool


def _plan_for(metadata: PhoneMetadata | None) -> _Plan | None:
    if metadata is None or metadata.country_code is None:
        return None
    idd = metadata.international_prefix
    prefix = metadata.national_prefix_for_parsing
    return _Plan(
        country_code=metadata.country_code,
        country_code_text=str(metadata.country_code),
        international_prefix=re.compile(idd) if idd else None,
        national_prefix=re.compile(prefix) if prefix else None,
        has_transform_rule=bool(metadata.national_prefix_transform_rule),
    )


@cache
def _region_plan(region: str) -> _Plan | None:
    return _plan_for(PhoneMetadata.metadata_for_region(region))


@cache
def _calling_code_plan(country_code: int) -> _Plan | None:
    region = phonenumbers.region_code_for_country_code(country_code)
    # Non-geographic codes (+800, +882, ...) have no region metadata: phonenumbers handles them.
    return _plan_for(PhoneMetadata.metadata_for_region(region))


def _is_valid(country_code: int, national: str) -> bool:
    return number_type(country_code, national) != PhoneNumberType.UNKNOWN


def _build(plan: _Plan, national: str) -> tuple[int, str] | None:
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        return None
    matched = plan.national_prefix.match(national) if plan.national_prefix else None
    if matched is None or matched.end() == 0:
        if national[0] == "0":
            # Leading zeros live in separate fields (Italian numbers): phonenumbers sets them.
            return None
        return plan.country_code, national
    if plan.has_transform_rule or any(group is not None for group in matched.groups()):
        return None
    stripped = national[matched.end() :]
    if len(stripped) < _MIN_NSN or stripped[0] == "0":
        return None
    # A valid remainder is exactly when phonenumbers keeps the prefix stripped; in every other
    # case its choice depends on possible lengths, and it is asked.
    if not _is_valid(plan.country_code, stripped):
        return None
    return plan.country_code, stripped


def _international(digits: str) -> tuple[int, str] | None:
    if len(digits) <= _MIN_NSN or digits[0] == "0":
        return None
    for width in (1, 2, 3):
        code = int(digits[:width])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            plan = _calling_code_plan(code)
            return _build(plan, digits[width:]) if plan else None
    return None


def shortcut(plus: bool, digits: str, region: str | None) -> tuple[int, str] | None:
    """The number ``phonenumbers.parse`` would return for ``digits``, or ``None`` when unsure.

    The number is returned as its country calling code and national significant number.

    Parameters
    ----------
    plus
        Whether the text began with ``+``.
    digits
        The ASCII digits of the text, in order, without separators.
    region
        The default region (upper-case ISO 3166-1 alpha-2), or ``None``.

    Examples
    --------
    >>> shortcut(False, "0701234567", "SE")
    (46, '701234567')
    >>> shortcut(False, "0046701234567", "SE") == shortcut(True, "46701234567", None)
    True
    >>> shortcut(False, "0039061234567", "SE") is None  # an Italian leading zero
    True
    """
    if plus:
        return _international(digits)
    plan = _region_plan(region) if region else None
    if plan is None:
        return None
    if plan.international_prefix is not None:
        dialled_out = plan.international_prefix.match(digits)
        if dialled_out is not None:
            rest = digits[dialled_out.end() :]
            return _international(rest) if rest and rest[0] != "0" else None
    if digits.startswith(plan.country_code_text):
        # phonenumbers may read this as the country code typed without "+": let it decide.
        return None
    return _build(plan, digits)
