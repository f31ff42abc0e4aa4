"""Parameters are recovered from customers simulated with known ones."""

from __future__ import annotations

import numpy as np
import pytest

from insightloop.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    simulate_bgnbd,
    simulate_spend,
)

TRUE = BetaGeoModel(r=0.25, alpha=4.0, a=0.8, b=2.5)


@pytest.mark.slow
def test_bgnbd_parameters_are_recovered_from_50k_customers() -> None:
    rng = np.random.default_rng(2024)
    big_t = rng.integers(7, 2 * 365, 50_000) / 7.0
    summary = simulate_bgnbd(TRUE, big_t, seed=rng)
    model = BetaGeoModel.fit(summary["frequency"], summary["recency"], summary["T"])
    assert model.fit_info is not None
    for name, true in TRUE.params.items():
        estimate = model.params[name]
        error = model.fit_info.standard_errors[name]
        assert estimate == pytest.approx(true, rel=0.1), name
        # Within four standard errors, and the errors are of a sensible size.
        assert abs(estimate - true) < 4 * error, name
        assert 0 < error < 0.1 * true, name


def test_gamma_gamma_parameters_are_recovered() -> None:
    rng = np.random.default_rng(7)
    true = GammaGammaModel(p=6.0, q=4.0, gamma=15.0)
    frequency = rng.integers(1, 15, 30_000)
    spend = simulate_spend(true, frequency, seed=rng)
    model = GammaGammaModel.fit(frequency, spend)
    assert model.params == pytest.approx(true.params, rel=0.1)


def test_weights_stand_for_repeated_rows() -> None:
    summary = simulate_bgnbd(TRUE, np.full(3000, 52.0), seed=3)
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    plain = BetaGeoModel.fit(np.r_[x, x], np.r_[t_x, t_x], np.r_[big_t, big_t])
    weighted = BetaGeoModel.fit(x, t_x, big_t, weights=np.full(len(x), 2.0))
    assert weighted.params == pytest.approx(plain.params, rel=1e-4)
