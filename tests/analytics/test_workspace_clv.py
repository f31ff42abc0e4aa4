"""Lifetime value of a workspace's customers: fitted from their orders, written per customer,
with a model file that describes itself; customers who stopped buying are less likely alive."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from insightloop import Workspace
from insightloop.analytics.clv import ClvFitError, load_model
from insightloop.analytics.config import analytics_config
from insightloop.analytics.workspace_clv import build_clv
from insightloop.identity.config import identity_config

AS_OF = date(2024, 12, 31)


def _shop(ws: Workspace, n: int = 400, seed: int = 7) -> set[str]:
    """``n`` customers buying at random over two years; half of them stop after the first."""
    rng = np.random.default_rng(seed)
    start = datetime(2023, 1, 1)
    customers, ids, orders, stopped = [], [], [], set()
    for i in range(n):
        cid = f"C{i:04d}"
        customers.append({"customer_id": cid, "created_at": start})
        ids.append({"id_type": "customer_key", "id_value": f"K{i}", "customer_id": cid})
        quits = i % 2 == 0
        end_day = 365 if quits else 730
        if quits:
            stopped.add(cid)
        # Customers differ in how often they buy and how much they spend.
        gap, mean_spend = float(rng.gamma(2.0, 25.0)), float(rng.gamma(3.0, 15.0))
        day = float(rng.integers(0, 200))
        k = 0
        while day < end_day:
            orders.append({
                "_source": "shop", "order_id": f"O{i}-{k}", "source_customer_key": f"K{i}",
                "ordered_at": start + timedelta(days=day), "currency": "EUR",
                "total_amount": float(rng.gamma(5.0, mean_spend / 5.0)), "channel": "web",
            })  # fmt: skip
            day += float(rng.exponential(gap))
            k += 1
    ws.engine.insert("customers", customers)
    ws.engine.insert("identifier_map", ids)
    ws.engine.insert("orders", orders)
    return stopped


def test_customers_who_stopped_buying_are_less_likely_alive(duckdb_workspace: Workspace) -> None:
    stopped = _shop(duckdb_workspace)
    report = build_clv(
        duckdb_workspace.engine,
        identity_config({}),
        analytics_config({}),
        as_of=AS_OF,
        models_dir=duckdb_workspace.layout.models_dir / "clv",
    )
    assert report.customers == 400
    assert set(report.params) == {"r", "alpha", "a", "b"}
    rows = duckdb_workspace.engine.records(duckdb_workspace.engine.table("customer_clv"))
    assert len(rows) == 400
    p_alive = {r["customer_id"]: r["p_alive"] for r in rows}
    assert all(0.0 <= p <= 1.0 for p in p_alive.values())
    quit_mean = np.mean([p for c, p in p_alive.items() if c in stopped])
    kept_mean = np.mean([p for c, p in p_alive.items() if c not in stopped])
    assert quit_mean < kept_mean - 0.2
    assert all(r["discounted_clv"] <= r["clv"] + 1e-9 for r in rows)
    assert report.totals["customers"] == 400
    model = load_model(duckdb_workspace.layout.models_dir / "clv" / "model.json")
    assert model.training_window["calibration_end"] == "2024-12-31"
    assert model.config["horizon_weeks"] == 52


def test_too_few_customers_are_said_not_fitted(duckdb_workspace: Workspace) -> None:
    _shop(duckdb_workspace, n=5)
    report = build_clv(
        duckdb_workspace.engine,
        identity_config({}),
        analytics_config({}),
        as_of=AS_OF,
        models_dir=duckdb_workspace.layout.models_dir / "clv",
    )
    assert report.note is not None
    assert "too few" in report.note
    assert not duckdb_workspace.engine.has_table("customer_clv")


def test_a_fit_the_data_cannot_identify_says_what_to_check(duckdb_workspace: Workspace) -> None:
    # Half the customers stop on one fixed day: no exponential lifetime, and Pareto/NBD's
    # dropout rate runs off to its bound.
    _shop(duckdb_workspace)
    with pytest.raises(ClvFitError, match="Pareto/NBD fit did not converge") as info:
        build_clv(
            duckdb_workspace.engine,
            identity_config({}),
            analytics_config({"clv": {"model": "paretonbd"}}),
            as_of=AS_OF,
            models_dir=duckdb_workspace.layout.models_dir / "clv",
        )
    assert "try the other model" in (info.value.hint or "")


def test_repeat_customers_without_order_value_get_the_average_spend(
    duckdb_workspace: Workspace,
) -> None:
    _shop(duckdb_workspace)
    # A customer whose repeat orders were free (a voucher): no spend to learn from.
    duckdb_workspace.engine.insert("customers", [{"customer_id": "C-FREE"}])
    duckdb_workspace.engine.insert(
        "identifier_map", [{"id_type": "customer_key", "id_value": "KF", "customer_id": "C-FREE"}]
    )
    duckdb_workspace.engine.insert("orders", [
        {"_source": "shop", "order_id": f"F{k}", "source_customer_key": "KF", "currency": "EUR",
         "ordered_at": datetime(2024, 3, 1) + timedelta(days=30 * k), "total_amount": amount}
        for k, amount in enumerate((25.0, 0.0, 0.0))
    ])  # fmt: skip
    build_clv(
        duckdb_workspace.engine,
        identity_config({}),
        analytics_config({}),
        as_of=AS_OF,
        models_dir=duckdb_workspace.layout.models_dir / "clv",
    )
    t = duckdb_workspace.engine.table("customer_clv")
    free = duckdb_workspace.engine.records(t.filter(t.customer_id == "C-FREE"))[0]
    spends = duckdb_workspace.engine.execute(t.expected_spend)
    assert free["expected_spend"] > 0
    assert spends.min() <= free["expected_spend"] <= spends.max()
