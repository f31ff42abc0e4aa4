"""The personas' feature table of a workspace, computed in the engine and checked by hand on the
small shop (tests/analytics/shop.py), on DuckDB and Spark; the orders' discount and returned value
taken from their lines when the order has none (the discount share reads them); and the personas
step on a workspace whose earlier model used other features."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.analytics.activity import activity
from insightloop.analytics.measures import build_measures
from insightloop.analytics.personas import PersonaModel
from insightloop.analytics.workspace_personas import SHARE_PRIOR, build_personas, features_expr
from tests.analytics.shop import AS_OF, CONFIG, IDENTITY, insert, load_shop
from tests.decorator import mark_with_all_backends

NOW = datetime(2024, 7, 1)


def _shrunk(count: float, total: float, base: float) -> float:
    return (count + SHARE_PRIOR * base) / (total + SHARE_PRIOR)


@mark_with_all_backends
def test_features_are_the_shrunk_shares_age_and_value_of_every_buyer(
    workspace: Workspace,
) -> None:
    engine = workspace.engine
    load_shop(engine)
    # A line discount on an order without an order-level discount; Ada's birthday; Ben's birth
    # date a placeholder that must read as unknown.
    insert(engine, "order_items", [
        {"order_id": "O2", "line_number": 3, "sku": "B", "quantity": 1, "unit_price": 6.0,
         "line_amount": 6.0, "discount_amount": 4.0},
    ])  # fmt: skip
    for cid, born in (("C-ADA", date(1990, 6, 30)), ("C-BEN", date(1900, 1, 1))):
        engine.update_matching("customers", pa.table({"customer_id": [cid]}), {"birth_date": born})
    build_measures(engine, IDENTITY, CONFIG, now=NOW, as_of=AS_OF)
    acts = activity(engine, IDENTITY, CONFIG)
    rows = {r["customer_id"]: r for r in engine.records(features_expr(engine, acts, AS_OF))}

    # Cy never ordered: no row. Orders up to the as-of day, cancelled ones left out: Ada has
    # three store orders and one on the web, Ben one in store (4 of 5 in store).
    assert set(rows) == {"C-ADA", "C-BEN"}
    ada, ben = rows["C-ADA"], rows["C-BEN"]
    assert (ada["orders"], ben["orders"]) == (4, 1)
    assert ada["share_store"] == pytest.approx(_shrunk(3, 4, 4 / 5))
    assert ada["share_web"] == pytest.approx(_shrunk(1, 4, 1 / 5))
    assert ben["share_store"] == pytest.approx(_shrunk(1, 1, 4 / 5))
    # Lines: Ada toys, books, books (O2) and toys (O3); Ben books (O7). By lines, not units.
    assert ada["share_cat_toys"] == pytest.approx(_shrunk(2, 4, 2 / 5))
    assert ada["share_cat_books"] == pytest.approx(_shrunk(2, 4, 3 / 5))
    assert ben["share_cat_books"] == pytest.approx(_shrunk(1, 1, 3 / 5))
    # One discounted line of five.
    assert ada["discount_share"] == pytest.approx(_shrunk(1, 4, 1 / 5))
    assert ben["discount_share"] == pytest.approx(_shrunk(0, 1, 1 / 5))
    assert ada["age_years"] == pytest.approx(34.0, abs=0.01)
    assert ben["age_years"] is None
    assert ada["top_channel"] == "store"


def test_an_order_without_its_own_discount_or_returns_takes_its_lines(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    load_shop(engine)
    insert(engine, "order_items", [
        {"order_id": "O2", "line_number": 3, "sku": "B", "quantity": 3, "unit_price": 6.0,
         "line_amount": 18.0, "discount_amount": 4.0, "returned_quantity": 2},
        {"order_id": "O3", "line_number": 2, "sku": "B", "quantity": 1, "unit_price": 6.0,
         "line_amount": 6.0, "discount_amount": 9.0, "returned_quantity": 1},
    ])  # fmt: skip
    orders = engine.to_pyarrow(activity(engine, IDENTITY, CONFIG).orders).to_pylist()
    got = {r["order_id"]: (r["discount"], r["returned"]) for r in orders}
    # O2 has none of its own: its lines' (2 of 3 units of 18 returned). O3 has its own (50 and
    # 400 SEK at 0.1), which win. O1 has neither, nor lines.
    assert got["O2"] == pytest.approx((4.0, 12.0))
    assert got["O3"] == pytest.approx((5.0, 40.0))
    assert got["O1"] == (None, None)


def _two_types(ws: Workspace, n: int = 120) -> None:
    """Store regulars buying toys, and app shoppers buying books on discount."""
    rng = np.random.default_rng(3)
    customers, ids, orders, lines = [], [], [], []
    products = [
        {"_source": "cat", "sku": "T", "category": "toys", "currency": "EUR"},
        {"_source": "cat", "sku": "B", "category": "books", "currency": "EUR"},
    ]
    for i in range(n):
        cid, app = f"C{i:03d}", i % 2 == 1
        customers.append({"customer_id": cid, "created_at": datetime(2023, 1, 1)})
        ids.append({"id_type": "customer_key", "id_value": f"K{i}", "customer_id": cid})
        for k in range(int(rng.integers(2, 6))):
            oid = f"O{i}-{k}"
            orders.append({
                "_source": "shop", "order_id": oid, "source_customer_key": f"K{i}",
                "ordered_at": datetime(2023, 2, 1) + timedelta(days=int(rng.integers(0, 400))),
                "currency": "EUR", "total_amount": float(rng.gamma(4.0, 10.0)),
                "channel": "app" if app else "store",
            })  # fmt: skip
            lines.append({
                "order_id": oid, "line_number": 1, "sku": "B" if app else "T", "quantity": 1,
                "unit_price": 10.0, "discount_amount": 3.0 if app else None,
            })  # fmt: skip
    ws.engine.insert("customers", customers)
    ws.engine.insert("identifier_map", ids)
    ws.engine.insert("orders", orders)
    ws.engine.insert("order_items", lines)
    ws.engine.insert("products", products)


def test_personas_start_afresh_when_the_previous_model_used_other_features(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    _two_types(ws)
    build_measures(ws.engine, IDENTITY, CONFIG, now=NOW, as_of=AS_OF)
    acts = activity(ws.engine, IDENTITY, CONFIG)
    models = ws.layout.models_dir / "personas"
    first = build_personas(ws.engine, acts, as_of=AS_OF, models_dir=models, now=NOW, k=2)
    assert first.k == 2
    sizes = sorted(p["share"] for p in first.personas)
    assert sizes == pytest.approx([0.5, 0.5])
    # The same run again keeps the ids.
    again = build_personas(ws.engine, acts, as_of=AS_OF, models_dir=models, now=NOW, k=2)
    assert [p["persona_id"] for p in again.personas] == [p["persona_id"] for p in first.personas]
    assert again.new == ()
    # A model fitted on a feature the table no longer has (an older release's) is not reused.
    model_file = models / "model.json"
    model = PersonaModel.load(model_file)
    assert "share_app" in model.feature_columns
    renamed = tuple(c if c != "share_app" else "app_share" for c in model.feature_columns)
    replace(model, feature_columns=renamed).save(model_file)
    fresh = build_personas(ws.engine, acts, as_of=AS_OF, models_dir=models, now=NOW, k=2)
    assert (fresh.k, len(fresh.new)) == (2, 2)
