"""Deleting and updating matched rows, and transactions, on every backend."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.errors import EngineError
from insightloop.store.changes import sync_rows
from tests.decorator import mark_with_all_backends, mark_with_backends_excluding

T0 = datetime(2024, 1, 1, 12, 0)
T1 = datetime(2024, 2, 1, 12, 0)


def _customers(ws: Workspace) -> None:
    ws.engine.insert(
        "src_customers",
        [
            {"_source": "crm", "source_key": "1", "email": "a@x.se", "is_current": False,
             "valid_to": T0},
            {"_source": "crm", "source_key": "1", "email": "a@y.se", "is_current": True},
            {"_source": "crm", "source_key": "2", "email": "b@x.se", "is_current": True},
            {"_source": "shop", "source_key": "1", "email": "c@x.se", "is_current": True},
        ],
    )  # fmt: skip


def _rows(ws: Workspace) -> list[tuple[object, ...]]:
    t = ws.engine.table("src_customers")
    rows = ws.engine.records(
        t.select("_source", "source_key", "email", "is_current", "valid_to").order_by(
            "_source", "source_key", "email"
        )
    )
    return [tuple(r.values()) for r in rows]


@mark_with_all_backends
def test_update_matching_closes_only_the_current_versions_of_the_keys(workspace: Workspace) -> None:
    _customers(workspace)
    keys = pa.table({"_source": ["crm"], "source_key": ["1"]})
    workspace.engine.update_matching(
        "src_customers", keys, {"is_current": False, "valid_to": T1}, where={"is_current": True}
    )
    assert _rows(workspace) == [
        ("crm", "1", "a@x.se", False, T0),
        ("crm", "1", "a@y.se", False, T1),
        ("crm", "2", "b@x.se", True, None),
        ("shop", "1", "c@x.se", True, None),
    ]


@mark_with_all_backends
def test_delete_matching_removes_exactly_the_rows_with_those_keys(workspace: Workspace) -> None:
    _customers(workspace)
    keys = pa.table({"_source": ["crm", "shop"], "source_key": ["2", "1"]})
    workspace.engine.delete_matching("src_customers", keys)
    assert [r[:3] for r in _rows(workspace)] == [("crm", "1", "a@x.se"), ("crm", "1", "a@y.se")]


@mark_with_backends_excluding("spark", reason="Spark's Hive tables have no transactions")
def test_a_failed_transaction_leaves_no_trace(workspace: Workspace) -> None:
    _customers(workspace)
    engine = workspace.engine

    def fail_half_way() -> None:
        with engine.transaction():
            engine.insert("src_customers", [{"_source": "crm", "source_key": "9"}])
            engine.delete_matching("src_customers", pa.table({"_source": ["shop"]}))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert len(_rows(workspace)) == 4
    with engine.transaction():
        engine.insert("src_customers", [{"_source": "crm", "source_key": "9"}])
    assert len(_rows(workspace)) == 5


def test_keys_naming_an_unknown_column_are_refused(duckdb_workspace: Workspace) -> None:
    with pytest.raises(EngineError, match="no column"):
        duckdb_workspace.engine.delete_matching("src_customers", pa.table({"sourcekey": ["1"]}))


@mark_with_all_backends
@pytest.mark.parametrize("partial", [False, True])
def test_sync_rows_changes_only_the_rows_that_differ(workspace: Workspace, partial: bool) -> None:
    engine = workspace.engine
    engine.insert(
        "customer_map",
        pa.table({
            "source": ["crm", "crm", "crm", "shop"],
            "source_key": ["1", "2", "3", "1"],
            "customer_id": ["cus_a", "cus_b", None, "cus_c"],
            "assigned_at": [T0] * 4,
            "run_id": ["r1"] * 4,
        }),
    )  # fmt: skip
    later = pa.table({
        "source": ["crm", "crm", "crm", "web"],
        "source_key": ["1", "2", "3", "7"],
        "customer_id": ["cus_a", "cus_a", None, "cus_d"],
        "assigned_at": [T0, T1, T0, T1],
        "run_id": ["r2"] * 4,
    })  # fmt: skip
    with engine.transaction():
        inserted = sync_rows(
            engine, "customer_map", later, ["source", "source_key"], ignore=["run_id"],
            partial=partial,
        )  # fmt: skip
    t = engine.table("customer_map")
    rows = engine.records(t.order_by("source", "source_key"))
    got = [(r["source"], r["source_key"], r["customer_id"], r["run_id"]) for r in rows]
    # Unchanged rows (a null equal to a null) keep the run that wrote them; crm|2 changed and
    # web|7 is new; shop|1, absent from the rows, stays only when they are partial.
    expected = [
        ("crm", "1", "cus_a", "r1"),
        ("crm", "2", "cus_a", "r2"),
        ("crm", "3", None, "r1"),
        *([("shop", "1", "cus_c", "r1")] if partial else []),
        ("web", "7", "cus_d", "r2"),
    ]
    assert got == expected
    if engine.backend == "duckdb":
        assert inserted == 2
