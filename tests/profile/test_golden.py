"""The golden record: each survivorship rule, the address as one unit, provenance, customers known
from orders only, and empty workspaces."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from insightloop import Workspace
from insightloop.errors import ConfigError
from insightloop.identity.config import identity_config
from insightloop.profile import GOLDEN_FIELDS, build_golden_records
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends
from tests.profile.people import CONFIG, insert, load_people

NOW = datetime(2025, 1, 1)


def _records(engine: Engine, *records: dict[str, Any], customer: str = "C1") -> None:
    """Reference records of one customer, each mapped to it."""
    insert(engine, "customer_map", [
        {"source": r["_source"], "source_key": r["source_key"], "customer_id": customer}
        for r in records
    ])  # fmt: skip
    insert(engine, "src_customers", [{"is_current": True, **r} for r in records])
    # As identity resolution leaves it: every e-mail and phone identifies its customer.
    contacts = {(t, r[t]) for r in records for t in ("email", "phone") if r.get(t)}
    mapped = engine.table("identifier_map")
    known = {(r["id_type"], r["id_value"]) for r in engine.records(mapped)}
    insert(engine, "identifier_map", [
        {"id_type": t, "id_value": v, "customer_id": customer, "records": 1, "rule": "only"}
        for t, v in sorted(contacts - known)
    ])  # fmt: skip


def _golden(engine: Engine, config: Any = CONFIG) -> dict[str, dict[str, Any]]:
    build_golden_records(engine, config, run_id="run-1", now=NOW)
    rows = engine.records(engine.table("customers"))
    for row in rows:
        row["provenance"] = json.loads(row["provenance"])
    return {r["customer_id"]: r for r in rows}


def _config(**survivorship: str) -> Any:
    return identity_config({"survivorship": survivorship, "source_priority": ["crm", "loyalty"]})


def test_most_frequent_names_let_the_spelling_most_systems_share_win(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    _records(
        engine,
        # The till types capitals and is the newest record: it still loses.
        {"_source": "till", "source_key": "T1", "first_name": "ANNA", "last_name": "SVENSSON",
         "updated_at": datetime(2024, 6, 1)},
        {"_source": "crm", "source_key": "K1", "first_name": "Anna", "last_name": "Svensson",
         "updated_at": datetime(2023, 1, 1)},
        {"_source": "loyalty", "source_key": "L1", "first_name": "Anna", "last_name": "Svenson",
         "updated_at": datetime(2022, 1, 1)},
    )  # fmt: skip
    row = _golden(engine)["C1"]
    assert (row["first_name"], row["last_name"]) == ("Anna", "Svensson")
    # Three records agree on "anna" (any case); of its spellings the newest not in capitals wins.
    assert row["provenance"]["first_name"] == {
        "source": "crm", "key": "K1", "at": "2023-01-01T00:00:00", "rule": "most_frequent",
    }  # fmt: skip
    # "Svensson" (two records) beats "Svenson" (one).
    assert row["provenance"]["last_name"]["key"] == "K1"


def test_most_frequent_ties_go_to_the_most_recent_value(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    _records(
        engine,
        {"_source": "crm", "source_key": "K1", "birth_date": date(1980, 1, 2),
         "updated_at": datetime(2020, 1, 1)},
        {"_source": "loyalty", "source_key": "L1", "birth_date": date(1980, 2, 1),
         "updated_at": datetime(2021, 1, 1)},
        {"_source": "web", "source_key": "W1", "birth_date": date(1980, 1, 2),
         "updated_at": datetime(2019, 1, 1)},
        {"_source": "pos", "source_key": "P1", "birth_date": date(1999, 9, 9),
         "updated_at": datetime(2024, 1, 1)},
    )  # fmt: skip
    row = _golden(engine)["C1"]
    assert row["birth_date"] == date(1980, 1, 2)  # two records against one each
    assert row["provenance"]["birth_date"]["key"] == "K1"  # the newer of the two


def test_most_recent_uses_updated_at_then_the_version_and_load_times(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    _records(
        engine,
        {"_source": "crm", "source_key": "K1", "email": "old@x.se", "phone": "+46701111111",
         "updated_at": datetime(2022, 1, 1)},
        # No updated_at: the record's version start stands in for it.
        {"_source": "loyalty", "source_key": "L1", "email": "new@x.se", "phone": " ",
         "valid_from": datetime(2024, 2, 1)},
    )  # fmt: skip
    row = _golden(engine)["C1"]
    assert row["email"] == "new@x.se"
    assert row["provenance"]["email"] == {
        "source": "loyalty", "key": "L1", "at": "2024-02-01T00:00:00", "rule": "most_recent",
    }  # fmt: skip
    # A blank value is no value: the phone comes from the record that has one.
    assert row["phone"] == "+46701111111"
    assert row["provenance"]["phone"]["key"] == "K1"


def test_source_priority_takes_the_first_listed_source_with_a_value(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    _records(
        engine,
        {"_source": "web", "source_key": "W1", "email": "web@x.se", "phone": "+46702222222",
         "updated_at": datetime(2024, 1, 1)},
        {"_source": "loyalty", "source_key": "L1", "email": "loyal@x.se", "phone": "+46703333333",
         "updated_at": datetime(2023, 1, 1)},
        {"_source": "crm", "source_key": "K1", "email": "crm@x.se",
         "updated_at": datetime(2020, 1, 1)},
    )  # fmt: skip
    row = _golden(engine, _config(email="source_priority", phone="source_priority"))["C1"]
    assert row["email"] == "crm@x.se"  # the oldest, from the most trusted source
    assert row["provenance"]["email"]["rule"] == "source_priority"
    # The CRM has no phone: the next listed source; unlisted sources come last.
    assert row["phone"] == "+46703333333"


def test_most_complete_takes_the_longest_value(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    _records(
        engine,
        {"_source": "crm", "source_key": "K1", "first_name": "Anna-Karin",
         "updated_at": datetime(2020, 1, 1)},
        {"_source": "loyalty", "source_key": "L1", "first_name": "Anna",
         "updated_at": datetime(2024, 1, 1)},
        {"_source": "web", "source_key": "W1", "first_name": "Anna",
         "updated_at": datetime(2023, 1, 1)},
    )  # fmt: skip
    row = _golden(engine, _config(first_name="most_complete"))["C1"]
    assert row["first_name"] == "Anna-Karin"
    assert row["provenance"]["first_name"]["rule"] == "most_complete"


def test_the_address_is_taken_whole_from_one_record(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    address = {"street": "Storgatan 1", "postcode": "11122", "city": "Stockholm", "country": "SE"}
    _records(
        engine,
        {"_source": "crm", "source_key": "K1", **address, "updated_at": datetime(2022, 1, 1)},
        # Newer and with a street, but no postcode: the whole address comes from here, and the
        # postcode stays empty rather than borrowed from another address.
        {"_source": "web", "source_key": "W1", "street": "Nygatan 2", "city": "Lund",
         "country": "SE", "updated_at": datetime(2023, 1, 1)},
        # Newest, but a city alone is not an address that beats one with a street.
        {"_source": "loyalty", "source_key": "L1", "city": "Malmö",
         "updated_at": datetime(2024, 1, 1)},
    )  # fmt: skip
    row = _golden(engine)["C1"]
    assert [row[c] for c in ("street", "postcode", "city", "country")] == [
        "Nygatan 2", None, "Lund", "SE"
    ]  # fmt: skip
    assert {row["provenance"][c]["key"] for c in ("street", "postcode", "city", "country")} == {
        "W1"
    }
    row = _golden(engine, _config(address="most_complete"))["C1"]
    assert [row[c] for c in ("street", "postcode", "city", "country")] == list(address.values())
    assert row["provenance"]["postcode"]["rule"] == "most_complete"


def test_only_current_versions_and_only_the_customers_records_count(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    _records(engine, {"_source": "crm", "source_key": "K1", "email": "now@x.se",
                      "updated_at": datetime(2020, 1, 1)})  # fmt: skip
    insert(engine, "src_customers", [
        # A later but closed version, and a record of nobody's.
        {"_source": "crm", "source_key": "K1", "email": "then@x.se", "is_current": False,
         "updated_at": datetime(2024, 1, 1)},
        {"_source": "crm", "source_key": "K9", "email": "other@x.se", "is_current": True,
         "updated_at": datetime(2024, 1, 1)},
    ])  # fmt: skip
    golden = _golden(engine)
    assert list(golden) == ["C1"]
    assert golden["C1"]["email"] == "now@x.se"


def test_accounts_guests_and_devices_without_reference_records(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    load_people(engine)
    insert(engine, "customer_map", [
        {"source": "id:email", "source_key": "guest@x.se", "customer_id": "C-GUEST",
         "assigned_at": datetime(2024, 1, 1)},
        {"source": "id:anonymous_id", "source_key": "dev-9", "customer_id": "C-DEVICE",
         "assigned_at": datetime(2024, 2, 2)},
    ])  # fmt: skip
    insert(engine, "identifier_map", [
        {"id_type": "email", "id_value": "guest@x.se", "customer_id": "C-GUEST", "records": 1},
    ])  # fmt: skip
    insert(engine, "orders", [
        {"_source": "web_orders", "order_id": "W-0", "source_customer_key": "u-bo",
         "ordered_at": datetime(2023, 1, 5), "email": "bo.old@example.se",
         "shipping_name": "Bo Ek", "shipping_street": "Gamla vägen 1", "shipping_city": "Lund",
         "shipping_country": "SE"},
        {"_source": "web_orders", "order_id": "G-1", "ordered_at": datetime(2024, 1, 1),
         "email": "guest@x.se"},
    ])  # fmt: skip
    golden = _golden(engine)
    bo = golden["C-BO"]
    # The latest order (W-2) gives e-mail, name (split) and address.
    assert (bo["first_name"], bo["last_name"], bo["email"]) == ("Bo", "Ek", "bo@example.se")
    assert (bo["street"], bo["postcode"], bo["city"]) == ("Väg 2", "22100", "Lund")
    assert bo["provenance"]["street"] == {
        "source": "web_orders", "key": "W-2", "at": "2024-01-05T00:00:00", "rule": "latest_order",
    }  # fmt: skip
    assert bo["phone"] is None
    assert bo["provenance"]["phone"] is None
    assert (bo["created_at"], bo["updated_at"]) == (datetime(2023, 1, 5), datetime(2024, 1, 5))
    guest = golden["C-GUEST"]
    assert guest["email"] == "guest@x.se"
    assert guest["provenance"]["email"]["rule"] == "latest_order"
    device = golden["C-DEVICE"]
    assert all(device[c] is None for c in GOLDEN_FIELDS)
    assert device["created_at"] == device["updated_at"] == datetime(2024, 2, 2)
    # Anna's reference records win over her orders; her golden record dates from her records.
    anna = golden["C-ANNA"]
    assert anna["provenance"]["email"]["source"] == "crm_hq"
    assert (anna["created_at"], anna["updated_at"]) == (datetime(2019, 5, 1), datetime(2023, 5, 1))


def test_orders_fill_what_the_reference_records_lack(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    _records(engine, {"_source": "crm", "source_key": "K1", "first_name": "Eva",
                      "updated_at": datetime(2020, 1, 1)})  # fmt: skip
    insert(engine, "identifier_map", [
        {"id_type": "customer_key", "id_value": "K1", "customer_id": "C1", "records": 1},
        {"id_type": "email", "id_value": "eva@x.se", "customer_id": "C1", "records": 1},
    ])  # fmt: skip
    insert(engine, "orders", [
        {"_source": "shop", "order_id": "S1", "source_customer_key": "K1",
         "ordered_at": datetime(2024, 5, 1), "email": "eva@x.se", "shipping_name": "Eva Lind"},
    ])  # fmt: skip
    row = _golden(engine, identity_config({}))["C1"]
    assert (row["first_name"], row["email"]) == ("Eva", "eva@x.se")
    assert row["provenance"]["email"]["rule"] == "latest_order"
    assert row["provenance"]["first_name"]["rule"] == "most_frequent"
    # Only a customer without any reference name takes the shipping name.
    assert row["last_name"] is None


def test_contacts_that_identify_nobody_never_become_golden(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    _records(engine, {"_source": "crm", "source_key": "K1", "email": "eva@x.se",
                      "updated_at": datetime(2020, 1, 1)})  # fmt: skip
    # The till's placeholder: newer, but identity resolution found it junk (not in the map).
    insert(engine, "customer_map", [{"source": "till", "source_key": "T1", "customer_id": "C1"}])
    insert(engine, "src_customers", [
        {"_source": "till", "source_key": "T1", "is_current": True, "phone": "+46700000000",
         "email": "noemail@store.example", "updated_at": datetime(2024, 1, 1)},
    ])  # fmt: skip
    row = _golden(engine, identity_config({}))["C1"]
    assert (row["email"], row["phone"]) == ("eva@x.se", None)
    assert row["provenance"]["email"]["key"] == "K1"


def test_provenance_is_valid_json_whatever_the_keys_hold(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    key = 'K"1\\2\n3'
    _records(engine, {"_source": "crm", "source_key": key, "email": "a@x.se"})
    row = _golden(engine)["C1"]
    assert row["provenance"]["email"]["key"] == key
    assert row["provenance"]["email"]["at"] is None  # the record has no time at all


def test_rebuilding_replaces_the_table_and_reports(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    load_people(engine)
    build_golden_records(engine, CONFIG, run_id="run-1")
    report = build_golden_records(engine, CONFIG, run_id="run-2")
    assert engine.count("customers") == report.customers == 3
    assert report.run_id == "run-2"
    assert report.filled["email"] == 3
    assert report.filled["phone"] == 1
    assert report.empty == 0
    assert report.rules["address"] == "most_recent"
    assert report.to_dict()["customers"] == 3
    schema = engine.table("customers").schema()
    assert schema["birth_date"].is_date()
    assert schema["created_at"].is_timestamp()


def test_empty_workspace_gives_an_empty_table(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    report = build_golden_records(engine, CONFIG, run_id="run-1")
    assert report.customers == 0
    assert report.filled["email"] == 0
    assert engine.count("customers") == 0
    assert list(engine.table("customers").schema()) == [
        "customer_id", *GOLDEN_FIELDS, "provenance", "created_at", "updated_at",
    ]  # fmt: skip


def test_unknown_fields_and_rules_are_reported_together(duckdb_workspace: Workspace) -> None:
    config = identity_config({"survivorship": {"nickname": "most_recent", "city": "newest"}})
    with pytest.raises(ConfigError) as caught:
        build_golden_records(duckdb_workspace.engine, config, run_id="run-1")
    message = str(caught.value)
    assert "identity.survivorship.nickname: no such golden-record field" in message
    assert "set identity.survivorship.address instead" in message
    assert "'newest': no such rule" in message
    assert "most_frequent" in (caught.value.hint or "")


@mark_with_all_backends
def test_golden_records_on_every_backend(workspace: Workspace) -> None:
    engine = workspace.engine
    load_people(engine)
    report = build_golden_records(engine, CONFIG, run_id="run-1", now=NOW)
    assert report.customers == 3
    rows = engine.records(engine.table("customers").order_by("customer_id"))
    golden = {r["customer_id"]: r for r in rows}
    anna, bo, carl = golden["C-ANNA"], golden["C-BO"], golden["C-CARL"]
    assert (anna["first_name"], anna["email"], anna["birth_date"]) == (
        "Anna", "anna@example.se", date(1985, 4, 12)
    )  # fmt: skip
    assert json.loads(anna["provenance"])["email"] == {
        "source": "crm_hq", "key": "CRM-1", "at": "2023-05-01T00:00:00", "rule": "most_recent",
    }  # fmt: skip
    assert (bo["first_name"], bo["last_name"], bo["city"]) == ("Bo", "Ek", "Lund")
    assert json.loads(bo["provenance"])["city"]["rule"] == "latest_order"
    assert (carl["first_name"], carl["updated_at"]) == ("Carl", datetime(2021, 1, 1))
