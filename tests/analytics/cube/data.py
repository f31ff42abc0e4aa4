"""The small shop of ``tests/analytics/shop.py`` made ready to slice, with every figure known by
hand.

On top of the shop (orders, lines, contacts, events, surveys, a campaign) and its measures as of
2024-06-30, the customers get a country (Ada and Ben ``SE``, Cy ``NO``), lifetime values and
lifecycle stages set by hand (the cube aggregates them, it does not compute them), and two
segments: ``vip`` (Ada; Cy left it) and ``buyers`` (Ada and Ben).

The activity tables as the cube sees them (no as-of cut: every loaded row counts):

======  ========  ==========  =======  =================================================
order   customer  day         channel  amount (EUR)
======  ========  ==========  =======  =================================================
O1      Ada       2023-08-01  store    100
O2      Ada       2024-03-01  store    50 (no total: lines 2 x 20 of toys + 1 x 10 of books)
O3      Ada       2024-06-20  web      100 (1000 SEK at 0.1; 5 x toys, 2 returned)
O4      Ada       2024-06-20  store    30
O5      Ada       2024-07-05  store    999 (after the measures' day, still activity)
O6      Ada       2024-05-05  store    cancelled: never counts
O7      Ben       2023-01-10  store    20 (2 x 10 of books)
======  ========  ==========  =======  =================================================

Order lines: toys 7 units, 140 sales, cost 35 (unit cost 5); books 3 units, 30 sales, cost 12
(unit cost 4). Contacts: Ada phone and chat (DELIVERY, 2024-05 and 2024-06), Ben e-mail
(RETURN, 2022-12). Surveys: Ada NPS 9 (2024-01) and 3 with CSAT 2 (2024-06). Campaign K1: Ada,
responded.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pyarrow as pa

from insightloop import Workspace
from insightloop.analytics.measures import build_measures
from insightloop.store import Engine
from tests.analytics.shop import AS_OF, CONFIG, IDENTITY, insert, load_shop

__all__ = ["AS_OF", "CLV", "CONFIG", "IDENTITY", "NOW", "SETTINGS", "build_cube_data", "configure"]

NOW = datetime(2024, 7, 10)

#: Lifetime value and probability alive, set by hand: (p_alive, clv).
CLV = {"C-ADA": (0.9, 300.0), "C-BEN": (0.2, 10.0), "C-CY": (0.5, 0.0)}
LIFECYCLE = {"C-ADA": "active", "C-BEN": "lapsed", "C-CY": "prospect"}

#: ``IDENTITY`` and ``CONFIG`` as ``insightloop.toml`` sections, for the CLI and the API, which
#: read a workspace's own settings.
SETTINGS = """
[identity.customer_keys]
pos = "loyalty_number"

[analytics]
exchange_rates = { SEK = 0.1 }
contact_costs = { phone = 6.0, chat = 3.0, default = 2.0 }
tiers = [{ name = "top", share = 0.34 }, { name = "rest" }]
"""


def configure(ws: Workspace) -> None:
    """Give the workspace the shop's settings (appended to its ``insightloop.toml``)."""
    with ws.layout.config_file.open("a", encoding="utf-8") as f:
        f.write(SETTINGS)


def build_cube_data(engine: Engine, *, clv: bool = True, segments: bool = True) -> None:
    """Load the shop, compute its measures and add countries, CLV, lifecycle and segments."""
    load_shop(engine)
    build_measures(engine, IDENTITY, CONFIG, now=NOW, as_of=AS_OF)
    ids = pa.table({"customer_id": ["C-ADA", "C-BEN"]})
    engine.update_matching("customers", ids, {"country": "SE"})
    engine.update_matching("customers", pa.table({"customer_id": ["C-CY"]}), {"country": "NO"})
    if clv:
        engine.create_table(
            "customer_clv",
            ibis.schema({"customer_id": "string", "p_alive": "float64", "clv": "float64"}),
        )
        insert(engine, "customer_clv", [
            {"customer_id": c, "p_alive": p, "clv": v} for c, (p, v) in CLV.items()
        ])  # fmt: skip
        engine.create_table(
            "customer_lifecycle",
            ibis.schema({"customer_id": "string", "lifecycle_stage": "string"}),
        )
        insert(engine, "customer_lifecycle", [
            {"customer_id": c, "lifecycle_stage": s} for c, s in LIFECYCLE.items()
        ])  # fmt: skip
    if segments:
        at = datetime(2024, 6, 30)
        insert(engine, "segments", [
            {"segment_id": "S1", "name": "vip", "kind": "rule", "version": 1, "created_at": at},
            {"segment_id": "S2", "name": "buyers", "kind": "rule", "version": 1,
             "created_at": at},
        ])  # fmt: skip
        insert(engine, "segment_members", [
            {"segment_id": "S1", "customer_id": "C-ADA", "entered_at": at, "exited_at": None},
            {"segment_id": "S1", "customer_id": "C-CY", "entered_at": datetime(2024, 1, 1),
             "exited_at": datetime(2024, 3, 1)},
            {"segment_id": "S2", "customer_id": "C-ADA", "entered_at": at, "exited_at": None},
            {"segment_id": "S2", "customer_id": "C-BEN", "entered_at": at, "exited_at": None},
        ])  # fmt: skip
