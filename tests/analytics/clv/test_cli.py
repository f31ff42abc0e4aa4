"""``insightloop clv fit`` on a CSV file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from insightloop.analytics.clv import load_model
from insightloop.cli.clv_cmds import clv_app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(clv_app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


def _orders(customers: int, seed: int) -> pd.DataFrame:
    """Customers who differ in purchase rate and lifetime, as in BG/NBD (one row per order)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 90, customers)
    rate = rng.gamma(0.6, 1 / 20, customers)  # purchases per day
    life = rng.exponential(1 / rng.gamma(1.0, 1 / 200, customers))  # days
    counts = rng.poisson(rate * np.minimum(life, 540 - first))
    owner = np.repeat(np.arange(customers), counts)
    span = np.minimum(life, 540 - first)[owner]
    day = np.r_[first, first[owner] + (rng.random(len(owner)) * span).astype(int)]
    who = np.r_[np.arange(customers), owner]
    return pd.DataFrame(
        {
            "Customer_ID": who,
            "order_date": (np.datetime64("2023-01-01") + day).astype(str),
            "revenue": (rng.gamma(4, 10, len(who)) * rng.gamma(8, 1 / 8, customers)[who]).round(2),
        }
    )


@pytest.fixture(scope="module")
def orders_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "orders.csv"
    _orders(3000, seed=11).to_csv(path, index=False)
    return path


def test_fit_finds_columns_and_writes_predictions_and_model(
    orders_csv: Path, tmp_path: Path
) -> None:
    out, model = tmp_path / "pred.parquet", tmp_path / "clv.json"
    code, text = invoke(
        "fit", str(orders_csv), "--calibration-end", "2023-12-31", "--holdout-end",
        "2024-06-23", "--out", str(out), "--model-file", str(model),
    )  # fmt: skip
    assert code == 0, text
    for shown in ("Parameters", "bgnbd", "gamma_gamma", "Forecast over 52 weeks",
                  "Holdout to 2024-06-23", "Mean holdout purchases", "sha256"):  # fmt: skip
        assert shown in text
    predictions = pq.read_table(out)
    assert predictions.column_names[-5:] == [
        "p_alive", "expected_purchases", "expected_spend", "clv", "discounted_clv",
    ]  # fmt: skip
    assert predictions.num_rows == load_model(model).n_customers


def test_fit_paretonbd_as_json_to_csv(orders_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "pred.csv"
    code, text = invoke(
        "fit", str(orders_csv), "--model", "paretonbd", "--unit", "days", "--horizon", "90",
        "--discount-rate", "0.2", "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, text
    data = json.loads(text)
    assert set(data["params"]) == {"paretonbd", "gamma_gamma"}
    assert data["config"]["unit"] == "days"
    assert data["diagnostics"] is None
    assert pd.read_csv(out).shape[0] == data["totals"]["customers"]


def test_missing_column_says_which_option_to_use(orders_csv: Path) -> None:
    code, text = invoke("fit", str(orders_csv), "--amount", "price")
    assert code == 1
    assert "The amount column 'price' is not in the transactions." in text
    assert "Hint:" in text
    assert "--amount COLUMN" in text


def test_bad_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("customer,date,amount\n1,2024-01-01,5\n1,not a date,-3\n")
    code, text = invoke("fit", str(path))
    assert code == 1
    assert "cannot be read" in text
    path.write_text("customer,date,amount\n1,2024-01-01,5\n1,2024-01-09,-3\n")
    code, text = invoke("fit", str(path))
    assert code == 1
    assert "negative amount" in text
    assert "Hint:" in text


def test_missing_file_and_bad_options(tmp_path: Path, orders_csv: Path) -> None:
    code, text = invoke("fit", str(tmp_path / "nope.csv"))
    assert code == 1
    assert "does not exist" in text
    code, text = invoke("fit", str(orders_csv), "--model", "mbgnbd")
    assert code == 1
    assert "--model bgnbd or paretonbd" in text
    code, text = invoke("fit", str(orders_csv), "--holdout-end", "2024-01-01")
    assert code == 1
    assert "needs a calibration end" in text


def test_customers_who_all_buy_alike_are_refused(tmp_path: Path) -> None:
    """Without heterogeneity the gamma mixing runs away (r, alpha -> infinity): say so."""
    rng = np.random.default_rng(11)
    path = tmp_path / "uniform.csv"
    pd.DataFrame(
        {
            "customer": rng.integers(0, 500, 4000),
            "date": (np.datetime64("2023-01-01") + rng.integers(0, 540, 4000)).astype(str),
            "amount": rng.gamma(3, 15, 4000).round(2),
        }
    ).to_csv(path, index=False)
    code, text = invoke("fit", str(path))
    assert code == 1
    assert "edge of the parameter space" in text
    assert "buy at the same rate" in text
