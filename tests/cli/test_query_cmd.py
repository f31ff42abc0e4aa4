"""`insightloop query`: slicing from the command line (the figures are worked out in
tests/analytics/cube/data.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.cli.main import app
from tests.analytics.cube.data import build_cube_data, configure

runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("query") / "ws"
    with Workspace.init(root) as ws:
        configure(ws)
        build_cube_data(ws.engine)
    return root


def test_json_gives_rows_totals_and_units(path: Path) -> None:
    out = runner.invoke(
        app, ["query", "revenue,orders", "--by", "channel", "--json", "-w", str(path)]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["rows"] == [
        {"channel": "store", "revenue": 1199.0, "orders": 5, "suppressed": False},
        {"channel": "web", "revenue": 100.0, "orders": 1, "suppressed": False},
    ]
    assert data["totals"] == {"revenue": 1299.0, "orders": 6, "suppressed": False}
    assert data["units"] == {"revenue": "EUR", "orders": "orders"}


def test_the_table_with_filters_period_and_totals(path: Path) -> None:
    out = runner.invoke(
        app,
        ["query", "revenue", "--by", "period", "--period", "quarter", "--since", "2024-01-01",
         "--where", "value_tier in top", "--where", "country=SE", "-w", str(path)],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "revenue (EUR)" in out.output
    # Ada's 2024 orders: 50 in Q1, 130 in Q2, 999 in Q3.
    for cell in ("2024-01-01", "50.00", "130.00", "999.00", "total", "1,179.00"):
        assert cell in out.output


def test_customer_measures_say_their_day(path: Path) -> None:
    out = runner.invoke(app, ["query", "customers,avg_clv", "--by", "segment", "-w", str(path)])
    assert out.exit_code == 0, out.output
    assert "Customer measures as of 2024-06-30." in out.output
    assert "buyers" in out.output
    assert "155.00" in out.output


def test_small_groups_are_hidden_on_request(path: Path) -> None:
    out = runner.invoke(
        app, ["query", "customers", "--by", "value_tier", "--min-group-size", "2", "-w", str(path)]
    )
    assert out.exit_code == 0, out.output
    assert "·" in out.output
    assert "fewer than 2 customers" in out.output


def test_csv(path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    out = runner.invoke(
        app, ["query", "units,sales", "--by", "category", "--csv", str(target), "-w", str(path)]
    )
    assert out.exit_code == 0, out.output
    with target.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["category", "units", "sales", "suppressed"],
        ["toys", "7", "140.0", "False"],
        ["books", "3", "30.0", "False"],
    ]


def test_list_needs_no_workspace(path: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["query", "--list", "-w", str(tmp_path)])
    assert out.exit_code == 0, out.output
    for word in ("Measures", "Dimensions", "revenue", "avg_clv", "lifecycle_stage", "period"):
        assert word in out.output
    listed = runner.invoke(app, ["query", "--list", "--json", "-w", str(path)])
    data = json.loads(listed.output)
    assert {"measures", "dimensions"} == set(data)
    units = {m["name"]: m["unit"] for m in data["measures"]}
    assert units["revenue"] == "EUR"  # the workspace's currency


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["revenu"], "Did you mean 'revenue'?"),
        (["revenue", "--by", "category"], "Measures that can"),
        (["customers", "--where", "country"], "Write a filter as"),
        (["revenue", "--since", "June"], "--since is not a date"),
        ([], "Name at least one measure"),
    ],
)
def test_errors_say_what_to_do(path: Path, args: list[str], expected: str) -> None:
    out = runner.invoke(app, ["query", *args, "-w", str(path)])
    assert out.exit_code == 1
    assert expected in out.output
