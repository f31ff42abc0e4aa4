"""The type of line of a phone number (mobile, fixed line, toll free, ...), from compiled metadata.

``phonenumbers.number_type`` looks up and matches up to eleven number-range patterns per call
through a regex cache keyed by the pattern text, about 10-25 µs a number. This module compiles
each region's patterns once and checks them in the same order with the same rules: the general
pattern first, then the special services, then fixed line and mobile (``FIXED_LINE_OR_MOBILE``
when both fit, or when the region's two patterns are the same). For calling codes shared by
several regions (``+1``, ``+44``, ``+7``) the region is the first whose leading digits match, or,
for regions without leading digits, whose patterns fit. A property test compares
:func:`number_type` with ``phonenumbers.number_type`` over many numbers and regions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType

__all__ = ["number_type"]

_SPECIAL_SERVICES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


_Matcher = Callable[[str], object]
# A number range: the pattern's fullmatch and the lengths it allows (empty: any length).
_Range = tuple[_Matcher, frozenset[int]]


def _fits(number_range: _Range | None, national: str) -> bool:
    if number_range is None:
        return False
    fullmatch, lengths = number_range
    return (not lengths or len(national) in lengths) and fullmatch(national) is not None


@dataclass(frozen=True, slots=True)
class _Plan:
    """The compiled ranges of one region."""

    general: _Range | None
    services: tuple[tuple[_Matcher, frozenset[int], int], ...]
    fixed_line: _Range | None
    mobile: _Range | None
    same_fixed_and_mobile: bool
    leading_digits: re.Pattern[str] | None

    def type_of(self, national: str) -> int:
        if not _fits(self.general, national):
            return PhoneNumberType.UNKNOWN
        length = len(national)
        # Inlined: this loop runs for every distinct number and dominates the cost.
        for fullmatch, lengths, kind in self.services:
            if (not lengths or length in lengths) and fullmatch(national) is not None:
                return kind
        if _fits(self.fixed_line, national):
            if self.same_fixed_and_mobile or _fits(self.mobile, national):
                return PhoneNumberType.FIXED_LINE_OR_MOBILE
            return PhoneNumberType.FIXED_LINE
        if not self.same_fixed_and_mobile and _fits(self.mobile, national):
            return PhoneNumberType.MOBILE
        return PhoneNumberType.UNKNOWN


def _range(desc: PhoneNumberDesc | None) -> _Range | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return re.compile(desc.national_number_pattern).fullmatch, frozenset(desc.possible_length or ())


def _plan(metadata: PhoneMetadata) -> _Plan:
    services = []
    for name, kind in _SPECIAL_SERVICES:
        compiled = _range(getattr(metadata, name))
        if compiled is not None:
            services.append((*compiled, kind))
    leading = metadata.leading_digits
    return _Plan(
        general=_range(metadata.general_desc),
        services=tuple(services),
        fixed_line=_range(metadata.fixed_line),
        mobile=_range(metadata.mobile),
        same_fixed_and_mobile=bool(metadata.same_mobile_and_fixed_line_pattern),
        leading_digits=re.compile(leading) if leading is not None else None,
    )


@cache
def _plans(country_code: int) -> tuple[_Plan, ...]:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if regions == (phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY,):
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code)
        return (_plan(metadata),) if metadata is not None else ()
    plans = []
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper())
        if metadata is not None:
            plans.append(_plan(metadata))
    return tuple(plans)


def number_type(country_code: int, national: str) -> int:
    """The ``PhoneNumberType`` of a number, as ``phonenumbers.number_type`` would give it.

    Parameters
    ----------
    country_code
        The country calling code (46 for Sweden).
    national
        The national significant number as digits, with any Italian leading zeros.

    Examples
    --------
    >>> number_type(46, "701234567") == PhoneNumberType.MOBILE
    True
    >>> number_type(1, "2125550123") == PhoneNumberType.FIXED_LINE_OR_MOBILE
    True
    """
    plans = _plans(country_code)
    if len(plans) == 1:
        return plans[0].type_of(national)
    for plan in plans:
        if plan.leading_digits is not None:
            if plan.leading_digits.match(national):
                return plan.type_of(national)
        else:
            kind = plan.type_of(national)
            if kind != PhoneNumberType.UNKNOWN:
                return kind
    return PhoneNumberType.UNKNOWN
