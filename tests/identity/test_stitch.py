"""Deterministic stitching and its guards (insightloop.identity.stitch), on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator

import ibis
import pytest

from insightloop.identity.config import identity_config
from insightloop.identity.stitch import deterministic_edges, junk_values
from insightloop.store import Engine


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine.in_memory() as eng:
        yield eng


def _ids(*rows: tuple[str, str, str, str]) -> ibis.Table:
    names = ["record_source", "record_key", "id_type", "id_value"]
    return ibis.memtable(
        {n: [r[i] for r in rows] for i, n in enumerate(names)},
        schema=dict.fromkeys(names, "string"),
    )


def _records(*rows: tuple[str, str, str]) -> ibis.Table:
    names = ["record_source", "record_key", "last_name"]
    return ibis.memtable({n: [r[i] for r in rows] for i, n in enumerate(names)})


def _devices(*rows: tuple[str, str]) -> ibis.Table:
    return ibis.memtable(
        {"anonymous_id": [r[0] for r in rows], "user_id": [r[1] for r in rows]},
        schema={"anonymous_id": "string", "user_id": "string"},
    )


def _edges(engine: Engine, ids: ibis.Table, devices: ibis.Table, **config: object) -> set:
    rows = engine.records(deterministic_edges(ids, devices, identity_config(dict(config))))
    return {(r["left_source"], r["left_key"], r["right_source"], r["right_key"]) for r in rows}


def test_a_key_shared_by_two_sources_links_their_records(engine: Engine) -> None:
    ids = _ids(
        ("crm", "C1", "loyalty_number", "123"),
        ("loyalty", "123", "loyalty_number", "123"),
        ("crm", "C2", "email", "a@x.example"),
        ("loyalty", "456", "email", "a@x.example"),
    )
    assert _edges(engine, ids, _devices()) == {("crm", "C1", "loyalty", "123")}


def test_a_key_held_twice_in_one_source_is_a_conflict_and_links_nothing(engine: Engine) -> None:
    ids = _ids(
        ("crm", "C1", "loyalty_number", "123"),
        ("crm", "C2", "loyalty_number", "123"),
        ("loyalty", "123", "loyalty_number", "123"),
    )
    assert _edges(engine, ids, _devices()) == set()


def test_e_mails_and_phones_never_link_records_deterministically(engine: Engine) -> None:
    ids = _ids(
        ("crm", "C1", "email", "family@x.example"),
        ("crm", "C2", "email", "family@x.example"),
        ("crm", "C1", "phone", "+4681234567"),
        ("loyalty", "9", "phone", "+4681234567"),
    )
    assert _edges(engine, ids, _devices()) == set()


def test_a_device_joins_the_one_account_it_logged_in_as(engine: Engine) -> None:
    devices = _devices(("anon-1", "u1"), ("anon-2", "u1"), ("shared", "u1"), ("shared", "u2"))
    edges = _edges(engine, _ids(("crm", "C1", "email", "a@x.example")), devices)
    assert edges == {
        ("id:anonymous_id", "anon-1", "id:user_id", "u1"),
        ("id:anonymous_id", "anon-2", "id:user_id", "u1"),
    }


def test_a_limit_of_two_accounts_lets_a_device_join_both(engine: Engine) -> None:
    devices = _devices(("shared", "u1"), ("shared", "u2"))
    edges = _edges(engine, _ids(), devices, limits={"anonymous_id": 2})
    assert len(edges) == 2


def test_junk_is_found_by_count_by_families_and_by_the_blocklist(engine: Engine) -> None:
    ids = _ids(
        *((("loyalty", str(i), "email", "noemail@store.example")) for i in range(9)),
        ("crm", "A", "phone", "+441234"),
        ("crm", "B", "phone", "+441234"),
        ("crm", "C", "phone", "+441234"),
        ("crm", "D", "email", "family@x.example"),
        ("crm", "E", "email", "family@x.example"),
        ("crm", "F", "email", "listed@x.example"),
    )
    records = _records(
        *((("loyalty", str(i), f"Name{i}")) for i in range(9)),
        ("crm", "A", "Smith"),
        ("crm", "B", "Jones"),
        ("crm", "C", "Brown"),
        ("crm", "D", "Smith"),
        ("crm", "E", "smith"),
        ("crm", "F", "Lee"),
    )
    config = identity_config({"blocklist": ["Listed@x.example"]})
    found = {
        (r["id_value"], r["reason"]) for r in engine.records(junk_values(ids, records, config))
    }
    assert found == {
        ("noemail@store.example", "shared by different families"),
        ("+441234", "shared by different families"),
        ("listed@x.example", "blocklisted"),
    }
    assert ("family@x.example", "shared by different families") not in found


def test_the_per_source_limit_makes_a_crowded_value_junk(engine: Engine) -> None:
    ids = _ids(*((("crm", str(i), "email", "x@y.example")) for i in range(4)))
    records = _records(*((("crm", str(i), "Same")) for i in range(4)))
    config = identity_config({"limits": {"email": 3}})
    rows = engine.records(junk_values(ids, records, config))
    assert [(r["id_value"], r["reason"]) for r in rows] == [
        ("x@y.example", "shared by too many records")
    ]
