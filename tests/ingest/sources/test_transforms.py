"""Every transform over raw batches: origins, value maps, casts, parsing and normalisers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from insightloop.errors import ConfigError
from insightloop.ingest.sources import SourceDeclaration, apply_mapping


def _apply(
    entity: str, mapping: dict[str, Any], columns: dict[str, list[Any]], **options: Any
) -> dict[str, list[Any]]:
    source = SourceDeclaration.model_validate(
        {
            "name": "t",
            "kind": "file",
            "path": "t.csv",
            "entity": entity,
            "mapping": mapping,
            "options": options,
        }
    )
    rows = len(next(iter(columns.values())))
    batch = pa.table(
        {
            **{k: pa.array(v, pa.string()) for k, v in columns.items()},
            "_record": list(range(1, rows + 1)),
            "_line": list(range(2, rows + 2)),
        }
    )
    return apply_mapping(source, batch).to_pydict()


def test_column_renames_and_trims_with_nulls_and_unicode() -> None:
    out = _apply(
        "products",
        {"sku": "Artikel", "name": "Namn"},
        {"Artikel": [" A1 ", "", None], "Namn": ["Kärl 王", "x", None]},
    )
    assert out["sku"] == ["A1", None, None]
    assert out["name"] == ["Kärl 王", "x", None]
    assert out["_record"] == [1, 2, 3]
    assert out["_line"] == [2, 3, 4]


def test_constant_concat_and_split() -> None:
    out = _apply(
        "customers",
        {
            "country": {"constant": "SE"},
            "street": {"concat": ["gata", "nr"], "sep": " "},
            "city": {"split": "ort", "sep": "|", "part": 1},
            "language": {"split": "ort", "sep": "|", "part": -1},
        },
        {"gata": ["Storgatan", None, "Å"], "nr": ["1", "2", ""], "ort": ["1|Malmö|sv", "x", None]},
    )
    assert out["country"] == ["SE", "SE", "SE"]
    assert out["street"] == ["Storgatan 1", "2", "Å"]
    assert out["city"] == ["Malmö", None, None]
    assert out["language"] == ["sv", "x", None]


def test_value_map_pass_through_default_and_strict() -> None:
    columns = {"s": ["A", "P", "Z", None]}
    keep = _apply("orders", {"status": {"column": "s", "value_map": {"A": "active"}}}, columns)
    assert keep["status"] == ["active", "P", "Z", None]
    default = {"column": "s", "value_map": {"A": "active", "P": "paid"}, "default": "other"}
    assert _apply("orders", {"status": default}, columns)["status"] == [
        "active",
        "paid",
        "other",
        None,
    ]
    strict = {"column": "s", "value_map": {"A": "active"}, "strict_map": True}
    assert _apply("orders", {"status": strict}, columns)["status"] == ["active", None, None, None]


def test_cast_int_float_bool_with_reasons() -> None:
    out = _apply(
        "feedback",
        {"nps": "score", "comment": {"column": "score", "cast": "string"}},
        {"score": ["9", " 10 ", "nine", None, "99999999999999999999"]},
    )
    assert out["nps"] == [9, 10, None, None, None]
    assert out["nps__reason"] == [None, None, "cast_not_an_integer", None, "cast_not_an_integer"]
    assert "comment__reason" not in out
    share = _apply(
        "campaigns", {"control_share": "c"}, {"c": ["0,1", "0.25", "x"]}, decimal_comma=True
    )
    assert share["control_share"][:2] == [0.1, 25.0]
    assert share["control_share__reason"][2] == "cast_not_a_number"
    flags = _apply("products", {"active": "a"}, {"a": ["Ja", "nej", "TRUE", "0", "是", "kanske"]})
    assert flags["active"] == [True, False, True, False, True, None]
    assert flags["active__reason"][-1] == "cast_not_a_boolean"


def test_amounts_with_decimal_comma_and_currency() -> None:
    out = _apply(
        "orders",
        {"total_amount": "belopp", "discount_amount": {"column": "rabatt", "cast": "decimal"}},
        {"belopp": ["1 234,50", "12,99", "abc", None], "rabatt": ["0,00", "1,5", None, None]},
        decimal_comma=True,
        currency="SEK",
    )
    assert out["total_amount"][:2] == [Decimal("1234.5000"), Decimal("12.9900")]
    assert out["total_amount__reason"] == [None, None, "amount_not_a_number", None]
    assert out["discount_amount"][1] == Decimal("1.5000")
    assert out["currency"][:2] == ["SEK", "SEK"]


def test_parse_dates_and_timestamps_with_formats() -> None:
    out = _apply(
        "customers",
        {
            "birth_date": {"column": "dob", "normalise": "birth_date", "formats": ["%Y年%m月%d日"]},
            "created_at": {"column": "reg", "parse": "timestamp", "formats": ["%d.%m.%Y %H:%M"]},
        },
        {"dob": ["1993年02月22日", "not a date", None], "reg": ["25.11.2024 16:44", None, "x"]},
        time_zone="Europe/Stockholm",
    )
    assert out["birth_date"] == [date(1993, 2, 22), None, None]
    assert out["birth_date__reason"] == [None, "date_unparseable", None]
    assert out["created_at"][0] == datetime(2024, 11, 25, 15, 44)  # UTC
    assert out["created_at__reason"][2] is not None


def test_normalisers_keep_originals_in_raw_columns() -> None:
    out = _apply(
        "customers",
        {"email": "mail", "phone": "tel", "name_raw": "namn"},
        {
            "mail": [" Ada@Example.COM", "nope"],
            "tel": ["070-123 45 67", "0000000"],
            "namn": ["ada LOVELACE", "王超"],
        },
        region="SE",
    )
    assert out["email"] == ["ada@example.com", None]
    assert out["email_raw"] == ["Ada@Example.COM", "nope"]
    assert out["email__reason"][1] is not None
    assert out["phone"] == ["+46701234567", None]
    assert out["phone_raw"] == ["070-123 45 67", "0000000"]
    assert out["phone__reason"] == [None, "phone_junk"]
    assert out["first_name"] == ["Ada", "超"]
    assert out["last_name"] == ["Lovelace", "王"]


def test_phone_region_follows_each_rows_country() -> None:
    out = _apply(
        "customers",
        {"phone": "tel", "country": "land"},
        {
            "tel": ["070-123 45 67", "(212) 941-2795", "01632 960123"],
            "land": ["Sverige", "USA", None],
        },
        region="GB",
    )
    assert out["country"][:2] == ["SE", "US"]
    assert out["phone"][:2] == ["+46701234567", "+12129412795"]


def test_missing_raw_columns_are_listed() -> None:
    with pytest.raises(ConfigError, match="no column 'E-post', 'Tel'") as error:
        _apply("customers", {"email": "E-post", "phone": "Tel"}, {"mail": ["a@b.se"]})
    assert "mail" in (error.value.hint or "")
