"""A workspace with a built profile store, users of every role and their tokens, for API tests.

One customer, ``C-1001``, carries every kind of personal data the API must mask without
``pii:read``: a name, an e-mail, a phone number, a street address, a birth date, a contact-centre
note and a survey comment. The values are unusual on purpose, so that a test can search a raw
response body for each of them and be sure a hit is a leak, not a coincidence. ``C-1002`` holds
no personal data beyond an e-mail.

The canonical rows are inserted as identity resolution and the loaders leave them (as in
``tests/profile/people.py``), then the pipeline's ``golden``, ``profiles`` and ``table_stats``
steps run, so the store is built the way ``insightloop run`` builds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from insightloop import Workspace
from insightloop.auth import PERMISSIONS, ROLES, AuthStore, Permission, Role
from insightloop.store import Engine

__all__ = [
    "CUSTOMER_ID",
    "FAST",
    "OTHER_ID",
    "PERSONAL",
    "Credentials",
    "build_profile_workspace",
    "make_credentials",
]

#: Cheap argon2 parameters: tests add users, they do not test the hash's strength.
FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)

CUSTOMER_ID = "C-1001"
OTHER_ID = "C-1002"

#: Every personal value of ``C-1001`` as it appears in an unmasked profile, by what it is.
PERSONAL: Mapping[str, str] = {
    "first_name": "Ingegerd",
    "last_name": "Vasquez",
    "email": "ingegerd.vasquez@example.org",
    "phone": "+46709876543",
    "street": "Hornsgatan 42",
    "postcode": "11821",
    "city": "Sundsvall",
    "birth_date": "1979-11-23",
    "notes": "Wants a callback after six, door code 4711",
    "comment": "The courier left the parcel in the rain",
}


def _insert(engine: Engine, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    engine.insert(table, [{c: r.get(c) for c in columns} for r in rows])


def _load_customers(engine: Engine) -> None:
    p = PERSONAL
    _insert(engine, "customer_map", [
        {"source": "crm_hq", "source_key": "CRM-7", "customer_id": CUSTOMER_ID},
        {"source": "id:user_id", "source_key": "u-7", "customer_id": CUSTOMER_ID},
        # A guest record keyed by the e-mail itself: the key is personal data too.
        {"source": "id:email", "source_key": p["email"], "customer_id": CUSTOMER_ID},
        {"source": "crm_hq", "source_key": "CRM-8", "customer_id": OTHER_ID},
    ])  # fmt: skip
    _insert(engine, "src_customers", [
        {"_source": "crm_hq", "source_key": "CRM-7", "is_current": True,
         "first_name": p["first_name"], "last_name": p["last_name"], "email": p["email"],
         "phone": p["phone"], "birth_date": date.fromisoformat(p["birth_date"]),
         "street": p["street"], "postcode": p["postcode"], "city": p["city"], "country": "SE",
         "language": "sv", "created_at": datetime(2020, 1, 1), "updated_at": datetime(2024, 1, 1)},
        {"_source": "crm_hq", "source_key": "CRM-8", "is_current": True,
         "email": "c1002@example.net", "country": "NO", "updated_at": datetime(2024, 1, 1)},
    ])  # fmt: skip
    _insert(engine, "identifier_map", [
        {"id_type": "customer_key", "id_value": "CRM-7", "customer_id": CUSTOMER_ID, "records": 1},
        {"id_type": "email", "id_value": p["email"], "customer_id": CUSTOMER_ID, "records": 2},
        {"id_type": "phone", "id_value": p["phone"], "customer_id": CUSTOMER_ID, "records": 1},
        {"id_type": "user_id", "id_value": "u-7", "customer_id": CUSTOMER_ID, "records": 1},
        # A value with a slash, as some source systems write their keys.
        {"id_type": "loyalty_number", "id_value": "HQ/1042", "customer_id": CUSTOMER_ID,
         "records": 1},
        {"id_type": "customer_key", "id_value": "CRM-8", "customer_id": OTHER_ID, "records": 1},
        {"id_type": "email", "id_value": "c1002@example.net", "customer_id": OTHER_ID,
         "records": 1},
    ])  # fmt: skip
    _insert(engine, "interactions", [
        {"_source": "contact_centre", "interaction_id": "I-77", "source_customer_key": "CRM-7",
         "channel": "phone", "direction": "inbound", "reason": "delivery",
         "started_at": datetime(2024, 3, 5, 8), "duration_seconds": 240, "resolved": True,
         "notes": p["notes"]},
    ])  # fmt: skip
    _insert(engine, "feedback", [
        {"_source": "surveys", "response_id": "F-77", "source_customer_key": "CRM-7",
         "survey_type": "post_purchase", "responded_at": datetime(2024, 3, 6, 18), "nps": 3,
         "comment": p["comment"]},
    ])  # fmt: skip
    _insert(engine, "orders", [
        {"_source": "web_orders", "order_id": "W-77", "source_customer_key": "CRM-7",
         "channel": "web", "ordered_at": datetime(2024, 3, 1, 10), "currency": "SEK",
         "total_amount": 249.0, "status": "delivered"},
    ])  # fmt: skip


def build_profile_workspace(root: Path) -> Path:
    """Create a workspace at ``root`` with the two customers and a built profile store."""
    with Workspace.init(root) as ws:
        _load_customers(ws.engine)
        record = ws.run(["golden", "profiles", "table_stats"])
        assert record.status == "succeeded", record.error
    return root


@dataclass(frozen=True)
class Credentials:
    """Bearer tokens of a workspace: one user per role, and one admin token per single scope."""

    by_role: Mapping[Role, str]
    by_scope: Mapping[Permission, str]

    @staticmethod
    def header(secret: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret}"}

    @staticmethod
    def username(role: Role) -> str:
        return f"test-{role}"


def make_credentials(root: Path) -> Credentials:
    """Add a user per role (``test-<role>``) with a token carrying the whole role, and tokens of
    an extra admin (``test-scoped``) each carrying one permission only."""
    store = AuthStore.for_workspace(root, hasher=FAST)
    by_role: dict[Role, str] = {}
    for role in ROLES:
        store.users.add(Credentials.username(role), role, actor="test")
        by_role[role] = store.tokens.create(Credentials.username(role), actor="test")[1]
    store.users.add("test-scoped", "admin", actor="test")
    by_scope = {
        p: store.tokens.create("test-scoped", scopes=[p], actor="test")[1] for p in PERMISSIONS
    }
    return Credentials(by_role, by_scope)
