"""Measures, RFM scores and value tiers against a shop whose figures are known by hand."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from insightloop import Workspace
from insightloop.analytics.activity import activity
from insightloop.analytics.config import analytics_config
from insightloop.analytics.measures import (
    MEASURES_TABLE,
    build_measures,
    measures_expr,
    refresh_measures,
)
from insightloop.errors import ConfigError, PipelineError
from tests.analytics.shop import AS_OF, CONFIG, IDENTITY, load_shop
from tests.decorator import mark_with_all_backends

NOW = datetime(2024, 7, 10)
END = datetime(2024, 7, 1)


def _days(since: datetime) -> float:
    return (END - since).total_seconds() / 86_400


def _rows(ws: Workspace) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in ws.engine.records(ws.engine.table(MEASURES_TABLE))}


@mark_with_all_backends
def test_measures_match_the_hand_computed_figures(workspace: Workspace) -> None:
    load_shop(workspace.engine)
    report = build_measures(workspace.engine, IDENTITY, CONFIG, now=NOW, as_of=AS_OF)
    assert report.customers == 3
    rows = _rows(workspace)
    ada, ben, cy = rows["C-ADA"], rows["C-BEN"], rows["C-CY"]

    # Orders: the one after the as-of date and the cancelled one do not count; SEK converted.
    assert (ada["orders"], ada["orders_30d"], ada["orders_90d"], ada["orders_365d"]) == (4, 2, 2, 4)
    assert ada["revenue"] == pytest.approx(280.0)
    assert ada["revenue_30d"] == pytest.approx(130.0)
    assert (ada["returned_365d"], ada["discount_365d"]) == (pytest.approx(40.0), pytest.approx(5))
    assert (ada["purchase_days"], ada["frequency"]) == (3, 2)
    assert ada["avg_order_value"] == pytest.approx(70.0)
    assert ada["recency_days"] == round(_days(datetime(2024, 6, 20, 18)), 4)
    assert ada["tenure_days"] == pytest.approx(_days(datetime(2022, 1, 1)))
    assert ada["purchase_interval_days"] == pytest.approx(324.25 / 2)
    assert (ada["store_share"], ada["web_share"], ada["app_share"]) == (0.75, 0.25, 0.0)
    assert list(ada["channels"]) == ["store", "web"]
    assert ada["top_channel"] == "store"
    # Purchases: the newest catalogue row gives category and cost; returned units cost nothing.
    assert list(ada["categories"]) == ["books", "toys"]
    assert ada["top_category"] == "toys"
    assert ada["items_365d"] == 8
    assert ada["cogs_365d"] == pytest.approx(10 + 4 + 15)
    assert ada["gross_margin_365d"] == pytest.approx(280 - 40 - 29)
    assert ada["return_rate"] == round(40 / 280, 4)
    # Contacts and their cost per channel.
    assert (ada["contacts_90d"], ada["contacts_365d"], ada["unresolved_contacts_365d"]) == (2, 2, 1)
    assert ada["cost_to_serve_365d"] == pytest.approx(9.0)
    assert json.loads(ada["contacts_by_channel_365d"]) == {"chat": 1, "phone": 1}
    assert json.loads(ada["contacts_by_reason_365d"]) == {"DELIVERY": 2}
    assert ada["profit_12m"] == pytest.approx(211 - 9)
    # Events, surveys, campaigns.
    assert (ada["events_30d"], ada["events_90d"], ada["product_views_30d"]) == (1, 1, 1)
    assert (ada["last_nps"], ada["last_csat"], ada["responses_365d"]) == (3, 2, 2)
    assert ada["avg_nps_365d"] == pytest.approx(6.0)
    assert (ada["campaigns_365d"], ada["campaign_responses_365d"]) == (1, 1)

    # Ben ordered once, long ago; his e-mail found his contact.
    assert (ben["orders"], ben["orders_365d"], ben["frequency"]) == (1, 0, 0)
    assert ben["revenue_365d"] == 0.0
    assert ben["recency_days"] == round(_days(datetime(2023, 1, 10)), 4)
    assert ben["purchase_interval_days"] is None
    assert ben["top_category"] == "books"
    assert (ben["contacts_365d"], ben["cost_to_serve_365d"]) == (0, 0.0)

    # Cy never ordered: zeros and nulls, no RFM score, the last tier.
    assert (cy["orders"], cy["revenue"], cy["recency_days"]) == (0, 0.0, None)
    assert (cy["rfm_score"], cy["value_tier"]) == (None, "rest")

    # RFM among those who ordered; the top tier takes a third (Ada's profit).
    assert (ada["rfm_score"], ben["rfm_score"]) == ("522", "411")
    assert (ada["value_tier"], ben["value_tier"]) == ("top", "rest")
    tiers = {t["tier"]: t for t in report.tiers}
    assert tiers["top"]["customers"] == 1
    assert tiers["top"]["profit_share"] == 1.0


def test_the_past_is_computed_as_it_was(duckdb_workspace: Workspace) -> None:
    load_shop(duckdb_workspace.engine)
    acts = activity(duckdb_workspace.engine, IDENTITY, CONFIG)
    then = datetime(2023, 12, 31).date()
    expr = measures_expr(duckdb_workspace.engine, acts, CONFIG, as_of=then)
    rows = {r["customer_id"]: r for r in duckdb_workspace.engine.records(expr)}
    assert rows["C-ADA"]["orders"] == 1
    assert rows["C-ADA"]["last_nps"] is None
    assert rows["C-ADA"]["revenue"] == pytest.approx(100.0)


def test_a_refresh_recomputes_the_given_customers_only(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    load_shop(engine)
    with pytest.raises(PipelineError, match="not been computed"):
        refresh_measures(engine, IDENTITY, CONFIG, ["C-ADA"])
    build_measures(engine, IDENTITY, CONFIG, now=NOW, as_of=AS_OF)
    before = _rows(duckdb_workspace)
    engine.insert(
        "orders",
        [
            {"_source": "pos", "order_id": "O9", "source_customer_key": "L2", "currency": "EUR",
             "ordered_at": datetime(2024, 6, 29), "total_amount": 50.0, "channel": "store"},
        ],
    )  # fmt: skip
    report = refresh_measures(engine, IDENTITY, CONFIG, ["C-BEN"], values=["L2"])
    assert report.customers == 1
    after = _rows(duckdb_workspace)
    assert after["C-BEN"]["orders"] == 2
    assert after["C-BEN"]["revenue_30d"] == pytest.approx(50.0)
    assert after["C-ADA"] == before["C-ADA"]


def test_declared_measures_are_computed_and_checked(duckdb_workspace: Workspace) -> None:
    engine = duckdb_workspace.engine
    load_shop(engine)
    config = analytics_config(
        {
            **CONFIG.model_dump(mode="json", exclude={"measures"}),
            "measures": {
                "web_orders": {"behaviour": "orders", "where": {"channel": "web"}},
                "toy_spend_365d": {
                    "behaviour": "purchases",
                    "aggregate": "sum",
                    "column": "amount",
                    "where": {"category": "toys"},
                    "within_days": 365,
                },
            },
        }
    )
    build_measures(engine, IDENTITY, config, now=NOW, as_of=AS_OF)
    ada = _rows(duckdb_workspace)["C-ADA"]
    assert (ada["web_orders"], ada["toy_spend_365d"]) == (1, pytest.approx(140.0))

    typo = analytics_config(
        {"measures": {"x": {"behaviour": "orders", "where": {"chanel": "web"}}}}
    )
    with pytest.raises(ConfigError, match=r"no column 'chanel'\. Did you mean 'channel'") as info:
        build_measures(engine, IDENTITY, typo, now=NOW, as_of=AS_OF)
    assert "columns of orders" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="built-in"):
        build_measures(
            engine,
            IDENTITY,
            analytics_config({"measures": {"orders": {"behaviour": "orders"}}}),
            now=NOW,
            as_of=AS_OF,
        )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tiers": [{"name": "a", "share": 0.5}]}, "at least two tiers"),
        ({"tiers": [{"name": "a", "share": 0.7}, {"name": "b", "share": 0.4}, {"name": "c"}]},
         "add up to under 1"),
        ({"currency": "euro"}, "analytics.currency"),
        ({"measures": {"m": {"behaviour": "orders", "aggregate": "sum"}}}, "needs a column"),
        ({"lifecycle": {"at_risk_p_alive": 0.1, "lapsed_p_alive": 0.2}}, "lapsed_p_alive"),
    ],
)  # fmt: skip
def test_bad_analytics_settings_name_what_to_fix(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        analytics_config(values)
    assert "docs/analytics.md" in (info.value.hint or "")
