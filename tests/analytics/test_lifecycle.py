"""Lifecycle stages on the hand-checked shop, and the moves between them over two runs."""

from __future__ import annotations

from datetime import date, datetime

from insightloop import Workspace
from insightloop.analytics.activity import activity
from insightloop.analytics.lifecycle import HISTORY_TABLE, build_lifecycle
from insightloop.analytics.measures import build_measures
from tests.analytics.shop import AS_OF, CONFIG, IDENTITY, insert, load_shop
from tests.decorator import mark_with_all_backends

NOW = datetime(2024, 7, 10)


def _stages(ws: Workspace) -> dict[str, str]:
    rows = ws.engine.records(ws.engine.table("customer_lifecycle"))
    return {r["customer_id"]: r["lifecycle_stage"] for r in rows}


def _run(ws: Workspace, as_of: date) -> dict[str, object]:
    build_measures(ws.engine, IDENTITY, CONFIG, now=NOW, as_of=as_of)
    acts = activity(ws.engine, IDENTITY, CONFIG)
    return build_lifecycle(ws.engine, acts, CONFIG.lifecycle, as_of=as_of).to_dict()


@mark_with_all_backends
def test_stages_and_moves(workspace: Workspace) -> None:
    ws = workspace
    load_shop(ws.engine)
    insert(ws.engine, "customers", [{"customer_id": "C-DEE", "created_at": datetime(2024, 5, 1)}])
    insert(ws.engine, "identifier_map", [
        {"id_type": "loyalty_number", "id_value": "L4", "customer_id": "C-DEE"}])  # fmt: skip
    insert(ws.engine, "orders", [
        {"_source": "pos", "order_id": "D1", "source_customer_key": "L4", "currency": "EUR",
         "ordered_at": datetime(2024, 6, 1), "total_amount": 10.0}])  # fmt: skip

    first = _run(ws, AS_OF)
    # Ada buys about twice a year and last bought 10 days ago: active. Ben's one order is 18
    # months old: lapsed. Cy never ordered. Dee's first order is a month old.
    assert _stages(ws) == {"C-ADA": "active", "C-BEN": "lapsed", "C-CY": "prospect",
                           "C-DEE": "new"}  # fmt: skip
    assert first["moved"] == 4
    # The same day again: nothing moves, no history is added.
    assert _run(ws, AS_OF)["moved"] == 0
    assert ws.engine.count(HISTORY_TABLE) == 4

    # Ben comes back after a pause of 17 months.
    insert(ws.engine, "orders", [
        {"_source": "pos", "order_id": "B2", "source_customer_key": "L2", "currency": "EUR",
         "ordered_at": datetime(2024, 7, 1), "total_amount": 15.0}])  # fmt: skip
    later = date(2024, 7, 2)
    second = _run(ws, later)
    assert _stages(ws)["C-BEN"] == "won_back"
    assert second["transitions"] == {"lapsed->won_back": 1}
    history = ws.engine.records(ws.engine.table(HISTORY_TABLE).order_by("entered_at"))
    ben = [(r["stage"], r["exited_at"]) for r in history if r["customer_id"] == "C-BEN"]
    assert ben == [("lapsed", datetime(2024, 7, 3)), ("won_back", None)]
