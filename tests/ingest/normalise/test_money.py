"""Money amounts: notations, currencies, reason codes, and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import (
    NormalisedAmount,
    format_amount,
    is_rejection,
    normalise_amount,
)

PROPERTY = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("raw", "decimal_comma", "default", "value", "currency"),
    [
        ("1 234,50", None, "SEK", "1234.5", "SEK"),
        ("1\u00a0234,50", None, "SEK", "1234.5", "SEK"),
        ("1\u202f234,50", None, "SEK", "1234.5", "SEK"),
        ("1.234,50", None, "EUR", "1234.5", "EUR"),
        ("1,234.50", None, "USD", "1234.5", "USD"),
        ("1234.5", None, None, "1234.5", None),
        ("-12,00", None, "SEK", "-12", "SEK"),
        ("\u221212.00", None, "GBP", "-12", "GBP"),
        ("12.00-", None, "SEK", "-12", "SEK"),
        ("(12.00)", None, "GBP", "-12", "GBP"),
        ("SEK 99", None, None, "99", "SEK"),
        ("99 SEK", None, "EUR", "99", "SEK"),
        ("99 kr", None, None, "99", "SEK"),
        ("99 kr", None, "NOK", "99", "NOK"),
        ("99:-", None, None, "99", "SEK"),
        ("€12", None, "SEK", "12", "EUR"),
        ("12 €", None, None, "12", "EUR"),
        ("-€12,50", None, None, "-12.5", "EUR"),
        ("£5.00", None, None, "5", "GBP"),
        ("$5", None, "CAD", "5", "CAD"),
        ("US$5", None, "CAD", "5", "USD"),
        ("¥100", None, None, "100", "CNY"),
        ("¥100", None, "JPY", "100", "JPY"),
        ("￥100", None, None, "100", "CNY"),
        ("100元", None, None, "100", "CNY"),
        ("RMB 1,000.00", None, None, "1000", "CNY"),
        ("1,234", True, None, "1.234", None),
        ("1,234", False, None, "1234", None),
        ("1.234", True, None, "1234", None),
        ("1.234.567", None, None, "1234567", None),
        ("1,234,567.891", None, None, "1234567.891", None),
        ("0,123", None, None, "0.123", None),
        ("1234,567", None, None, "1234.567", None),
        ("1'234.50", None, "CHF", "1234.5", "CHF"),
        ("12,3456789", None, None, "12.3457", None),
        (".5", None, None, "0.5", None),
        ("-0", None, None, "0", None),
    ],
)
def test_amounts(
    raw: str, decimal_comma: bool | None, default: str | None, value: str, currency: str | None
) -> None:
    result = normalise_amount(raw, decimal_comma=decimal_comma, currency=default)
    assert result == NormalisedAmount(Decimal(value).quantize(Decimal("0.0001")), currency)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "amount_empty"),
        (" ", "amount_empty"),
        ("ten", "amount_not_a_number"),
        ("1e5", "amount_not_a_number"),
        ("NaN", "amount_not_a_number"),
        ("1,2,3", "amount_not_a_number"),
        ("12 34", "amount_not_a_number"),
        ("1.234,567.8", "amount_not_a_number"),
        ("kr", "amount_not_a_number"),
        ("1,234", "amount_ambiguous"),
        ("1.234", "amount_ambiguous"),
        ("XYZ 12", "amount_unknown_currency"),
        ("1" * 25, "amount_out_of_range"),
    ],
)
def test_rejections(raw: str | None, reason: str) -> None:
    assert normalise_amount(raw) == NormalisedAmount(None, None, reason)


def test_typed_amounts_and_arguments() -> None:
    assert normalise_amount(Decimal("12.345678"), currency="sek") == NormalisedAmount(
        Decimal("12.3457"), "SEK"
    )
    assert normalise_amount(7).value == Decimal("7.0000")
    assert normalise_amount(Decimal("NaN")).reason == "amount_not_a_number"
    with pytest.raises(ConfigError, match="KRONOR"):
        normalise_amount("12", currency="KRONOR")


@PROPERTY
@given(st.text(), st.sampled_from((True, False, None)), st.sampled_from(("SEK", "USD", None)))
def test_never_raises_and_is_idempotent(
    text: str, decimal_comma: bool | None, default: str | None
) -> None:
    first = normalise_amount(text, decimal_comma=decimal_comma, currency=default)
    assert (first.value is None) == is_rejection(first.reason)
    if first.value is not None:
        again = normalise_amount(first.value, decimal_comma=decimal_comma, currency=first.currency)
        assert again == first


@PROPERTY
@given(
    st.decimals(min_value=-(10**15), max_value=10**15, places=4, allow_nan=False),
    st.booleans(),
    st.sampled_from(("", " kr", " SEK", "€", "£")),
)
def test_amounts_round_trip_in_the_sources_convention(
    value: Decimal, decimal_comma: bool, symbol: str
) -> None:
    text = format_amount(value, decimal_comma=decimal_comma)
    text = symbol + text if symbol in ("€", "£") else text + symbol
    assert normalise_amount(text, decimal_comma=decimal_comma).value == value
    two_places = format_amount(value, decimal_comma=decimal_comma, places=2)
    assert normalise_amount(two_places, decimal_comma=decimal_comma).value == round(value, 2)
