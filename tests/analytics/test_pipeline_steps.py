"""The analysis steps of `insightloop run` on the hand-checked shop: measures, segments, and
the profile documents that carry them."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import orjson
from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.analytics.segments import attr, orders, save_segment, segment_sizes
from insightloop.cli.main import app
from insightloop.pipeline.analytics import refresh_analysis
from insightloop.profile.store import ProfileStore
from tests.analytics.shop import load_shop

runner = CliRunner(env={"COLUMNS": "200"})


def test_measures_and_segments_reach_the_profile_documents(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_config_section("identity", {"customer_keys": {"pos": "loyalty_number"}})
        ws.add_config_section("analytics", {"exchange_rates": {"SEK": 0.1}})
    with Workspace.open(tmp_path / "ws") as ws:
        load_shop(ws.engine)
        save_segment(ws.engine, "recent-buyers", orders(within_days=30).count() >= 1)
        save_segment(ws.engine, "top-tier", attr("value_tier") == "top")
        record = ws.run(["measures", "clv", "segments", "profiles"])
        assert record.status == "succeeded", record.error
        steps = {s.step: s for s in record.step_records}
        # As of the newest day of data: Ada's order of 2024-07-05.
        assert steps["measures"].summary["as_of"] == "2024-07-05"
        assert segment_sizes(ws.engine) == {"recent-buyers": 1, "top-tier": 1}
        changes = {c["segment"]: c for c in steps["segments"].summary["changes"]}
        assert changes["recent-buyers"] == {"segment": "recent-buyers", "entered": 1, "exited": 0}
        # Too few customers to fit lifetime value: said, not failed.
        assert "too few" in steps["clv"].summary["note"]
        # A second run changes no membership.
        again = ws.run(["segments"]).step_records[0].summary["changes"]
        assert all(c["entered"] == c["exited"] == 0 for c in again)
        store = ProfileStore.for_workspace(ws.path)
        raw = store.get("C-ADA")
        assert raw is not None
        ada = orjson.loads(raw)
        store.close()
    assert ada["attributes"]["orders"] == 5  # the order of 2024-07-05 counts as of that day
    assert ada["attributes"]["value_tier"] == "top"
    assert sorted(s["segment"] for s in ada["segments"]) == ["recent-buyers", "top-tier"]
    assert all(s["kind"] == "rule" and s["since"].endswith("+00:00") for s in ada["segments"])


def test_profile_show_includes_the_analysis(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_config_section("identity", {"customer_keys": {"pos": "loyalty_number"}})
        load_shop(ws.engine)
        # The profile look-up finds a customer by its records.
        ws.engine.insert(
            "customer_map", [{"source": "pos", "source_key": "L1", "customer_id": "C-ADA"}]
        )
        save_segment(ws.engine, "top-tier", attr("value_tier") == "top")
    before = runner.invoke(app, ["profile", "show", "C-ADA", "-w", str(tmp_path / "ws")])
    assert "No analysis yet" in before.output
    with Workspace.open(tmp_path / "ws") as ws:
        assert ws.run(["measures", "lifecycle", "segments"]).status == "succeeded"
    shown = runner.invoke(app, ["profile", "show", "C-ADA", "-w", str(tmp_path / "ws"), "--json"])
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert body["attributes"]["lifecycle_stage"] == "active"
    assert [s["segment"] for s in body["segments"]] == ["top-tier"]
    table = runner.invoke(app, ["profile", "show", "C-ADA", "-w", str(tmp_path / "ws")])
    assert "Analysis as of 2024-07-05" in table.output
    assert "top-tier" in table.output


def test_new_data_refreshes_the_customers_measures_and_segments(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        ws.add_config_section("identity", {"customer_keys": {"pos": "loyalty_number"}})
        ws.add_config_section("analytics", {"refresh_on_load": True})
    with Workspace.open(tmp_path / "ws") as ws:
        load_shop(ws.engine)
        save_segment(ws.engine, "recent-buyers", orders(within_days=30).count() >= 1)
        assert refresh_analysis(ws.engine, ws.settings, ["C-BEN"]) == 0  # no measures yet
        assert ws.run(["measures", "segments"]).status == "succeeded"
        assert segment_sizes(ws.engine) == {"recent-buyers": 1}
        ws.engine.insert("orders", [
            {"_source": "pos", "order_id": "B9", "source_customer_key": "L2", "currency": "EUR",
             "ordered_at": datetime(2024, 7, 4), "total_amount": 30.0}])  # fmt: skip
        assert refresh_analysis(ws.engine, ws.settings, ["C-BEN"]) == 1
        ben = ws.engine.records(
            ws.engine.table("customer_measures").filter(lambda t: t.customer_id == "C-BEN")
        )[0]
        assert (ben["orders"], ben["orders_30d"]) == (2, 1)
        assert segment_sizes(ws.engine) == {"recent-buyers": 2}
