"""Calibration/holdout diagnostics: the data behind the classic plots, and summary metrics.

- :func:`tracking`: repeat purchases per period, actual and expected, over calibration and
  holdout (Fader, Hardie & Lee 2005, figure 2: cumulative repeat transactions).
- :func:`conditional_expectations`: mean holdout purchases by calibration frequency
  ``0..max_frequency`` (the last group open-ended), actual and expected (FHL 2005, figure 4).
- :func:`holdout_metrics`: totals and errors in the holdout period.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from insightloop.analytics.clv.errors import ClvInputError
from insightloop.analytics.clv.summary import DailyPurchases, Unit, unit_days
from insightloop.analytics.clv.transactions import day_to_date
from insightloop.analytics.clv.value import PurchaseModel

__all__ = [
    "HoldoutDiagnostics",
    "conditional_expectations",
    "holdout_diagnostics",
    "holdout_metrics",
    "tracking",
]

_HOLDOUT_COLUMNS = ("frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class HoldoutDiagnostics:
    """How well a purchase model fitted on the calibration period predicts the holdout."""

    tracking: pa.Table
    conditional: pa.Table
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": dict(self.metrics),
            "tracking": self.tracking.to_pylist(),
            "conditional": self.conditional.to_pylist(),
        }


def tracking(
    model: PurchaseModel,
    daily: DailyPurchases,
    *,
    calibration_end: int,
    observation_end: int,
    unit: Unit = "weeks",
    period: float = 1.0,
) -> pa.Table:
    """Repeat purchases per period of the customers acquired by ``calibration_end``.

    Period ``j`` (1-based) covers the days ``[start + (j-1) L, start + j L)`` with ``L`` the
    period length in days and ``start`` the first purchase day of all. The expected count up to the
    end of period ``j`` sums, over customers acquired by then, the model's expected repeat
    purchases of a new customer, ``E[X(t)]``, at the time ``t`` from their first purchase day to
    the last day of the period (the convention of ``T``).

    Parameters
    ----------
    model
        A fitted purchase model.
    daily
        Purchase occasions (:func:`~insightloop.analytics.clv.summary.daily_purchases`).
    calibration_end, observation_end
        Day numbers of the last calibration and holdout days.

    Returns
    -------
    pyarrow.Table
        ``period``, ``period_end`` (date of its last day), ``holdout``, ``actual``,
        ``expected``, ``cumulative_actual``, ``cumulative_expected``.
    """
    days = unit_days(unit)
    length = period * days
    first = daily.first_day
    acquired = first <= calibration_end
    if not acquired.any():
        raise ClvInputError("No customer was acquired by the calibration end.")
    start = int(first[acquired].min())
    periods = int(np.ceil((observation_end - start + 1) / length))
    # Last day of each period, capped at the end of the observation.
    last_days = np.minimum(
        np.floor(start + np.arange(1, periods + 1) * length - 1e-9), observation_end
    )
    cohort_days, cohort_size = np.unique(first[acquired], return_counts=True)
    elapsed = (last_days[None, :] - cohort_days[:, None]) / days
    curve = model.expected_purchases(np.maximum(elapsed, 0).ravel()).reshape(elapsed.shape)
    # Small matrices: a plain weighted sum, not a BLAS call.
    expected_cumulative = (cohort_size[:, None] * np.where(elapsed >= 0, curve, 0.0)).sum(axis=0)
    is_repeat = np.r_[False, np.diff(daily.customer) == 0]
    keep = is_repeat & acquired[daily.customer] & (daily.day <= observation_end)
    index = np.floor((daily.day[keep] - start) / length).astype(np.int64)
    actual = np.bincount(index, minlength=periods)[:periods].astype(np.float64)
    expected = np.diff(np.r_[0.0, expected_cumulative])
    return pa.table(
        {
            "period": np.arange(1, periods + 1),
            "period_end": pa.array([day_to_date(int(d)) for d in last_days], pa.date32()),
            "holdout": last_days > calibration_end,
            "actual": actual,
            "expected": expected,
            "cumulative_actual": np.cumsum(actual),
            "cumulative_expected": expected_cumulative,
        }
    )


def _holdout_arrays(summary: pa.Table) -> dict[str, np.ndarray]:
    missing = [c for c in _HOLDOUT_COLUMNS if c not in summary.column_names]
    if missing:
        raise ClvInputError(
            f"The summary has no holdout columns ({', '.join(missing)}).",
            hint="Build it with rfm_summary(..., observation_end=...).",
        )
    names = ("frequency", "recency", "T", *_HOLDOUT_COLUMNS)
    return {n: summary.column(n).to_numpy().astype(np.float64) for n in names}


def conditional_expectations(
    model: PurchaseModel, summary: pa.Table, *, max_frequency: int = 7
) -> pa.Table:
    """Mean holdout purchases per calibration frequency, actual and expected.

    Returns
    -------
    pyarrow.Table
        ``frequency`` (label ``"0"`` .. ``"7+"``), ``customers``, ``actual``, ``expected``.
    """
    a = _holdout_arrays(summary)
    expected = model.conditional_expected_purchases(
        a["duration_holdout"], a["frequency"], a["recency"], a["T"]
    )
    group = np.minimum(a["frequency"], max_frequency).astype(np.int64)
    size = np.bincount(group, minlength=max_frequency + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        actual = (
            np.bincount(group, weights=a["frequency_holdout"], minlength=max_frequency + 1) / size
        )
        mean_expected = np.bincount(group, weights=expected, minlength=max_frequency + 1) / size
    labels = [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]
    return pa.table(
        {"frequency": labels, "customers": size, "actual": actual, "expected": mean_expected}
    )


def holdout_metrics(model: PurchaseModel, summary: pa.Table) -> dict[str, Any]:
    """Holdout totals and per-customer errors of the conditional expectations.

    Returns
    -------
    dict
        ``customers``, ``actual_total``, ``expected_total``, ``total_error_pct``,
        ``mae`` and ``rmse`` per customer, ``mean_actual`` per customer.
    """
    a = _holdout_arrays(summary)
    expected = model.conditional_expected_purchases(
        a["duration_holdout"], a["frequency"], a["recency"], a["T"]
    )
    actual = a["frequency_holdout"]
    error = expected - actual
    actual_total, expected_total = float(actual.sum()), float(expected.sum())
    return {
        "customers": len(actual),
        "actual_total": actual_total,
        "expected_total": expected_total,
        "total_error_pct": 100 * (expected_total - actual_total) / actual_total
        if actual_total
        else float("nan"),
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "mean_actual": float(actual.mean()),
    }


def holdout_diagnostics(
    model: PurchaseModel,
    daily: DailyPurchases,
    summary: pa.Table,
    *,
    calibration_end: int,
    observation_end: int,
    unit: Unit = "weeks",
    period: float = 1.0,
    max_frequency: int = 7,
) -> HoldoutDiagnostics:
    """Tracking, conditional expectations and metrics together.

    The metrics add ``tracking_mape_pct``: the mean absolute percentage error of the cumulative
    expected repeat purchases over the holdout periods.
    """
    track = tracking(
        model,
        daily,
        calibration_end=calibration_end,
        observation_end=observation_end,
        unit=unit,
        period=period,
    )
    conditional = conditional_expectations(model, summary, max_frequency=max_frequency)
    metrics = holdout_metrics(model, summary)
    held = track.filter(track.column("holdout"))
    cum_actual = held.column("cumulative_actual").to_numpy()
    cum_expected = held.column("cumulative_expected").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mape = np.abs(cum_expected - cum_actual) / cum_actual
    metrics["tracking_mape_pct"] = _mean(100 * mape)
    counts = conditional.column("customers").to_numpy()
    gap = np.abs(
        conditional.column("expected").to_numpy() - conditional.column("actual").to_numpy()
    )
    metrics["conditional_mae"] = _mean(gap[counts > 0])
    return HoldoutDiagnostics(track, conditional, metrics)


def _mean(values: np.ndarray) -> float:
    """Mean of the finite values; NaN when there are none (without numpy's warning)."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")
