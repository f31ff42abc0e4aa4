"""Deleting and updating matched rows, and transactions, on every backend."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.errors import EngineError
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
