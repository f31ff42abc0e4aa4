"""Saved segments and membership history in the engine tables segments and segment_members."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import ibis
import pytest

from insightloop.analytics.segments import (
    SegmentDefinitionError,
    SegmentError,
    SegmentNotFoundError,
    SegmentSources,
    attr,
    current_members,
    delete_segment,
    get_segment,
    list_segments,
    orders,
    preview_count,
    refresh_segments,
    save_segment,
    segment,
    segment_overlaps,
    segment_sizes,
)
from insightloop.store import Engine
from tests.analytics.segments.data import MALICIOUS

T1, T2, T3, T4 = (dt.datetime(2024, 1, d) for d in (1, 2, 3, 4))


def people(**tiers: str | None) -> SegmentSources:
    """Sources holding only attributes: customer id -> value tier."""
    table = ibis.memtable(
        {"customer_id": list(tiers), "value_tier": list(tiers.values())},
        schema={"customer_id": "string", "value_tier": "string"},
    )
    return SegmentSources(table, as_of=T1)


def history(engine: Engine) -> list[tuple[Any, ...]]:
    table = engine.table("segment_members")
    rows = engine.records(table.order_by("segment_id", "customer_id", "entered_at"))
    return [(r["customer_id"], r["entered_at"], r["exited_at"]) for r in rows]


def test_save_get_list_and_versions(engine: Engine) -> None:
    first = save_segment(engine, "top", attr("value_tier") == "top", created_by="ana", now=T1)
    assert (first.name, first.kind, first.version, first.created_by) == ("top", "rule", 1, "ana")
    assert first.created_at == first.updated_at == T1
    assert first.segment_id.startswith("seg_")
    # The same definition again (also written as a dict) is no new version.
    same = {"attribute": "value_tier", "op": "eq", "value": "top"}
    assert save_segment(engine, "top", same, now=T2) == first
    changed = save_segment(engine, "top", attr("value_tier").isin(["top", "mid"]), now=T3)
    assert (changed.version, changed.segment_id, changed.created_at) == (2, first.segment_id, T1)
    assert changed.updated_at == T3
    assert get_segment(engine, "top") == changed
    assert engine.count("segments") == 1
    save_segment(engine, "a-first", attr("x") == 1, now=T1)
    assert [s.name for s in list_segments(engine)] == ["a-first", "top"]


@pytest.mark.parametrize("name", ["Top", "top value", "-top", "top--x", "", "a" * 65, MALICIOUS])
def test_names_are_slugs(engine: Engine, name: str) -> None:
    with pytest.raises(SegmentError, match="is not a valid segment name") as caught:
        save_segment(engine, name, attr("x") == 1)
    assert "lower-case letters" in (caught.value.hint or "")
    assert engine.count("segments") == 0


def test_get_unknown_suggests_the_closest(engine: Engine) -> None:
    save_segment(engine, "lapsed-vip", attr("x") == 1)
    with pytest.raises(SegmentNotFoundError, match="no saved segment named 'lapsed-vp'") as caught:
        get_segment(engine, "lapsed-vp")
    assert (caught.value.hint or "").startswith("Did you mean 'lapsed-vip'?")


def test_references_are_checked_when_saving_and_deleting(engine: Engine) -> None:
    save_segment(engine, "top", attr("value_tier") == "top")
    with pytest.raises(SegmentDefinitionError, match="unknown segment 'tpo'"):
        save_segment(engine, "top-web", segment("tpo") & orders(channel="web"))
    save_segment(engine, "top-web", segment("top") & orders(channel="web"))
    with pytest.raises(SegmentDefinitionError, match="cycle: top -> top-web -> top"):
        save_segment(engine, "top", segment("top-web"))
    with pytest.raises(SegmentError, match="'top' is used by top-web"):
        delete_segment(engine, "top")
    delete_segment(engine, "top-web")
    delete_segment(engine, "top")
    assert list_segments(engine) == []
    with pytest.raises(SegmentNotFoundError):
        delete_segment(engine, "top")


def test_saving_with_sources_checks_columns(engine: Engine, shop: SegmentSources) -> None:
    with pytest.raises(SegmentDefinitionError, match="unknown attribute 'tier'"):
        save_segment(engine, "top", attr("tier") == "top", sources=shop)
    assert engine.count("segments") == 0


def test_history_enter_stay_exit_reenter(engine: Engine) -> None:
    save_segment(engine, "top", attr("value_tier") == "top", now=T1)
    report = refresh_segments(engine, people(a="top", b="top", c="low"), T1)
    assert (report.entered, report.exited) == (2, 0)
    assert history(engine) == [("a", T1, None), ("b", T1, None)]
    report = refresh_segments(engine, people(a="top", b="low", c="low"), T2)
    assert (report.entered, report.exited) == (0, 1)
    assert history(engine) == [("a", T1, None), ("b", T1, T2)]
    report = refresh_segments(engine, people(a=None, b="top", c="low"), T3)
    assert (report.entered, report.exited) == (1, 1)
    assert history(engine) == [("a", T1, T3), ("b", T1, T2), ("b", T3, None)]
    # Unchanged data: nothing changes.
    report = refresh_segments(engine, people(a=None, b="top", c="low"), T4)
    assert (report.entered, report.exited) == (0, 0)
    assert history(engine) == [("a", T1, T3), ("b", T1, T2), ("b", T3, None)]
    members = engine.execute(current_members(engine, "top"))
    assert members.to_dict("records") == [{"customer_id": "b", "entered_at": T3}]


def test_incremental_refresh_touches_only_the_given_customers(engine: Engine) -> None:
    save_segment(engine, "top", attr("value_tier") == "top")
    refresh_segments(engine, people(a="top", b="top", c="low"), T1)
    changed = people(a="low", b="low", c="top")
    report = refresh_segments(engine, changed, T2, customer_ids=["a", "c", "zz"])
    assert (report.entered, report.exited) == (1, 1)
    assert history(engine) == [("a", T1, T2), ("b", T1, None), ("c", T2, None)]
    refresh_segments(engine, changed, T3, customer_ids=[])
    assert history(engine) == [("a", T1, T2), ("b", T1, None), ("c", T2, None)]
    refresh_segments(engine, changed, T3)
    assert history(engine) == [("a", T1, T2), ("b", T1, T3), ("c", T2, None)]


def test_a_customer_who_disappears_exits(engine: Engine) -> None:
    save_segment(engine, "top", attr("value_tier") == "top")
    refresh_segments(engine, people(a="top", b="top"), T1)
    refresh_segments(engine, people(b="top"), T2, customer_ids=["a"])
    assert history(engine) == [("a", T1, T2), ("b", T1, None)]


def test_refresh_on_the_shop_with_references_sizes_and_overlaps(
    engine: Engine, shop: SegmentSources
) -> None:
    save_segment(engine, "two-orders", orders(within_days=90).count() >= 2)
    save_segment(engine, "top", attr("value_tier") == "top")
    save_segment(engine, "top-two", segment("top") & segment("two-orders"))
    save_segment(engine, "nobody", attr("value_tier") == MALICIOUS + "?")
    refresh_segments(engine, shop, shop.as_of)
    assert segment_sizes(engine) == {"nobody": 0, "top": 3, "top-two": 1, "two-orders": 3}
    overlaps = {(o.a, o.b): o for o in segment_overlaps(engine)}
    assert len(overlaps) == 6
    pair = overlaps.get(("top", "two-orders")) or overlaps[("two-orders", "top")]
    assert (pair.both, pair.jaccard) == (1, pytest.approx(1 / 5))
    assert {pair.size_a, pair.size_b} == {3}
    empty = [o for o in overlaps.values() if "nobody" in (o.a, o.b)]
    assert all(o.both == 0 and o.jaccard == 0.0 for o in empty)
    # A definition that no longer fits the sources names the segment in the path.
    without_orders = dataclasses.replace(shop, orders=None)
    with pytest.raises(SegmentDefinitionError) as caught:
        refresh_segments(engine, without_orders, shop.as_of)
    assert [p.path for p in caught.value.problems] == [
        "top-two:all[1].segment(two-orders)",
        "two-orders",
    ]


def test_delete_removes_the_history(engine: Engine) -> None:
    save_segment(engine, "top", attr("value_tier") == "top")
    save_segment(engine, "all", attr("value_tier").not_null() | attr("value_tier").is_null())
    refresh_segments(engine, people(a="top", b="low"), T1)
    assert engine.count("segment_members") == 3
    delete_segment(engine, "top")
    assert engine.count("segment_members") == 2
    assert segment_sizes(engine) == {"all": 2}


def test_preview_count(engine: Engine, shop: SegmentSources) -> None:
    save_segment(engine, "top", attr("value_tier") == "top")
    assert preview_count(engine, segment("top") & ~(attr("lifecycle_stage") == "lapsed"), shop) == 2
    assert preview_count(engine, orders(within_days=90).count() >= 2, shop, resolve={}) == 3
