"""The behaviour tables are built when first read, once, and derived sets stay lazy (the
workspace's tables themselves are checked by every measure, segment and slicing test)."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import pytest

from insightloop.analytics.activity import BEHAVIOURS, Activity


def _tables() -> tuple[dict[str, Callable[[], ir.Table]], list[str]]:
    built: list[str] = []

    def builder(name: str) -> Callable[[], ir.Table]:
        def build() -> ir.Table:
            built.append(name)
            return ibis.table({"customer_id": "string", "at": "timestamp"}, name=name)

        return build

    return {b: builder(b) for b in BEHAVIOURS}, built


def test_a_table_is_built_on_first_use_and_once() -> None:
    given, built = _tables()
    acts = Activity(**given)
    assert built == []
    assert acts.orders.get_name() == "orders"
    assert acts.get("orders") is acts.orders
    assert built == ["orders"]
    later = acts.until(ibis.literal("2024-01-01").cast("timestamp")).replace(
        contacts=ibis.table({"customer_id": "string", "at": "timestamp"}, name="staged")
    )
    assert built == ["orders"]
    assert later.contacts.get_name() == "staged"
    later.events.count()
    assert built == ["orders", "events"]
    with pytest.raises(KeyError):
        acts.get("visits")


def test_every_behaviour_must_be_given() -> None:
    given, _ = _tables()
    del given["feedback"]
    with pytest.raises(TypeError, match="missing \\['feedback'\\]"):
        Activity(**given)
