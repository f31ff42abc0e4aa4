"""The CDNOW sample of Fader, Hardie & Lee (2005), read from the lifetimes package's data folder.

lifetimes is a test-data dependency only: its files are located without importing it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"


def _datasets() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the CDNOW files ship with lifetimes (pip install -e '.[dev]')")
    return Path(spec.submodule_search_locations[0]) / "datasets"


@pytest.fixture(scope="session")
def cdnow_summary() -> pd.DataFrame:
    """2,357 customers, 39-week calibration: ID, frequency, recency, T (weeks)."""
    return pd.read_csv(_datasets() / "cdnow_customers_summary.csv")


@pytest.fixture(scope="session")
def cdnow_summary_spend() -> pd.DataFrame:
    """The same customers with ``zbar``, the mean repeat-purchase value (rounded to cents)."""
    return pd.read_csv(_datasets() / "cdnow_customers_summary_with_transactions.csv")


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """The raw sample: one row per transaction, 1997-01-01 .. 1998-06-30."""
    return pd.read_csv(
        _datasets() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
    )
