"""Fitted persona models shared by the tests of this package (fitting takes about a second)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from insightloop.analytics.personas import PersonaResult, fit_personas
from tests.analytics.personas.synthetic import planted_table

CATEGORICAL = ("top_channel", "top_category", "country")


@pytest.fixture(scope="package")
def planted() -> tuple[pa.Table, np.ndarray]:
    """4,000 customers of four planted types, and the planted type of each."""
    return planted_table(4000, seed=1)


@pytest.fixture(scope="package")
def fitted(planted: tuple[pa.Table, np.ndarray]) -> PersonaResult:
    """Personas fitted on the planted customers with automatic k."""
    table, _ = planted
    return fit_personas(table, categorical_columns=CATEGORICAL, value_column="revenue_365d")
