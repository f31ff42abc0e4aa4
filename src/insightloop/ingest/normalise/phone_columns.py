"""A column of plain phone numbers of one region to E.164 and line kind, in one vectorised pass.

Most numbers in a customer export are written nationally (``070-123 45 67``) or with the
region's own calling code (``+46 70 ...``, ``0046 70 ...``) and are valid. For those,
:func:`plain_phones` repeats what :func:`~insightloop.ingest.normalise.normalise_phone` does, step
by step, with Arrow's string kernels on the whole column: the digits, the national prefix, the
region's number ranges in phonenumbers' order. It answers only a valid number that the
value-by-value path would read the same way, and leaves null for everything else (other
countries, junk, invalid or unusual numbers, regions whose prefixes need more than a pattern),
which the caller hands to that path. A property test compares both over many regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata, PhoneNumberDesc

__all__ = ["plain_phones"]

_TEXT = pa.string()
_NULL = pa.scalar(None, _TEXT)
# What the value-by-value path takes as a plain number: an optional "+" and digits with
# separators (ASCII white space without the rarer control characters).
_SIMPLE = r"^[ \t\n\r\f]*\+?[0-9 \t\n\r\f().\-/]*$"
_SERVICES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail",
)  # fmt: skip
_RUNS = ("01234567890123456789", "98765432109876543210")
_JUNK_RUNS = pa.array(
    sorted({run[i:j] for run in _RUNS for i in range(len(run)) for j in range(i + 7, 21)}),
    _TEXT,
)
_UNNAMED_GROUP = re.compile(r"(?<!\\)\((?!\?)")
# A national significant number's lengths (phonenumbers' _MIN/_MAX_LENGTH_FOR_NSN).
_MIN_NSN, _MAX_NSN = 2, 17


@dataclass(frozen=True)
class _Range:
    pattern: str  # anchored for RE2
    lengths: pa.Array | None  # allowed lengths; None: any


@dataclass(frozen=True)
class _Region:
    country_code: str
    international_prefix: str | None
    national_prefix: str | None
    prefix_keeps_digits: bool
    general: _Range | None
    # The general pattern's possible lengths and those only possible locally (for "too long").
    general_lengths: tuple[int, ...]
    local_lengths: tuple[int, ...]
    services: tuple[_Range, ...]
    fixed_line: _Range | None
    mobile: _Range | None
    same_fixed_and_mobile: bool


def _range(desc: PhoneNumberDesc | None) -> _Range | None:
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = pa.array(sorted(desc.possible_length), pa.int32()) if desc.possible_length else None
    return _Range(f"^(?:{desc.national_number_pattern})$", lengths)


@cache
def _region(region: str) -> _Region | None:
    """The region's rules, when it is the main region of its calling code and its prefixes
    are plain patterns; ``None`` otherwise (those numbers go value by value)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    code = metadata.country_code
    if phonenumbers.region_code_for_country_code(code) != region:
        return None
    if metadata.leading_digits is not None or metadata.national_prefix_transform_rule:
        return None
    text = str(code)
    # "+<code>..." must not be read with a shorter calling code first.
    if any(int(text[:width]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE for width in (1, 2)
           if width < len(text)):  # fmt: skip
        return None
    prefix = metadata.national_prefix_for_parsing
    general = metadata.general_desc
    services = tuple(r for r in (_range(getattr(metadata, s)) for s in _SERVICES) if r is not None)
    return _Region(
        country_code=text,
        international_prefix=metadata.international_prefix,
        national_prefix=prefix,
        # A prefix with groups may keep a carrier code: those numbers go value by value.
        prefix_keeps_digits=prefix is not None and re.compile(prefix).groups > 0,
        general=_range(general),
        general_lengths=tuple(general.possible_length or ()) if general else (),
        local_lengths=tuple(general.possible_length_local_only or ()) if general else (),
        services=services,
        fixed_line=_range(metadata.fixed_line),
        mobile=_range(metadata.mobile),
        same_fixed_and_mobile=bool(metadata.same_mobile_and_fixed_line_pattern),
    )


def _fits(number_range: _Range | None, national: pa.Array, length: pa.Array) -> pa.Array:
    if number_range is None:
        return pa.array([False] * len(national), pa.bool_())
    fits = pc.match_substring_regex(national, number_range.pattern)
    if number_range.lengths is not None:
        fits = pc.and_(fits, pc.is_in(length, value_set=number_range.lengths))
    return pc.fill_null(fits, False)


def _kinds(rules: _Region, national: pa.Array) -> pa.Array:
    """The line kind of each national number (null: no known type), in phonenumbers' order."""
    length = pc.utf8_length(national)
    unknown = pc.invert(_fits(rules.general, national, length))
    service = pa.array([False] * len(national), pa.bool_())
    for number_range in rules.services:
        service = pc.or_(service, _fits(number_range, national, length))
    fixed = _fits(rules.fixed_line, national, length)
    mobile = _fits(rules.mobile, national, length)
    if rules.same_fixed_and_mobile:
        both, mobile_only = fixed, pa.array([False] * len(national), pa.bool_())
    else:
        both, mobile_only = pc.and_(fixed, mobile), mobile
    kind = pc.if_else(mobile_only, pa.scalar("mobile"), _NULL)
    kind = pc.if_else(fixed, pa.scalar("fixed_line"), kind)
    kind = pc.if_else(both, pa.scalar("fixed_line_or_mobile"), kind)
    kind = pc.if_else(service, pa.scalar("other"), kind)
    return pc.if_else(unknown, _NULL, kind)


def _starts(values: pa.Array, pattern: str) -> pa.Array:
    """The length of ``pattern``'s match at the start of each value (null: no match)."""
    plain = _UNNAMED_GROUP.sub("(?:", pattern)  # Arrow's extract_regex wants named groups
    found = pc.extract_regex(values, f"^(?P<m>(?:{plain}))")
    return pc.utf8_length(pc.struct_field(found, "m"))


def _junk(national: pa.Array) -> pa.Array:
    """Made-up numbers, as the value-by-value path tells them (one digit repeated, seven equal
    digits at the end of a long number, a run of consecutive digits)."""
    length = pc.utf8_length(national)
    one_digit = _one_digit(national)
    last = pc.utf8_slice_codeunits(national, -1, None)
    tail = pc.utf8_slice_codeunits(national, -7, None)
    repeated_tail = pc.and_(pc.greater_equal(length, 8), pc.equal(pc.binary_repeat(last, 7), tail))
    run = pc.and_(pc.greater_equal(length, 7), pc.is_in(national, value_set=_JUNK_RUNS))
    return pc.or_(pc.or_(one_digit, repeated_tail), run)


def plain_phones(texts: pa.Array, region: str) -> tuple[pa.Array, pa.Array] | None:
    """``(E.164 value, kind)`` of the plain, valid numbers of ``region`` in ``texts``; null for
    every other value. ``None`` when the region's rules are beyond this shortcut.

    Examples
    --------
    >>> values, kinds = plain_phones(
    ...     pa.array(["070-123 45 67", "+46 8 123 456 78", "0046 70 123 45 67", "+44 20 7946 0958",
    ...               "0000000", None]), "SE")
    >>> values.to_pylist()
    ['+46701234567', '+46812345678', '+46701234567', None, None, None]
    >>> kinds.to_pylist()[:3]
    ['mobile', 'fixed_line', 'mobile']
    """
    rules = _region(region)
    if rules is None:
        return None
    try:
        return _plain(rules, texts)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a pattern RE2 cannot compile
        return None


def _plain(rules: _Region, texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    simple = pc.and_(pc.string_is_ascii(texts), pc.match_substring_regex(texts, _SIMPLE))
    digits = pc.replace_substring_regex(texts, r"[^0-9]+", "")
    plus = pc.match_substring_regex(texts, r"^[ \t\n\r\f]*\+")
    code = rules.country_code
    # "+46 ...", or "0046 ..." dialled out with the region's international prefix: the national
    # number follows the calling code. Otherwise the digits are national.
    idd = (
        _starts(digits, rules.international_prefix)
        if rules.international_prefix
        else pa.nulls(len(texts), pa.int32())
    )
    after_idd = _tail(digits, idd)
    international = pc.if_else(plus, digits, after_idd)
    own_code = pc.fill_null(pc.starts_with(international, code), False)
    national_of_international = _tail(international, pa.scalar(len(code), pa.int32()))
    dialled = pc.or_(plus, pc.is_valid(idd))
    candidate = pc.if_else(own_code, national_of_international, pa.scalar(None, _TEXT))
    candidate = pc.if_else(pc.invert(dialled), _undialled(rules, digits), candidate)
    eligible = pc.fill_null(pc.and_(simple, pc.is_valid(candidate)), False)
    eligible = pc.and_(eligible, pc.invert(pc.fill_null(_same_digit(digits), False)))
    size = pc.utf8_length(candidate)
    eligible = pc.and_(
        eligible, pc.and_(pc.greater_equal(size, _MIN_NSN), pc.less_equal(size, _MAX_NSN))
    )
    national = pc.if_else(pc.fill_null(eligible, False), candidate, pa.scalar(None, _TEXT))
    national = _strip_national_prefix(rules, national)
    length = pc.utf8_length(national)
    ok = pc.and_(pc.greater_equal(length, _MIN_NSN), pc.less_equal(length, _MAX_NSN))
    ok = pc.and_(ok, pc.invert(pc.starts_with(national, "0")))
    ok = pc.and_(ok, pc.invert(_junk(national)))
    national = pc.if_else(pc.fill_null(ok, False), national, pa.scalar(None, _TEXT))
    kinds = _kinds(rules, national)
    values = pc.if_else(
        pc.is_valid(kinds), pc.binary_join_element_wise(f"+{code}", national, ""), _NULL
    )
    return values, kinds


def _undialled(rules: _Region, digits: pa.Array) -> pa.Array:
    """The national number of digits written without ``+`` or an international prefix.

    They are national, unless they begin with the region's calling code (``1 713 555 0123`` in
    the US) and phonenumbers' test takes the code off: the whole is no number of the region but
    the rest (without a national prefix) is, or the whole is too long. Null where that test
    needs what this shortcut does not model (a prefix that may keep a carrier code).
    """
    code = rules.country_code
    starts = pc.fill_null(pc.starts_with(digits, code), False)
    if not pc.any(starts).as_py():
        return digits
    rest = _tail(digits, pa.scalar(len(code), pa.int32()))
    if rules.national_prefix is not None:
        cut = _starts(rest, rules.national_prefix)
        prefixed = pc.fill_null(pc.greater(cut, 0), False)
        if rules.prefix_keeps_digits:
            rest = pc.if_else(prefixed, _NULL, rest)
        else:
            # phonenumbers keeps the prefix when the number fits the pattern with it and not
            # without it.
            stripped = _tail(rest, cut)
            keep = pc.and_(_general(rules, rest), pc.invert(_general(rules, stripped)))
            rest = pc.if_else(pc.and_(prefixed, pc.invert(keep)), stripped, rest)
    take = pc.or_(
        pc.and_(pc.invert(_general(rules, digits)), _general(rules, rest)),
        _too_long(rules, pc.utf8_length(digits)),
    )
    undecided = pc.and_(starts, pc.is_null(rest))
    national = pc.if_else(pc.and_(starts, pc.fill_null(take, False)), rest, digits)
    return pc.if_else(undecided, _NULL, national)


def _general(rules: _Region, national: pa.Array) -> pa.Array:
    """Whether each number fits the region's general pattern (any length), as phonenumbers'
    ``_match_national_number`` tells it; false for null."""
    if rules.general is None:
        return pa.array([False] * len(national), pa.bool_())
    return pc.fill_null(pc.match_substring_regex(national, rules.general.pattern), False)


def _too_long(rules: _Region, length: pa.Array) -> pa.Array:
    """phonenumbers' ``TOO_LONG`` for numbers of ``length`` digits (any type), its steps in its
    order: a local-only length is not, nor is the first possible length or anything shorter."""
    possible = rules.general_lengths
    if not possible:
        return pa.array([False] * len(length), pa.bool_())
    local = pa.array(rules.local_lengths, pa.int32())
    longer = pc.and_(pc.greater(length, possible[0]), pc.greater(length, possible[-1]))
    return pc.fill_null(pc.and_(longer, pc.invert(pc.is_in(length, value_set=local))), False)


def _tail(values: pa.Array, start: pa.Array | pa.Scalar) -> pa.Array:
    """``values[start:]`` per row (a prefix has few lengths: one slice per length)."""
    if isinstance(start, pa.Scalar):
        return pc.utf8_slice_codeunits(values, start.as_py(), None)
    out = pa.nulls(len(values), _TEXT)
    for cut in pc.unique(start.drop_null()).to_pylist():
        out = pc.if_else(pc.equal(start, cut), pc.utf8_slice_codeunits(values, cut, None), out)
    return out


def _one_digit(digits: pa.Array) -> pa.Array:
    """Whether each value is one digit repeated."""
    first = pc.utf8_slice_codeunits(digits, 0, 1)
    return pc.equal(pc.binary_repeat(first, pc.utf8_length(digits)), digits)


def _same_digit(digits: pa.Array) -> pa.Array:
    """Three digits or more, all the same (``0000000``)."""
    return pc.and_(pc.greater_equal(pc.utf8_length(digits), 3), _one_digit(digits))


def _strip_national_prefix(rules: _Region, national: pa.Array) -> pa.Array:
    """The national significant number: a national prefix (``0``) taken off where it begins
    the number. The value-by-value path keeps it off only when the rest is valid, which the
    caller's check of the number ranges decides; a prefix that may keep a carrier code leaves
    the number to that path (null)."""
    if rules.national_prefix is None:
        return national
    cut = _starts(national, rules.national_prefix)
    matched = pc.fill_null(pc.greater(cut, 0), False)
    stripped = _NULL if rules.prefix_keeps_digits else _tail(national, cut)
    return pc.if_else(matched, stripped, national)
