"""Money amounts with their currency: ``1 234,50 kr``, ``-€12``, ``(12.00)``, ``USD 1,234.50``.

The amount is a ``Decimal`` quantised to 4 places (half to even); the currency an ISO 4217 code
from the value's symbol or code, else the source's default (see
:mod:`~insightloop.ingest.normalise.currencies` for shared symbols such as ``kr``, ``$``, ``¥``).

Reading the number: a minus sign before or after the number, or brackets, make it negative;
spaces and apostrophes group thousands; with both ``.`` and ``,`` the last one is the decimal
separator; one kind repeated groups thousands (``1.234.567``); one alone is the decimal
separator unless exactly three digits follow a group of one to three (``1,234``, ``1.234``), which
the source's ``decimal_comma`` decides (``None``: ``amount_ambiguous``). Groups must have three
digits. ``99:-`` (Swedish kronor) and ``99,-`` are whole amounts. No exponents, no ``NaN``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import lru_cache

from insightloop.ingest.normalise.currencies import SYMBOL_PATTERN, check_currency, resolve_symbol

__all__ = ["NormalisedAmount", "format_amount", "normalise_amount"]

_PLACES = Decimal("0.0001")
_CONTEXT = Context(prec=60)
_MAX_WHOLE_DIGITS = 24
_NUMBER_CHARS = re.compile(r"[0-9 .,']+")
_PREFIX = re.compile(SYMBOL_PATTERN.pattern + r"(?![^\W\d_])", re.IGNORECASE)
_SUFFIX = re.compile(r"(?<![^\W\d_])" + SYMBOL_PATTERN.pattern + "$", re.IGNORECASE)
_TEXT_FIXES = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2019": "'"})


@dataclass(frozen=True, slots=True)
class NormalisedAmount:
    """An amount and its ISO 4217 currency, or the reason there is none."""

    value: Decimal | None
    currency: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Whether there is a normalised amount."""
        return self.value is not None


def _peel(text: str) -> tuple[str, bool, str | None]:
    """Take signs, brackets and one currency off both ends of ``text``."""
    negative, signed, symbol = False, False, None
    while True:
        text = text.strip()
        if len(text) > 1 and text[0] == "(" and text[-1] == ")" and not signed:
            negative, signed, text = True, True, text[1:-1]
        elif text[:1] in ("-", "+") and not signed:
            negative, signed, text = text[0] == "-", True, text[1:]
        elif text[-2:] in (":-", ",-", ".-"):
            symbol = symbol or ("kr" if text[-2] == ":" else None)
            text = text[:-2]
        elif text[-1:] == "-" and not signed:
            negative, signed, text = True, True, text[:-1]
        elif symbol is None and (found := _PREFIX.match(text) or _SUFFIX.search(text)):
            symbol = found[0]
            text = text[: found.start()] + text[found.end() :]
        else:
            return text, negative, symbol


def _number(text: str, decimal_comma: bool | None) -> str:
    """``text`` as plain ``digits.digits``, or a reason code (which starts with ``amount_``)."""
    text = " ".join(text.split())
    if not _NUMBER_CHARS.fullmatch(text) or not any(ch.isdigit() for ch in text):
        return "amount_not_a_number"
    marks = [ch for ch in text if ch in ".,"]
    decimal: str | None = None
    if len(set(marks)) == 2:
        decimal = marks[-1]
    elif len(marks) == 1:
        whole, fraction = text.split(marks[0])
        digits = whole.replace(" ", "").replace("'", "")
        grouped = " " in text or "'" in text
        if grouped or len(fraction) != 3 or not digits or digits[0] == "0" or len(digits) > 3:
            decimal = marks[0]
        elif decimal_comma is None:
            return "amount_ambiguous"
        elif (marks[0] == ",") == decimal_comma:
            decimal = marks[0]
    whole, fraction = text.rsplit(decimal, 1) if decimal else (text, "")
    if fraction and not fraction.isdigit():
        return "amount_not_a_number"
    separators = {ch for ch in whole if not ch.isdigit()}
    if len(separators) > 1:
        return "amount_not_a_number"
    if separators:
        groups = whole.split(separators.pop())
        if not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
            return "amount_not_a_number"
        if not all(group.isdigit() for group in groups):
            return "amount_not_a_number"
        whole = "".join(groups)
    if not whole and not fraction:
        return "amount_not_a_number"
    if len(whole.lstrip("0")) > _MAX_WHOLE_DIGITS:
        return "amount_out_of_range"
    return f"{whole or '0'}.{fraction or '0'}"


def _quantise(value: Decimal) -> Decimal:
    quantised = value.quantize(_PLACES, rounding=ROUND_HALF_EVEN, context=_CONTEXT)
    return quantised.copy_abs() if quantised.is_zero() else quantised


@lru_cache(maxsize=65_536)
def _normalise(text: str, decimal_comma: bool | None, default: str | None) -> NormalisedAmount:
    cleaned = unicodedata.normalize("NFKC", text).translate(_TEXT_FIXES).strip()
    if not cleaned:
        return NormalisedAmount(None, None, "amount_empty")
    number_text, negative, symbol = _peel(cleaned)
    number = _number(number_text, decimal_comma)
    if number.startswith("amount_"):
        return NormalisedAmount(None, None, number)
    currency = resolve_symbol(symbol, default) if symbol else default
    if symbol and currency is None:
        return NormalisedAmount(None, None, "amount_unknown_currency")
    value = _quantise(Decimal(number))
    return NormalisedAmount(-value if negative and not value.is_zero() else value, currency)


def normalise_amount(
    value: str | Decimal | int | None,
    *,
    decimal_comma: bool | None = None,
    currency: str | None = None,
) -> NormalisedAmount:
    """Read a money amount and its currency.

    Parameters
    ----------
    value
        Text as received, or a number from a typed source (taken in the default currency).
    decimal_comma
        ``True`` if the source writes ``1.234,50``, ``False`` for ``1,234.50``; decides only
        ``1,234``-like values, which ``None`` rejects as ``amount_ambiguous``.
    currency
        The source's default ISO 4217 currency, used when the value names none.

    Returns
    -------
    NormalisedAmount
        The amount (4 decimal places) and currency, or ``None`` with ``amount_empty``,
        ``amount_not_a_number``, ``amount_ambiguous``, ``amount_unknown_currency`` or
        ``amount_out_of_range``.

    Raises
    ------
    ConfigError
        If ``currency`` is not an ISO 4217 code.

    Examples
    --------
    >>> normalise_amount("1 234,50 kr")
    NormalisedAmount(value=Decimal('1234.5000'), currency='SEK', reason=None)
    >>> normalise_amount("(12.00)", currency="GBP").value, normalise_amount("€12").currency
    (Decimal('-12.0000'), 'EUR')
    >>> normalise_amount("1,234").reason, normalise_amount("1,234", decimal_comma=True).value
    ('amount_ambiguous', Decimal('1.2340'))
    >>> normalise_amount("¥100", currency="JPY").currency, normalise_amount("ten").reason
    ('JPY', 'amount_not_a_number')
    """
    default = check_currency(currency)
    if value is None:
        return NormalisedAmount(None, None, "amount_empty")
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        number = Decimal(value)
        if not number.is_finite():
            return NormalisedAmount(None, None, "amount_not_a_number")
        if number.adjusted() >= _MAX_WHOLE_DIGITS:
            return NormalisedAmount(None, None, "amount_out_of_range")
        return NormalisedAmount(_quantise(number), default)
    return _normalise(str(value), decimal_comma, default)


def format_amount(value: Decimal, *, decimal_comma: bool, places: int = 4) -> str:
    """Write ``value`` in a source's convention: ``1 234,5000`` or ``1,234.5000``.

    Examples
    --------
    >>> format_amount(Decimal("-1234567.5"), decimal_comma=True)
    '-1 234 567,5000'
    >>> format_amount(Decimal("1234.5"), decimal_comma=False, places=2)
    '1,234.50'
    """
    text = f"{value:,.{places}f}"
    return text.replace(",", " ").replace(".", ",") if decimal_comma else text
