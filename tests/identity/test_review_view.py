"""Reading the review queue, a customer's records, the merge log and the decisions for people who
decide (insightloop.identity.review_view), on the small company of test_decisions.py."""

from __future__ import annotations

import pytest

from insightloop import Workspace
from insightloop.identity.manual import UnknownCustomerError, UnknownReviewError
from insightloop.identity.records import person_records
from insightloop.identity.review_view import (
    COMPARED_FIELDS,
    PersonRecord,
    compare_records,
    customer_records,
    decision_outcome,
    decision_page,
    describe_records,
    merge_log_page,
    next_open_review,
    record_token,
    review_counts,
    review_detail,
    review_page,
    shown_record,
)
from insightloop.privacy import MASK
from tests.decorator import mark_with_all_backends
from tests.identity.test_decisions import CONFIG, _ids, _ready


@pytest.fixture
def ws(duckdb_workspace: Workspace) -> Workspace:
    return _ready(duckdb_workspace)


@mark_with_all_backends
def test_records_are_described_as_matching_describes_them(workspace: Workspace) -> None:
    ws = _ready(workspace)
    every = {
        (r["record_source"], r["record_key"]): r
        for r in person_records(ws.engine, CONFIG).to_pylist()
    }
    wanted = [
        ("crm", "C1"),
        ("id:user_id", "u1"),
        ("id:email", "guest@x.example"),
        ("loyalty", "L9"),
    ]
    described = describe_records(ws.engine, CONFIG, [*wanted, ("id:anonymous_id", "dev1")])
    for record in wanted:
        assert dict(described[record].fields) == {
            n: every[record][n] for n, _, _ in COMPARED_FIELDS
        }
    # The account's name comes from its order's shipping name, split as matching splits it.
    assert described[("id:user_id", "u1")].name == "Ada Byron"
    device = described[("id:anonymous_id", "dev1")]
    assert not device.described
    owners = {r: described[r].customer_id for r in described}
    assert len({owners[r] for r in (("crm", "C1"), ("id:user_id", "u1"), ("loyalty", "L9"))}) == 1
    assert described[("crm", "C1")].token == record_token("crm|C1")


def test_records_are_read_as_the_last_resolution_compared_them(ws: Workspace) -> None:
    engine = ws.engine
    compared = {
        (r["record_source"], r["record_key"]): r
        for r in engine.records(engine.table("identity_records"))
    }
    live = {
        (r["record_source"], r["record_key"]): r for r in person_records(engine, CONFIG).to_pylist()
    }
    assert compared.keys() == live.keys()
    assert {r["run_id"] for r in compared.values()} == {"r1"}
    # A source changes a record after the resolution: the pages show it as it was compared.
    engine.con.raw_sql("UPDATE src_customers SET first_name = 'Adelaide' WHERE source_key = 'C1'")
    now = {
        (r["record_source"], r["record_key"]): r for r in person_records(engine, CONFIG).to_pylist()
    }
    assert now[("crm", "C1")]["first_name"] != compared[("crm", "C1")]["first_name"]
    described = describe_records(engine, CONFIG, [("crm", "C1"), ("loyalty", "L9")])
    for record in (("crm", "C1"), ("loyalty", "L9")):
        assert dict(described[record].fields) == {
            n: compared[record][n] for n, _, _ in COMPARED_FIELDS
        }
    # A record the last resolution did not compare is described from the raw tables.
    engine.con.raw_sql("DELETE FROM identity_records WHERE record_key = 'C1'")
    again = describe_records(engine, CONFIG, [("crm", "C1"), ("loyalty", "L9")])
    assert again[("crm", "C1")].fields["first_name"] == now[("crm", "C1")]["first_name"]
    assert again[("loyalty", "L9")].fields == described[("loyalty", "L9")].fields


def test_the_queue_page_orders_and_compares_the_pairs(ws: Workspace) -> None:
    queue = ws.review_queue("open", None)
    page = review_page(ws.engine, CONFIG, "open", limit=1)
    assert [p.review_id for p in page.items] == [queue[0].review_id]
    assert (page.total, page.pages, page.number) == (len(queue), len(queue), 1)
    second = review_page(ws.engine, CONFIG, "open", limit=1, offset=1)
    assert [p.review_id for p in second.items] == [queue[1].review_id]
    assert review_counts(ws.engine) == {"open": 2, "accepted": 0, "rejected": 0, "all": 2}
    assert next_open_review(ws.engine) == queue[0].review_id
    alan_grace = next(p for p in queue if p.left.key == "C2")
    pair = review_detail(ws.engine, CONFIG, alan_grace.review_id)
    verdicts = {f.name: f.status for f in pair.fields}
    assert verdicts["first_name"] == verdicts["last_name"] == "differed"
    assert verdicts["email"] == verdicts["birth_date"] == "missing"
    assert pair.evidence == {"first_name": "exact", "email": "missing"}
    assert pair.guard is None
    assert not pair.same_customer
    assert pair.tally()["differed"] == 2
    with pytest.raises(UnknownReviewError):
        review_detail(ws.engine, CONFIG, "000000000000")


def test_masking_hides_values_and_keeps_verdicts(ws: Workspace) -> None:
    (ada,) = _ids(ws.engine, "crm|C1")
    pair = next(
        p
        for p in review_page(ws.engine, CONFIG, "all", limit=10).items
        if p.right.source == "id:user_id"
    )
    masked = pair.masked()
    assert [f.status for f in masked.fields] == [f.status for f in pair.fields]
    text = repr(masked)
    for value in ("Ada", "ADA", "Byron", "BYRON", "ada@x.example"):
        assert value not in text
    assert masked.right.fields["email"] == "***@x.example"
    assert masked.left.fields["first_name"] == MASK
    found = customer_records(ws.engine, CONFIG, ada)
    assert shown_record("id:email|guest@x.example", masked=True) == "id:email|***@x.example"
    assert all("Ada" not in repr(r) for r in found.masked().records)


def test_a_customer_its_records_and_the_history_of_decisions(ws: Workspace) -> None:
    ada, alan = _ids(ws.engine, "crm|C1", "crm|C2")
    found = customer_records(ws.engine, CONFIG, ada)
    assert found.total == 4
    assert [r.node for r in found.records] == sorted(
        ["crm|C1", "loyalty|L9", "id:user_id|u1", "id:anonymous_id|dev1"]
    )
    assert all(r.customer_id == ada and r.joined_at is not None for r in found.records)
    with pytest.raises(UnknownCustomerError):
        customer_records(ws.engine, CONFIG, "cus_nobody")
    assert merge_log_page(ws.engine, limit=10).items == []
    merged = ws.merge_customers([ada, alan], reason="same", actor="ann")
    split = ws.unmerge_records(ada, ["crm:C2"], reason="not him", actor="bo")
    log = merge_log_page(ws.engine, limit=1)
    assert [m["kind"] for m in log.items] == ["manual_unmerge"]
    assert (log.total, log.pages) == (len(ws.merge_log(None)), len(ws.merge_log(None)))
    decisions = decision_page(ws.engine, limit=10)
    assert [d.decision_id for d in decisions.items] == [
        d.decision_id for d in reversed(ws.identity_decisions())
    ]
    assert any(d.revoked_by == split.decision_id for d in decisions.items)
    outcome = decision_outcome(ws.engine, split.decision_id)
    assert outcome is not None
    assert (outcome.before_ids, outcome.after_ids) == (split.before_ids, split.after_ids)
    assert decision_outcome(ws.engine, merged.decision_id) is not None
    assert decision_outcome(ws.engine, "dec-none") is None


def test_compare_records_ignores_case_and_spacing() -> None:
    left = PersonRecord("crm", "C8", "t1", None, {"first_name": "Anna  Maria", "email": "a@x.se"})
    right = PersonRecord("crm", "C9", "t2", None, {"first_name": "anna maria", "email": " "})
    found = compare_records(left, right, {"first_name": "exact"})
    assert [f.name for f in found] == [name for name, _, _ in COMPARED_FIELDS]
    verdicts = {f.name: (f.status, f.level) for f in found}
    assert verdicts["first_name"] == ("matched", "exact")
    assert verdicts["email"] == ("missing", None)
    assert verdicts["city"] == ("missing", None)
