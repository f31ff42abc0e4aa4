"""Full reads on every backend: values as text, keys, batches, queries, early close."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from insightloop.ingest.readers import ReadError
from tests.ingest.databases.conftest import PASSWORD, Database

ROW = {
    "id": 1, "name": "Åsa 王", "amount": Decimal("12.50"), "flag": True,
    "born": dt.date(1980, 5, 1), "stamp": dt.datetime(2024, 5, 1, 12, 30, 0, 250000),
    "seen": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "data": b"\x00\xff", "score": 1.5, "big": 2**40,
}  # fmt: skip
EXPECTED = {
    "id": "1", "name": "Åsa 王", "amount": "12.50", "flag": "true", "born": "1980-05-01",
    "stamp": "2024-05-01T12:30:00.250000", "seen": "2024-05-01T10:00:00Z", "data": "00ff",
    "score": "1.5", "big": "1099511627776",
}  # fmt: skip
# Known differences: MySQL's BOOLEAN is TINYINT(1); SQLite stores NUMERIC 12.50 as REAL 12.5.
DIFFERENCES = {"mariadb": {"flag": "1"}, "sqlite": {"flag": "1", "amount": "12.5"}}
ALL_TYPES = (
    "id {int} PRIMARY KEY, name {text}, amount {decimal}, flag {bool}, born {date}, stamp {ts}, "
    "seen {tstz}, data {bytes}, score {float}, big {bigint}"
)
HASH_KEY = re.compile(r"row:[0-9a-f]{16}")


def test_full_read_renders_every_type_as_text(db: Database) -> None:
    table = db.table(ALL_TYPES)
    db.insert(table, list(ROW), [list(ROW.values()), [2] + [None] * (len(ROW) - 1)])
    rows, reader = db.read(table=table)
    assert reader.columns == list(ROW)
    assert [{k: v for k, v in row.items() if k in ROW} for row in rows] == [
        EXPECTED | DIFFERENCES.get(db.name, {}),
        {"id": "2"} | dict.fromkeys(list(ROW)[1:]),
    ]
    assert [row["_key"] for row in rows] == ["id=1", "id=2"]
    assert reader.location.endswith(f"#{table}")
    assert PASSWORD not in reader.location
    assert (reader.watermark_from, reader.watermark_to, reader.notes) == (None, None, [])


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_zoned_timestamps_are_utc_whatever_the_session_zone(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, seen {tstz}")
    db.insert(table, ["id", "seen"], [[1, ROW["seen"]]])
    # ?options pass through to libpq: the session runs in Shanghai time (UTC+8).
    db.url += "?options=-c%20TimeZone%3DAsia/Shanghai&sslmode=disable"
    rows, reader = db.read(table=table, watermark="seen", incremental=True)
    assert rows[0]["seen"] == reader.watermark_to == "2024-05-01T10:00:00Z"
    rows, _ = db.read("2024-05-01T10:00:00Z", table=table, watermark="seen", incremental=True)
    assert [row["id"] for row in rows] == ["1"]
    assert "options" not in reader.location


def test_composite_and_schema_qualified_primary_key(db: Database) -> None:
    table = db.table("a {int}, b {text}, v {text}, PRIMARY KEY (a, b)")
    db.insert(table, ["a", "b", "v"], [[1, "x", "å"], [1, "y", None], [2, "x", "王"]])
    schema = {"postgresql": "public", "mariadb": "test"}.get(db.name, "main")
    rows, reader = db.read(table=f"{schema}.{table}")
    assert sorted(row["_key"] for row in rows) == ["a=1,b=x", "a=1,b=y", "a=2,b=x"]
    assert reader.location.endswith(f"#{schema}.{table}")


def test_a_table_without_primary_key_gets_hash_keys(db: Database) -> None:
    table = db.table("v {text}, n {int}")
    db.insert(table, ["v", "n"], [["a", 1], ["a", 1], ["b", None]])
    rows, reader = db.read(table=table)
    keys = {row["v"]: row["_key"] for row in rows}
    assert all(HASH_KEY.fullmatch(key) for key in keys.values())
    assert len({row["_key"] for row in rows}) == 2, "identical rows share a key, others do not"
    assert reader.notes == [
        f"table {table!r} has no primary key: _key is a hash of each row's values, so a "
        "changed row gets a new key"
    ]


def test_query_rows_get_stable_hash_keys(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, label {text}")
    db.insert(table, ["id", "label"], [[1, "row 1"], [2, "row 2"], [10, "row 10"]])
    # A literal %, a trailing comment and a trailing semicolon: the query is wrapped as is.
    query = f"SELECT id, label FROM {table} WHERE label LIKE 'row 1%' -- only some\n;"
    first, reader = db.read(query=query)
    again, _ = db.read(query=query)
    assert sorted(row["label"] for row in first) == ["row 1", "row 10"]
    assert reader.location.endswith("#query")
    keys = {row["label"]: row["_key"] for row in first}
    assert keys == {row["label"]: row["_key"] for row in again}
    assert all(HASH_KEY.fullmatch(key) for key in keys.values())
    assert len(set(keys.values())) == 2


@pytest.mark.slow
def test_batches_are_bounded(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, stamp {ts}, label {text}")
    db.run(db.generate_sql(table, 120_000))
    source = {"table": table, "watermark": "stamp", "incremental": True}
    with db.open(None, **source) as reader:
        sizes, first, last = [], None, None
        for batch in reader.batches(rows_per_batch=50_000):
            sizes.append(batch.num_rows)
            first = first or batch.slice(0, 1).to_pylist()[0]
            last = batch.slice(batch.num_rows - 1).to_pylist()[0]
    assert sizes == [50_000, 50_000, 20_000]
    assert first is not None
    assert last is not None
    assert (first["_key"], first["_record"], first["stamp"]) == ("id=1", 1, "2024-01-01T00:00:01")
    assert (last["_key"], last["_record"]) == ("id=120000", 120_000)
    assert reader.rows_read == 120_000
    assert reader.watermark_to == "2024-01-02T09:20:00"  # 120,000 s after midnight
    rows, reader = db.read("2024-01-02T00:00:00", rows_per_batch=50_000, **source)
    assert len(rows) == 120_000 - 86_400 + 1
    assert rows[0]["label"] == "row 86400"


def test_closing_early_releases_the_connection(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, stamp {ts}, label {text}")
    db.run(db.generate_sql(table, 30_000))
    with db.open(table=table) as reader:
        batches = reader.batches(rows_per_batch=1_000)
        assert next(batches).num_rows == 1_000
    assert not reader.complete
    rows, _ = db.read(table=table)
    assert len(rows) == 30_000


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_columns_named_like_location_columns_are_renamed(db: Database) -> None:
    table = db.table('id {int} PRIMARY KEY, "_key" {text}, "_record" {text}')
    db.insert(table, ["id", '"_key"', '"_record"'], [[1, "k", "r"]])
    rows, reader = db.read(table=table)
    assert reader.columns == ["id", "_key_2", "_record_2"]
    assert (rows[0]["_key"], rows[0]["_key_2"], rows[0]["_record_2"]) == ("id=1", "k", "r")
    assert reader.notes == [
        "column '_record' renamed to '_record_2'",
        "column '_key' renamed to '_key_2'",
    ]


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_duplicate_query_columns_are_renamed(db: Database) -> None:
    rows, reader = db.read(query="SELECT 1 AS id, 2 AS id")
    assert reader.columns == ["id", "id_2"]
    assert (rows[0]["id"], rows[0]["id_2"]) == ("1", "2")
    assert reader.notes == ["column 'id' renamed to 'id_2'"]


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_empty_table_and_misuse(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, stamp {ts}")
    with db.open(table=table, watermark="stamp", incremental=True) as reader:
        assert reader.read_all().num_rows == 0
        assert reader.watermark_to is None
        with pytest.raises(ReadError, match="already called"):
            next(reader.batches())
    with db.open(table=table) as reader, pytest.raises(ReadError, match="at least 1"):
        next(reader.batches(0))
