"""A page of a customer's timeline (insightloop.profile.timeline_filters): whenever the profile
document answers a filter alone, it says what the whole history in the database says."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from insightloop import Workspace
from insightloop.profile import KINDS, ProfileQueryError
from insightloop.profile.timeline_filters import (
    DEFAULT_PAGE_ENTRIES,
    MAX_PAGE_ENTRIES,
    TimelineFilter,
    TimelinePage,
    from_document,
    from_engine,
    parse_day,
)
from insightloop.store import Engine
from tests.profile.people import CONFIG
from tests.profile.test_documents import CUSTOMERS, documents, load_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The world of tests/profile/test_documents.py (never changed by these tests)."""
    ws = Workspace.init(tmp_path_factory.mktemp("filters") / "ws")
    load_world(ws.engine)
    yield ws.engine
    ws.close()


@pytest.fixture(scope="module")
def histories(world: Engine) -> dict[str, list[dict[str, Any]]]:
    """Each customer's whole timeline from the database (read once: a read takes a while)."""
    docs = documents(world, timeline_entries=1)
    return {
        cid: from_engine(world, CONFIG, docs[cid], TimelineFilter(limit=MAX_PAGE_ENTRIES)).entries
        for cid in CUSTOMERS
    }


KIND_SETS = [KINDS, *((k,) for k in KINDS), ("order", "feedback"), ("event", "interaction")]
WINDOWS = [
    (None, None),
    (date(2024, 3, 1), None),
    (date(2024, 3, 9), None),
    (None, date(2024, 3, 8)),
    (date(2024, 2, 1), date(2024, 3, 9)),
    (date(2024, 4, 1), date(2024, 4, 1)),
]
FILTERS = [
    TimelineFilter(kinds, since, until, limit)
    for kinds, (since, until), limit in itertools.product(KIND_SETS, WINDOWS, (1, 2, 3, 25))
]


def _truth(history: list[dict[str, Any]], flt: TimelineFilter) -> tuple[list[Any], bool]:
    wanted = [e for e in history if flt.matches(e)]
    return wanted[: flt.limit], len(wanted) > flt.limit


def test_the_database_reads_the_filter(
    world: Engine, histories: dict[str, list[dict[str, Any]]]
) -> None:
    docs = documents(world, timeline_entries=1)
    filters = [
        TimelineFilter(("order", "feedback"), *WINDOWS[4], 1),
        TimelineFilter(("event",), *WINDOWS[2], 3),
        TimelineFilter(("campaign",), *WINDOWS[3], 2),
        TimelineFilter(KINDS, *WINDOWS[5], 2),
    ]
    for cid, flt in itertools.product(["C-ANNA", "C-DANA"], filters):
        page = from_engine(world, CONFIG, docs[cid], flt)
        assert (page.entries, page.more) == _truth(histories[cid], flt), (cid, flt)
    assert histories["C-ANNA"][0]["key"] == "m6"


@pytest.mark.parametrize("kept", [1, 2, 3, 4, 25])
def test_the_document_answers_only_what_the_whole_history_says(
    world: Engine, histories: dict[str, list[dict[str, Any]]], kept: int
) -> None:
    docs = documents(world, timeline_entries=kept)
    answered = 0
    for cid, flt in itertools.product(CUSTOMERS, FILTERS):
        page = from_document(docs[cid], flt)
        if page is not None:
            answered += 1
            assert (page.entries, page.more) == _truth(histories[cid], flt), (cid, flt)
        # The first page of everything is what the document keeps.
        if flt.all_kinds and flt.since is flt.until is None and flt.limit == kept:
            assert page is not None, cid
    assert answered > len(FILTERS)


def test_a_page_of_all_kinds_as_long_as_the_document_needs_no_query(world: Engine) -> None:
    anna = documents(world, customer_ids=["C-ANNA"], timeline_entries=4)["C-ANNA"]
    page = from_document(anna, TimelineFilter(limit=4))
    assert page is not None
    assert page.more  # Anna has 12 touchpoints, the document keeps 4
    assert [e["key"] for e in page.entries] == ["m6", "m5", "F-2", "I-3"]
    # Her two orders are older than the four kept: only the database has them.
    assert from_document(anna, TimelineFilter(kinds=("order",))) is None
    orders = from_engine(world, CONFIG, anna, TimelineFilter(kinds=("order",)))
    assert [e["kind"] for e in orders.entries] == ["order", "order"]
    assert not orders.more
    # Days after the oldest kept entry: every entry of them is kept.
    late = from_document(anna, TimelineFilter(since=date(2024, 3, 9)))
    assert late is not None
    assert [e["key"] for e in late.entries] == ["m6", "m5", "F-2"]


def test_nothing_chosen_is_an_empty_page(world: Engine) -> None:
    anna = documents(world, customer_ids=["C-ANNA"], timeline_entries=4)["C-ANNA"]
    nothing = TimelineFilter(kinds=())
    assert from_document(anna, nothing) == TimelinePage()
    assert from_engine(world, CONFIG, anna, nothing) == TimelinePage(source="engine")


def test_the_form_values_become_a_filter() -> None:
    assert TimelineFilter.parse(None) == TimelineFilter()
    assert TimelineFilter.parse([], chosen=True).kinds == ()
    flt = TimelineFilter.parse(["campaign", "order", ""], "2024-03-01", " ", 50, chosen=True)
    assert flt == TimelineFilter(("order", "campaign"), date(2024, 3, 1), None, 50)
    assert flt.window() == (datetime(2024, 3, 1), None)
    assert TimelineFilter.parse(None, until="2024-03-01").window() == (None, datetime(2024, 3, 2))
    assert TimelineFilter.parse(flt.kinds, "2024-03-01", None, 50, chosen=True) == flt
    assert flt.query() == [
        ("kinds", "order"), ("kinds", "campaign"), ("since", "2024-03-01"), ("limit", "50"),
        ("chosen", "1"),
    ]  # fmt: skip
    assert flt.more().limit == 50 + DEFAULT_PAGE_ENTRIES
    assert TimelineFilter(limit=MAX_PAGE_ENTRIES).more().limit == MAX_PAGE_ENTRIES


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["orders"],), "Unknown timeline kind(s): orders."),
        ((None, "1 March"), "The day 'from' is not a date."),
        ((None, None, "2024-13-01"), "The day 'to' is not a date."),
        ((None, "2024-03-02", "2024-03-01"), "The day 'from' is after the day 'to'."),
        ((None, None, None, 0), f"A page shows 1 to {MAX_PAGE_ENTRIES} entries."),
        (
            (None, None, None, MAX_PAGE_ENTRIES + 1),
            f"A page shows 1 to {MAX_PAGE_ENTRIES} entries.",
        ),
    ],
)
def test_a_filter_that_cannot_be_read_is_refused(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProfileQueryError) as caught:
        TimelineFilter.parse(*args)
    assert caught.value.message == message
    assert caught.value.hint


def test_entries_match_by_kind_and_day() -> None:
    flt = TimelineFilter(("order",), date(2024, 3, 1), date(2024, 3, 1))
    assert flt.matches({"kind": "order", "at": "2024-03-01T23:59:59+00:00"})
    # 00:30 in Stockholm is still the day before in UTC.
    assert not flt.matches({"kind": "order", "at": "2024-03-01T00:30:00+01:00"})
    assert not flt.matches({"kind": "order", "at": "2024-03-02T00:00:00+00:00"})
    assert not flt.matches({"kind": "event", "at": "2024-03-01T12:00:00+00:00"})
    assert not flt.matches({"kind": "order", "at": None})
    assert TimelineFilter().matches({"kind": "campaign", "at": None})
    assert parse_day("2024-02-29", "from") == date(2024, 2, 29)
