"""Database sources through the loader: increments on the watermark, updates, quarantine keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from insightloop import Workspace
from tests.ingest.databases.conftest import BACKENDS, Database, make_database


@pytest.fixture(params=BACKENDS)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Workspace, Database]]:
    ws = Workspace.init(tmp_path / "ws")
    database = make_database(request.param, request, ws.path)
    yield ws, database
    ws.close()
    database.drop_tables()


def _orders(ws: Workspace) -> list[tuple[object, ...]]:
    t = ws.engine.table("orders")
    rows = ws.engine.records(t.select("order_id", "total_amount", "status").order_by("order_id"))
    return [(r["order_id"], float(r["total_amount"]), r["status"]) for r in rows]


def test_a_database_source_loads_increments_on_its_watermark(
    setup: tuple[Workspace, Database],
) -> None:
    ws, db = setup
    table = db.table("id {int} PRIMARY KEY, total {decimal}, status {text}, updated_at {ts}")
    cols = ("id", "total", "status", "updated_at")
    db.insert(table, cols, [
        (1, 10.5, "placed", datetime(2024, 1, 1, 10)),
        (2, -3, "placed", datetime(2024, 1, 1, 11)),  # negative: quarantined
        (3, 7, "placed", datetime(2024, 1, 1, 12)),
    ])  # fmt: skip
    ws.add_source(
        "shop",
        {"kind": "database", "url": db.url, "table": table, "watermark": "updated_at",
         "entity": "orders", "options": {"currency": "SEK"},
         "mapping": {"order_id": "id", "total_amount": "total", "status": "status",
                     "ordered_at": "updated_at"}},
    )  # fmt: skip
    first = ws.load().batches[0]
    assert (first.status, first.rows_read, first.rows_loaded, first.rows_quarantined) == (
        "loaded", 3, 2, 1,
    )  # fmt: skip
    assert first.watermark_from is None
    assert first.watermark_to is not None
    assert first.watermark_to.startswith("2024-01-01")
    t = ws.engine.table("quarantine")
    [held] = ws.engine.records(t.select("location", "reason_codes"))
    assert held["location"].endswith("#id=2")
    assert "s3cret" not in held["location"]
    assert held["reason_codes"] == ["out_of_range:total_amount"]
    # Order 1 changes, order 4 arrives with the same time stamp as the last one read.
    db.run(f"UPDATE {table} SET status = 'delivered', updated_at = {db.placeholder} WHERE id = 1",
           [db.adapt(datetime(2024, 1, 2, 9))])  # fmt: skip
    db.insert(table, cols, [(4, 5, "placed", datetime(2024, 1, 1, 12))])
    second = ws.load().batches[0]
    assert second.watermark_from == first.watermark_to
    # Read again: order 3 (same time stamp, unchanged), order 4 (new) and order 1 (changed).
    assert (second.rows_read, second.rows_loaded, second.rows_updated) == (3, 2, 1)
    assert second.unchanged_rows == 1
    assert _orders(ws) == [
        ("1", 10.5, "delivered"),
        ("3", 7.0, "placed"),
        ("4", 5.0, "placed"),
    ]
    third = ws.load().batches[0]
    assert (third.rows_read, third.rows_loaded, third.unchanged_rows) == (1, 0, 1)


def test_an_unreachable_database_is_a_failed_batch_with_a_clear_reason(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_source(
            "erp",
            {"kind": "database", "url": "postgresql://u:pw-secret@127.0.0.1:1/x", "table": "t",
             "watermark": "w", "entity": "orders"},
        )  # fmt: skip
        [batch] = ws.load().batches
    assert batch.status == "failed"
    assert "127.0.0.1:1" in (batch.error or "")
    assert "pw-secret" not in (batch.error or "")
