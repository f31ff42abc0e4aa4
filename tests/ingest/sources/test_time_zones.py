"""Time zones per column and per row, date formats on date columns, phones typed abroad."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pytest

from insightloop.errors import ConfigError
from insightloop.ingest.sources import SourceDeclaration, apply_mapping, parse_sources


def _apply(
    entity: str, mapping: dict[str, Any], columns: dict[str, list[Any]], **options: Any
) -> dict[str, list[Any]]:
    source = SourceDeclaration.model_validate(
        {"name": "t", "kind": "file", "path": "t.csv", "entity": entity}
        | {"mapping": mapping, "options": options}
    )
    return apply_mapping(source, pa.table(columns)).to_pydict()


STORES = {"S1": "Etc/GMT-1", "S2": "UTC", "S3": "Etc/GMT+5", "S4": "Asia/Shanghai"}


def test_each_row_is_read_in_its_stores_time_zone() -> None:
    out = _apply(
        "orders",
        {
            "order_id": "id",
            "ordered_at": {"column": "ts", "time_zone": {"column": "store", "value_map": STORES}},
        },
        {
            "id": ["a", "b", "c", "d", "e", "f"],
            "ts": ["2024-06-01 12:00:00"] * 5 + [None],
            "store": ["S1", "S2", "S3", "S4", None, "S1"],
        },
        time_zone="Europe/Stockholm",
    )
    assert out["ordered_at"] == [
        datetime(2024, 6, 1, 11),
        datetime(2024, 6, 1, 12),
        datetime(2024, 6, 1, 17),
        datetime(2024, 6, 1, 4),
        datetime(2024, 6, 1, 10),  # no store: the source's zone (summer time, UTC+2)
        None,
    ]
    assert out["ordered_at__reason"] == [None] * 6


def test_a_zone_that_does_not_exist_nulls_its_rows_with_a_reason() -> None:
    out = _apply(
        "orders",
        {"ordered_at": {"column": "ts", "time_zone": {"column": "zone"}}},
        {
            "ts": ["2024-01-01 08:00", "2024-01-01 08:00", None, "2024-02-30 08:00"],
            "zone": ["Mars/Olympus", "Asia/Tokyo", "Mars/Olympus", "UTC"],
        },
    )
    assert out["ordered_at"] == [None, datetime(2023, 12, 31, 23), None, None]
    assert out["ordered_at__reason"] == ["time_zone_unknown", None, None, "date_impossible"]


def test_a_fixed_zone_on_one_column_overrides_the_source() -> None:
    out = _apply(
        "orders",
        {
            "ordered_at": {"column": "a", "time_zone": "Asia/Tokyo"},
            "delivered_at": "a",
        },
        {"a": ["2024-01-01 09:00"]},
        time_zone="UTC",
    )
    assert (out["ordered_at"], out["delivered_at"]) == (
        [datetime(2024, 1, 1, 0)],
        [datetime(2024, 1, 1, 9)],
    )


def test_formats_apply_to_date_columns_without_saying_parse() -> None:
    out = _apply(
        "customers",
        {
            "birth_date": {"column": "dob", "formats": ["%Y年%m月%d日"]},
            "created_at": {"column": "reg", "formats": ["%d.%m.%Y"]},
        },
        {"dob": ["1990年05月03日"], "reg": ["31.05.2024"]},
    )
    assert out["birth_date"] == [date(1990, 5, 3)]
    assert out["created_at"] == [datetime(2024, 5, 31)]


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (
            {"email": {"column": "e", "time_zone": "UTC"}},
            "mapping.email.time_zone: only timestamps take a time zone",
        ),
        (
            {"birth_date": {"column": "d", "time_zone": "UTC"}},
            "mapping.birth_date.time_zone: only timestamps take a time zone",
        ),
        (
            {"email": {"column": "e", "formats": ["%Y"]}},
            "mapping.email.formats: 'email' is string, not read as a date",
        ),
        (
            {"created_at": {"column": "c", "time_zone": "Mars/Olympus"}},
            "Unknown time zone 'Mars/Olympus'",
        ),
        (
            {"created_at": {"column": "c", "time_zone": {"column": "z", "value_map": {"a": "X"}}}},
            "Unknown time zone 'X'",
        ),
        (
            {"created_at": {"column": "c", "time_zone": {"column": "z", "cast": "int"}}},
            "a per-row time_zone takes column, constant, concat or split and value_map",
        ),
        (
            {"created_at": {"column": "c", "cast": "string", "time_zone": "UTC"}},
            "time_zone only applies with parse = 'timestamp'",
        ),
    ],
)
def test_zone_and_format_problems_are_reported(mapping: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_sources(
            {"s": {"kind": "file", "path": "a.csv", "entity": "customers", "mapping": mapping}}
        )
    assert expected in str(error.value)


def test_the_zone_columns_must_exist() -> None:
    source = SourceDeclaration.model_validate(
        {"name": "t", "kind": "file", "path": "t.csv", "entity": "orders"}
        | {"mapping": {"ordered_at": {"column": "ts", "time_zone": {"column": "store"}}}}
    )
    with pytest.raises(ConfigError, match="no column 'store'"):
        apply_mapping(source, pa.table({"ts": ["2024-01-01 08:00"]}))


def test_a_phone_its_country_cannot_read_is_tried_with_the_offices_region() -> None:
    # A London agent types a US customer's number with the UK's international prefix 00.
    out = _apply(
        "customers",
        {"phone": "tel", "country": "land"},
        {
            "tel": ["001 212 555 0123", "(212) 555-0123", "020 7946 0018", "0000000"],
            "land": ["US", "US", "US", "GB"],
        },
        region="GB",
    )
    assert out["phone"] == ["+12125550123", "+12125550123", "+442079460018", None]
    assert out["phone__reason"] == [None, None, None, "phone_junk"]
    without_office = _apply(
        "customers",
        {"phone": "tel", "country": "land"},
        {"tel": ["001 212 555 0123"], "land": ["US"]},
    )
    assert without_office["phone"] == [None]
    assert without_office["phone__reason"] == ["phone_too_long"]
