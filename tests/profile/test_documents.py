"""Profile documents (insightloop.profile.documents), built for every customer at once, say what
the 360-degree view (ProfileReader, one customer at a time) says; and the pipeline keeps the
profile store built from them in step with the database (insightloop.pipeline.profiles)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import ibis
import orjson
import pandas as pd
import pytest

from insightloop import Workspace
from insightloop.pipeline.profiles import analysis_extras, build_profile_store, refresh_profiles
from insightloop.profile import KINDS, ProfileReader, build_golden_records
from insightloop.profile.documents import Extra, build_documents
from insightloop.profile.store import ProfileStore
from insightloop.profile.timeline import read_timeline
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends
from tests.profile.people import CONFIG, insert, load_people

NOW = datetime(2025, 1, 1, tzinfo=UTC)
CUSTOMERS = ["C-ANNA", "C-BO", "C-CARL", "C-DANA", "C-EVA"]
STAGE = "_profile_stage_"
LONG_COMMENT = (
    "The parcel was left outside my door at Storgatan 1 in the rain, and nobody answered the "
    "phone when I called about it twice."
)


def load_world(engine: Engine) -> None:
    """The people of tests/profile/people.py, more of Anna's touchpoints (notes, a long
    comment, app and anonymous events), Dana (a guest known by her e-mail only, with a
    campaign entry without a time and two touchpoints at the same moment) and Eva (a CRM
    record and nothing else); then golden records."""
    load_people(engine)
    insert(engine, "customer_map", [
        {"source": "id:email", "source_key": "dana@example.com", "customer_id": "C-DANA"},
        {"source": "crm_hq", "source_key": "CRM-5", "customer_id": "C-EVA"},
    ])  # fmt: skip
    insert(engine, "src_customers", [
        {"_source": "crm_hq", "source_key": "CRM-5", "is_current": True, "first_name": "Eva",
         "last_name": "Lind", "city": "Malmö", "country": "SE", "created_at": datetime(2021, 1, 1)},
    ])  # fmt: skip
    insert(engine, "identifier_map", [
        {"id_type": "email", "id_value": "dana@example.com", "customer_id": "C-DANA",
         "records": 1},
        {"id_type": "customer_key", "id_value": "CRM-5", "customer_id": "C-EVA", "records": 1},
    ])  # fmt: skip
    insert(engine, "events", [
        {"_source": "events", "message_id": "m5", "type": "screen", "name": "Cart",
         "user_id": "u-anna", "timestamp": datetime(2024, 3, 10, 8)},
        {"_source": "events", "message_id": "m6", "type": "track", "event": "Checkout Started",
         "anonymous_id": "dev-anna", "timestamp": datetime(2024, 3, 11, 8),
         "context": '{"userAgent": "Mozilla/5.0"}'},
    ])  # fmt: skip
    insert(engine, "interactions", [
        {"_source": "contact_centre", "interaction_id": "I-3", "source_customer_key": "CRM-1",
         "channel": "email", "direction": "outbound", "reason": "address change",
         "started_at": datetime(2024, 3, 8), "notes": "Moving to Hamngatan 3, call 0701234567"},
    ])  # fmt: skip
    insert(engine, "feedback", [
        {"_source": "surveys", "response_id": "F-2", "source_customer_key": "CRM-1",
         "survey_type": "nps", "responded_at": datetime(2024, 3, 9), "nps": 3,
         "comment": LONG_COMMENT},
        {"_source": "surveys", "response_id": "F-3", "email": "dana@example.com",
         "survey_type": "csat", "responded_at": datetime(2024, 4, 1, 12), "csat": 5,
         "comment": "Lovely"},
    ])  # fmt: skip
    insert(engine, "orders", [
        # An order without items, at the same moment as Dana's survey answer.
        {"_source": "web_orders", "order_id": "W-3", "email": "dana@example.com",
         "channel": "web", "ordered_at": datetime(2024, 4, 1, 12), "currency": "EUR",
         "total_amount": 25.0, "shipping_name": "Dana Lee", "shipping_city": "Oslo"},
    ])  # fmt: skip
    insert(engine, "campaign_members", [
        # Neither sent, assigned nor answered: an entry without a time, which comes last.
        {"_source": "campaign_members", "campaign_id": "CMP-1",
         "source_customer_key": "Dana@Example.com", "group_name": "treatment"},
    ])  # fmt: skip
    build_golden_records(engine, CONFIG, run_id="run-1", now=NOW)


def documents(engine: Engine, **options: Any) -> dict[str, dict[str, Any]]:
    """Every document build_documents yields, by customer id (in the order yielded)."""
    chunks = build_documents(engine, CONFIG, now=NOW, **options)
    return {doc["customer_id"]: doc for chunk in chunks for doc in chunk}


def full_counts(reader: ProfileReader, customer_id: str) -> dict[str, int]:
    """How many touchpoints of each kind the customer has, from the whole timeline."""
    values = [i.value for i in reader.identifiers(customer_id)]
    timeline = read_timeline(reader.engine, CONFIG, customer_id, values, limit=None)
    counts = Counter(e.kind for e in timeline)
    return {kind: counts[kind] for kind in KINDS}


def assert_documents_agree_with_the_view(
    engine: Engine, docs: dict[str, dict[str, Any]], entries: int
) -> None:
    reader = ProfileReader(engine, CONFIG)
    for customer_id, doc in docs.items():
        view = reader.get(customer_id, timeline_limit=entries).to_dict()
        assert {k: doc[k] for k in view} == view, customer_id
        assert doc["timeline_counts"] == full_counts(reader, customer_id), customer_id
        assert (doc["materialised_at"], doc["masked"]) == (NOW.isoformat(), False)


def staged_tables(engine: Engine) -> list[str]:
    return [t for t in engine.tables() if t.startswith(STAGE)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The world of load_world on DuckDB (its data never changed by the tests)."""
    ws = Workspace.init(tmp_path_factory.mktemp("world") / "ws")
    load_world(ws.engine)
    yield ws.engine
    ws.close()


@pytest.fixture(scope="module")
def all_docs(world: Engine) -> dict[str, dict[str, Any]]:
    return documents(world, timeline_entries=4)


@pytest.fixture(scope="module")
def whole_views(world: Engine) -> dict[str, dict[str, Any]]:
    """Each customer's view with the whole timeline (read once: the view is slow to read)."""
    reader = ProfileReader(world, CONFIG)
    return {cid: reader.get(cid, timeline_limit=None).to_dict() for cid in CUSTOMERS}


# -- the documents say what the view says -------------------------------------------------------


@pytest.mark.slow  # about a minute on Spark: the view reads each customer in a dozen queries
@mark_with_all_backends
def test_documents_agree_with_the_360_view_on_every_backend(workspace: Workspace) -> None:
    load_world(workspace.engine)
    docs = documents(workspace.engine, timeline_entries=4)
    assert list(docs) == CUSTOMERS
    assert_documents_agree_with_the_view(workspace.engine, docs, 4)
    assert staged_tables(workspace.engine) == []


@pytest.mark.parametrize("entries", [1, 2, 3, 25])
def test_the_timeline_is_the_newest_entries_of_the_whole_view(
    world: Engine, whole_views: dict[str, dict[str, Any]], entries: int
) -> None:
    docs = documents(world, timeline_entries=entries)
    for cid, view in whole_views.items():
        counts = Counter(e["kind"] for e in view["timeline"])
        assert docs[cid]["timeline_counts"] == {kind: counts[kind] for kind in KINDS}
        assert {k: docs[cid][k] for k in view} == {**view, "timeline": view["timeline"][:entries]}


def test_the_timeline_is_the_newest_entries_across_kinds(all_docs: dict[str, Any]) -> None:
    anna = all_docs["C-ANNA"]
    assert [(e["kind"], e["key"]) for e in anna["timeline"]] == [
        ("event", "m6"), ("event", "m5"), ("feedback", "F-2"), ("interaction", "I-3"),
    ]  # fmt: skip
    assert anna["timeline_counts"] == {
        "order": 2, "event": 5, "interaction": 2, "feedback": 2, "campaign": 1,
    }  # fmt: skip
    notes = anna["timeline"][3]["details"]["notes"]
    assert notes == "Moving to Hamngatan 3, call 0701234567"
    # A summary quotes the first 79 characters of a long comment; the details keep all of it.
    assert anna["timeline"][2]["summary"] == f"Nps survey: NPS 3: “{LONG_COMMENT[:79]}…”"
    assert anna["timeline"][2]["details"]["comment"] == LONG_COMMENT


def test_an_entry_without_a_time_comes_last(all_docs: dict[str, Any]) -> None:
    dana = all_docs["C-DANA"]
    assert [(e["kind"], e["key"], e["at"]) for e in dana["timeline"]] == [
        ("order", "W-3", "2024-04-01T12:00:00+00:00"),
        ("feedback", "F-3", "2024-04-01T12:00:00+00:00"),
        ("campaign", "CMP-1", None),
    ]
    order = dana["timeline"][0]
    assert order["summary"] == "Web order W-3: 25.00 EUR"
    assert (order["details"]["items"], order["details"]["lines"]) == (None, None)


@pytest.mark.parametrize("entries", [1, 2])
def test_a_tie_at_the_cut_keeps_what_the_view_keeps(world: Engine, entries: int) -> None:
    """Dana's order and survey answer share a time; the view keeps them in kind order."""
    dana = documents(world, customer_ids=["C-DANA"], timeline_entries=entries)["C-DANA"]
    assert [e["key"] for e in dana["timeline"]] == ["W-3", "F-3"][:entries]


def test_a_customer_without_touchpoints_has_an_empty_timeline(all_docs: dict[str, Any]) -> None:
    eva = all_docs["C-EVA"]
    assert eva["timeline"] == []
    assert eva["timeline_counts"] == dict.fromkeys(KINDS, 0)
    assert eva["golden"]["city"] == "Malmö"
    assert [i["value"] for i in eva["identifiers"]] == ["CRM-5"]


def test_documents_are_json_ready(all_docs: dict[str, Any]) -> None:
    for doc in all_docs.values():
        assert orjson.loads(orjson.dumps(doc)) == doc  # no default=: nothing but JSON types


# -- which customers, in which chunks -----------------------------------------------------------


def test_customer_ids_build_only_those_customers(
    world: Engine, all_docs: dict[str, dict[str, Any]]
) -> None:
    docs = documents(world, customer_ids=["C-CARL", "C-NOBODY", "C-ANNA", "C-CARL"],
                     timeline_entries=4)  # fmt: skip
    assert list(docs) == ["C-ANNA", "C-CARL"]  # unknown ids are left out, duplicates once
    assert docs == {cid: all_docs[cid] for cid in docs}
    assert staged_tables(world) == []


def test_an_empty_list_of_customers_yields_nothing(world: Engine) -> None:
    assert list(build_documents(world, CONFIG, customer_ids=[])) == []
    assert documents(world, customer_ids=["C-NOBODY"]) == {}
    assert staged_tables(world) == []


def test_chunks_cover_every_customer_once_in_id_order(
    world: Engine, all_docs: dict[str, dict[str, Any]]
) -> None:
    seen: list[float] = []
    chunks = list(
        build_documents(
            world, CONFIG, timeline_entries=4, chunk_customers=2, now=NOW, progress=seen.append
        )
    )
    assert [[d["customer_id"] for d in chunk] for chunk in chunks] == [
        ["C-ANNA", "C-BO"], ["C-CARL", "C-DANA"], ["C-EVA"],
    ]  # fmt: skip
    assert {d["customer_id"]: d for chunk in chunks for d in chunk} == all_docs
    assert seen == sorted(seen)
    assert seen[0] > 0
    assert seen[-1] == 1.0


def test_stage_tables_are_dropped_when_the_reader_stops_early(world: Engine) -> None:
    chunks = build_documents(world, CONFIG, chunk_customers=1)
    first = next(chunks)
    assert [d["customer_id"] for d in first] == ["C-ANNA"]
    assert staged_tables(world) != []
    chunks.close()
    assert staged_tables(world) == []


def test_a_timeline_of_no_entries_is_refused(world: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(build_documents(world, CONFIG, timeline_entries=0))
    assert staged_tables(world) == []


# -- the pipeline keeps the profile store in step ----------------------------------------------


@pytest.fixture
def built(duckdb_workspace: Workspace) -> Workspace:
    """The world as identity resolution leaves it, in a workspace that declares its key types,
    after the pipeline's golden and profiles steps."""
    ws = duckdb_workspace
    ws.add_config_section("identity", {"customer_keys": CONFIG.customer_keys})
    load_world(ws.engine)
    record = ws.run(["golden", "profiles"])
    assert record.status == "succeeded", record.error
    return ws


def test_extra_parts_become_objects_and_lists(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    load_world(engine)
    engine.materialise("scores_x", ibis.memtable(pd.DataFrame(
        {"customer_id": ["C-ANNA"], "tier": ["top"], "_hidden": [1],
         "at": [datetime(2024, 1, 2, 3, 4)]})))  # fmt: skip
    engine.materialise("tags_x", ibis.memtable(pd.DataFrame(
        {"customer_id": ["C-ANNA", "C-ANNA"], "tag": ["b", "a"]})))  # fmt: skip
    extras = {
        "attributes": Extra(engine.table("scores_x")),
        "tags": Extra(engine.table("tags_x"), many=True, order_by=("tag",)),
    }
    docs = documents(engine, extras=extras)
    assert docs["C-ANNA"]["attributes"] == {"tier": "top", "at": "2024-01-02T03:04:00+00:00"}
    assert docs["C-ANNA"]["tags"] == [{"tag": "a"}, {"tag": "b"}]
    assert (docs["C-BO"]["attributes"], docs["C-BO"]["tags"]) == (None, [])
    # A build for one customer gives the same parts.
    assert documents(engine, extras=extras, customer_ids=["C-ANNA"])["C-ANNA"] == docs["C-ANNA"]


def stored(store: ProfileStore, customer_id: str) -> dict[str, Any]:
    raw = store.get(customer_id)
    assert raw is not None, customer_id
    return dict(orjson.loads(raw))


def test_the_pipeline_writes_one_document_per_customer(built: Workspace) -> None:
    store = ProfileStore.for_workspace(built.path)
    run = built.runs()[0]
    step = {s.step: s for s in run.step_records}["profiles"]
    assert (step.status, step.summary["customers"]) == ("succeeded", len(CUSTOMERS))
    assert (store.info()["customers"], store.info()["updated_by"]) == (len(CUSTOMERS), run.run_id)
    # The settings' default of 25 entries, and the analyses' parts (segments exist, empty).
    fresh = documents(built.engine, extras=analysis_extras(built.engine))
    assert fresh["C-ANNA"]["segments"] == []
    for cid in CUSTOMERS:
        doc = stored(store, cid)
        assert doc.pop("materialised_at") != NOW.isoformat()
        assert doc == {k: v for k, v in fresh[cid].items() if k != "materialised_at"}
    assert store.find("Anna@Example.se") == "C-ANNA"
    assert [h["customer_id"] for h in store.search("eva lind").data] == ["C-EVA"]
    store.close()


def test_refreshing_a_customer_shows_a_new_event(built: Workspace) -> None:
    ws, store = built, ProfileStore.for_workspace(built.path)
    anna, bo = stored(store, "C-ANNA"), store.get("C-BO")
    insert(ws.engine, "events", [
        {"_source": "events", "message_id": "m-new", "type": "track", "event": "Order Completed",
         "user_id": "u-anna", "timestamp": datetime(2024, 6, 1)},
    ])  # fmt: skip
    written = refresh_profiles(ws.engine, ws.settings, ws.layout, ["C-ANNA"], run_id="load-1")
    assert written == 1
    now = stored(store, "C-ANNA")
    assert [e["key"] for e in now["timeline"][:2]] == ["m-new", anna["timeline"][0]["key"]]
    assert now["timeline"][0]["summary"] == "Order Completed"
    assert now["timeline_counts"]["event"] == anna["timeline_counts"]["event"] + 1
    assert store.get("C-BO") == bo  # the others are not rewritten
    assert (store.info()["customers"], store.info()["updated_by"]) == (len(CUSTOMERS), "load-1")
    store.close()


def test_refreshing_does_nothing_before_the_first_build_or_when_off(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    load_world(ws.engine)
    assert refresh_profiles(ws.engine, ws.settings, ws.layout, ["C-ANNA"], run_id="r") == 0
    assert not ProfileStore(ws.layout.profiles_dir).exists()  # one customer would hide the rest
    report = build_profile_store(ws.engine, ws.settings, ws.layout, run_id="r")
    assert report.customers == len(CUSTOMERS)
    assert report.bytes == ProfileStore(ws.layout.profiles_dir).info()["bytes"] > 0
    off = ws.settings.model_copy(
        update={"profiles": ws.settings.profiles.model_copy(update={"refresh_on_load": False})}
    )
    assert refresh_profiles(ws.engine, off, ws.layout, ["C-ANNA"], run_id="r") == 0
    assert refresh_profiles(ws.engine, ws.settings, ws.layout, [], run_id="r") == 0
    assert refresh_profiles(ws.engine, ws.settings, ws.layout, ["C-ANNA"], run_id="r") == 1
