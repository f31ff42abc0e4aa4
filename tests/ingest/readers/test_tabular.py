"""Excel and Parquet files read back as text with row numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from insightloop.ingest.readers import ReadError, open_file
from tests.ingest.readers.conftest import Read


def test_xlsx_round_trip(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "customers.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Kunder"
    sheet.append(["name", "born", "spend", "count", "vip", "name"])
    sheet.append(["Åsa Öberg", dt.date(1980, 5, 1), 0.1 + 0.2, 3, True, "顾客名字"])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Bo", dt.datetime(2024, 1, 2, 13, 30), 12.5, None, False])
    sheet.append(["x", None, None, None, None, None, "extra"])
    book.save(path)
    rows, reader = read(path, sheet="Kunder")
    assert reader.columns == ["name", "born", "spend", "count", "vip", "name_2"]
    assert [list(r.values()) for r in rows] == [
        ["Åsa Öberg", "1980-05-01", "0.3", "3", "true", "顾客名字", 1, 2],
        ["Bo", "2024-01-02T13:30:00", "12.5", None, "false", None, 2, 4],
    ]
    assert [(r.line, r.reason) for r in reader.rejected] == [(5, "too_many_fields")]
    assert reader.blank_lines == 1


def test_xlsx_unknown_sheet(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(ReadError, match="has no sheet 'Nope'"):
        open_file(
            path, __import__("insightloop.ingest.readers").ingest.readers.ReadOptions(sheet="Nope")
        )


def test_parquet_values_become_text(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "orders.parquet"
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "amount": pa.array([0.1, None], pa.float64()),
            "at": pa.array([dt.datetime(2024, 5, 1, 12), None], pa.timestamp("us")),
            "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, path, row_group_size=1)
    rows, _ = read(path, rows_per_batch=1)
    assert [(r["id"], r["amount"], r["at"], r["tags"], r["_line"]) for r in rows] == [
        ("1", "0.1", "2024-05-01 12:00:00.000000", '["a", "b"]', 1),
        ("2", None, None, "[]", 2),
    ]


def test_truncated_parquet(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ReadError, match="not a readable Parquet file"):
        open_file(path)
