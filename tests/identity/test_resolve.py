"""Resolution end to end on a small workspace: records, devices, stable ids, the identifier map
and transactions finding their customer (insightloop.identity.resolve and .attach).

The probabilistic step is given here as a fixed set of links, so these tests pin down what
resolution does with links; the matcher itself is tested against the demo truth
(tests/demo/test_demo_identity.py) and the FEBRL data sets (tests/identity/test_match_febrl.py).
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from insightloop import Workspace
from insightloop.identity.attach import with_customer
from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.identity.ids import new_customer_id
from insightloop.identity.realtime import attach_devices
from insightloop.identity.resolve import ProbabilisticLinks, resolve_identities
from insightloop.identity.stitch import ONE_PERSON_DEVICE_RULE
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends

NOW = datetime(2025, 1, 1)
CONFIG = identity_config({"customer_keys": {"shop": "user_id", "till": "loyalty_number"}})


def _customer(source: str, key: str, **values: object) -> dict[str, object]:
    return {"_source": source, "source_key": key, "is_current": True, **values}


def _fixture(engine: Engine) -> None:
    engine.insert(
        "src_customers",
        [
            _customer("crm", "C1", first_name="Ada", last_name="Byron", email="ada@x.example"),
            _customer("crm", "C2", first_name="Alan", last_name="Turing", phone="+441111"),
            _customer("loyalty", "L9", first_name="ADA", last_name="BYRON", loyalty_number="L9"),
            _customer("crm", "C3", first_name="Grace", last_name="Hopper", loyalty_number="L7"),
            _customer("loyalty", "L7", first_name="Grace", last_name="Hopper", loyalty_number="L7"),
            *(_customer("loyalty", f"J{i}", last_name=f"N{i}", email="no@shop.example")
              for i in range(3)),
        ],
    )  # fmt: skip
    engine.insert(
        "orders",
        [
            {"_source": "shop", "order_id": "W1", "source_customer_key": "u1",
             "email": "ada@x.example", "shipping_name": "Ada Byron",
             "ordered_at": datetime(2024, 1, 1)},
            {"_source": "shop", "order_id": "W2", "email": "guest@x.example",
             "shipping_name": "Guest Person", "ordered_at": datetime(2024, 2, 1)},
            {"_source": "till", "order_id": "R1", "source_customer_key": "L9",
             "ordered_at": datetime(2024, 3, 1)},
            {"_source": "till", "order_id": "R2", "source_customer_key": "L0",
             "ordered_at": datetime(2024, 3, 2)},
            {"_source": "shop", "order_id": "W3", "email": "no@shop.example",
             "ordered_at": datetime(2024, 3, 3)},
        ],
    )  # fmt: skip
    engine.insert(
        "events",
        [
            {"message_id": "m1", "type": "identify", "anonymous_id": "dev1", "user_id": "u1"},
            {"message_id": "m2", "type": "track", "anonymous_id": "dev1"},
            {"message_id": "m3", "type": "alias", "previous_id": "dev2", "user_id": "u1"},
            {"message_id": "m4", "type": "page", "anonymous_id": "shared", "user_id": "u1"},
            {"message_id": "m5", "type": "page", "anonymous_id": "shared", "user_id": "u2"},
        ],
    )
    engine.insert(
        "interactions",
        [
            {"_source": "cc", "interaction_id": "I1", "source_customer_key": "C2"},
            {"_source": "cc", "interaction_id": "I2", "phone": "+441111"},
            {"_source": "cc", "interaction_id": "I3", "email": "nobody@x.example"},
        ],
    )


def _links(*pairs: tuple[str, str, str, str]) -> ProbabilisticLinks:
    table = pa.table(
        {
            "left_source": [p[0] for p in pairs],
            "left_key": [p[1] for p in pairs],
            "right_source": [p[2] for p in pairs],
            "right_key": [p[3] for p in pairs],
            "score": [0.999] * len(pairs),
            "evidence": ['{"first_name": "exact"}'] * len(pairs),
        },
        schema=pa.schema(
            [
                ("left_source", pa.string()),
                ("left_key", pa.string()),
                ("right_source", pa.string()),
                ("right_key", pa.string()),
                ("score", pa.float64()),
                ("evidence", pa.string()),
            ]
        ),
    )
    return ProbabilisticLinks(table, table.slice(0, 0), {"records": 0})


def _finder(links: ProbabilisticLinks):  # type: ignore[no-untyped-def]
    def find(engine: Engine, records: pa.Table, config: IdentityConfig) -> ProbabilisticLinks:
        return links

    return find


def _customers(engine: Engine) -> dict[tuple[str, str], str]:
    rows = engine.records(engine.table("customer_map"))
    return {(r["source"], r["source_key"]): r["customer_id"] for r in rows}


ADA_LINKS = _links(("crm", "C1", "id:user_id", "u1"), ("crm", "C1", "loyalty", "L9"))


@mark_with_all_backends
def test_records_devices_and_transactions_resolve_to_customers(workspace: Workspace) -> None:
    engine = workspace.engine
    _fixture(engine)
    report = resolve_identities(engine, CONFIG, run_id="r1", now=NOW, find_links=_finder(ADA_LINKS))
    ids = _customers(engine)
    ada = ids[("crm", "C1")]
    # Linked records, the account and both devices that logged in as it are one customer.
    for record in [("loyalty", "L9"), ("id:user_id", "u1"), ("id:anonymous_id", "dev1"),
                   ("id:anonymous_id", "dev2")]:  # fmt: skip
        assert ids[record] == ada, record
    # A shared device joins no one; a shared loyalty number between sources links them.
    assert ids[("id:anonymous_id", "shared")] != ada
    assert ids[("crm", "C3")] == ids[("loyalty", "L7")]
    assert ids[("crm", "C2")] != ada
    assert ids[("id:email", "guest@x.example")] not in {ada, ids[("crm", "C2")]}
    assert report.junk_values == 1
    assert report.customers == len(set(ids.values()))
    orders = {
        r["order_id"]: (r["customer_id"], r["matched_by"])
        for r in engine.records(with_customer(engine, CONFIG, "orders"))
    }
    assert orders["W1"] == (ada, "user_id")
    assert orders["R1"] == (ada, "loyalty_number")
    assert orders["W2"] == (ids[("id:email", "guest@x.example")], "email")
    assert orders["R2"] == (None, None)  # an unknown card
    assert orders["W3"] == (None, None)  # a junk e-mail finds no one
    contacts = {
        r["interaction_id"]: (r["customer_id"], r["matched_by"])
        for r in engine.records(with_customer(engine, CONFIG, "interactions"))
    }
    assert contacts == {
        "I1": (ids[("crm", "C2")], "customer_key"),
        "I2": (ids[("crm", "C2")], "phone"),
        "I3": (None, None),
    }
    events = {
        r["message_id"]: r["customer_id"]
        for r in engine.records(with_customer(engine, CONFIG, "events"))
    }
    assert events["m2"] == ada  # anonymous browsing before login
    assert events["m5"] == ids[("id:user_id", "u2")]


def test_ids_stay_stable_and_merges_and_splits_are_logged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Workspace.init(tmp_path / "ws") as ws:
        engine = ws.engine
        _fixture(engine)
        resolve_identities(engine, CONFIG, run_id="r1", now=NOW, find_links=_finder(_links()))
        first = _customers(engine)
        assert first[("crm", "C1")] == new_customer_id("crm|C1")
        assert first[("loyalty", "L9")] != first[("crm", "C1")]
        # A new link merges Ada's CRM record and her card; the id with most records survives.
        resolve_identities(engine, CONFIG, run_id="r2", now=NOW, find_links=_finder(ADA_LINKS))
        second = _customers(engine)
        ada = second[("crm", "C1")]
        assert ada in {first[("crm", "C1")], first[("id:user_id", "u1")]}
        assert second[("loyalty", "L9")] == ada
        assert second[("crm", "C2")] == first[("crm", "C2")]
        log = engine.records(engine.table("merge_log"))
        assert [r["kind"] for r in log] == ["merge"]
        assert ada in log[0]["after_ids"]
        # Running again with the same links changes nothing.
        resolve_identities(engine, CONFIG, run_id="r3", now=NOW, find_links=_finder(ADA_LINKS))
        assert _customers(engine) == second
        assert engine.count("merge_log") == 1
        # Without the links the customer splits: the largest part (the account and its two
        # devices) keeps the id, the CRM record and the card get new ones; the split is logged.
        resolve_identities(engine, CONFIG, run_id="r4", now=NOW, find_links=_finder(_links()))
        third = _customers(engine)
        assert third[("id:user_id", "u1")] == ada
        assert len({third[("crm", "C1")], third[("loyalty", "L9")], ada}) == 3
        kinds = [r["kind"] for r in engine.records(engine.table("merge_log"))]
        assert sorted(kinds) == ["merge", "split"]


def _logins(batch: str, *calls: tuple[str, str]) -> list[dict[str, object]]:
    return [
        {"message_id": f"{batch}-{i}", "type": "identify", "anonymous_id": device,
         "user_id": user, "_batch_id": batch}
        for i, (device, user) in enumerate(calls)
    ]  # fmt: skip


@mark_with_all_backends
def test_a_device_joins_several_accounts_only_when_they_are_one_customers(
    workspace: Workspace,
) -> None:
    engine = workspace.engine
    _fixture(engine)
    # Ada's phone logged in as her first account and as a second one (u3); the family tablet
    # as Ada's account and as Alan's (u2 is linked to him below).
    engine.insert("events", _logins("b1", ("phone", "u1"), ("phone", "u3")))
    engine.insert("events", _logins("b1", ("tablet", "u1"), ("tablet", "u2")))
    links = _links(
        ("crm", "C1", "id:user_id", "u1"),
        ("crm", "C1", "id:user_id", "u3"),
        ("crm", "C2", "id:user_id", "u2"),
    )
    resolve_identities(engine, CONFIG, run_id="r1", now=NOW, find_links=_finder(links))
    ids = _customers(engine)
    ada, alan = ids[("crm", "C1")], ids[("crm", "C2")]
    assert ids[("id:anonymous_id", "phone")] == ada
    assert ids[("id:anonymous_id", "tablet")] not in {ada, alan}
    assert ids[("id:anonymous_id", "shared")] not in {ada, ids[("id:user_id", "u2")]}
    rows = engine.records(engine.table("identity_links"))
    rules = {(r["left_key"], r["right_key"]): r["rule"] for r in rows}
    assert rules[("phone", "u1")] == rules[("phone", "u3")] == ONE_PERSON_DEVICE_RULE
    assert not any("tablet" in pair for pair in rules)

    # Between runs, new devices are attached by the same rule.
    engine.insert("events", _logins("b2", ("laptop", "u1"), ("laptop", "u3")))
    engine.insert("events", _logins("b2", ("kiosk", "u3"), ("kiosk", "u2")))
    engine.insert("events", _logins("b2", ("guest", "u3"), ("guest", "u-new")))
    assert attach_devices(engine, CONFIG, ["b2"], run_id="rt") == 1
    mapped = engine.table("identifier_map")
    devices = mapped.filter(mapped.id_type == "anonymous_id")
    attached = {r["id_value"]: r["customer_id"] for r in engine.records(devices)}
    assert attached["laptop"] == ada
    assert "kiosk" not in attached  # accounts of two customers
    assert "guest" not in attached  # one account no customer holds yet
