"""`insightloop tiers`: the value tiers of a workspace, as a table and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.analytics.config import analytics_config
from insightloop.analytics.measures import build_measures
from insightloop.cli.main import app
from tests.analytics.shop import AS_OF, IDENTITY, load_shop
from tests.analytics.test_measures import NOW

runner = CliRunner()


def test_tiers_before_and_after_the_measures(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    with Workspace.init(path) as ws:
        load_shop(ws.engine)
    before = runner.invoke(app, ["tiers", "-w", str(path)])
    assert before.exit_code == 1
    assert "insightloop run measures" in before.output
    with Workspace.open(path) as ws:
        build_measures(ws.engine, IDENTITY, analytics_config({}), now=NOW, as_of=AS_OF)
    shown = runner.invoke(app, ["tiers", "-w", str(path), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = {r["tier"]: r for r in json.loads(shown.output)}
    # The workspace's own settings (the default tiers) decide the names.
    assert set(rows) == {"top", "middle", "base"}
    assert sum(r["customers"] for r in rows.values()) == 3
    table = runner.invoke(app, ["tiers", "-w", str(path)])
    assert "Value tiers by profit_12m (EUR)" in table.output
