"""Column functions: the same results as the scalar functions, row by row, for any input."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.ingest.normalise import (
    normalise_amount,
    normalise_amounts,
    normalise_birth_date,
    normalise_birth_dates,
    normalise_cities,
    normalise_city,
    normalise_countries,
    normalise_country,
    normalise_date,
    normalise_dates,
    normalise_email,
    normalise_emails,
    normalise_name,
    normalise_names,
    normalise_phone,
    normalise_phones,
    normalise_postcode,
    normalise_postcodes,
    normalise_street,
    normalise_streets,
    normalise_timestamp,
    normalise_timestamps,
    split_name,
    split_names,
)

PROPERTY = settings(max_examples=60, deadline=None)

# Columns repeat values, and mix real-looking values with arbitrary text and nulls.
SAMPLES = (
    "070-123 45 67",
    "+46701234567",
    "ANNA@X.SE",
    "anna svensson",
    "1 234,50 kr",
    "2023-04-05 10:20",
    "05/04/2023",
    "12345",
    "Sverige",
    "",
)
cells = st.one_of(st.none(), st.sampled_from(SAMPLES), st.text(max_size=12))
columns = st.lists(cells, max_size=25)


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    return list(zip(*(table.column(name).to_pylist() for name in table.column_names), strict=True))


@PROPERTY
@given(columns)
def test_text_batches_equal_scalars(values: list[str | None]) -> None:
    cases = [
        (normalise_emails(values), normalise_email),
        (normalise_names(values), normalise_name),
        (normalise_streets(values), normalise_street),
        (normalise_cities(values), normalise_city),
        (normalise_countries(values), normalise_country),
        (normalise_postcodes(values, country="SE"), lambda v: normalise_postcode(v, "SE")),
        (normalise_dates(values, day_first=True), lambda v: normalise_date(v, day_first=True)),
    ]
    for table, scalar in cases:
        assert rows(table) == [(r.value, r.reason) for r in map(scalar, values)]


@PROPERTY
@given(columns, st.sampled_from(("SE", "GB", "US", "CN", None)))
def test_phone_batches_equal_scalars(values: list[str | None], region: str | None) -> None:
    expected = [
        (r.value, r.reason, r.kind, r.extension)
        for r in (normalise_phone(v, region) for v in values)
    ]
    assert rows(normalise_phones(values, region=region)) == expected


@PROPERTY
@given(columns)
def test_other_batches_equal_scalars(values: list[str | None]) -> None:
    splits = [(p.given, p.family, p.reason) for p in map(split_name, values)]
    assert rows(split_names(values)) == splits
    amounts = [normalise_amount(v, decimal_comma=True, currency="SEK") for v in values]
    assert rows(normalise_amounts(values, decimal_comma=True, currency="SEK")) == [
        (a.value, a.currency, a.reason) for a in amounts
    ]
    stamps = [normalise_timestamp(v, time_zone="Europe/Stockholm") for v in values]
    assert rows(normalise_timestamps(values, time_zone="Europe/Stockholm")) == [
        (s.value, s.reason) for s in stamps
    ]
    today = date(2025, 1, 1)
    births = [normalise_birth_date(v, today=today) for v in values]
    assert rows(normalise_birth_dates(values, today=today)) == [(b.value, b.reason) for b in births]


@PROPERTY
@given(
    st.lists(
        st.tuples(cells, st.one_of(st.none(), st.sampled_from(("SE", "UK", "Sverige", "x")))),
        max_size=20,
    )
)
def test_postcodes_with_a_country_column(pairs: list[tuple[str | None, str | None]]) -> None:
    postcodes = [p for p, _ in pairs]
    places = [c for _, c in pairs]
    expected = [
        (r.value, r.reason)
        for r in (
            normalise_postcode(p, normalise_country(c).value)
            for p, c in zip(postcodes, places, strict=True)
        )
    ]
    assert rows(normalise_postcodes(postcodes, country=places)) == expected


def test_arrow_inputs() -> None:
    chunked = pa.chunked_array([["A@X.SE", None], ["a@x.se"]])
    assert normalise_emails(chunked).column("value").to_pylist() == ["a@x.se", None, "a@x.se"]
    dictionary = pa.array(["a@x.se", "a@x.se"]).dictionary_encode()
    assert normalise_emails(dictionary).num_rows == 2
    large = pa.array(["0701234567"], pa.large_string())
    assert normalise_phones(large, region="SE").column("value").to_pylist() == ["+46701234567"]
    numbers = pa.array([701234567, None], pa.int64())  # phone numbers stored as integers
    assert normalise_phones(numbers, region="SE").column("value").to_pylist() == [
        "+46701234567",
        None,
    ]
    assert normalise_emails([]).num_rows == 0
    assert normalise_emails(pa.nulls(2)).column("reason").to_pylist() == ["email_empty"] * 2


def test_typed_arrow_columns() -> None:
    stamps = pa.array([datetime(2023, 4, 5, 10)], pa.timestamp("us", tz="Europe/Stockholm"))
    table = normalise_timestamps(stamps)
    assert table.column("value").type == pa.timestamp("us")
    assert table.column("value").to_pylist() == [datetime(2023, 4, 5, 10)]
    amounts = normalise_amounts(pa.array([Decimal("1.5"), None], pa.decimal128(10, 2)))
    assert amounts.column("value").to_pylist() == [Decimal("1.5000"), None]
    assert amounts.column("value").type == pa.decimal128(38, 4)
    floats = normalise_amounts([1234.5, 0.1])
    assert floats.column("value").to_pylist() == [Decimal("1234.5000"), Decimal("0.1000")]
    dates = normalise_dates(pa.array([date(2023, 4, 5)], pa.date32()))
    assert dates.column("value").to_pylist() == [date(2023, 4, 5)]


def test_arguments_are_checked_before_the_column_is_read() -> None:
    from insightloop.errors import ConfigError

    for call in (
        lambda: normalise_phones([], region="XX"),
        lambda: normalise_amounts([], currency="XX"),
        lambda: normalise_timestamps([], time_zone="Nowhere/Land"),
        lambda: normalise_postcodes([], country="Sweden"),
        lambda: normalise_names([], part="middle"),  # type: ignore[arg-type]
    ):
        with pytest.raises(ConfigError):
            call()
