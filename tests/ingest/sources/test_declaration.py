"""Source declarations: valid ones load, every kind of problem is reported, all at once."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from insightloop.errors import ConfigError
from insightloop.ingest.readers import ReadOptions
from insightloop.ingest.sources import SourceDeclaration, canonical_columns, parse_sources

TOML = """
[sources.crm]
kind = "file"
path = "exports/crm/*.csv"
entity = "customers"

[sources.crm.read]
encoding = "cp1252"
delimiter = ";"

[sources.crm.options]
region = "se"
day_first = true
decimal_comma = true
currency = "SEK"
date_formats = ["%d.%m.%Y"]

[sources.crm.mapping]
source_key = "Kundnummer"
email = { column = "E-post" }
name_raw = { concat = ["Förnamn", "Efternamn"], sep = " " }
country = { constant = "SE" }

[sources.drop]
kind = "folder"
path = "landing/orders"
pattern = "*.jsonl"
entity = "orders"

[sources.erp]
kind = "database"
url = "postgresql://reader@erp/db"
table = "orders"
watermark = "updated_at"
entity = "orders"
"""


def test_valid_declarations_load_with_reader_and_normaliser_options() -> None:
    sources = parse_sources(tomllib.loads(TOML)["sources"])
    assert set(sources) == {"crm", "drop", "erp"}
    crm = sources["crm"]
    assert crm.read_options() == ReadOptions(encoding="cp1252", delimiter=";")
    options = crm.source_options()
    assert (options.region, options.day_first, options.decimal_comma) == ("SE", True, True)
    assert options.date_formats == ("%d.%m.%Y",)
    assert crm.mapping["email"].column == "E-post"
    assert crm.mapping["name_raw"].concat == ["Förnamn", "Efternamn"]
    assert sources["erp"].incremental
    assert sources["erp"].watermark == "updated_at"


def _problems(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as error:
        parse_sources(table)
    return str(error.value)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"kind": "file", "path": "a.csv", "entity": "customers", "mapping": {"emial": "x"}},
            "mapping.emial: not a column of entity 'customers'; use one of source_key",
        ),
        ({"kind": "file", "path": "a.csv", "entity": "clients"}, "sources.s.entity"),
        ({"kind": "bucket", "path": "a.csv", "entity": "orders"}, "sources.s.kind"),
        (
            {"kind": "file", "path": "https://x.example/*.csv", "entity": "orders"},
            "is a URL, not a path or glob",
        ),
        ({"kind": "folder", "path": "in/*.csv", "entity": "orders"}, "is a glob; a folder"),
        ({"kind": "file", "entity": "orders"}, "path: a file source needs path"),
        (
            {
                "kind": "database",
                "url": "erp.local/db",
                "table": "t",
                "entity": "orders",
                "watermark": "w",
            },
            "url: 'erp.local/db' has no scheme",
        ),
        (
            {"kind": "database", "url": "duckdb:///x.db", "table": "t", "entity": "orders"},
            "watermark: an incremental database source needs watermark",
        ),
        (
            {
                "kind": "database",
                "url": "duckdb:///x.db",
                "table": "t",
                "query": "select 1",
                "entity": "orders",
                "incremental": False,
            },
            "give exactly one of table",
        ),
        ({"kind": "file", "path": "a.csv", "entity": "orders", "colour": 1}, "sources.s.colour"),
        (
            {"kind": "file", "path": "a.csv", "entity": "orders", "options": {"region": "XX"}},
            "sources.s.options: region",
        ),
        (
            {"kind": "file", "path": "a.csv", "entity": "orders", "read": {"delimiter": ";;"}},
            "sources.s.read.delimiter",
        ),
        (
            {
                "kind": "file",
                "path": "a.csv",
                "entity": "orders",
                "mapping": {"order_id": {"column": "a", "constant": "b"}},
            },
            "give exactly one of column, constant, concat or split",
        ),
        (
            {
                "kind": "file",
                "path": "a.csv",
                "entity": "orders",
                "mapping": {"order_id": {"split": "a"}},
            },
            "split needs a non-empty sep",
        ),
    ],
)
def test_each_problem_names_source_key_and_fix(settings: dict[str, Any], expected: str) -> None:
    assert expected in _problems({"s": settings})


def test_all_problems_are_reported_at_once() -> None:
    message = _problems(
        {
            "a": {"kind": "file", "path": "x.csv", "entity": "orders", "mapping": {"nope": "x"}},
            "b": {"kind": "database", "url": "nourl", "entity": "orders"},
            "c": "not a table",
        }
    )
    assert message.startswith("5 problems in [sources]")
    for part in (
        "sources.a.mapping.nope",
        "sources.b.url",
        "sources.b.table/query",
        "sources.b.watermark",
        "sources.c: must be a table",
    ):
        assert part in message
    assert "Hint:" in message


def test_canonical_columns_exclude_lineage_and_follow_schema() -> None:
    assert canonical_columns("consents")[0] == "source_customer_key"
    assert "_source" not in canonical_columns("orders")


def test_declaration_is_frozen_and_forbids_extras() -> None:
    src = SourceDeclaration(name="x", kind="file", path="x.csv", entity="orders")
    with pytest.raises(ValueError, match="frozen"):
        src.path = "y.csv"
