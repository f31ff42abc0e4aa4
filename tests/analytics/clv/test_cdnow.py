"""Published CDNOW figures: BG/NBD and Pareto/NBD (FHL 2005), Gamma-Gamma (Fader & Hardie 2013)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from insightloop.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    daily_purchases,
    fit_clv,
    holdout_diagnostics,
    rfm_summary,
    transactions_from,
)
from insightloop.analytics.clv.transactions import day_number
from tests.analytics.clv.conftest import CALIBRATION_END, HOLDOUT_END


def _significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits - 1}e}")


def test_bgnbd_reproduces_fhl_2005(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    model = BetaGeoModel.fit(s["frequency"], s["recency"], s["T"])
    got = {k: _significant(v) for k, v in model.params.items()}
    assert got == {"r": 0.243, "alpha": 4.41, "a": 0.793, "b": 2.43}
    # FHL 2005 quote alpha and b to three decimals: 4.414 and 2.426.
    assert round(model.alpha, 3) == 4.414
    assert round(model.b, 3) == 2.426
    assert model.fit_info is not None
    assert model.fit_info.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert model.fit_info.n_customers == 2357
    assert all(np.isfinite(list(model.fit_info.standard_errors.values())))


def test_paretonbd_reproduces_the_published_figures(cdnow_summary: pd.DataFrame) -> None:
    s = cdnow_summary
    model = ParetoNBDModel.fit(s["frequency"], s["recency"], s["T"])
    got = {k: round(v, 2) for k, v in model.params.items()}
    assert got == {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
    assert model.fit_info is not None
    # The MATLAB note reports LL = -9594.98.
    assert model.fit_info.log_likelihood == pytest.approx(-9594.98, abs=0.01)


def test_gamma_gamma_reproduces_fader_hardie_2013_from_the_transactions(
    cdnow_transactions: pd.DataFrame,
) -> None:
    """The 946 repeat customers' mean repeat value, computed from the raw transactions."""
    summary = rfm_summary(cdnow_transactions, at="date", calibration_end=CALIBRATION_END)
    x, m = summary["frequency"].to_numpy(), summary["monetary_value"].to_numpy()
    assert (x > 0).sum() == 946
    model = GammaGammaModel.fit(x, m)
    assert {k: _significant(v) for k, v in model.params.items()} == {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.4,
    }
    assert round(model.gamma, 2) == 15.44
    assert model.fit_info is not None
    assert model.fit_info.n_customers == 946


def test_gamma_gamma_on_the_rounded_summary_file(cdnow_summary_spend: pd.DataFrame) -> None:
    """zbar rounded to cents moves gamma in the fourth digit only (15.45)."""
    s = cdnow_summary_spend
    model = GammaGammaModel.fit(s["x"], s["zbar"])
    assert {k: _significant(v) for k, v in model.params.items()} == {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.4,
    }


def test_summary_from_raw_transactions_matches_the_shipped_summary(
    cdnow_transactions: pd.DataFrame, cdnow_summary_spend: pd.DataFrame
) -> None:
    ours = rfm_summary(
        cdnow_transactions, at="date", calibration_end=CALIBRATION_END, unit="weeks"
    ).to_pandas()
    shipped = cdnow_summary_spend
    assert len(ours) == len(shipped) == 2357
    merged = ours.merge(shipped, left_on="customer_id", right_on="ID", validate="one_to_one")
    assert (merged["frequency"] == merged["x"]).all()
    # The shipped file rounds to two decimals.
    np.testing.assert_allclose(merged["recency"], merged["t_x"], atol=0.005)
    np.testing.assert_allclose(merged["T_x"], merged["T_y"], atol=0.005)
    np.testing.assert_allclose(merged["monetary_value"], merged["zbar"], atol=0.005)


def test_holdout_diagnostics_track_the_actual_purchases(cdnow_transactions: pd.DataFrame) -> None:
    cal, obs = day_number(CALIBRATION_END), day_number(HOLDOUT_END)
    daily = daily_purchases(transactions_from(cdnow_transactions, at="date"))
    from insightloop.analytics.clv.summary import summarise

    summary = summarise(daily, calibration_end=cal, observation_end=obs)
    x, t_x, big_t = (summary[c].to_numpy() for c in ("frequency", "recency", "T"))
    for model in (BetaGeoModel.fit(x, t_x, big_t), ParetoNBDModel.fit(x, t_x, big_t)):
        diagnostics = holdout_diagnostics(
            model, daily, summary, calibration_end=cal, observation_end=obs
        )
        track = diagnostics.tracking.to_pandas()
        assert len(track) == 78
        assert track["holdout"].sum() == 39
        calibration_end = track.iloc[38]
        assert calibration_end["cumulative_actual"] == x.sum() == 2457
        assert calibration_end["cumulative_expected"] == pytest.approx(2457, rel=0.03)
        last = track.iloc[-1]
        assert last["cumulative_actual"] == 4339
        assert last["cumulative_expected"] == pytest.approx(4339, rel=0.05)
        metrics = diagnostics.metrics
        assert metrics["actual_total"] == 1882
        assert metrics["expected_total"] == pytest.approx(1882, rel=0.15)
        assert metrics["tracking_mape_pct"] < 5
        conditional = diagnostics.conditional.to_pandas()
        assert conditional["frequency"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
        assert conditional["customers"].sum() == 2357
        # Mean holdout purchases rise with calibration frequency, as the model expects.
        assert (np.diff(conditional["expected"]) > 0).all()
        assert metrics["conditional_mae"] < 0.3


def test_fit_clv_on_cdnow(cdnow_transactions: pd.DataFrame) -> None:
    result = fit_clv(
        cdnow_transactions,
        at="date",
        calibration_end=CALIBRATION_END,
        holdout_end=HOLDOUT_END,
        horizon=39,
    )
    assert result.purchase_model.params == pytest.approx(
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, rel=2e-3
    )
    predictions = result.predictions
    assert predictions.num_rows == 2357
    assert predictions.column_names == [
        "customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
        "expected_purchases", "expected_spend", "clv", "discounted_clv",
    ]  # fmt: skip
    assert result.totals["expected_purchases"] == pytest.approx(
        result.diagnostics.metrics["expected_total"] if result.diagnostics else 0, rel=1e-6
    )
    assert result.training_window == {
        "first_transaction": "1997-01-01",
        "last_transaction": "1998-06-30",
        "calibration_end": "1997-09-30",
        "holdout_end": "1998-06-30",
    }
    assert 0 < result.totals["discounted_clv"] < result.totals["clv"]
