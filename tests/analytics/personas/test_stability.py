"""Persona ids and labels stay put across re-runs, shuffles and small changes in the data."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.analytics.personas import PersonaResult, assign_personas, fit_personas
from tests.analytics.personas.conftest import CATEGORICAL
from tests.analytics.personas.synthetic import GIFTER, TYPES, planted_table


def _fit(table: pa.Table, **kwargs: object) -> PersonaResult:
    return fit_personas(
        table, categorical_columns=CATEGORICAL, value_column="revenue_365d", **kwargs
    )


def _by_customer(result: PersonaResult) -> dict[str, str]:
    out = result.assignments
    return dict(zip(out["customer_id"].to_pylist(), out["persona_id"].to_pylist(), strict=True))


def test_the_same_data_gives_the_same_ids_and_labels(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    again = _fit(planted[0])
    assert again.model.personas == fitted.model.personas
    assert again.assignments.equals(fitted.assignments)
    assert [c.to_dict() for c in again.cards] == [c.to_dict() for c in fitted.cards]


def test_a_rerun_with_the_previous_model_keeps_everything(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    again = _fit(planted[0], previous=fitted.model)
    assert again.model.personas == fitted.model.personas
    assert again.assignments.equals(fitted.assignments)
    assert again.new_persona_ids == ()
    assert again.retired_persona_ids == ()
    assert not any(c.is_new for c in again.cards)
    assert again.model.next_id == fitted.model.next_id == 5


def test_shuffled_rows_give_the_same_personas(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted
    order = np.random.default_rng(9).permutation(table.num_rows)
    shuffled = _fit(table.take(pa.array(order)))
    assert shuffled.model.personas == fitted.model.personas
    assert _by_customer(shuffled) == _by_customer(fitted)


def test_perturbed_data_keeps_ids_and_labels(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted
    rng = np.random.default_rng(11)
    # Every amount moves by a few percent, and 3 % of the customers leave.
    for name in ("revenue_365d", "avg_order_value", "recency_days", "discount_share"):
        noise = rng.lognormal(0.0, 0.05, table.num_rows)
        index = table.column_names.index(name)
        table = table.set_column(index, name, pc.multiply(table[name], pa.array(noise)))
    table = table.filter(pa.array(rng.random(table.num_rows) > 0.03))
    for previous in (None, fitted.model):
        again = _fit(table, previous=previous)
        assert again.model.persona_ids == fitted.model.persona_ids
        assert [p.label for p in again.model.personas] == [p.label for p in fitted.model.personas]
        before = _by_customer(fitted)
        after = _by_customer(again)
        same = np.mean([after[c] == before[c] for c in after])
        assert same > 0.98


def test_an_extra_planted_type_gets_one_new_id(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted_table(5000, seed=3, types=(*TYPES, GIFTER))
    again = _fit(table, previous=fitted.model)
    assert again.k == 5
    assert again.new_persona_ids == ("P05",)
    assert again.retired_persona_ids == ()
    assert set(again.model.persona_ids) == {"P01", "P02", "P03", "P04", "P05"}
    assert again.model.next_id == 6
    kept = {p.persona_id: p.label for p in again.model.personas if p.persona_id != "P05"}
    assert kept == fitted.model.labels
    new = next(c for c in again.cards if c.persona_id == "P05")
    assert new.is_new
    assert new.traits[0].feature == "share_cat_toys"
    assert new.label.startswith("Toys")


def test_assign_personas_reproduces_the_fit(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted
    assert assign_personas(fitted.model, table).equals(fitted.assignments)
    # New customers are assigned without refitting anything.
    newcomers, _ = planted_table(300, seed=42)
    out = assign_personas(fitted.model, newcomers.drop_columns(["country"]))
    assert out.num_rows == 300
    assert set(out["persona_id"].to_pylist()) <= set(fitted.model.persona_ids)
