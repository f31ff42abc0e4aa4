"""Building blocks against references: silhouette (scikit-learn), transform, labels, matching."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import silhouette_score

from insightloop.analytics.personas import FeatureTransform, PersonaSettings, Trait
from insightloop.analytics.personas.clustering import nearest, silhouette_scores
from insightloop.analytics.personas.labels import make_label, phrase
from insightloop.analytics.personas.matching import match_centroids
from insightloop.analytics.personas.transform import fit_transform


def test_silhouette_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    z = np.vstack([rng.normal(c, 1.0, size=(300, 4)) for c in (0.0, 3.0, 6.0)])
    labelings = [rng.integers(0, k, len(z)) for k in (2, 3, 5)]
    labelings.append(np.repeat([0, 1, 2], 300))
    labelings.append(np.r_[np.zeros(len(z) - 1, dtype=np.int64), 1])  # a singleton cluster
    ours = silhouette_scores(z, labelings)
    reference = [silhouette_score(z, labels) for labels in labelings]
    assert ours == pytest.approx(reference, abs=1e-4)


def test_nearest_is_the_brute_force_argmin() -> None:
    rng = np.random.default_rng(1)
    z, centroids = rng.normal(size=(1000, 6)), rng.normal(size=(7, 6))
    labels, distances = nearest(z, centroids)
    brute = np.linalg.norm(z[:, None, :] - centroids[None, :, :], axis=2)
    assert (labels == brute.argmin(axis=1)).all()
    assert distances == pytest.approx(brute.min(axis=1))


def test_transform_decisions_and_json_round_trip() -> None:
    rng = np.random.default_rng(2)
    n = 2000
    x = np.column_stack(
        [
            rng.lognormal(3.0, 1.0, n),  # skewed, non-negative: logged
            rng.normal(0.0, 1.0, n) ** 3,  # skewed but negative values: not logged
            rng.uniform(0.0, 1.0, n),  # symmetric: not logged
        ]
    )
    x[:5, 0] = 1e9  # extreme values are clipped
    names = ["revenue", "margin_change", "share_web"]
    transform = fit_transform(x, names, PersonaSettings(scaling="robust", clip=4.0))
    assert [c.log for c in transform.columns] == [True, False, False]
    z = transform.apply(x)
    assert np.abs(z).max() <= 4.0
    assert z[:5, 0].tolist() == [4.0] * 5
    again = FeatureTransform.from_dict(json.loads(json.dumps(transform.to_dict())))
    assert again == transform
    assert np.array_equal(again.apply(x), z)


def test_weights_scale_and_zero_weight_drops() -> None:
    x = np.random.default_rng(3).normal(size=(500, 2))
    settings = PersonaSettings(weights={"a": 2.0, "b": 0.0})
    transform = fit_transform(x, ["a", "b"], settings)
    assert transform.features == ("a",)
    assert transform.dropped == {"b": "weight 0"}
    assert transform.apply(x)[:, 0].std() == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("feature", "direction", "expected"),
    [
        ("orders_365d", "higher", "Frequent"),
        ("orders_365d", "lower", "Infrequent"),
        ("revenue_12m", "higher", "High value"),
        ("avg_order_value", "lower", "Small baskets"),
        ("recency_days", "higher", "Lapsing"),
        ("share_store", "higher", "store"),
        ("share_store", "lower", None),
        ("share_cat_electronics", "higher", "electronics"),
        ("electronics_share", "higher", "electronics"),
        ("discount_share", "higher", "Deal seekers"),
        ("contacts_365d", "higher", "Service-heavy"),
        ("loyalty_points", "higher", "High loyalty points"),
    ],
)
def test_phrases(feature: str, direction: str, expected: str | None) -> None:
    assert phrase(feature, direction) == expected


def test_labels_are_unique_and_fall_back() -> None:
    traits = [
        Trait("revenue_365d", 900.0, 300.0, 1.9, "higher"),
        Trait("share_app", 0.6, 0.2, 1.5, "higher"),
        Trait("share_cat_electronics", 0.4, 0.2, 1.1, "higher"),
        Trait("orders_365d", 9.0, 5.0, 0.7, "higher"),
        Trait("tenure_days", 400.0, 300.0, 0.1, "higher"),
    ]
    first = make_label(traits, [], persona_id="P01", taken=set(), min_effect=0.5)
    assert first == "High value · app · electronics"
    second = make_label(traits, [], persona_id="P02", taken={first}, min_effect=0.5)
    assert second == "High value · app · electronics · frequent"
    third = make_label(traits, [], persona_id="P03", taken={first, second}, min_effect=0.5)
    assert third == "High value · app · electronics (P03)"
    weak = [Trait("tenure_days", 400.0, 300.0, 0.1, "higher")]
    assert make_label(weak, [], persona_id="P04", taken=set(), min_effect=0.5) == (
        "Typical customers"
    )


def test_matching_rejects_a_cluster_that_moved_past_the_midpoint() -> None:
    previous = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    near = np.array([[0.2, 0.1], [3.9, 0.0], [0.0, 4.2]])
    assert match_centroids(near, previous).previous == (0, 1, 2)
    moved = np.array([[0.2, 0.1], [3.9, 0.0], [2.5, 2.5]])
    match = match_centroids(moved, previous)
    assert match.previous == (0, 1, None)
    fewer = match_centroids(np.array([[4.0, 0.1]]), previous)
    assert fewer.previous == (1,)
    assert fewer.distance == (pytest.approx(0.1),)
