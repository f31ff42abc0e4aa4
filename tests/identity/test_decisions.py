"""Manual identity decisions: merge, unmerge, accept and reject are applied at once, audited, and
respected by every later run and by a rebuild from nothing (insightloop.identity.decisions and
.manual, through the Workspace API).

The probabilistic step is a fixed set of links and review pairs, as in test_resolve.py.
"""

from __future__ import annotations

from datetime import datetime

import orjson
import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.errors import IdentityDecisionError
from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.identity.decisions import plan_decision
from insightloop.identity.ids import new_customer_id
from insightloop.identity.manual import (
    AlreadyDecidedError,
    UnknownCustomerError,
    UnknownReviewError,
)
from insightloop.identity.resolve import (
    ProbabilisticLinks,
    ResolveReport,
    resolve_identities,
    review_id,
)
from insightloop.pipeline.profiles import build_profile_store
from insightloop.profile import build_golden_records
from insightloop.profile.store import ProfileStore
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends
from tests.identity.test_resolve import _customer

NOW = datetime(2025, 1, 1)
KEYS = {"customer_keys": {"shop": "user_id"}}
CONFIG = identity_config(KEYS)

Pair = tuple[str, str, str, str]
ADA = [("crm", "C1", "id:user_id", "u1"), ("crm", "C1", "loyalty", "L9")]
REVIEW = [("crm", "C2", "crm", "C3"), ("loyalty", "L9", "id:user_id", "u1")]
ADA_RECORDS = {"crm|C1", "loyalty|L9", "id:user_id|u1", "id:anonymous_id|dev1"}


def _fixture(engine: Engine) -> None:
    engine.insert(
        "src_customers",
        [
            _customer("crm", "C1", first_name="Ada", last_name="Byron", email="ada@x.example"),
            _customer("crm", "C2", first_name="Alan", last_name="Turing", phone="+441111"),
            _customer("loyalty", "L9", first_name="ADA", last_name="BYRON", loyalty_number="L9"),
            _customer("crm", "C3", first_name="Grace", last_name="Hopper", loyalty_number="L7"),
            _customer("loyalty", "L7", first_name="Grace", last_name="Hopper", loyalty_number="L7"),
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
        ],
    )  # fmt: skip
    engine.insert(
        "events",
        [{"message_id": "m1", "type": "identify", "anonymous_id": "dev1", "user_id": "u1"}],
    )


def _table(pairs: list[Pair], score: float) -> pa.Table:
    columns = ("left_source", "left_key", "right_source", "right_key")
    data: dict[str, list[object]] = {c: [p[i] for p in pairs] for i, c in enumerate(columns)}
    data["score"] = [score] * len(pairs)
    data["evidence"] = ['{"first_name": "exact", "email": "missing", "guard": null}'] * len(pairs)
    schema = pa.schema([*((c, pa.string()) for c in columns), ("score", pa.float64()),
                        ("evidence", pa.string())])  # fmt: skip
    return pa.table(data, schema=schema)


def _resolve(
    engine: Engine, run: str, links: list[Pair] = ADA, review: list[Pair] = REVIEW
) -> ResolveReport:
    found = ProbabilisticLinks(_table(links, 0.999), _table(review, 0.9), {})

    def find(engine: Engine, records: pa.Table, config: IdentityConfig) -> ProbabilisticLinks:
        return found

    return resolve_identities(engine, CONFIG, run_id=run, now=NOW, find_links=find)


def _customers(engine: Engine) -> dict[str, str]:
    rows = engine.records(engine.table("customer_map"))
    return {f"{r['source']}|{r['source_key']}": r["customer_id"] for r in rows}


def _clusters(engine: Engine) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record, customer in _customers(engine).items():
        groups.setdefault(customer, set()).add(record)
    return {frozenset(g) for g in groups.values()}


def _cluster_of(engine: Engine, record: str) -> frozenset[str]:
    return next(c for c in _clusters(engine) if record in c)


def _rebuild(engine: Engine, run: str, **kwargs: list[Pair]) -> None:
    """Forget every customer id and resolve from nothing (the decisions stay)."""
    cmap = engine.table("customer_map")
    engine.delete_matching("customer_map", engine.to_pyarrow(cmap.select("source").distinct()))
    assert engine.count("customer_map") == 0
    _resolve(engine, run, **kwargs)


def _ready(ws: Workspace) -> Workspace:
    ws.add_config_section("identity", KEYS)
    _fixture(ws.engine)
    _resolve(ws.engine, "r1")
    return ws


@pytest.fixture
def ws(duckdb_workspace: Workspace) -> Workspace:
    return _ready(duckdb_workspace)


def _ids(engine: Engine, *records: str) -> list[str]:
    ids = _customers(engine)
    return [ids[r] for r in records]


# -- merge ---------------------------------------------------------------------------------------


@mark_with_all_backends
def test_a_merge_survives_a_rerun(workspace: Workspace) -> None:
    ws = _ready(workspace)
    ada, alan = _ids(ws.engine, "crm|C1", "crm|C2")
    result = ws.merge_customers([alan, ada], reason="same person, confirmed", actor="ann")
    # The customer with most records survives; the golden records follow.
    assert result.before_ids == tuple(sorted([ada, alan]))
    assert result.after_ids == (ada,)
    merged = _customers(ws.engine)
    assert {merged[r] for r in (*ADA_RECORDS, "crm|C2")} == {ada}
    golden = {r["customer_id"] for r in ws.engine.records(ws.engine.table("customers"))}
    assert ada in golden
    assert alan not in golden
    _resolve(ws.engine, "r2")
    assert _customers(ws.engine) == merged


def test_a_merge_is_applied_audited_and_survives_a_rebuild(ws: Workspace) -> None:
    engine = ws.engine
    ada, alan = _ids(engine, "crm|C1", "crm|C2")
    result = ws.merge_customers([ada, alan], reason="same person", actor="ann")
    (decision,) = ws.identity_decisions()
    assert (decision.decision_id, decision.kind, decision.actor) == (
        result.decision_id, "merge", "ann")  # fmt: skip
    assert set(decision.left_records) == ADA_RECORDS | {"crm|C2"}
    (log,) = ws.merge_log()
    assert (log["kind"], log["before_ids"], log["after_ids"], log["actor"], log["reason"]) == (
        "manual_merge", sorted([ada, alan]), [ada], "ann", "same person")  # fmt: skip
    # Alan's phone now finds the merged customer; manual links are kept with the decision.
    idmap = engine.table("identifier_map")
    phone = engine.records(idmap.filter(idmap.id_value == "+441111"))
    assert [r["customer_id"] for r in phone] == [ada]
    links = engine.table("identity_links")
    manual = engine.records(links.filter(links.rule == "manual"))
    assert len(manual) == len(ADA_RECORDS)
    assert result.decision_id in manual[0]["evidence"]
    clusters = _clusters(engine)
    _rebuild(engine, "r2")
    assert _clusters(engine) == clusters
    assert _cluster_of(engine, "crm|C2") == frozenset(ADA_RECORDS | {"crm|C2"})


# -- unmerge -------------------------------------------------------------------------------------


def test_an_unmerge_survives_a_rerun_and_a_rebuild(ws: Workspace) -> None:
    engine = ws.engine
    (ada,) = _ids(engine, "crm|C1")
    taken = set(_customers(engine).values())
    result = ws.unmerge_records(ada, ["crm:C1"], reason="different person", actor="bo")
    ids = _customers(engine)
    # The records taken out get a new id from their smallest record; the rest keeps the id,
    # and the card, linked only through C1, falls off as a customer of its own.
    assert ids["crm|C1"] == new_customer_id("crm|C1", taken)
    assert ids["id:user_id|u1"] == ids["id:anonymous_id|dev1"] == ada
    assert ids["loyalty|L9"] not in {ada, ids["crm|C1"]}
    assert result.before_ids == (ada,)
    assert set(result.after_ids) == {ada, ids["crm|C1"], ids["loyalty|L9"]}
    log = ws.merge_log()
    assert log[0]["kind"] == "manual_unmerge"
    assert log[0]["actor"] == "bo"
    links = engine.table("identity_links")
    overridden = engine.records(links.filter(links.overridden_by.notnull()))
    assert {r["overridden_by"] for r in overridden} == {result.decision_id}
    assert len(overridden) == 2  # C1 to the account and to the card
    _resolve(engine, "r2")
    assert _customers(engine) == ids
    clusters = _clusters(engine)
    _rebuild(engine, "r3")
    assert _clusters(engine) == clusters


def test_an_unmerge_holds_against_a_path_through_new_records(ws: Workspace) -> None:
    engine = ws.engine
    (ada,) = _ids(engine, "crm|C1")
    ws.unmerge_records(
        ada, ["id:user_id:u1", ("id:anonymous_id", "dev1")], reason="shared login", actor="bo"
    )
    apart = _ids(engine, "id:user_id|u1")[0]
    # A new record links to both sides, and a new device logs in to the account taken out.
    engine.insert("src_customers", [_customer("crm", "C5", first_name="Ada", last_name="B")])
    engine.insert(
        "events",
        [{"message_id": "m9", "type": "identify", "anonymous_id": "dev3", "user_id": "u1"}],
    )
    links = [*ADA, ("crm", "C5", "id:user_id", "u1"), ("crm", "C1", "crm", "C5")]
    report = _resolve(engine, "r2", links=links)
    assert report.overridden_links == 2  # C1-u1 (between the sides), C5-u1 (isolation)
    ids = _customers(engine)
    assert _cluster_of(engine, "id:user_id|u1") == frozenset(
        {"id:user_id|u1", "id:anonymous_id|dev1", "id:anonymous_id|dev3"}
    )
    assert ids["id:user_id|u1"] == apart
    assert ids["crm|C5"] == ids["crm|C1"] == ids["loyalty|L9"]
    _rebuild(engine, "r3", links=links)
    assert _cluster_of(engine, "id:user_id|u1") == frozenset(
        {"id:user_id|u1", "id:anonymous_id|dev1", "id:anonymous_id|dev3"}
    )


# -- the review queue ------------------------------------------------------------------------------


def test_accept_and_reject_are_applied_and_respected(ws: Workspace) -> None:
    engine = ws.engine
    queue = ws.review_queue()
    assert {p.review_id for p in queue} == {review_id(*REVIEW[0]), review_id(*REVIEW[1])}
    (first,) = [p for p in queue if p.review_id == review_id(*REVIEW[0])]
    assert (first.left.name, first.right.name) == ("Alan Turing", "Grace Hopper")
    assert first.evidence_summary() == "first_name exact"
    accepted = ws.decide_review(first.review_id, True, actor="cy")
    assert _cluster_of(engine, "crm|C2") == frozenset({"crm|C2", "crm|C3", "loyalty|L7"})
    assert len(accepted.before_ids) == 2
    assert len(accepted.after_ids) == 1
    rejected = ws.decide_review(review_id(*REVIEW[1]), False, actor="cy", reason="twins")
    # L9 and u1 were one customer through C1: the card is isolated, the rest keeps the id.
    assert _cluster_of(engine, "loyalty|L9") == frozenset({"loyalty|L9"})
    assert rejected.after_ids != rejected.before_ids
    decided = {p.review_id: (p.status, p.decided_by) for p in ws.review_queue(status="all")}
    assert set(decided.values()) == {("accepted", "cy"), ("rejected", "cy")}
    assert ws.review_queue() == []
    kinds = [r["kind"] for r in ws.merge_log()]
    assert kinds == ["manual_unmerge", "manual_merge"]
    ids = _customers(engine)
    _resolve(engine, "r2")
    assert _customers(engine) == ids
    assert {p.status for p in ws.review_queue(status="all")} == {"accepted", "rejected"}
    clusters = _clusters(engine)
    _rebuild(engine, "r3")
    assert _clusters(engine) == clusters


def test_deciding_a_pair_again_the_other_way_revokes_the_first_decision(ws: Workspace) -> None:
    pair = review_id(*REVIEW[0])
    first = ws.decide_review(pair, True, actor="cy")
    with pytest.raises(AlreadyDecidedError, match="already accepted by cy") as error:
        ws.decide_review(pair, True, actor="cy")
    assert error.value.hint is not None
    assert "reject" in error.value.hint
    second = ws.decide_review(pair, False, actor="di")
    assert second.revoked == (first.decision_id,)
    decisions = {d.decision_id: d for d in ws.identity_decisions()}
    assert decisions[first.decision_id].revoked_by == second.decision_id
    assert decisions[first.decision_id].revoked_at is not None
    assert decisions[second.decision_id].active
    assert _cluster_of(ws.engine, "crm|C2") == frozenset({"crm|C2"})
    assert ws.review_queue(status="rejected")[0].decided_by == "di"


# -- revocation ----------------------------------------------------------------------------------


def test_an_unmerge_revokes_the_merge_it_contradicts_and_keeps_the_rest(ws: Workspace) -> None:
    engine = ws.engine
    ada, alan = _ids(engine, "crm|C1", "crm|C2")
    merge = ws.merge_customers([ada, alan], reason="same person", actor="ann")
    unmerge = ws.unmerge_records(ada, ["crm|C2"], reason="no, a colleague", actor="bo")
    assert unmerge.revoked == (merge.decision_id,)
    decisions = ws.identity_decisions()
    active = [d for d in decisions if d.active]
    assert sorted(d.kind for d in active) == ["merge", "unmerge"]
    (kept,) = [d for d in active if d.kind == "merge"]
    assert set(kept.left_records) == ADA_RECORDS  # what the unmerge did not contradict
    assert _cluster_of(engine, "crm|C1") == frozenset(ADA_RECORDS)
    # Without the links, Ada's records stay together by the kept must-link.
    _resolve(engine, "r2", links=[])
    assert _cluster_of(engine, "crm|C1") == frozenset(ADA_RECORDS)
    assert _cluster_of(engine, "crm|C2") == frozenset({"crm|C2"})
    # Merging again revokes the unmerge.
    (alan_now,) = _ids(engine, "crm|C2")
    again = ws.merge_customers([ada, alan_now], reason="it was him after all", actor="ann")
    assert again.revoked == (unmerge.decision_id,)
    assert _cluster_of(engine, "crm|C2") == frozenset(ADA_RECORDS | {"crm|C2"})


def test_an_unmerge_split_by_a_later_one_keeps_its_cannot_link() -> None:
    at = datetime(2025, 1, 1)
    first = plan_decision(
        [], "unmerge", ["a|1", "a|2"], ["b|1"], reason="r", actor="x", now=at
    ).decision
    plan = plan_decision([first], "unmerge", ["a|2"], ["a|1"], reason="r", actor="x", now=at)
    assert plan.revoked == (first,)
    kept = sorted((d.kind, d.left_records, d.right_records) for d in plan.replacements)
    assert kept == [("unmerge", ("a|1",), ("b|1",)), ("unmerge", ("a|2",), ("b|1",))]
    # A reject is revoked by an accept of the same pair, and leaves nothing behind.
    reject = plan_decision([], "reject", ["a|1"], ["b|1"], reason="r", actor="x", now=at).decision
    accept = plan_decision([reject], "accept", ["a|1"], ["b|1"], reason="r", actor="x", now=at)
    assert (accept.revoked, accept.replacements) == ((reject,), ())


# -- errors --------------------------------------------------------------------------------------


def test_invalid_decisions_fail_with_a_hint_and_change_nothing(ws: Workspace) -> None:
    engine = ws.engine
    ada, alan, guest = _ids(engine, "crm|C1", "crm|C2", "id:email|guest@x.example")
    before = _customers(engine)
    with pytest.raises(UnknownCustomerError, match="cus_nobody"):
        ws.merge_customers([ada, "cus_nobody"], reason="r")
    with pytest.raises(IdentityDecisionError, match="merged with itself"):
        ws.merge_customers([ada, ada], reason="r")
    with pytest.raises(IdentityDecisionError, match="merged with itself"):
        ws.merge_customers([ada], reason="r")
    with pytest.raises(IdentityDecisionError, match="reason is required"):
        ws.merge_customers([ada, alan], reason=" ")
    with pytest.raises(IdentityDecisionError, match="No records"):
        ws.unmerge_records(ada, [], reason="r")
    with pytest.raises(IdentityDecisionError, match="Every record"):
        ws.unmerge_records(ada, sorted(ADA_RECORDS), reason="r")
    with pytest.raises(IdentityDecisionError, match="not records of customer") as error:
        ws.unmerge_records(ada, ["crm:C1", "id:email:guest@x.example", "crm:C2"], reason="r")
    assert "guest@" not in str(error.value)
    assert "id:email|<e-mail>" in str(error.value)
    with pytest.raises(IdentityDecisionError, match="SOURCE:KEY"):
        ws.unmerge_records(guest, ["guest@x.example"], reason="r")
    with pytest.raises(UnknownReviewError, match="nope"):
        ws.decide_review("nope", True)
    with pytest.raises(IdentityDecisionError, match="Unknown review status"):
        ws.review_queue(status="pending")
    assert _customers(engine) == before
    assert ws.identity_decisions() == []
    assert ws.merge_log() == []


# -- the profile store follows ------------------------------------------------------------------


def test_the_profile_store_follows_a_merge_and_an_unmerge(ws: Workspace) -> None:
    build_golden_records(ws.engine, CONFIG, run_id="r1")
    build_profile_store(ws.engine, ws.settings, ws.layout, run_id="r1")
    store = ProfileStore(ws.layout.profiles_dir)
    ada, alan = _ids(ws.engine, "crm|C1", "crm|C2")
    assert store.find("+441111") == alan

    ws.merge_customers([ada, alan], reason="same person", actor="ann")
    assert store.get(alan) is None  # merged away: no stale document left to serve
    assert store.find("+441111") == ada == store.find("ada@x.example")
    merged = orjson.loads(store.get(ada) or b"{}")
    assert {"+441111", "L9"} <= {i["value"] for i in merged["identifiers"]}

    ws.unmerge_records(ada, ["crm:C2"], reason="not the same after all", actor="ann")
    (split,) = _ids(ws.engine, "crm|C2")
    assert store.find("+441111") == split != ada
    assert store.find("ada@x.example") == ada
    golden = {r["customer_id"] for r in ws.engine.records(ws.engine.table("customers"))}
    assert store.info()["customers"] == len(golden)
