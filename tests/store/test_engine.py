"""The engine's contract: clear errors naming what to fix, no personal data in them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.errors import EngineError, WorkspaceError
from insightloop.store import Engine, migrate
from tests.decorator import mark_with_all_backends
from tests.helpers import duckdb_held_by_another_process


@pytest.fixture
def engine() -> Engine:
    e = Engine.in_memory()
    migrate(e)
    return e


def test_insert_casts_to_the_table_types_and_fills_missing_columns(engine: Engine) -> None:
    engine.insert("orders", [{"order_id": "o1", "total_amount": 12.5, "ordered_at": None}])
    row = engine.records(engine.table("orders"))[0]
    assert row["total_amount"] == Decimal("12.5")
    assert row["channel"] is None


def test_insert_refuses_unknown_columns_instead_of_dropping_them(engine: Engine) -> None:
    with pytest.raises(EngineError, match="no column") as info:
        engine.insert("orders", [{"order_idd": "o1"}])
    assert "order_id" in (info.value.hint or "")
    assert engine.count("orders") == 0


def test_a_bad_value_names_the_column_but_not_the_value(engine: Engine) -> None:
    with pytest.raises(EngineError, match="'total_amount'") as info:
        engine.insert("orders", [{"order_id": "o1", "total_amount": "ada@example.com"}])
    assert "ada@example.com" not in str(info.value)


def test_a_missing_table_says_how_to_create_the_schema() -> None:
    with pytest.raises(EngineError, match="does not exist") as info:
        Engine.in_memory().table("orders")
    assert "migrate" in (info.value.hint or "")


def test_a_failing_query_carries_its_sql(engine: Engine) -> None:
    t = engine.table("orders")
    bad = t.mutate(x=t.order_id.cast("int64"))
    engine.insert("orders", [{"order_id": "not-a-number"}])
    with pytest.raises(EngineError) as info:
        engine.execute(bad)
    assert info.value.sql is not None
    assert "orders" in info.value.sql


def test_a_read_only_engine_refuses_writes(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with (
        Workspace.open(tmp_path / "ws", read_only=True) as ws,
        pytest.raises(EngineError, match="read-only"),
    ):
        ws.engine.insert("orders", [{"order_id": "o1"}])


def test_a_read_only_engine_looks_its_tables_up_once(tmp_path: Path) -> None:
    """Nothing can change a DuckDB file while a read-only connection holds it, so the table
    names and the opened tables are kept; a writing engine sees its own changes."""
    with Workspace.open(Workspace.init(tmp_path / "ws").path) as ws:
        ws.engine.materialise("extra", ws.engine.table("orders").limit(0))
        assert ws.engine.table("extra") is not ws.engine.table("extra")
        ws.engine.drop_table("extra")
        assert "extra" not in ws.engine.tables()
    with Workspace.open(tmp_path / "ws", read_only=True) as ws:
        names = ws.engine.tables()
        assert "orders" in names
        assert "extra" not in names
        names.append("changed by the caller")
        assert ws.engine.tables() == sorted(n for n in names if n != "changed by the caller")
        assert ws.engine.table("orders") is ws.engine.table("orders")
        with pytest.raises(EngineError, match="does not exist"):
            ws.engine.table("extra")


def test_in_memory_tables_are_released_after_use(tmp_path: Path) -> None:
    """Ibis keeps every in-memory table registered until the process exits; the engine lets go
    of them once used, or a long load would hold every batch it wrote (the 1M demo's load grew
    by some 250 MB per events file)."""
    with Workspace.open(Workspace.init(tmp_path / "ws").path) as ws:
        engine = ws.engine
        duck = engine.con.con

        def registered() -> int:
            sql = "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'ibis_%'"
            return int(duck.execute(sql).fetchone()[0])  # type: ignore[index]

        for i in range(3):
            engine.insert("orders", pa.table({"order_id": [f"o{i}"]}))
        listed = ibis.memtable({"v": ["o1", "o2"]})
        orders = engine.table("orders")
        chosen = orders.filter(orders.order_id.isin(listed.v)).select("order_id")
        engine.materialise("chosen", chosen)
        assert registered() == 0
        # The same expression used again registers its table again.
        assert sorted(r["order_id"] for r in engine.records(chosen)) == ["o1", "o2"]
        assert int(engine.execute(chosen.count())) == 2
        assert registered() == 0


def test_work_tables_stay_out_of_the_database_file(tmp_path: Path) -> None:
    path = Workspace.init(tmp_path / "ws").path
    with Workspace.open(path) as ws:
        engine = ws.engine
        # A work table an earlier release wrote to the file, left behind by a failed run.
        engine.materialise("_work", ibis.memtable({"v": ["old"]}))
        engine.materialise("_work", ibis.memtable({"v": ["a", "b"]}), temp=True)
        assert int(engine.execute(engine.table("_work").count())) == 2
        [(temporary,)] = engine.con.con.execute(
            "SELECT list(temporary) FROM duckdb_tables() WHERE table_name = '_work'"
        ).fetchall()
        assert temporary == [True]  # the file's table was dropped, not hidden
        engine.materialise("_kept", ibis.memtable({"v": ["a"]}), temp=True)
    with Workspace.open(path) as ws:
        assert not ws.engine.has_table("_work")
        assert not ws.engine.has_table("_kept")  # gone with the connection


def test_a_database_held_by_another_process_gives_a_clear_error(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    with (
        duckdb_held_by_another_process(tmp_path / "ws" / "insightloop.duckdb"),
        pytest.raises(WorkspaceError, match="in use by another process") as info,
    ):
        Workspace.open(tmp_path / "ws")
    assert "insightloop run" in (info.value.hint or "")


@mark_with_all_backends
def test_values_round_trip_through_every_backend(workspace: Workspace) -> None:
    engine = workspace.engine
    row = {
        "order_id": "o1",
        "source_customer_key": "Åsa-李",
        "ordered_at": datetime(2025, 12, 24, 18, 30, 5),
        "total_amount": Decimal("1234.5678"),
    }
    engine.insert("orders", [row])
    got = engine.records(engine.table("orders").select(*row))[0]
    assert got == row
    engine.insert("quarantine", [{"quarantine_id": "q1", "reason_codes": ["a", "b"]}])
    q = engine.records(engine.table("quarantine").select("reason_codes"))
    assert q == [{"reason_codes": ["a", "b"]}]
