"""The identifier map kept up to date from what changed (insightloop.identity.idmap)."""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from insightloop import Workspace
from insightloop.identity.idmap import (
    CARRIERS_TABLE,
    _carriers,
    _owners,
    update_identifier_map,
)
from insightloop.identity.realtime import REALTIME_RULE
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends

Row = tuple[str, str, str, str]


def _set_customers(engine: Engine, owners: dict[tuple[str, str], str]) -> None:
    current = engine.to_pyarrow(engine.table("customer_map").select("source", "source_key"))
    if current.num_rows:
        engine.delete_matching("customer_map", current)
    engine.insert(
        "customer_map",
        [{"source": s, "source_key": k, "customer_id": c, "run_id": "r0"}
         for (s, k), c in owners.items()],
    )  # fmt: skip


def _ids(rows: list[Row]) -> ibis.Table:
    names = ("record_source", "record_key", "id_type", "id_value")
    return ibis.memtable(pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)}))


def _junk(values: list[tuple[str, str]]) -> ibis.Table:
    return ibis.memtable(
        pa.table(
            {"id_type": pa.array([t for t, _ in values], pa.string()),
             "id_value": pa.array([v for _, v in values], pa.string()),
             "reason": pa.array(["test"] * len(values), pa.string())}
        )
    )  # fmt: skip


def _map(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    rows = engine.records(engine.table("identifier_map"))
    return {(r["id_type"], r["id_value"]): r for r in rows}


def _expected(engine: Engine, ids: ibis.Table, junk: ibis.Table) -> set[tuple[Any, ...]]:
    rows = engine.records(_owners(_carriers(engine, ids, junk), "any"))
    return {(r["id_type"], r["id_value"], r["customer_id"], r["records"], r["rule"]) for r in rows}


def _got(engine: Engine) -> set[tuple[Any, ...]]:
    return {
        (r["id_type"], r["id_value"], r["customer_id"], r["records"], r["rule"])
        for r in _map(engine).values()
    }


@mark_with_all_backends
def test_the_identifier_map_follows_what_changed_as_a_whole_mapping_would(
    workspace: Workspace,
) -> None:
    engine = workspace.engine
    _set_customers(
        engine,
        {("crm", "1"): "K1", ("crm", "2"): "K1", ("shop", "3"): "K2", ("shop", "4"): "K3"},
    )
    first: list[Row] = [
        ("crm", "1", "email", "a@x"), ("crm", "2", "email", "a@x"), ("shop", "3", "email", "a@x"),
        ("shop", "3", "phone", "+1"), ("shop", "4", "email", "b@x"), ("crm", "2", "phone", "+2"),
        ("shop", "4", "phone", "+2"), ("crm", "1", "loyalty_number", "L1"),
    ]  # fmt: skip
    assert update_identifier_map(engine, _ids(first), _junk([]), "r1") == 4
    mapped = _map(engine)
    assert mapped["email", "a@x"]["customer_id"] == "K1"  # two records of three
    assert mapped["email", "a@x"]["rule"] == "most records"
    assert ("phone", "+2") not in mapped  # a tie maps to nobody
    assert engine.count(CARRIERS_TABLE) == len(first)
    # Between runs the loader maps a device that the next run's identifiers do not hold.
    engine.insert(
        "identifier_map",
        [{"id_type": "anonymous_id", "id_value": "dev9", "customer_id": "K3", "records": 1,
          "rule": REALTIME_RULE, "run_id": "rt"}],
    )  # fmt: skip
    # crm|2 moves to K4 (a@x ties three ways now), shop|5 joins K3 with b@x, +1 turns junk.
    _set_customers(
        engine,
        {("crm", "1"): "K1", ("crm", "2"): "K4", ("shop", "3"): "K2", ("shop", "4"): "K3",
         ("shop", "5"): "K3"},
    )  # fmt: skip
    later = [*first, ("shop", "5", "email", "b@x")]
    junk = _junk([("phone", "+1")])
    update_identifier_map(engine, _ids(later), junk, "r2")
    assert _got(engine) == _expected(engine, _ids(later), junk)
    mapped = _map(engine)
    assert ("email", "a@x") not in mapped
    assert ("phone", "+1") not in mapped
    assert ("anonymous_id", "dev9") not in mapped
    assert (mapped["email", "b@x"]["records"], mapped["email", "b@x"]["run_id"]) == (2, "r2")
    # A value whose carriers did not change keeps the run that mapped it.
    assert mapped["loyalty_number", "L1"]["run_id"] == "r1"
    carriers = engine.records(engine.table(CARRIERS_TABLE))
    assert len(carriers) == len(later) - 1  # all but the junk value's
    # Mapping everything again gives the same map.
    update_identifier_map(engine, _ids(later), junk, "r3", whole=True)
    assert _got(engine) == _expected(engine, _ids(later), junk)
