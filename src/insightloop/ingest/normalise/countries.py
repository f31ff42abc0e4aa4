"""Country codes and names to ISO 3166-1 alpha-2 (``Sverige``, ``SWE``, ``UK``, ``中国``).

The lookup key folds what sources vary in: Unicode compatibility forms, case, diacritics
(``Osterreich`` finds ``Österreich``), full stops (``U.S.A.``), apostrophes, hyphens, commas,
brackets, spacing and a leading ``the``. ``UK`` (not an ISO code) means GB.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from insightloop.errors import ConfigError
from insightloop.ingest.normalise.country_data import COUNTRY_TABLE
from insightloop.ingest.normalise.reasons import Normalised

__all__ = ["ALPHA2", "check_country", "country_key", "normalise_country"]

_DROPPED = re.compile("[.'\u2019]")
_SPACED = re.compile(r"[-,()/&_]")


def country_key(text: str) -> str:
    """The folded lookup key of a country name or code.

    Examples
    --------
    >>> country_key(" The U.S.A. "), country_key("Österreich"), country_key("Côte d'Ivoire")
    ('usa', 'osterreich', 'cote divoire')
    """
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = " ".join(_SPACED.sub(" ", _DROPPED.sub("", folded)).split())
    folded = folded.replace(" and ", " ")
    return folded[4:] if folded.startswith("the ") else folded


def _build() -> tuple[frozenset[str], Mapping[str, str]]:
    codes: set[str] = set()
    lookup: dict[str, str] = {"uk": "GB"}
    for line in COUNTRY_TABLE.strip().splitlines():
        alpha2, alpha3, names = line.split(" ", 2)
        codes.add(alpha2)
        for key in (alpha2, alpha3, *names.split("|")):
            folded = country_key(key)
            if lookup.setdefault(folded, alpha2) != alpha2:
                raise AssertionError(f"country table: {key!r} means two countries")
    return frozenset(codes), MappingProxyType(lookup)


ALPHA2, _LOOKUP = _build()
"""The 249 ISO 3166-1 alpha-2 codes."""


@lru_cache(maxsize=4096)
def _normalise(text: str) -> Normalised[str]:
    key = country_key(text)
    if not key:
        return Normalised(None, "country_empty")
    code = _LOOKUP.get(key)
    return Normalised(code, None) if code else Normalised(None, "country_unknown")


def normalise_country(text: str | None) -> Normalised[str]:
    """Normalise a country code or name to its ISO 3166-1 alpha-2 code.

    Parameters
    ----------
    text
        An alpha-2 or alpha-3 code, or a name in English, Swedish, Chinese or the local language.

    Returns
    -------
    Normalised[str]
        The alpha-2 code, or ``None`` with ``country_empty`` or ``country_unknown``.

    Examples
    --------
    >>> [normalise_country(t).value for t in ("Sverige", "sweden", "SE", "SWE", "UK", "中国")]
    ['SE', 'SE', 'SE', 'SE', 'GB', 'CN']
    >>> normalise_country("United Kingdom").value, normalise_country("Éire").value
    ('GB', 'IE')
    >>> normalise_country("Atlantis")
    Normalised(value=None, reason='country_unknown')
    """
    if text is None:
        return Normalised(None, "country_empty")
    return _normalise(text)


def check_country(code: str | None) -> str | None:
    """Return an ISO 3166-1 alpha-2 argument in upper case, or raise ``ConfigError``.

    Examples
    --------
    >>> check_country("se"), check_country(None)
    ('SE', None)
    """
    if code is None:
        return None
    upper = code.strip().upper()
    if upper not in ALPHA2:
        raise ConfigError(
            f"Unknown country code {code!r}.",
            hint="Use an ISO 3166-1 alpha-2 code such as SE, GB, US, CN or IE.",
        )
    return upper
