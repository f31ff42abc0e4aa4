"""Nulls, constant columns and unusable input: handled, or refused with a clear error."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

from insightloop.analytics.personas import PersonaError, fit_personas
from insightloop.errors import ConfigError
from tests.analytics.personas.synthetic import GIFTER, TYPES, planted_table


def _with_nulls(table: pa.Table, column: str, share: float, seed: int) -> pa.Table:
    mask = np.random.default_rng(seed).random(table.num_rows) < share
    values = table[column].to_numpy()
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, mask=mask))


def test_nulls_and_constant_columns_are_handled(planted: tuple[pa.Table, np.ndarray]) -> None:
    table, truth = planted
    table = _with_nulls(table, "avg_order_value", 0.10, seed=2)  # indicator: 10 % missing
    table = _with_nulls(table, "return_rate", 0.01, seed=3)  # imputed only: 1 % missing
    n = table.num_rows
    table = table.append_column("loyalty_tier", pa.array(np.full(n, 2)))
    table = table.append_column("gift_cards", pa.nulls(n, pa.float64()))
    result = fit_personas(table, value_column="revenue_365d")

    transform = result.model.transform
    assert transform.dropped == {
        "loyalty_tier": "constant",
        "gift_cards": "missing on 100% of the sample",
    }
    assert [i.name for i in transform.indicators] == ["avg_order_value__missing"]
    assert "loyalty_tier" in result.model.feature_columns
    assert "loyalty_tier" not in result.model.features
    assert result.k == 4
    personas = result.assignments["persona_id"].to_numpy(zero_copy_only=False)
    assert adjusted_rand_score(truth, personas) >= 0.9
    assert all(np.isfinite(t.cluster_mean) for c in result.cards for t in c.traits)


def test_columns_missing_for_the_same_customers_share_one_indicator() -> None:
    table, _ = planted_table(3000, seed=5, types=(*TYPES, GIFTER))
    interval = table["purchase_interval_days"]
    table = table.append_column("interval_sd", pa.compute.multiply(interval, 0.3))
    result = fit_personas(table, k=5)
    (indicator,) = result.model.transform.indicators
    assert indicator.columns == ("purchase_interval_days", "interval_sd")


def test_fewer_customers_than_personas_is_refused() -> None:
    table, _ = planted_table(3, seed=1)
    with pytest.raises(PersonaError, match=r"3 customer.*cannot form 4 personas") as info:
        fit_personas(table, k=4)
    assert info.value.hint is not None
    assert "fewer personas" in info.value.hint


def test_too_few_distinct_customers_is_refused() -> None:
    table = pa.table({"customer_id": list(range(50)), "orders": [1, 2] * 25})
    with pytest.raises(PersonaError, match="only 2 distinct") as info:
        fit_personas(table, k=3)
    assert info.value.hint


def test_no_usable_feature_is_refused() -> None:
    table = pa.table(
        {"customer_id": list(range(50)), "flat": [1.0] * 50, "empty": pa.nulls(50, pa.float64())}
    )
    with pytest.raises(PersonaError, match="no usable feature") as info:
        fit_personas(table)
    assert "flat: constant" in info.value.message
    assert info.value.hint is not None
    only_ids = pa.table({"customer_id": list(range(50)), "country": ["SE"] * 50})
    with pytest.raises(PersonaError, match="no usable feature"):
        fit_personas(only_ids, categorical_columns=["country"])


def test_text_features_and_missing_columns_are_named() -> None:
    table = pa.table({"customer_id": [1, 2, 3], "country": ["SE", "GB", "US"]})
    with pytest.raises(PersonaError, match=r"missing column\(s\): orders.*not numeric: country"):
        fit_personas(table, feature_columns=["orders", "country"])


def test_duplicate_and_null_ids_are_refused() -> None:
    table = pa.table({"customer_id": ["a", "a", None, "b"], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(PersonaError, match=r"1 null id.*1 duplicate id") as info:
        fit_personas(table)
    assert "one row per customer" in (info.value.hint or "")


def test_invalid_settings_are_all_reported() -> None:
    table, _ = planted_table(200, seed=1)
    with pytest.raises(ConfigError, match="3 invalid persona setting") as info:
        fit_personas(table, k_max=1, seed=-1, clipp=4.0)
    assert "clipp" in info.value.message
    assert info.value.hint


def test_other_input_types_are_refused() -> None:
    with pytest.raises(PersonaError, match="pyarrow Table or a pandas DataFrame"):
        fit_personas([{"customer_id": 1}])
