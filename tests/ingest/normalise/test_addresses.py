"""Streets, cities, postcodes and countries: examples per country, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import (
    POSTCODE_COUNTRIES,
    is_rejection,
    normalise_city,
    normalise_country,
    normalise_postcode,
    normalise_street,
)
from insightloop.ingest.normalise.countries import ALPHA2

PROPERTY = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  STORGATAN   12 b ", "Storgatan 12 B"),
        ("drottninggatan 5, lgh 1102", "Drottninggatan 5, Lgh 1102"),
        ("Östra Hamngatan 3", "Östra Hamngatan 3"),
        ("221b baker st", "221B Baker St"),
        ("1ST AVENUE NW", "1st Avenue NW"),
        ("PO BOX 42", "PO Box 42"),
        ("MacDonald Road", "MacDonald Road"),
        ("北京市 朝阳区 建国路 88号", "北京市 朝阳区 建国路 88号"),
    ],
)
def test_street(raw: str, expected: str) -> None:
    assert normalise_street(raw).value == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("UPPLANDS VÄSBY", "Upplands Väsby"),
        ("göteborg", "Göteborg"),
        ("stratford-upon-avon", "Stratford-upon-Avon"),
        ("NEWCASTLE UPON TYNE", "Newcastle upon Tyne"),
        ("DÚN LAOGHAIRE", "Dún Laoghaire"),
        ("上海", "上海"),
    ],
)
def test_city(raw: str, expected: str) -> None:
    assert normalise_city(raw).value == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("12345", "SE", "123 45"),
        ("123 45", "SE", "123 45"),
        ("SE-123 45", "SE", "123 45"),
        ("s-12345", "SE", "123 45"),
        ("sw1a1aa", "GB", "SW1A 1AA"),
        ("SW1A 1AA", "GB", "SW1A 1AA"),
        ("m1 1ae", "GB", "M1 1AE"),
        ("EC1A1BB", "GB", "EC1A 1BB"),
        ("gir0aa", "GB", "GIR 0AA"),
        ("02134", "US", "02134"),
        ("02134-1234", "US", "02134-1234"),
        ("021341234", "US", "02134-1234"),
        ("a65f4e2", "IE", "A65 F4E2"),
        ("D6W 1234", "IE", "D6W 1234"),
        ("T12 X5P8", "IE", "T12 X5P8"),
        ("100000", "CN", "100000"),
        ("200 120", "CN", "200120"),
        ("10115", "DE", "10115"),
        ("  ab  12 ", None, "AB 12"),
    ],
)
def test_postcode(raw: str, country: str | None, expected: str) -> None:
    assert normalise_postcode(raw, country).value == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("1234", "SE"),
        ("01234", "SE"),
        ("123456", "SE"),
        ("SW1A", "GB"),
        ("QA1 1AA", "GB"),
        ("1234", "US"),
        ("B65 F4E2", "IE"),
        ("A65 F4E", "IE"),
        ("10000", "CN"),
    ],
)
def test_invalid_postcodes(raw: str, country: str) -> None:
    assert normalise_postcode(raw, country).reason == "postcode_invalid"


def test_postcode_country_must_be_a_code() -> None:
    assert normalise_postcode(None, "SE").reason == "postcode_empty"
    with pytest.raises(ConfigError):
        normalise_postcode("12345", "Sweden")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Sverige", "SE"),
        ("sweden", "SE"),
        ("SE", "SE"),
        ("swe", "SE"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("U.S.A.", "US"),
        ("United States of America", "US"),
        ("中国", "CN"),
        ("China", "CN"),
        ("People's Republic of China", "CN"),
        ("Ireland", "IE"),
        ("Éire", "IE"),
        ("eire", "IE"),
        ("The Netherlands", "NL"),
        ("Österreich", "AT"),
        ("Korea, Republic of", "KR"),
        ("Bosnia & Herzegovina", "BA"),
    ],
)
def test_country(raw: str, code: str) -> None:
    assert normalise_country(raw).value == code


def test_country_rejections() -> None:
    assert normalise_country(None).reason == "country_empty"
    assert normalise_country(" ").reason == "country_empty"
    assert normalise_country("Atlantis").reason == "country_unknown"
    assert len(ALPHA2) == 249


@PROPERTY
@given(st.text())
def test_street_city_country_never_raise_and_are_idempotent(text: str) -> None:
    for normalise in (normalise_street, normalise_city, normalise_country):
        first = normalise(text)
        assert (first.value is None) == is_rejection(first.reason)
        if first.value is not None:
            assert normalise(first.value) == first


@PROPERTY
@given(
    st.one_of(st.text(), st.text("0123456789 -ACDEFHKNPRTVWXYSGBI", max_size=10)),
    st.sampled_from((*POSTCODE_COUNTRIES, "DE", None)),
)
def test_postcode_never_raises_and_is_idempotent(text: str, country: str | None) -> None:
    first = normalise_postcode(text, country)
    assert (first.value is None) == is_rejection(first.reason)
    if first.value is not None:
        assert normalise_postcode(first.value, country) == first
