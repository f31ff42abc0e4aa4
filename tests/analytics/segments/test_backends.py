"""The same segments on every engine: the expressions use only portable operations."""

from __future__ import annotations

from insightloop import Workspace
from insightloop.analytics.segments import (
    attr,
    compile_segment,
    events,
    feedback,
    orders,
    purchases,
    refresh_segments,
    save_segment,
    segment_overlaps,
    segment_sizes,
)
from tests.analytics.segments.data import MALICIOUS, load_shop
from tests.decorator import mark_with_all_backends


@mark_with_all_backends
def test_the_examples_and_a_refresh_on_every_backend(workspace: Workspace) -> None:
    engine = workspace.engine
    shop = load_shop(engine)

    def members(rule: object) -> set[str]:
        return set(engine.to_pyarrow(compile_segment(rule, shop))["customer_id"].to_pylist())

    assert members(orders(within_days=90).count() >= 2) == {"c1", "c3", "c5"}
    same = events(event="Product Viewed", within_days=30).not_followed_by(
        purchases(same=["category"], within_days=14)
    )
    assert members(same) == {"c2", "c3", "c4", "c6"}
    detractor = feedback(survey_type="nps", within_days=30).where("nps", "le", 6)
    assert members(detractor) == {"c1", "c6"}
    top = (attr("value_tier") == "top") & ~(attr("lifecycle_stage") == "lapsed")
    assert members(top) == {"c1", "c6"}
    assert members(attr("categories").contains("bags") | (attr("value_tier") == MALICIOUS)) == {
        "c1",
        "c2",
        "c7",
    }
    assert members(orders(within_days=90).sum("amount") < 45) == {"c2", "c4", "c6", "c7"}

    save_segment(engine, "top", top)
    save_segment(engine, "two-orders", orders(within_days=90).count() >= 2)
    first = refresh_segments(engine, shop, shop.as_of)
    assert (first.entered, first.exited) == (5, 0)
    again = refresh_segments(engine, shop, shop.as_of, customer_ids=["c1", "c3"])
    assert (again.entered, again.exited) == (0, 0)
    assert segment_sizes(engine) == {"top": 2, "two-orders": 3}
    (overlap,) = segment_overlaps(engine)
    assert (overlap.both, overlap.jaccard) == (1, 0.25)
