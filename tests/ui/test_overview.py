"""The overview page against independent engine queries of the demo workspace, its filters, and
in a browser: every chart drawn, no console error."""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.analytics.config import analytics_config
from insightloop.analytics.cube import DEFAULT_MIN_GROUP_SIZE, Filter, Query, run_query
from insightloop.analytics.overview import overview
from insightloop.analytics.overview_snapshot import load_snapshot, load_value_snapshot
from insightloop.analytics.value_report import tier_report
from insightloop.identity.config import identity_config
from insightloop.store import WorkspaceLayout
from insightloop.ui.routes import overview as overview_route
from tests.ui.conftest import make_app, shot, sign_in


@pytest.fixture(autouse=True)
def _fresh_figures() -> None:
    overview_route._cache.clear()


def _kpi(html: str, id_: str) -> str:
    match = re.search(
        rf'id="{id_}"><div class="label">[^<]*</div><div class="value">([^<]*)<', html
    )
    assert match, f"no {id_} on the page"
    return match.group(1)


def _money(text: str) -> float:
    return float(text.split()[0].replace(",", ""))


def _sql(root: Path, sql: str) -> Any:
    """One row of a hand-written query of the workspace's DuckDB file."""
    with duckdb.connect(str(WorkspaceLayout(root).database_file), read_only=True) as db:
        return db.execute(sql).fetchone()


def test_the_key_figures_are_those_of_the_workspace(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    html = client_as("admin").get("/").text
    (customers,) = _sql(demo_root, "SELECT count(*) FROM customers")
    (active,) = _sql(demo_root, "SELECT count(*) FROM customer_measures WHERE orders_365d > 0")
    assert int(_kpi(html, "kpi-customers").replace(",", "")) == customers
    assert int(_kpi(html, "kpi-active").replace(",", "")) == active
    (tiers,) = _sql(demo_root, "SELECT count(DISTINCT value_tier) FROM customer_measures")
    assert html.count('id="chart-tiers"') == 1
    assert tiers == 3
    for chart in ("chart-revenue", "chart-clv", "chart-lifecycle", "chart-segments"):
        assert f'id="{chart}"' in html, chart
    # The data-quality summary: the account of every load.
    read, loaded, quarantined, duplicates = _sql(
        demo_root,
        "SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(duplicates_skipped) "
        "FROM load_batches WHERE status IN ('loaded', 'unchanged')",
    )
    assert f'id="dq-read">{read:,}<' in html
    assert f'id="dq-quarantined">{quarantined:,}<' in html
    assert read == loaded + quarantined + duplicates
    assert "✓ read = loaded + quarantined + duplicates" in html


def test_the_filters_narrow_every_figure(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    client = client_as("admin")
    (country,) = _sql(
        demo_root,
        "SELECT country FROM customers WHERE country IS NOT NULL GROUP BY 1 "
        "ORDER BY count(*) DESC LIMIT 1",
    )
    html = client.get("/", params={"country": country}).text
    (expected,) = _sql(demo_root, f"SELECT count(*) FROM customers WHERE country = '{country}'")
    assert int(_kpi(html, "kpi-customers").replace(",", "")) == expected
    assert f'<option value="{country}" selected>' in html
    # A period and a channel: the orders of that channel in that period (htmx swaps the figures).
    part = client.get(
        "/",
        params={"since": "2023-01-01", "until": "2023-12-31", "channel": "web"},
        headers={"HX-Request": "true"},
    )
    assert part.status_code == 200
    assert "<html" not in part.text  # the figures only
    with Workspace.open(demo_root, read_only=True) as ws:
        result = run_query(
            ws.engine,
            Query(measures=["orders"], since="2023-01-01", until="2023-12-31",
                  filters=[Filter(dimension="channel", value="web")]),
            identity=identity_config(ws.settings.identity),
            config=analytics_config(ws.settings.analytics),
        )  # fmt: skip
    (raw,) = _sql(
        demo_root,
        "SELECT count(*) FROM orders WHERE channel = 'web' AND status IS DISTINCT FROM "
        "'cancelled' AND ordered_at >= '2023-01-01' AND ordered_at < '2024-01-01'",
    )
    assert int(_kpi(part.text, "kpi-orders").replace(",", "")) == result.totals["orders"]
    assert abs(result.totals["orders"] - raw) <= raw * 0.02  # orders of unresolved guests aside


def test_a_bad_date_is_a_clear_error(client_as: Callable[[str], TestClient]) -> None:
    r = client_as("viewer").get("/", params={"since": "yesterday"})
    assert r.status_code == 422
    assert "is not a date" in r.text
    assert "YYYY-MM-DD" in r.text


def test_roles_without_pii_read_see_no_figure_of_fewer_than_five_customers(
    client_as: Callable[[str], TestClient], demo_root: Path
) -> None:
    # A lifecycle stage with one to four customers of a country (there are several at 800).
    country, stage, n = _sql(
        demo_root,
        "SELECT c.country, l.lifecycle_stage, count(*) AS n FROM customer_lifecycle l "
        "JOIN customers c USING (customer_id) WHERE c.country IS NOT NULL "
        "GROUP BY ALL HAVING n < 5 ORDER BY n DESC, 1, 2 LIMIT 1",
    )
    row = f'<th scope="row">{stage.replace("_", " ")}</th><td class="num">'
    shown = client_as("agent").get("/", params={"country": country}).text
    hidden = client_as("viewer").get("/", params={"country": country}).text
    assert row + f"{n}<" in shown
    assert row + "-<" in hidden


def test_the_overview_in_a_browser(page_as: Callable[[str], Any]) -> None:
    page = page_as("analyst")
    page.goto("/")
    for chart in ("chart-revenue", "chart-tiers", "chart-clv", "chart-lifecycle", "chart-segments"):
        page.locator(f"#{chart} .main-svg").first.wait_for()
    shot(page, "overview")
    page.get_by_label("Channel").select_option("store")
    page.wait_for_url("**channel=store**")
    page.locator("#chart-revenue .main-svg").first.wait_for()
    assert "Channel store" in page.locator("#figures").inner_text()
    shot(page, "overview-store")


def _same(left: Any, right: Any) -> bool:
    """Equal, floats within a relative 1e-9 (sums in another order differ in the last bits)."""
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(
            _same(a, b) for a, b in zip(left, right, strict=True)
        )
    return bool(left == right)


def _set_in_file(path: Path, keys: tuple[str, ...], value: object) -> None:
    """Change one figure of a snapshot file, to see which figures a page takes from it."""
    body = orjson.loads(path.read_bytes())
    inner = body
    for key in keys[:-1]:
        inner = inner[key]
    inner[keys[-1]] = value
    path.write_bytes(orjson.dumps(body))


def _dashboard_step(demo_root: Path, tmp_path: Path) -> tuple[Path, Workspace, str]:
    """A copy of the demo workspace, open, after a run of the ``dashboard`` step alone."""
    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    ws = Workspace.open(root)
    record = ws.run(["dashboard"])
    assert record.status == "succeeded", record.error
    return root, ws, record.run_id


def test_the_pipeline_computes_the_unfiltered_overview_ahead(
    demo_root: Path, tmp_path: Path, passwords: dict[str, str]
) -> None:
    root, ws, run_id = _dashboard_step(demo_root, tmp_path)
    with ws:
        identity = identity_config(ws.settings.identity)
        config = analytics_config(ws.settings.analytics)
        live = {n: overview(ws.engine, identity, config, min_group_size=n) for n in (0, 5)}
    folder = WorkspaceLayout(root).dashboard_dir
    for size, expected in live.items():
        ahead = load_snapshot(folder, size, run_id)
        assert ahead is not None
        assert _same(asdict(ahead.overview), asdict(expected))
        assert load_snapshot(folder, size, "another-run") is None  # stale: computed live
    # The page shows the snapshot's figures: change one in the file and see it.
    _set_in_file(folder / "overview-0.json", ("overview", "kpis", "customers"), 424242)
    client = sign_in(TestClient(make_app(root)), "admin", passwords["admin"])
    with client:
        assert _kpi(client.get("/").text, "kpi-customers") == "424,242"
        assert _kpi(client.get("/", params={"country": "SE"}).text, "kpi-customers") != "424,242"


def test_the_pipeline_computes_the_value_tiers_ahead(
    demo_root: Path, tmp_path: Path, passwords: dict[str, str]
) -> None:
    root, ws, run_id = _dashboard_step(demo_root, tmp_path)
    with ws:
        config = analytics_config(ws.settings.analytics)
        sizes = (0, DEFAULT_MIN_GROUP_SIZE)
        live = {n: tier_report(ws.engine, config, min_group_size=n) for n in sizes}
    folder = WorkspaceLayout(root).dashboard_dir
    for size, expected in live.items():
        assert expected is not None
        ahead = load_value_snapshot(folder, config, size, run_id)
        assert ahead is not None
        assert _same(asdict(ahead), asdict(expected))
        assert load_value_snapshot(folder, config, size, "another-run") is None  # stale
    # Other tier settings than the run's: the page computes the tiers live.
    other = config.model_copy(update={"currency": "SEK"})
    assert load_value_snapshot(folder, other, 0, run_id) is None
    # The page shows the snapshot's figures: change one in the file and see it.
    _set_in_file(folder / "value-0.json", ("report", "totals", "customers"), 424242)
    client = sign_in(TestClient(make_app(root)), "admin", passwords["admin"])
    with client:
        page = client.get("/value")
        assert page.status_code == 200
        assert "424,242" in page.text
