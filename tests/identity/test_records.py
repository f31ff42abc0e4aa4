"""Person records drawn from the canonical tables (insightloop.identity.records)."""

from __future__ import annotations

import json
from datetime import datetime

from insightloop import Workspace
from insightloop.identity.config import identity_config
from insightloop.identity.records import ACCOUNT, person_records

CONFIG = identity_config({"customer_keys": {"shop": "user_id"}})


def _identify(message: str, user: str, at: datetime, traits: object) -> dict[str, object]:
    text = traits if isinstance(traits, str) else json.dumps(traits)
    return {"message_id": message, "type": "identify", "user_id": user, "timestamp": at,
            "traits": text}  # fmt: skip


def test_accounts_take_what_their_orders_lack_from_their_latest_identify_traits(
    duckdb_workspace: Workspace,
) -> None:
    engine = duckdb_workspace.engine
    engine.insert(
        "orders",
        [{"_source": "shop", "order_id": "W1", "source_customer_key": "u1",
          "email": "ada@x.example", "shipping_name": "Ada Byron",
          "ordered_at": datetime(2024, 1, 1)}],
    )  # fmt: skip
    engine.insert(
        "events",
        [
            _identify("m1", "u1", datetime(2024, 1, 2), {"email": "other@x.example",
                                                          "phone": "+46 70 123 45 67"}),
            _identify("m2", "u2", datetime(2023, 1, 1), {"email": "OLD@X.example"}),
            _identify("m3", "u2", datetime(2024, 1, 1),
                      {"email": " Grace@X.example ", "firstName": "Grace",
                       "lastName": "Hopper", "birthday": "1906-12-09"}),
            _identify("m4", "u3", datetime(2024, 1, 1), "not json"),
            _identify("m5", "u4", datetime(2024, 1, 1), ["a", "list"]),
        ],
    )  # fmt: skip
    rows = {r["record_key"]: r for r in person_records(engine, CONFIG).to_pylist()
            if r["record_source"] == ACCOUNT}  # fmt: skip
    # The order's e-mail stays; the phone it lacked comes from the traits, normalised.
    assert rows["u1"]["email"] == "ada@x.example"
    assert rows["u1"]["phone"] == "+46701234567"
    assert (rows["u1"]["first_name"], rows["u1"]["last_name"]) == ("Ada", "Byron")
    # An account only the events know: its latest traits, normalised.
    assert rows["u2"]["email"] == "grace@x.example"
    assert (rows["u2"]["first_name"], rows["u2"]["last_name"]) == ("Grace", "Hopper")
    assert str(rows["u2"]["birth_date"]) == "1906-12-09"
    # Traits that are not a JSON object describe nothing, but the account is still a record.
    assert rows["u3"]["email"] is None
    assert rows["u4"]["first_name"] is None
