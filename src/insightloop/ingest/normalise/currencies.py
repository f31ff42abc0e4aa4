"""Currencies: the ISO 4217 codes, and the symbols sources write instead of them.

A symbol shared by several currencies resolves to the source's default currency when that is one
of them, else to the currency our markets mean most often: ``kr`` is SEK unless the source is
Norwegian, Danish or Icelandic; ``$`` is USD unless the source uses another dollar (or the peso
sign); ``¥`` is CNY unless the source is Japanese.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from insightloop.errors import ConfigError

__all__ = ["ISO_4217", "SYMBOL_PATTERN", "check_currency", "resolve_symbol"]

ISO_4217 = frozenset(
    {
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BOV",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHE",
        "CHF",
        "CHW",
        "CLF",
        "CLP",
        "CNY",
        "COP",
        "COU",
        "CRC",
        "CUC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HRK",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MXV",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SLL",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "USN",
        "UYI",
        "UYU",
        "UYW",
        "UZS",
        "VED",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XAG",
        "XAU",
        "XBA",
        "XBB",
        "XBC",
        "XBD",
        "XCD",
        "XCG",
        "XDR",
        "XOF",
        "XPD",
        "XPF",
        "XPT",
        "XSU",
        "XTS",
        "XUA",
        "XXX",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
        "ZWL",
    }
)
"""Active ISO 4217 codes, and a few withdrawn since 2023 that older exports still carry (HRK)."""

_SHARED: Mapping[str, tuple[str, frozenset[str]]] = MappingProxyType(
    {
        "kr": ("SEK", frozenset({"SEK", "NOK", "DKK", "ISK"})),
        "$": ("USD", frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "TWD", "MXN", "CLP"})),
        "¥": ("CNY", frozenset({"CNY", "JPY"})),
    }
)
_FIXED: Mapping[str, str] = MappingProxyType(
    {
        "€": "EUR",
        "£": "GBP",
        "us$": "USD",
        "hk$": "HKD",
        "nz$": "NZD",
        "a$": "AUD",
        "c$": "CAD",
        "s$": "SGD",
        "r$": "BRL",
        "cn¥": "CNY",
        "rmb": "CNY",
        "元": "CNY",
        "圆": "CNY",
        "₹": "INR",
        "₩": "KRW",
        "₽": "RUB",
        "₺": "TRY",
        "₪": "ILS",
        "฿": "THB",
        "₫": "VND",
        "₱": "PHP",
        "zł": "PLN",
        "kč": "CZK",
        "ft": "HUF",
        "fr.": "CHF",
    }
)
_SYMBOLS = sorted([*_FIXED, *_SHARED, "kr."], key=len, reverse=True)
SYMBOL_PATTERN = re.compile(
    "(?:" + "|".join(re.escape(symbol) for symbol in _SYMBOLS) + "|[a-z]{3})", re.IGNORECASE
)
"""A currency symbol, or any three ASCII letters (checked against :data:`ISO_4217` later)."""


@lru_cache(maxsize=512)
def check_currency(code: str | None) -> str | None:
    """Return an ISO 4217 ``code`` argument in upper case, or raise ``ConfigError``.

    Examples
    --------
    >>> check_currency("sek"), check_currency(None)
    ('SEK', None)
    """
    if code is None:
        return None
    upper = code.strip().upper()
    if upper not in ISO_4217:
        raise ConfigError(
            f"Unknown currency {code!r}.",
            hint="Use an ISO 4217 code such as SEK, GBP, USD, CNY or EUR.",
        )
    return upper


def resolve_symbol(symbol: str, default: str | None) -> str | None:
    """The ISO 4217 code a symbol or code stands for; ``None`` if it is not a currency.

    Examples
    --------
    >>> resolve_symbol("kr", None), resolve_symbol("kr", "NOK"), resolve_symbol("€", "SEK")
    ('SEK', 'NOK', 'EUR')
    >>> resolve_symbol("¥", "JPY"), resolve_symbol("usd", None), resolve_symbol("abc", None)
    ('JPY', 'USD', None)
    """
    lower = symbol.lower().rstrip(".") if symbol.lower() == "kr." else symbol.lower()
    if lower in _FIXED:
        return _FIXED[lower]
    if lower in _SHARED:
        usual, family = _SHARED[lower]
        return default if default in family else usual
    upper = symbol.upper()
    return upper if upper in ISO_4217 else None
