"""A small shop where who belongs to which segment is known by hand (as_of = 2024-06-30).

Expected members of the brief's examples:

- at least 2 orders in the last 90 days: c1, c3 (one order one second inside the window), c5
  (one order exactly at as_of); c2's other order is exactly 90 days old and does not count; c4's
  second order is after as_of.
- viewed shoes in the last 30 days and did not buy shoes within 14 days: c2 (bought bags), c3
  (bought 19 days later), c4 (bought after as_of).
- viewed a category and did not buy that category within 14 days: the same plus c6 (viewed bags,
  bought shoes); c5 bought bags exactly 14 days after viewing them, which counts as bought.
- NPS detractor (nps <= 6) in the last 30 days: c1, c6.
- value_tier top and not lifecycle_stage lapsed: c1, c6 (no stage is not lapsed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from insightloop.analytics.segments import SegmentSources
from insightloop.store import Engine

AS_OF = dt.datetime(2024, 6, 30)
MALICIOUS = "x'; DROP TABLE segments; --"


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


SCHEMAS = {
    "attributes": {
        "customer_id": "string",
        "orders": "int64",
        "revenue_365d": "float64",
        "value_tier": "string",
        "lifecycle_stage": "string",
        "country": "string",
        "p_alive": "float64",
        "categories": "array<string>",
        "first_order_at": "timestamp",
    },
    "orders": {
        "customer_id": "string",
        "at": "timestamp",
        "order_id": "string",
        "channel": "string",
        "amount": "float64",
        "status": "string",
    },
    "purchases": {
        "customer_id": "string",
        "at": "timestamp",
        "order_id": "string",
        "sku": "string",
        "category": "string",
        "quantity": "int64",
        "amount": "float64",
        "channel": "string",
    },
    "events": {
        "customer_id": "string",
        "at": "timestamp",
        "type": "string",
        "event": "string",
        "name": "string",
        "category": "string",
        "channel": "string",
    },
    "feedback": {
        "customer_id": "string",
        "at": "timestamp",
        "survey_type": "string",
        "nps": "int64",
        "csat": "int64",
        "ces": "int64",
    },
}


def _attr(cid: str, tier: str | None, stage: str | None, **more: Any) -> dict[str, Any]:
    return {"customer_id": cid, "value_tier": tier, "lifecycle_stage": stage, **more}


ROWS: dict[str, list[dict[str, Any]]] = {
    "attributes": [
        _attr(
            "c1",
            "top",
            "active",
            orders=5,
            revenue_365d=500.0,
            categories=["shoes", "bags"],
            country="SE",
            p_alive=0.9,
            first_order_at=t("2023-01-01"),
        ),
        _attr(
            "c2",
            "top",
            "lapsed",
            orders=2,
            revenue_365d=90.0,
            categories=["bags"],
            country="DE",
            p_alive=0.2,
            first_order_at=t("2024-04-01"),
        ),
        _attr(
            "c3",
            "mid",
            "active",
            orders=2,
            revenue_365d=50.0,
            categories=[],
            country="SE",
            p_alive=0.7,
            first_order_at=t("2024-04-01"),
        ),
        _attr("c4", None, None, orders=2, revenue_365d=None, categories=None, country=None),
        _attr(
            "c5",
            "low",
            "lapsed",
            orders=2,
            revenue_365d=110.0,
            categories=["shoes"],
            country="NO",
            p_alive=0.5,
        ),
        _attr(
            "c6",
            "top",
            None,
            orders=3,
            revenue_365d=300.0,
            categories=["shoes"],
            country="SE",
            p_alive=0.8,
        ),
        _attr("c7", MALICIOUS, "new", orders=0, revenue_365d=0.0, country="SE"),
    ],
    "orders": [
        {"customer_id": "c1", "at": t("2024-06-01"), "channel": "web", "amount": 100.0},
        {"customer_id": "c1", "at": t("2024-05-01"), "channel": "web", "amount": 50.0},
        {"customer_id": "c2", "at": t("2024-04-01"), "channel": "store", "amount": 60.0},
        {"customer_id": "c2", "at": t("2024-06-20"), "channel": "web", "amount": 30.0},
        {"customer_id": "c3", "at": t("2024-04-01T00:00:01"), "channel": "store", "amount": 20.0},
        {"customer_id": "c3", "at": t("2024-06-29"), "channel": "web", "amount": 30.0},
        {"customer_id": "c4", "at": t("2024-06-10"), "channel": "web", "amount": 40.0},
        {"customer_id": "c4", "at": t("2024-07-05"), "channel": "web", "amount": 500.0},
        {"customer_id": "c5", "at": t("2024-06-30"), "channel": "store", "amount": 100.0},
        {"customer_id": "c5", "at": t("2024-06-15"), "channel": "web", "amount": 10.0},
        {"customer_id": "c6", "at": t("2023-05-01"), "channel": "web", "amount": 100.0},
        {"customer_id": "c6", "at": t("2023-06-01"), "channel": "web", "amount": 100.0},
        {"customer_id": "c6", "at": t("2023-07-01"), "channel": "web", "amount": 100.0},
    ],
    "events": [
        {
            "customer_id": "c1",
            "at": t("2024-06-10"),
            "event": "Product Viewed",
            "category": "shoes",
        },
        {"customer_id": "c1", "at": t("2024-06-20"), "event": "Product Added", "category": "shoes"},
        {
            "customer_id": "c2",
            "at": t("2024-06-10"),
            "event": "Product Viewed",
            "category": "shoes",
        },
        {
            "customer_id": "c3",
            "at": t("2024-06-01"),
            "event": "Product Viewed",
            "category": "shoes",
        },
        {
            "customer_id": "c4",
            "at": t("2024-06-25"),
            "event": "Product Viewed",
            "category": "shoes",
        },
        {
            "customer_id": "c5",
            "at": t("2024-05-01"),
            "event": "Product Viewed",
            "category": "shoes",
        },
        {"customer_id": "c5", "at": t("2024-06-01"), "event": "Product Viewed", "category": "bags"},
        {
            "customer_id": "c6",
            "at": t("2024-06-10"),
            "event": "Product Viewed",
            "category": "shoes",
        },
        {"customer_id": "c6", "at": t("2024-06-11"), "event": "Product Viewed", "category": "bags"},
        {"customer_id": "c7", "at": t("2024-06-11"), "event": "Signed Up", "category": None},
    ],
    "purchases": [
        {"customer_id": "c1", "at": t("2024-06-12"), "category": "shoes", "amount": 80.0},
        {"customer_id": "c2", "at": t("2024-06-12"), "category": "bags", "amount": 40.0},
        {"customer_id": "c3", "at": t("2024-06-20"), "category": "shoes", "amount": 60.0},
        {"customer_id": "c4", "at": t("2024-07-01"), "category": "shoes", "amount": 70.0},
        {"customer_id": "c5", "at": t("2024-06-15"), "category": "bags", "amount": 30.0},
        {"customer_id": "c6", "at": t("2024-06-15"), "category": "shoes", "amount": 90.0},
    ],
    "feedback": [
        {"customer_id": "c1", "at": t("2024-06-25"), "survey_type": "nps", "nps": 3},
        {"customer_id": "c2", "at": t("2024-06-25"), "survey_type": "nps", "nps": 9},
        {"customer_id": "c3", "at": t("2024-05-01"), "survey_type": "nps", "nps": 2},
        {"customer_id": "c4", "at": t("2024-07-02"), "survey_type": "nps", "nps": 5},
        {"customer_id": "c5", "at": t("2024-06-20"), "survey_type": "csat", "csat": 2},
        {"customer_id": "c6", "at": t("2024-05-31T00:00:01"), "survey_type": "nps", "nps": 6},
    ],
}


def load_shop(
    engine: Engine, prefix: str = "shop_", *, as_of: dt.datetime = AS_OF
) -> SegmentSources:
    """Create the shop's tables in ``engine`` and return them as segment sources."""
    for name, schema in SCHEMAS.items():
        engine.create_table(prefix + name, ibis.schema(schema))
        engine.insert(prefix + name, ROWS[name])
    tables = {name: engine.table(prefix + name) for name in SCHEMAS}
    return SegmentSources(as_of=as_of, **tables)
