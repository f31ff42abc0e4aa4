"""Incremental reads on every backend: rows with watermark >= since, and its round trip."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from insightloop.ingest.readers import ReadError
from tests.ingest.databases.conftest import Database

_ZONE = dt.timezone(dt.timedelta(hours=2))
# Four increasing watermarks per column type, and their text as watermark_to reports it.
WATERMARKS: dict[str, tuple[str, list[Any], list[str]]] = {
    "timestamp": (
        "ts",
        [dt.datetime(2024, 5, 1, 8), dt.datetime(2024, 5, 1, 9, 30, 0, 500000),
         dt.datetime(2024, 5, 2, 7), dt.datetime(2024, 5, 3)],
        ["2024-05-01T08:00:00", "2024-05-01T09:30:00.500000", "2024-05-02T07:00:00",
         "2024-05-03T00:00:00"],
    ),
    "timestamptz": (
        "tstz",
        [dt.datetime(2024, 5, 1, 8, tzinfo=_ZONE), dt.datetime(2024, 5, 1, 9, tzinfo=_ZONE),
         dt.datetime(2024, 5, 2, 1, tzinfo=_ZONE), dt.datetime(2024, 5, 3, tzinfo=_ZONE)],
        ["2024-05-01T06:00:00Z", "2024-05-01T07:00:00Z", "2024-05-01T23:00:00Z",
         "2024-05-02T22:00:00Z"],
    ),
    "date": (
        "date",
        [dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 5, 10), dt.date(2024, 6, 1)],
        ["2024-05-01", "2024-05-02", "2024-05-10", "2024-06-01"],
    ),
    # 9 < 10 as numbers but not as text: the watermark must be bound as an integer.
    "integer": ("bigint", [9, 10, 200, 3000], ["9", "10", "200", "3000"]),
}  # fmt: skip


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["id"] for row in rows]


@pytest.mark.parametrize("kind", list(WATERMARKS))
def test_increments_round_trip(db: Database, kind: str) -> None:
    sql_type, (w1, w2, w3, w4), text = WATERMARKS[kind]
    table = db.table(f"id {{int}} PRIMARY KEY, wm {{{sql_type}}}, label {{text}}")
    db.insert(table, ["id", "wm", "label"], [[1, w1, "a"], [2, None, "?"], [3, w3, "c"]])
    db.insert(table, ["id", "wm", "label"], [[4, w2, "b"]])
    source = {"table": table, "watermark": "wm", "incremental": True}

    rows, reader = db.read(None, **source)
    assert ids(rows) == ["2", "1", "4", "3"], "full read: null watermark first, then ordered"
    assert [row["wm"] for row in rows] == [None, text[0], text[1], text[2]]
    assert (reader.watermark_from, reader.watermark_to) == (None, text[2])
    assert reader.notes == [
        "1 row with a null watermark was read by this full read; later increments skip such rows"
    ]

    since = reader.watermark_to
    rows, reader = db.read(since, **source)
    assert ids(rows) == ["3"], "inclusive: the row at the watermark is read again"
    assert (reader.watermark_from, reader.watermark_to, reader.notes) == (since, since, [])

    # A row arriving later with the same watermark as the last one read is not lost.
    db.insert(table, ["id", "wm", "label"], [[5, w3, "same"], [6, w4, "d"], [7, None, "?"]])
    rows, reader = db.read(since, rows_per_batch=2, **source)
    assert sorted(ids(rows)[:2]) == ["3", "5"]
    assert ids(rows)[2:] == ["6"]
    assert reader.watermark_to == text[3]

    rows, reader = db.read(reader.watermark_to, **source)
    assert ids(rows) == ["6"]
    rows, reader = db.read(text[1], **source)
    assert sorted(ids(rows)) == ["3", "4", "5", "6"]


def test_not_incremental_reads_everything_and_reports_the_watermark(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, wm {bigint}")
    db.insert(table, ["id", "wm"], [[1, 30], [2, None], [3, 9], [4, 10]])
    rows, reader = db.read("10", table=table, watermark="wm", incremental=False)
    assert sorted(ids(rows)) == ["1", "2", "3", "4"]
    assert (reader.watermark_from, reader.watermark_to, reader.notes) == ("10", "30", [])


def test_query_source_increments(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, wm {ts}, label {text}")
    stamps = WATERMARKS["timestamp"][1]
    db.insert(table, ["id", "wm", "label"], [[i + 1, s, "x"] for i, s in enumerate(stamps)])
    query = f"SELECT id, wm AS changed, label FROM {table} WHERE label = 'x'"
    # The watermark matches the column name regardless of case.
    source = {"query": query, "watermark": "CHANGED", "incremental": True}
    rows, reader = db.read("2024-05-02T07:00:00", **source)
    assert ids(rows) == ["3", "4"]
    assert reader.watermark_to == "2024-05-03T00:00:00"
    assert reader.location.endswith("#query")


@pytest.mark.parametrize("db", ["postgresql", "duckdb"], indirect=True)
def test_a_stored_watermark_of_the_wrong_type(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, wm {ts}")
    with pytest.raises(ReadError, match="does not read as a timestamp value") as caught:
        db.open("row 17", table=table, watermark="wm", incremental=True)
    assert "row 17" not in str(caught.value)
