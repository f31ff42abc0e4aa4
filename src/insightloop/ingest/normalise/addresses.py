"""Street and city text, and postcodes checked and formatted per country.

Streets and cities get the spacing and casing repair of names (``STORGATAN 12 B`` becomes
``Storgatan 12 B``, ``stratford-upon-avon`` becomes ``Stratford-upon-Avon``); words in mixed case
are kept; CJK text is left as it is (its spaces too, which may separate address parts).
Abbreviations are not expanded (``St`` stays ``St``): matching compares them, not this layer.

Postcodes have a canonical form for SE (``123 45``), GB (``SW1A 1AA``), US (``12345`` or
``12345-6789``), IE (Eircode ``A65 F4E2``) and CN (``100000``), and get ``postcode_invalid`` when
they do not fit it. Other countries' postcodes are only upper-cased and their spaces collapsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from insightloop.ingest.normalise.countries import check_country
from insightloop.ingest.normalise.reasons import Normalised
from insightloop.ingest.normalise.text import fixpoint, needs_recasing, recase_word, squash

__all__ = ["POSTCODE_COUNTRIES", "normalise_city", "normalise_postcode", "normalise_street"]

# Small words written in lower case inside place names (Stratford-upon-Avon, Saint-Jean-de-Luz).
_SMALL_WORDS = frozenset({"and", "de", "des", "du", "en", "la", "le", "of", "on", "sur", "the"})
_SMALL_WORDS |= {"under", "upon"}
_UPPER_WORDS = frozenset({"NE", "NW", "PO", "SE", "SW", "C/O"})
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th|:a|:e)", re.IGNORECASE)
_HYPHEN = re.compile(r"(-)")


def _recase_place_word(word: str, first: bool, last: bool, numbers: bool) -> str:
    if numbers and any(ch.isdigit() for ch in word):
        return word.lower() if _ORDINAL.fullmatch(word) else word.upper()
    if word.upper() in _UPPER_WORDS and numbers:
        return word.upper()
    pieces = _HYPHEN.split(word)
    out = []
    for index, piece in enumerate(pieces):
        inner = not (first and index == 0) and not (last and index == len(pieces) - 1)
        out.append(piece.lower() if inner and piece.lower() in _SMALL_WORDS else recase_word(piece))
    return "".join(out)


def _recase_place(text: str, numbers: bool) -> str:
    words = squash(text).split(" ")
    end = len(words) - 1
    return " ".join(
        _recase_place_word(word, index == 0, index == end, numbers)
        if needs_recasing(word)
        else word
        for index, word in enumerate(words)
    )


@lru_cache(maxsize=65_536)
def _place(text: str, numbers: bool) -> Normalised[str]:
    cleaned = fixpoint(lambda s: _recase_place(s, numbers), text)
    return Normalised(cleaned, None) if cleaned else Normalised(None, "address_empty")


def normalise_street(text: str | None) -> Normalised[str]:
    """Normalise a street line: spacing, Unicode form and casing (house numbers upper-cased).

    Examples
    --------
    >>> normalise_street("  STORGATAN   12 b ").value
    'Storgatan 12 B'
    >>> normalise_street("221b baker st").value, normalise_street("1ST AVENUE NW").value
    ('221B Baker St', '1st Avenue NW')
    >>> normalise_street(" ").reason
    'address_empty'
    """
    return Normalised(None, "address_empty") if text is None else _place(text, True)


def normalise_city(text: str | None) -> Normalised[str]:
    """Normalise a city or town name: spacing, Unicode form and casing.

    Examples
    --------
    >>> normalise_city("UPPLANDS VÄSBY").value, normalise_city("stratford-upon-avon").value
    ('Upplands Väsby', 'Stratford-upon-Avon')
    >>> normalise_city("北京市").value
    '北京市'
    """
    return Normalised(None, "address_empty") if text is None else _place(text, False)


_SE = re.compile(r"(?:SE?)?([1-9]\d{2})(\d{2})")
_US = re.compile(r"(?:US)?(\d{5})(\d{4})?")
_CN = re.compile(r"(?:CN)?(\d{6})")
_IE = re.compile(r"([AC-FHKNPRTV-Y]\d{2}|D6W)([0-9AC-FHKNPRTV-Y]{4})")
# Outward code (A9, A99, A9A, AA9, AA99, AA9A with the letters each position allows), inward
# code (9AA without C, I, K, M, O, V), or the one special case GIR 0AA.
_GB = re.compile(
    r"(GIR)(0AA)"
    r"|([A-PR-UWYZ](?:\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRVWXY\d]?))(\d[ABD-HJLNP-UW-Z]{2})"
)
_SEPARATORS = re.compile(r"[\s\-.]+")


def _se(compact: str) -> str | None:
    found = _SE.fullmatch(compact)
    return f"{found[1]} {found[2]}" if found else None


def _gb(compact: str) -> str | None:
    found = _GB.fullmatch(compact)
    if not found:
        return None
    outward, inward = (found[1], found[2]) if found[1] else (found[3], found[4])
    return f"{outward} {inward}"


def _us(compact: str) -> str | None:
    found = _US.fullmatch(compact)
    if not found:
        return None
    return f"{found[1]}-{found[2]}" if found[2] else found[1]


def _ie(compact: str) -> str | None:
    found = _IE.fullmatch(compact)
    return f"{found[1]} {found[2]}" if found else None


def _cn(compact: str) -> str | None:
    found = _CN.fullmatch(compact)
    return found[1] if found else None


_FORMATS: dict[str, Callable[[str], str | None]] = {
    "SE": _se,
    "GB": _gb,
    "US": _us,
    "IE": _ie,
    "CN": _cn,
}
POSTCODE_COUNTRIES = tuple(_FORMATS)
"""Countries whose postcodes are validated and put in canonical form."""


@lru_cache(maxsize=65_536)
def _postcode(text: str, country: str | None) -> Normalised[str]:
    cleaned = squash(text).upper()
    if not cleaned:
        return Normalised(None, "postcode_empty")
    check = _FORMATS.get(country or "")
    if check is None:
        return Normalised(cleaned, None)
    formatted = check(_SEPARATORS.sub("", cleaned))
    return Normalised(formatted, None) if formatted else Normalised(None, "postcode_invalid")


def normalise_postcode(text: str | None, country: str | None) -> Normalised[str]:
    """Check a postcode against its country's format and write it in canonical form.

    Parameters
    ----------
    text
        The postcode as received (any case and spacing; a ``SE-`` style prefix is accepted).
    country
        ISO 3166-1 alpha-2 code of the address (normalise country names first with
        :func:`~insightloop.ingest.normalise.normalise_country`); ``None`` if unknown.

    Raises
    ------
    ConfigError
        If ``country`` is not an ISO 3166-1 alpha-2 code.

    Examples
    --------
    >>> [normalise_postcode(p, "SE").value for p in ("12345", "123 45", "SE-123 45")]
    ['123 45', '123 45', '123 45']
    >>> normalise_postcode("sw1a1aa", "GB").value, normalise_postcode("a65f4e2", "IE").value
    ('SW1A 1AA', 'A65 F4E2')
    >>> normalise_postcode("12345 6789", "US").value, normalise_postcode("100000", "CN").value
    ('12345-6789', '100000')
    >>> normalise_postcode("1234", "SE")
    Normalised(value=None, reason='postcode_invalid')
    """
    code = check_country(country)
    if text is None:
        return Normalised(None, "postcode_empty")
    return _postcode(text, code)
