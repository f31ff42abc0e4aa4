"""The ``activity`` step's tables (insightloop.analytics.activity_marts): slicing reads them
while nothing they were built from has changed, and the live tables as soon as something has,
so a query never answers with stale orders. (Every hand-checked figure of test_run.py is also
checked against them: the ``shop`` fixture runs each module both ways.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.analytics.activity import activity
from insightloop.analytics.activity_marts import (
    ORDERS_TABLE,
    PURCHASES_TABLE,
    build_activity_marts,
    marts_current,
    slicing_activity,
)
from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import Query, run_query
from insightloop.cli.main import app
from insightloop.identity.config import identity_config
from insightloop.identity.realtime import REALTIME_RULE
from insightloop.store import Engine
from tests.analytics.cube.data import CONFIG, IDENTITY, build_cube_data
from tests.analytics.shop import insert
from tests.decorator import mark_with_all_backends

REVENUE_BY_CHANNEL = Query(measures=["revenue", "orders"], by=["channel"])


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws")
    build_cube_data(ws.engine)
    build_activity_marts(ws.engine, IDENTITY, CONFIG, run_id="test")
    yield ws
    ws.close()


def _revenue(engine: Engine) -> dict[str, float]:
    result = run_query(engine, REVENUE_BY_CHANNEL, identity=IDENTITY, config=CONFIG)
    return {r["channel"]: round(r["revenue"], 4) for r in result.rows}


def _reads_the_marts(engine: Engine) -> bool:
    acts = slicing_activity(engine, IDENTITY, CONFIG)
    return ORDERS_TABLE in engine.to_sql(acts.orders) and PURCHASES_TABLE in engine.to_sql(
        acts.purchases
    )


def test_slicing_reads_the_step_s_tables_while_they_are_current(shop: Workspace) -> None:
    assert marts_current(shop.engine, CONFIG)
    assert _reads_the_marts(shop.engine)
    # The hand-checked figures of test_run.py::test_orders_by_channel.
    assert _revenue(shop.engine) == {"store": 1199.0, "web": 100.0}
    # The events are read live all the same (the collection API adds them all the time).
    assert "activity_" not in shop.engine.to_sql(
        slicing_activity(shop.engine, IDENTITY, CONFIG).events
    )


def test_a_new_load_batch_makes_them_stale_and_its_orders_count_at_once(
    shop: Workspace,
) -> None:
    now = datetime(2024, 7, 1, tzinfo=UTC)
    insert(shop.engine, "orders", [
        {"_source": "pos", "order_id": "O9", "source_customer_key": "L1", "ordered_at": now,
         "total_amount": 5.0, "currency": "EUR", "channel": "web", "status": "delivered"},
    ])  # fmt: skip
    # The orders are there, but the step's tables do not know it until the batch is recorded.
    insert(shop.engine, "load_batches", [
        {"batch_id": "B-9", "source": "pos", "entity": "orders", "status": "loaded",
         "started_at": now, "finished_at": now, "rows_read": 1, "rows_loaded": 1},
    ])  # fmt: skip
    assert not marts_current(shop.engine, CONFIG)
    assert not _reads_the_marts(shop.engine)
    assert _revenue(shop.engine) == {"store": 1199.0, "web": 105.0}
    build_activity_marts(shop.engine, IDENTITY, CONFIG, run_id="again")
    assert marts_current(shop.engine, CONFIG)
    assert _revenue(shop.engine) == {"store": 1199.0, "web": 105.0}


def test_identity_decisions_and_merges_make_them_stale(shop: Workspace) -> None:
    now = datetime(2024, 7, 2, tzinfo=UTC)
    insert(shop.engine, "identity_decisions", [
        {"decision_id": "D-1", "kind": "unmerge", "left_records": ["shop|ADA"],
         "right_records": [], "actor": "test", "at": now},
    ])  # fmt: skip
    assert not marts_current(shop.engine, CONFIG)
    build_activity_marts(shop.engine, IDENTITY, CONFIG, run_id="again")
    insert(shop.engine, "merge_log", [
        {"merge_id": "M-1", "kind": "manual_merge", "before_ids": ["C-ADA", "C-BEN"],
         "after_ids": ["C-ADA"], "actor": "test", "at": now},
    ])  # fmt: skip
    assert not marts_current(shop.engine, CONFIG)


def test_devices_attached_by_the_loader_leave_them_current(shop: Workspace) -> None:
    # Orders are found by source key and e-mail, never by device: a login seen by the
    # collection API's loader changes no order's customer.
    insert(shop.engine, "identifier_map", [
        {"id_type": "anonymous_id", "id_value": "dev-9", "customer_id": "C-ADA", "records": 1,
         "rule": REALTIME_RULE, "run_id": "collect-later"},
    ])  # fmt: skip
    assert marts_current(shop.engine, CONFIG)
    # A resolution rewrites the map: stale.
    insert(shop.engine, "identifier_map", [
        {"id_type": "email", "id_value": "ada@example.com", "customer_id": "C-ADA",
         "records": 1, "rule": "only", "run_id": "run-later"},
    ])  # fmt: skip
    assert not marts_current(shop.engine, CONFIG)


def test_after_a_whole_run_of_the_demo_they_are_current(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "up", "--no-serve", "--customers", "100", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    with Workspace.open(tmp_path / "workspace", read_only=True) as ws:
        config = analytics_config(ws.settings.analytics)
        assert marts_current(ws.engine, config), "stale right after the run that built them"
        identity = identity_config(ws.settings.identity)
        live = activity(ws.engine, identity, config)
        for table, expr in ((ORDERS_TABLE, live.orders), (PURCHASES_TABLE, live.purchases)):
            assert ws.engine.count(table) == ws.engine.execute(expr.count()) > 0


def test_other_exchange_rates_make_them_stale(shop: Workspace) -> None:
    rates = {**CONFIG.exchange_rates, "SEK": 0.2}
    other = analytics_config({"currency": CONFIG.currency, "exchange_rates": rates})
    assert marts_current(shop.engine, CONFIG)
    assert not marts_current(shop.engine, other)


def test_without_the_step_slicing_is_live(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        build_cube_data(ws.engine)
        assert not marts_current(ws.engine, CONFIG)
        assert not _reads_the_marts(ws.engine)
        assert _revenue(ws.engine) == {"store": 1199.0, "web": 100.0}


def test_the_pipeline_runs_the_step_before_the_measures(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        record = ws.run(["golden", "activity", "measures"])
        assert record.status == "succeeded", record.error
        steps = {s.step: s for s in record.step_records}
        assert steps["activity"].summary["tables"] == [ORDERS_TABLE, PURCHASES_TABLE]
        assert marts_current(ws.engine, analytics_config(ws.settings.analytics))


@mark_with_all_backends
def test_the_staleness_check_works_on_every_backend(workspace: Workspace) -> None:
    """The stamp is one query stacking every watched table's figures as text: the same on
    DuckDB and Spark."""
    build_cube_data(workspace.engine)
    build_activity_marts(workspace.engine, IDENTITY, CONFIG, run_id="test")
    assert marts_current(workspace.engine, CONFIG)
    assert _reads_the_marts(workspace.engine)
    now = datetime(2024, 7, 1, tzinfo=UTC)
    insert(workspace.engine, "load_batches", [
        {"batch_id": "B-9", "source": "pos", "entity": "orders", "status": "loaded",
         "started_at": now, "finished_at": now, "rows_read": 0, "rows_loaded": 0},
    ])  # fmt: skip
    assert not marts_current(workspace.engine, CONFIG)
