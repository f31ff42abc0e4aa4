"""Customer summaries: same-day purchases, holdout columns, the Ibis version on every backend."""

from __future__ import annotations

from datetime import datetime

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.analytics.clv import ClvInputError, rfm_summary, rfm_summary_expr
from tests.analytics.clv.conftest import CALIBRATION_END
from tests.decorator import mark_with_all_backends

ROWS = {
    "customer_id": ["a", "a", "a", "a", "b", "c", "c"],
    "at": [
        datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 17), datetime(2024, 1, 15, 8),
        datetime(2024, 2, 12, 10), datetime(2024, 1, 8, 12), datetime(2024, 2, 1, 12),
        datetime(2024, 2, 20, 12),
    ],
    "amount": [10.0, 5.0, 20.0, 30.0, 8.0, 4.0, 6.0],
}  # fmt: skip


def test_same_day_purchases_count_once_and_holdout_is_separate() -> None:
    table = rfm_summary(ROWS, calibration_end="2024-01-29", observation_end="2024-02-26")
    assert table.to_pydict() == {
        "customer_id": ["a", "b"],  # c's first purchase is after the calibration end
        "frequency": [1, 0],
        "recency": [2.0, 0.0],
        "T": [4.0, 3.0],
        "monetary_value": [20.0, 0.0],
        "frequency_holdout": [1, 0],
        "monetary_value_holdout": [30.0, 0.0],
        "duration_holdout": [4.0, 4.0],
    }


def test_days_as_unit_and_pandas_input() -> None:
    table = rfm_summary(pd.DataFrame(ROWS), calibration_end="2024-03-01", unit="days")
    assert table["T"].to_pylist() == [60.0, 53.0, 29.0]
    assert table["recency"].to_pylist() == [42.0, 0.0, 19.0]


def test_bad_transactions_are_reported_together() -> None:
    bad = {
        "customer_id": ["a", None, "b"],
        "at": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "amount": [1.0, -2.0, 3.0],
    }
    with pytest.raises(ClvInputError) as caught:
        rfm_summary(bad)
    assert "1 rows have no customer id" in caught.value.message
    assert "1 rows have a negative amount" in caught.value.message
    assert caught.value.hint


def test_unparsable_dates_and_missing_columns() -> None:
    with pytest.raises(ClvInputError, match="cannot be read"):
        rfm_summary({"customer_id": [1], "at": ["yesterday"], "amount": [1.0]})
    with pytest.raises(ClvInputError, match="No date column") as caught:
        rfm_summary({"customer_id": [1], "when": ["2024-01-01"]})
    assert caught.value.hint == "Name it with --date COLUMN."


def test_yyyymmdd_integers_are_dates(cdnow_transactions: pd.DataFrame) -> None:
    table = rfm_summary(cdnow_transactions.head(4), at="date", calibration_end=CALIBRATION_END)
    assert table["frequency"].to_pylist() == [2]


@mark_with_all_backends
def test_ibis_summary_matches_numpy(workspace: Workspace, cdnow_transactions: pd.DataFrame) -> None:
    raw = cdnow_transactions
    orders = pa.table(
        {
            "order_id": pa.array([str(i) for i in range(len(raw))]),
            "source_customer_key": pa.array(raw["customer_id"].astype(str)),
            "ordered_at": pa.array(
                pd.to_datetime(raw["date"].astype(str)) + pd.Timedelta(hours=13)
            ),
            "total_amount": pa.array(raw["amount"].astype(float)),
        }
    )
    engine = workspace.engine
    # Timestamps in the afternoon: the summary counts days, whatever the time.
    engine.insert("orders", orders)
    expr = rfm_summary_expr(
        engine.table("orders"),
        customer="source_customer_key",
        at="ordered_at",
        amount="total_amount",
        calibration_end=CALIBRATION_END,
    )
    got = engine.to_pyarrow(expr).to_pandas().sort_values("customer_id").reset_index(drop=True)
    expected = rfm_summary(
        orders, customer="source_customer_key", at="ordered_at", amount="total_amount",
        calibration_end=CALIBRATION_END,
    ).to_pandas()  # fmt: skip
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    assert got["frequency"].tolist() == expected["frequency"].tolist()
    for column in ("recency", "T", "monetary_value"):
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-9, err_msg=column)


def test_ibis_summary_on_duckdb_memtable() -> None:
    frame = pd.DataFrame(ROWS)
    expr = rfm_summary_expr(
        ibis.memtable(frame), customer="customer_id", at="at", amount="amount",
        calibration_end="2024-01-29", unit_days=1.0,
    )  # fmt: skip
    got = ibis.duckdb.connect().to_pyarrow(expr.order_by("customer_id")).to_pydict()
    assert got == {
        "customer_id": ["a", "b"],
        "frequency": [1, 0],
        "recency": [14.0, 0.0],
        "T": [28.0, 21.0],
        "monetary_value": [20.0, 0.0],
    }
    with pytest.raises(ClvInputError, match="'price' is not in the table"):
        rfm_summary_expr(
            ibis.memtable(frame), customer="customer_id", at="at", amount="price",
            calibration_end="2024-01-29",
        )  # fmt: skip
