"""Planted customer types are recovered, and their cards show the planted traits."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import adjusted_rand_score

from insightloop.analytics.personas import PersonaCard, PersonaResult, fit_personas
from tests.analytics.personas.conftest import CATEGORICAL
from tests.analytics.personas.synthetic import TYPES


def _persona_of_type(result: PersonaResult, truth: np.ndarray, name: str) -> PersonaCard:
    """The card of the persona holding most customers of the planted type ``name``."""
    kind = [t.name for t in TYPES].index(name)
    ids = result.assignments["persona_id"].to_numpy(zero_copy_only=False)[truth == kind]
    values, counts = np.unique(ids, return_counts=True)
    return next(c for c in result.cards if c.persona_id == values[counts.argmax()])


def test_automatic_k_finds_the_four_planted_types(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    _, truth = planted
    assert fitted.k == 4
    assert sorted(fitted.scores) == list(range(2, 11))
    assert max(fitted.scores, key=fitted.scores.__getitem__) == 4
    personas = fitted.assignments["persona_id"].to_numpy(zero_copy_only=False)
    assert adjusted_rand_score(truth, personas) >= 0.9


def test_assignments_cover_every_customer_in_input_order(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted
    out = fitted.assignments
    assert out.column_names == ["customer_id", "persona_id", "label", "distance"]
    assert out["customer_id"].equals(table["customer_id"])
    assert set(out["persona_id"].to_pylist()) == set(fitted.model.persona_ids)
    assert min(out["distance"].to_pylist()) >= 0.0


@pytest.mark.parametrize(
    ("planted_type", "feature", "direction"),
    [
        ("store_loyalist", "share_store", "higher"),
        ("digital_native", "share_app", "higher"),
        ("premium", "avg_order_value", "higher"),
    ],
)
def test_the_strongest_trait_is_the_planted_one(
    fitted: PersonaResult,
    planted: tuple[pa.Table, np.ndarray],
    planted_type: str,
    feature: str,
    direction: str,
) -> None:
    card = _persona_of_type(fitted, planted[1], planted_type)
    top = card.traits[0]
    assert (top.feature, top.direction) == (feature, direction)
    assert top.effect_size > 2.0
    assert top.cluster_mean > top.base_mean


def test_bargain_hunters_are_named_by_discounts_and_web(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    card = _persona_of_type(fitted, planted[1], "bargain_hunter")
    assert {t.feature for t in card.traits[:2]} == {"discount_share", "share_web"}
    assert "deal seekers" in card.label.lower()
    assert "web" in card.label.lower()


def test_premium_customers_hold_more_value_than_their_share(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    card = _persona_of_type(fitted, planted[1], "premium")
    assert card.value_share is not None
    assert card.value_index is not None
    assert card.value_share > 2 * card.share
    assert card.value_index > 2.0
    assert "high value" in card.label.lower()


def test_categorical_values_show_share_and_lift(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    card = _persona_of_type(fitted, planted[1], "store_loyalist")
    channel = [c for c in card.categories if c.column == "top_channel"]
    assert channel[0].value == "store"
    assert channel[0].cluster_share > 0.9
    assert channel[0].lift == pytest.approx(channel[0].cluster_share / channel[0].base_share)
    assert channel[0].lift > 1.5
    country = [c for c in card.categories if c.column == "country"]
    assert len(country) == 3  # top_values
    assert all(0.5 < c.lift < 1.5 for c in country)  # country is noise


def test_cards_add_up_and_serialise(fitted: PersonaResult) -> None:
    cards = fitted.cards
    assert sum(c.size for c in cards) == fitted.assignments.num_rows
    assert sum(c.share for c in cards) == pytest.approx(1.0)
    assert sum(c.value_share or 0.0 for c in cards) == pytest.approx(1.0)
    assert [c.size for c in cards] == sorted((c.size for c in cards), reverse=True)
    assert [c.persona_id for c in cards] == ["P01", "P02", "P03", "P04"]
    assert len({c.label for c in cards}) == len(cards)
    assert all(c.is_new for c in cards)
    for card in cards:
        assert len(card.traits) == 5
        assert [abs(t.effect_size) for t in card.traits] == sorted(
            (abs(t.effect_size) for t in card.traits), reverse=True
        )
        data = json.loads(json.dumps(card.to_dict()))
        assert data["persona_id"] == card.persona_id
        assert data["traits"][0]["feature"] == card.traits[0].feature


def test_skewed_money_columns_are_logged_and_recorded(fitted: PersonaResult) -> None:
    columns = {c.name: c for c in fitted.model.transform.columns}
    assert columns["revenue_365d"].log
    assert columns["avg_order_value"].log
    assert columns["revenue_365d"].skewness > 1.0
    assert not columns["tenure_days"].log  # uniform
    assert not columns["share_store"].log


def test_pandas_input_gives_the_same_personas(
    fitted: PersonaResult, planted: tuple[pa.Table, np.ndarray]
) -> None:
    table, _ = planted
    result = fit_personas(
        table.to_pandas(), categorical_columns=CATEGORICAL, value_column="revenue_365d"
    )
    assert result.assignments.equals(fitted.assignments)
    assert [c.label for c in result.cards] == [c.label for c in fitted.cards]


def test_a_fixed_k_is_respected(planted: tuple[pa.Table, np.ndarray]) -> None:
    table, _ = planted
    result = fit_personas(table, k=3)
    assert result.k == 3
    assert list(result.scores) == [3]
