"""The 360-degree view: finding a customer by any identifier, the profile, consents and the
timeline across every table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pytest

from insightloop import Workspace
from insightloop.profile import (
    KINDS,
    AmbiguousIdentifierError,
    FieldSource,
    ProfileNotFoundError,
    ProfileQueryError,
    ProfileReader,
    build_golden_records,
)
from tests.profile.people import CONFIG, insert, load_people


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProfileReader]:
    """The people of tests/profile/people.py with golden records (read, never changed)."""
    ws = Workspace.init(tmp_path_factory.mktemp("people") / "ws")
    load_people(ws.engine)
    build_golden_records(ws.engine, CONFIG, run_id="run-1")
    yield ProfileReader(ws.engine, CONFIG)
    ws.close()


@pytest.mark.parametrize(
    "identifier",
    [
        "C-ANNA",  # customer id
        "Anna@Example.SE ",  # e-mail, normalised
        "+46 70-123 45 67",  # phone, parsed to E.164
        "+46701234567",  # phone as stored
        "CRM-1",  # CRM number (customer_key)
        "L-100",  # loyalty card
        "u-anna",  # web-shop user id
        "dev-anna",  # device
    ],
)
def test_find_by_any_identifier(reader: ProfileReader, identifier: str) -> None:
    assert reader.find(identifier) == "C-ANNA"


def test_find_with_a_type_settles_a_shared_value(reader: ProfileReader) -> None:
    assert reader.find("12345", "user_id") == "C-BO"
    assert reader.find("12345", "customer_key") == "C-CARL"
    assert reader.find("ANNA@example.se", "email") == "C-ANNA"
    assert reader.find("+46 70 123 45 67", "phone") == "C-ANNA"
    assert reader.find("C-BO", "customer_id") == "C-BO"
    # The right value as the wrong type finds no one.
    assert reader.find("u-anna", "customer_key") is None


def test_an_ambiguous_identifier_lists_the_types_to_choose_from(reader: ProfileReader) -> None:
    with pytest.raises(AmbiguousIdentifierError) as caught:
        reader.find("12345")
    assert caught.value.message == (
        "The identifier belongs to 2 customers, as customer_key, user_id."
    )
    assert "--type customer_key or --type user_id" in (caught.value.hint or "")
    assert "12345" not in str(caught.value)  # identifiers are personal data: never echoed


def test_an_unknown_identifier_is_not_found_with_a_hint(reader: ProfileReader) -> None:
    assert reader.find("nobody@example.se") is None
    with pytest.raises(ProfileNotFoundError) as caught:
        reader.get("nobody@example.se")
    assert caught.value.code == "not_found"
    assert "No customer has this identifier" in caught.value.message
    assert "nobody" not in str(caught.value)
    assert "international form" in (caught.value.hint or "")
    with pytest.raises(ProfileNotFoundError, match=r"as user_id"):
        reader.get("CRM-1", id_type="user_id")


def test_an_empty_workspace_says_to_run_the_pipeline(duckdb_workspace: Workspace) -> None:
    with pytest.raises(ProfileNotFoundError) as caught:
        ProfileReader(duckdb_workspace.engine, CONFIG).get("anna@example.se")
    assert "`insightloop run`" in (caught.value.hint or "")


def test_bad_questions_are_refused(reader: ProfileReader) -> None:
    with pytest.raises(ProfileQueryError, match="Unknown identifier type 'passport'"):
        reader.find("X", "passport")
    with pytest.raises(ProfileQueryError, match="empty"):
        reader.find("  ")
    with pytest.raises(ProfileQueryError, match="Unknown timeline kind"):
        reader.timeline("C-ANNA", kinds=["orders"])


def test_profile_holds_golden_record_provenance_identifiers_and_records(
    reader: ProfileReader,
) -> None:
    profile = reader.get("anna@example.se")
    assert profile.customer_id == "C-ANNA"
    assert (profile.first_name, profile.last_name, profile.city) == (
        "Anna",
        "Svensson",
        "Stockholm",
    )
    assert profile.golden["email"] == "anna@example.se"
    assert profile.provenance["email"] == FieldSource(
        "crm_hq", "CRM-1", datetime(2023, 5, 1), "most_recent"
    )
    assert {(i.id_type, i.value) for i in profile.identifiers} == {
        ("customer_key", "CRM-1"), ("loyalty_number", "L-100"), ("email", "anna@example.se"),
        ("phone", "+46701234567"), ("user_id", "u-anna"), ("anonymous_id", "dev-anna"),
    }  # fmt: skip
    records = {(r.source, r.key): r for r in profile.records}
    assert list(records) == [
        ("crm_hq", "CRM-1"), ("loyalty_members", "L-100"),
        ("id:anonymous_id", "dev-anna"), ("id:user_id", "u-anna"),
    ]  # fmt: skip
    crm = records[("crm_hq", "CRM-1")]
    assert crm.fields["email"] == "anna@example.se"  # the current version, not the history
    assert crm.first_seen == datetime(2019, 5, 1)
    assert records[("loyalty_members", "L-100")].fields["loyalty_number"] == "L-100"
    assert records[("id:user_id", "u-anna")].fields == {}
    # Accounts and devices are first seen in the events and orders.
    assert records[("id:user_id", "u-anna")].first_seen == datetime(2024, 3, 1, 9, 58)
    assert records[("id:anonymous_id", "dev-anna")].first_seen == datetime(2024, 3, 1, 9, 55)
    data = profile.to_dict()
    assert json.loads(json.dumps(data))["golden"]["birth_date"] == "1985-04-12"
    assert data["provenance"]["city"]["at"] == "2023-05-01T00:00:00+00:00"  # stored as UTC


def test_the_profile_works_before_golden_records_are_built(
    duckdb_workspace: Workspace,
) -> None:
    load_people(duckdb_workspace.engine)
    profile = ProfileReader(duckdb_workspace.engine, CONFIG).get("u-bo")
    assert profile.customer_id == "C-BO"
    assert profile.email is None
    assert profile.provenance == {}
    assert [e.key for e in profile.timeline] == ["W-2"]


def test_timeline_covers_every_table_newest_first(reader: ProfileReader) -> None:
    timeline = reader.timeline("C-ANNA")
    assert [(e.kind, e.key) for e in timeline] == [
        ("feedback", "F-1"),
        ("interaction", "I-1"),
        ("order", "W-1"),
        ("event", "m3"),
        ("event", "m2"),
        ("event", "m1"),
        ("campaign", "CMP-1"),
        ("order", "R-1"),
    ]
    assert {e.kind for e in timeline} == set(KINDS)
    at = [e.at for e in timeline]
    assert at == sorted(at, reverse=True)
    entry = {e.key: e for e in timeline}
    assert entry["W-1"].summary == "Web order W-1: 3 items, 59.90 SEK (delivered)"
    assert entry["W-1"].details["items"] == 3
    assert entry["W-1"].channel == "web"
    assert entry["R-1"].summary == "Store order R-1 at store S-01: 1 item, 120.00 SEK"
    assert entry["R-1"].source == "pos_receipts"
    assert entry["I-1"].summary == "Inbound phone: delivery (5 min, resolved)"
    assert entry["F-1"].summary == "Post-purchase survey: NPS 9: “Fast delivery”"
    assert entry["F-1"].details["nps"] == 9
    assert entry["CMP-1"].summary == "Campaign Spring sale (treatment): responded"
    assert entry["CMP-1"].channel == "email"
    assert (entry["m1"].summary, entry["m1"].channel) == ("Viewed page Home", "web")
    assert (entry["m2"].summary, entry["m2"].channel) == ("Product Viewed", "app")
    assert entry["m3"].summary == "Identified as user u-anna"
    assert entry["m3"].to_dict()["at"] == "2024-03-01T09:59:00+00:00"


def test_timeline_leaves_out_other_customers_touchpoints(reader: ProfileReader) -> None:
    carl = reader.timeline("C-CARL")
    assert [(e.kind, e.key) for e in carl] == [("interaction", "I-2"), ("campaign", "CMP-1")]
    assert carl[1].summary == "Campaign Spring sale (control): held out as control"
    assert reader.timeline("C-NOBODY") == []


def test_timeline_filters_by_kind_time_and_count(reader: ProfileReader) -> None:
    orders = reader.timeline("C-ANNA", kinds=["order"])
    assert [e.key for e in orders] == ["W-1", "R-1"]
    recent = reader.timeline("C-ANNA", since=datetime(2024, 3, 1, 9, 58))
    assert [e.key for e in recent] == ["F-1", "I-1", "W-1", "m3", "m2"]
    window = reader.timeline(
        "C-ANNA", kinds=["event", "campaign"], since=datetime(2024, 2, 1),
        until=datetime(2024, 3, 1, 9, 58),
    )  # fmt: skip
    assert [e.key for e in window] == ["m1", "CMP-1"]
    assert [e.key for e in reader.timeline("C-ANNA", limit=2)] == ["F-1", "I-1"]
    profile = reader.get("C-ANNA", timeline_limit=3, kinds=["event", "order"])
    assert [e.key for e in profile.timeline] == ["W-1", "m3", "m2"]


def test_timeline_finds_identifiers_stored_with_white_space_or_capitals(
    duckdb_workspace: Workspace,
) -> None:
    # Look-ups trim the stored value (and lower an e-mail held as a customer key): the rows
    # are Anna's although no identifier of hers is stored this way.
    load_people(duckdb_workspace.engine)
    insert(duckdb_workspace.engine, "orders", [
        {"_source": "web_orders", "order_id": "W-PAD", "source_customer_key": " u-anna\t",
         "ordered_at": datetime(2024, 6, 1), "currency": "SEK", "total_amount": 5.0},
        {"_source": "web_orders", "order_id": "W-CAP", "source_customer_key": "Anna@Example.SE",
         "ordered_at": datetime(2024, 6, 2), "currency": "SEK", "total_amount": 6.0},
        {"_source": "web_orders", "order_id": "W-MAIL", "source_customer_key": None,
         "email": "\nanna@example.se ", "ordered_at": datetime(2024, 6, 3), "currency": "SEK",
         "total_amount": 7.0},
        {"_source": "web_orders", "order_id": "W-NOT", "source_customer_key": "u-annas",
         "ordered_at": datetime(2024, 6, 4), "currency": "SEK", "total_amount": 8.0},
    ])  # fmt: skip
    orders = ProfileReader(duckdb_workspace.engine, CONFIG).timeline("C-ANNA", kinds=["order"])
    keys = [e.key for e in orders]
    assert keys[:3] == ["W-MAIL", "W-CAP", "W-PAD"]
    assert "W-NOT" not in keys


def test_consents_show_the_latest_decision_per_channel_and_purpose(
    reader: ProfileReader,
) -> None:
    consents = {(c.channel, c.purpose): c for c in reader.consents("C-ANNA")}
    assert list(consents) == [("email", "marketing"), ("post", "marketing"), ("sms", "marketing")]
    email = consents[("email", "marketing")]
    assert (email.status, email.recorded_at) == ("withdrawn", datetime(2024, 1, 1))
    assert email.source == "consents"
    # Recorded under the e-mail address instead of the CRM number: still Anna's.
    assert consents[("post", "marketing")].status == "granted"
    assert [c.status for c in reader.consents("C-CARL")] == ["granted"]


def test_a_withdrawal_wins_a_tie(duckdb_workspace: Workspace) -> None:
    load_people(duckdb_workspace.engine)
    insert(duckdb_workspace.engine, "consents", [
        {"_source": "consents", "source_customer_key": "CRM-1", "channel": "sms",
         "purpose": "marketing", "status": status, "recorded_at": datetime(2024, 5, 1)}
        for status in ("granted", "withdrawn")
    ])  # fmt: skip
    profile = ProfileReader(duckdb_workspace.engine, CONFIG).get("CRM-1")
    sms = {c.channel: c for c in profile.consents}["sms"]
    assert (sms.status, sms.recorded_at) == ("withdrawn", datetime(2024, 5, 1))
