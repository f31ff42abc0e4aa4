"""A small shop whose customers' measures are known by hand, as identity resolution and the
loaders leave the canonical tables.

As of 2024-06-30:

- **Ada** (``C-ADA``, loyalty card ``L1``, user ``u-ada``): four store and web orders, the last on
  2024-06-20 (10 days before); one order in SEK; a phone call and a chat this year; web events;
  an NPS of 9 then of 3 (the later one counts); a campaign she responded to.
- **Ben** (``C-BEN``, loyalty card ``L2``): one order on 2023-01-10, long ago; one e-mail.
- **Cy** (``C-CY``): a golden record but no orders at all (a prospect).
- An order after the as-of date (Ada, 2024-07-05) and a cancelled order must not count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from insightloop.analytics.config import AnalyticsConfig, analytics_config
from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.store import Engine

AS_OF = datetime(2024, 6, 30).date()
IDENTITY: IdentityConfig = identity_config({"customer_keys": {"pos": "loyalty_number"}})
CONFIG: AnalyticsConfig = analytics_config(
    {
        "exchange_rates": {"SEK": 0.1},
        "contact_costs": {"phone": 6.0, "chat": 3.0, "default": 2.0},
        "tiers": [{"name": "top", "share": 0.34}, {"name": "rest"}],
    }
)


def insert(engine: Engine, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return engine.insert(table, [{c: r.get(c) for c in columns} for r in rows])


def _order(oid: str, key: str, at: datetime, total: float | None, **more: Any) -> dict[str, Any]:
    return {
        "_source": "pos",
        "order_id": oid,
        "source_customer_key": key,
        "ordered_at": at,
        "currency": "EUR",
        "total_amount": total,
        "channel": "store",
        "status": "delivered",
        **more,
    }


def load_shop(engine: Engine) -> None:
    insert(engine, "customers", [
        {"customer_id": "C-ADA", "first_name": "Ada", "created_at": datetime(2022, 1, 1)},
        {"customer_id": "C-BEN", "first_name": "Ben", "created_at": datetime(2022, 6, 1)},
        {"customer_id": "C-CY", "first_name": "Cy", "created_at": datetime(2024, 6, 1)},
    ])  # fmt: skip
    insert(engine, "identifier_map", [
        {"id_type": "loyalty_number", "id_value": "L1", "customer_id": "C-ADA"},
        {"id_type": "user_id", "id_value": "u-ada", "customer_id": "C-ADA"},
        {"id_type": "loyalty_number", "id_value": "L2", "customer_id": "C-BEN"},
        {"id_type": "email", "id_value": "ben@example.com", "customer_id": "C-BEN"},
    ])  # fmt: skip
    insert(engine, "orders", [
        _order("O1", "L1", datetime(2023, 8, 1, 12), 100.0),
        # No total: the amount is the sum of its lines (2 x 20 + 1 x 10 = 50).
        _order("O2", "L1", datetime(2024, 3, 1, 12), None),
        # 1000 SEK at 0.1 = 100 EUR, on the web; discounted 5, 40 returned.
        _order("O3", "L1", datetime(2024, 6, 20, 9), 1000.0, currency="SEK", channel="web",
               discount_amount=50.0, returned_amount=400.0),
        _order("O4", "L1", datetime(2024, 6, 20, 18), 30.0),
        _order("O5", "L1", datetime(2024, 7, 5), 999.0),  # after the as-of date
        _order("O6", "L1", datetime(2024, 5, 5), 999.0, status="cancelled"),
        _order("O7", "L2", datetime(2023, 1, 10), 20.0),
    ])  # fmt: skip
    insert(engine, "order_items", [
        {"order_id": "O2", "line_number": 1, "sku": "A", "quantity": 2, "unit_price": 20.0},
        {"order_id": "O2", "line_number": 2, "sku": "B", "quantity": 1, "unit_price": 10.0},
        {"order_id": "O3", "line_number": 1, "sku": "A", "quantity": 5, "unit_price": 200.0,
         "line_amount": 1000.0, "returned_quantity": 2},
        {"order_id": "O7", "line_number": 1, "sku": "B", "quantity": 2, "unit_price": 10.0},
    ])  # fmt: skip
    insert(engine, "products", [
        {"_source": "cat", "sku": "A", "category": "toys", "unit_cost": 5.0, "currency": "EUR",
         "_loaded_at": datetime(2024, 1, 1)},
        # A newer version of the catalogue row: its category and cost count.
        {"_source": "cat", "sku": "B", "category": "old", "unit_cost": 1.0, "currency": "EUR",
         "_loaded_at": datetime(2023, 1, 1)},
        {"_source": "cat", "sku": "B", "category": "books", "unit_cost": 4.0, "currency": "EUR",
         "_loaded_at": datetime(2024, 1, 1)},
    ])  # fmt: skip
    insert(engine, "interactions", [
        {"_source": "pos", "interaction_id": "I1", "source_customer_key": "L1", "channel": "phone",
         "reason": "DELIVERY", "started_at": datetime(2024, 5, 1), "resolved": False},
        {"_source": "pos", "interaction_id": "I2", "source_customer_key": "L1", "channel": "chat",
         "reason": "DELIVERY", "started_at": datetime(2024, 6, 1), "resolved": True},
        {"_source": "mail", "interaction_id": "I3", "email": "ben@example.com",
         "channel": "email", "reason": "RETURN", "started_at": datetime(2022, 12, 1),
         "resolved": True},
    ])  # fmt: skip
    insert(engine, "events", [
        {"_source": "web", "message_id": "m1", "type": "track", "event": "Product Viewed",
         "user_id": "u-ada", "timestamp": datetime(2024, 6, 25),
         "properties": '{"product_id": "A", "category": "toys"}'},
        {"_source": "web", "message_id": "m2", "type": "page", "name": "Home",
         "user_id": "u-ada", "timestamp": datetime(2024, 4, 1), "properties": "{}"},
    ])  # fmt: skip
    insert(engine, "feedback", [
        {"_source": "pos", "response_id": "F1", "source_customer_key": "L1", "nps": 9,
         "responded_at": datetime(2024, 1, 10)},
        {"_source": "pos", "response_id": "F2", "source_customer_key": "L1", "nps": 3,
         "csat": 2, "responded_at": datetime(2024, 6, 21)},
    ])  # fmt: skip
    insert(engine, "campaign_members", [
        {"_source": "pos", "campaign_id": "K1", "source_customer_key": "L1",
         "group_name": "treatment", "sent_at": datetime(2024, 6, 1), "responded": True},
    ])  # fmt: skip
