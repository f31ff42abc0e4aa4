"""A small resolved world for the profile tests: canonical rows as identity resolution and the
loaders leave them, inserted into a real workspace.

Anna (``C-ANNA``) is known to the CRM, the loyalty programme, the web shop and one browser, and
appears in every table; Bo (``C-BO``) has a web-shop account only; Carl (``C-CARL``) shares the
value ``12345`` with Bo: it is Carl's CRM number and Bo's second web-shop user id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.store import Engine

CONFIG: IdentityConfig = identity_config(
    {
        "customer_keys": {
            "loyalty_members": "loyalty_number",
            "pos_receipts": "loyalty_number",
            "web_orders": "user_id",
        }
    }
)


def insert(engine: Engine, table: str, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert dicts that may name different columns (missing ones are null)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return engine.insert(table, [{c: r.get(c) for c in columns} for r in rows])


def _customer(source: str, key: str, **fields: Any) -> dict[str, Any]:
    return {"_source": source, "source_key": key, "is_current": True, **fields}


def load_people(engine: Engine) -> None:
    """Insert the three customers, their records, identifiers and touchpoints."""
    insert(engine, "customer_map", [
        {"source": "crm_hq", "source_key": "CRM-1", "customer_id": "C-ANNA"},
        {"source": "loyalty_members", "source_key": "L-100", "customer_id": "C-ANNA"},
        {"source": "id:user_id", "source_key": "u-anna", "customer_id": "C-ANNA"},
        {"source": "id:anonymous_id", "source_key": "dev-anna", "customer_id": "C-ANNA"},
        {"source": "id:user_id", "source_key": "u-bo", "customer_id": "C-BO"},
        {"source": "id:user_id", "source_key": "12345", "customer_id": "C-BO"},
        {"source": "crm_hq", "source_key": "12345", "customer_id": "C-CARL"},
    ])  # fmt: skip
    insert(engine, "src_customers", [
        _customer("crm_hq", "CRM-1", first_name="Anna", last_name="Svensson",
                  email="anna@example.se", phone="+46701234567", birth_date=date(1985, 4, 12),
                  street="Storgatan 1", postcode="11122", city="Stockholm", country="SE",
                  language="sv", created_at=datetime(2019, 5, 1),
                  updated_at=datetime(2023, 5, 1)),
        # An earlier version of the CRM record: history, not a current value.
        {**_customer("crm_hq", "CRM-1", first_name="Anna", last_name="Svensson",
                     email="anna.old@example.se", created_at=datetime(2019, 5, 1),
                     updated_at=datetime(2019, 5, 1)), "is_current": False},
        _customer("loyalty_members", "L-100", first_name="Anna", last_name="Svensson",
                  email="anna@example.se", phone="+46701234567", loyalty_number="L-100",
                  country="SE", created_at=datetime(2020, 2, 2), updated_at=datetime(2022, 1, 1)),
        _customer("crm_hq", "12345", first_name="Carl", last_name="Berg",
                  email="carl@example.se", updated_at=datetime(2021, 1, 1)),
    ])  # fmt: skip
    insert(engine, "identifier_map", [
        {"id_type": "customer_key", "id_value": "CRM-1", "customer_id": "C-ANNA", "records": 1},
        {"id_type": "loyalty_number", "id_value": "L-100", "customer_id": "C-ANNA", "records": 1},
        {"id_type": "email", "id_value": "anna@example.se", "customer_id": "C-ANNA", "records": 2},
        {"id_type": "phone", "id_value": "+46701234567", "customer_id": "C-ANNA", "records": 2},
        {"id_type": "user_id", "id_value": "u-anna", "customer_id": "C-ANNA", "records": 1},
        {"id_type": "anonymous_id", "id_value": "dev-anna", "customer_id": "C-ANNA",
         "records": 1},
        {"id_type": "user_id", "id_value": "u-bo", "customer_id": "C-BO", "records": 1},
        {"id_type": "user_id", "id_value": "12345", "customer_id": "C-BO", "records": 1},
        {"id_type": "email", "id_value": "bo@example.se", "customer_id": "C-BO", "records": 1},
        {"id_type": "customer_key", "id_value": "12345", "customer_id": "C-CARL", "records": 1},
        {"id_type": "email", "id_value": "carl@example.se", "customer_id": "C-CARL",
         "records": 1},
    ])  # fmt: skip
    insert(engine, "orders", [
        {"_source": "web_orders", "order_id": "W-1", "source_customer_key": "u-anna",
         "channel": "web", "ordered_at": datetime(2024, 3, 1, 10), "currency": "SEK",
         "total_amount": 59.9, "status": "delivered", "email": "anna@example.se",
         "shipping_name": "Anna Svensson", "shipping_street": "Storgatan 1",
         "shipping_city": "Stockholm", "shipping_country": "SE"},
        {"_source": "pos_receipts", "order_id": "R-1", "source_customer_key": "L-100",
         "channel": "store", "store_id": "S-01", "ordered_at": datetime(2024, 2, 1, 12),
         "currency": "SEK", "total_amount": 120},
        {"_source": "web_orders", "order_id": "W-2", "source_customer_key": "u-bo",
         "channel": "app", "ordered_at": datetime(2024, 1, 5), "currency": "EUR",
         "total_amount": 10, "email": "bo@example.se", "shipping_name": "Bo Ek",
         "shipping_street": "Väg 2", "shipping_postcode": "22100", "shipping_city": "Lund",
         "shipping_country": "SE"},
        {"_source": "pos_receipts", "order_id": "R-9", "source_customer_key": "L-999",
         "channel": "store", "ordered_at": datetime(2024, 3, 2), "currency": "SEK",
         "total_amount": 5},
    ])  # fmt: skip
    insert(engine, "order_items", [
        {"_source": "web_order_items", "order_id": "W-1", "line_number": 1, "sku": "A",
         "quantity": 1},
        {"_source": "web_order_items", "order_id": "W-1", "line_number": 2, "sku": "B",
         "quantity": 2},
        {"_source": "pos_lines", "order_id": "R-1", "line_number": 1, "sku": "C", "quantity": 1},
    ])  # fmt: skip
    insert(engine, "events", [
        {"_source": "events", "message_id": "m1", "type": "page", "name": "Home",
         "anonymous_id": "dev-anna", "timestamp": datetime(2024, 3, 1, 9, 55)},
        {"_source": "events", "message_id": "m2", "type": "track", "event": "Product Viewed",
         "user_id": "u-anna", "timestamp": datetime(2024, 3, 1, 9, 58),
         "context": '{"app": {"name": "shop"}}'},
        {"_source": "events", "message_id": "m3", "type": "identify", "user_id": "u-anna",
         "anonymous_id": "dev-anna", "timestamp": datetime(2024, 3, 1, 9, 59)},
        {"_source": "events", "message_id": "m4", "type": "track", "event": "Someone Else",
         "anonymous_id": "dev-other", "timestamp": datetime(2024, 3, 1, 9, 57)},
    ])  # fmt: skip
    insert(engine, "interactions", [
        {"_source": "contact_centre", "interaction_id": "I-1", "source_customer_key": "CRM-1",
         "channel": "phone", "direction": "inbound", "reason": "delivery",
         "started_at": datetime(2024, 3, 5, 8), "duration_seconds": 300, "resolved": True},
        {"_source": "contact_centre", "interaction_id": "I-2", "source_customer_key": "12345",
         "channel": "chat", "direction": "inbound", "reason": "returns",
         "started_at": datetime(2024, 3, 7), "duration_seconds": 60, "resolved": False},
    ])  # fmt: skip
    insert(engine, "feedback", [
        {"_source": "surveys", "response_id": "F-1", "source_customer_key": "CRM-1",
         "survey_type": "post_purchase", "responded_at": datetime(2024, 3, 6, 18), "nps": 9,
         "comment": "Fast delivery"},
    ])  # fmt: skip
    insert(engine, "campaigns", [
        {"_source": "campaigns", "campaign_id": "CMP-1", "name": "Spring sale",
         "channel": "email"},
    ])  # fmt: skip
    insert(engine, "campaign_members", [
        {"_source": "campaign_members", "campaign_id": "CMP-1", "source_customer_key": "CRM-1",
         "group_name": "treatment", "sent_at": datetime(2024, 2, 15), "responded": True},
        {"_source": "campaign_members", "campaign_id": "CMP-1", "source_customer_key": "12345",
         "group_name": "control", "sent_at": datetime(2024, 2, 15), "responded": False},
    ])  # fmt: skip
    insert(engine, "consents", [
        {"_source": "consents", "source_customer_key": "CRM-1", "channel": "email",
         "purpose": "marketing", "status": "granted", "recorded_at": datetime(2023, 1, 1)},
        {"_source": "consents", "source_customer_key": "CRM-1", "channel": "email",
         "purpose": "marketing", "status": "withdrawn", "recorded_at": datetime(2024, 1, 1)},
        {"_source": "consents", "source_customer_key": "CRM-1", "channel": "sms",
         "purpose": "marketing", "status": "granted", "recorded_at": datetime(2023, 6, 1)},
        {"_source": "consents", "source_customer_key": "Anna@Example.se", "channel": "post",
         "purpose": "marketing", "status": "granted", "recorded_at": datetime(2022, 1, 1)},
        {"_source": "consents", "source_customer_key": "12345", "channel": "email",
         "purpose": "marketing", "status": "granted", "recorded_at": datetime(2024, 2, 1)},
    ])  # fmt: skip
