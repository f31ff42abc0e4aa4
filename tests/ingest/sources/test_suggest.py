"""Mapping suggestions on the demo company's real source files, and their TOML round trip."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from insightloop.ingest.readers import open_file
from insightloop.ingest.sources import (
    SuggestedSource,
    apply_mapping,
    parse_sources,
    suggest_mapping,
)
from insightloop.ingest.sources.profile import profile_values
from insightloop.ingest.sources.vocabulary import header_key

EXPECTED = {
    "crm/customers_hq.csv": (
        "customers",
        {
            "source_key": "CustomerID",
            "email": "Email",
            "phone": "Phone",
            "first_name": "FirstName",
            "last_name": "LastName",
            "birth_date": "DateOfBirth",
            "created_at": "CreatedDate",
            "postcode": "Postcode",
            "country": "Country",
        },
    ),
    "crm/customers_nordics.csv": (
        "customers",
        {
            "source_key": "Kundnummer",
            "email": "E-post",
            "phone": "Telefon",
            "first_name": "Förnamn",
            "last_name": "Efternamn",
            "birth_date": "Födelsedatum",
            "street": "Gatuadress",
            "postcode": "Postnummer",
            "city": "Ort",
            "country": "Land",
        },
    ),
    "crm/customers_china.csv": (
        "customers",
        {
            "source_key": "cust_no",
            "email": "email",
            "phone": "mobile",
            "name_raw": "name",
            "birth_date": "birthday",
            "created_at": "reg_time",
            "street": "address",
        },
    ),
    "loyalty/members.csv": (
        "customers",
        {
            "loyalty_number": "loyalty_no",
            "source_key": "loyalty_no",
            "email": "email",
            "phone": "mobile",
            "name_raw": "member_name",
            "birth_date": "birth_date",
            "postcode": "zip",
            "created_at": "card_issued",
        },
    ),
    "pos/transactions.csv": (
        "order_items",
        {
            "order_id": "receipt_id",
            "line_number": "line_no",
            "sku": "sku",
            "quantity": "qty",
            "unit_price": "unit_price",
            "line_amount": "line_amount",
        },
    ),
}


@pytest.fixture(scope="module")
def suggestions(demo_sources: Path) -> dict[str, SuggestedSource]:
    return {name: suggest_mapping(demo_sources / name) for name in EXPECTED}


@pytest.mark.parametrize("name", EXPECTED)
def test_suggestion_picks_entity_and_columns(
    name: str, suggestions: dict[str, SuggestedSource]
) -> None:
    entity, columns = EXPECTED[name]
    suggestion = suggestions[name]
    assert suggestion.entity == entity
    assert next(iter(suggestion.entity_scores)) == entity
    for canonical, raw in columns.items():
        assert suggestion.raw_for(canonical) == raw, canonical
    for column in suggestion.columns:
        if column.canonical in columns:
            assert column.confidence >= 0.8


def test_read_and_normaliser_options_are_detected(suggestions: dict[str, SuggestedSource]) -> None:
    nordics = suggestions["crm/customers_nordics.csv"]
    assert (nordics.read.encoding, nordics.read.delimiter) == ("cp1252", ";")
    assert nordics.options.region == "SE"
    china = suggestions["crm/customers_china.csv"]
    assert china.read.encoding == "gb18030"
    assert china.options.region == "CN"
    assert china.mapping()["birth_date"].formats == ["%Y年%m月%d日"]
    assert suggestions["pos/transactions.csv"].options.decimal_comma is True
    hq = suggestions["crm/customers_hq.csv"]
    assert hq.mapping()["birth_date"].formats == ["%d/%m/%Y"]


@pytest.mark.parametrize("name", EXPECTED)
def test_toml_round_trips_and_maps_the_file(
    name: str, suggestions: dict[str, SuggestedSource]
) -> None:
    suggestion = suggestions[name]
    text = suggestion.to_toml()
    source = parse_sources(tomllib.loads(text)["sources"])[suggestion.name]
    assert source == suggestion.declaration()
    assert source.path is not None
    with open_file(source.path, source.read_options()) as reader:
        batch = next(iter(reader.batches(300)))
    out = apply_mapping(source, batch)
    raw = batch.to_pydict()
    for canonical, column in EXPECTED[name][1].items():
        present = [i for i, value in enumerate(raw[column]) if value and value.strip()]
        values = out.column(canonical).to_pylist()
        lost = [i for i in present if values[i] is None]
        if (name, canonical) == ("loyalty/members.csv", "phone"):
            # No country column and phones of several countries: the user sets a region.
            assert out.column("phone_raw").null_count == len(values) - len(present)
            continue
        assert len(present) > 0.5 * len(values), canonical
        assert len(lost) < 0.1 * len(present), canonical


def test_given_entity_is_respected(demo_sources: Path) -> None:
    suggestion = suggest_mapping(demo_sources / "pos/transactions.csv", entity="orders")
    assert suggestion.entity == "orders"
    assert suggestion.raw_for("order_id") == "receipt_id"
    assert suggestion.raw_for("ordered_at") == "timestamp"
    assert suggestion.raw_for("source_customer_key") == "card_number"


def test_header_variants_share_one_key() -> None:
    assert header_key("First Name") == header_key("first_name") == header_key("FirstName")
    assert header_key("E-POST") == "epost"


def test_value_profiles() -> None:
    assert profile_values(["+46 70 123 45 67", "070-1234567"]).kind == "phone"
    assert profile_values(["C76145576", "C88691597"]).kind == "id"
    assert profile_values(["Sverige", "Norge", "Danmark"]).kind == "country"
    assert profile_values(["01/02/2024", "03/04/2024"]).date_format is None  # ambiguous
    assert profile_values(["Tack för en bra upplevelse i butiken", "Snabb leverans"]).kind == "text"
    assert profile_values([None, " "]).kind == "empty"
