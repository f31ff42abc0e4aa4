"""``fit_clv``: from transactions to per-customer lifetime value in one call.

Summarise the transactions, fit a purchase model (BG/NBD or Pareto/NBD) and the Gamma-Gamma spend
model on the calibration period, forecast each customer's purchases and value over a horizon, and
with a holdout period, measure how well the calibration fit predicts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from insightloop.analytics.clv.bgnbd import BetaGeoModel
from insightloop.analytics.clv.diagnostics import HoldoutDiagnostics, holdout_diagnostics
from insightloop.analytics.clv.errors import ClvInputError
from insightloop.analytics.clv.gamma_gamma import GammaGammaModel
from insightloop.analytics.clv.model_file import save_model
from insightloop.analytics.clv.paretonbd import ParetoNBDModel
from insightloop.analytics.clv.summary import (
    DateLike,
    daily_purchases,
    summarise,
    unit_days,
)
from insightloop.analytics.clv.transactions import day_number, day_to_date, transactions_from
from insightloop.analytics.clv.value import customer_value, rate_per_period

__all__ = ["ClvConfig", "ClvResult", "fit_clv"]

_MODELS: dict[str, type[BetaGeoModel] | type[ParetoNBDModel]] = {
    "bgnbd": BetaGeoModel,
    "paretonbd": ParetoNBDModel,
}


class ClvConfig(BaseModel):
    """Settings of a lifetime-value fit (saved in the model file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["bgnbd", "paretonbd"] = Field(
        "bgnbd", description="Purchase model: BG/NBD (Fader, Hardie & Lee 2005) or Pareto/NBD."
    )
    unit: Literal["weeks", "days"] = Field("weeks", description="Time unit of the summaries.")
    horizon: float = Field(52.0, gt=0, description="Forecast horizon, in time units.")
    period: float = Field(1.0, gt=0, description="Length of one discounting period, in time units.")
    discount_rate: float = Field(
        0.10,
        ge=0,
        lt=10,
        description="Annual discount rate; converted to a rate per period by compounding.",
    )


@dataclass(frozen=True)
class ClvResult:
    """What :func:`fit_clv` returns.

    Attributes
    ----------
    predictions
        One row per customer: ``customer_id``, ``frequency``, ``recency``, ``T``,
        ``monetary_value``, ``p_alive``, ``expected_purchases``, ``expected_spend``, ``clv``,
        ``discounted_clv``.
    purchase_model, spend_model
        The fitted models.
    totals
        Portfolio totals over the horizon.
    diagnostics
        Holdout diagnostics when a holdout end was given.
    """

    predictions: pa.Table
    purchase_model: BetaGeoModel | ParetoNBDModel
    spend_model: GammaGammaModel
    config: ClvConfig
    training_window: dict[str, str | None]
    totals: dict[str, Any]
    diagnostics: HoldoutDiagnostics | None = None
    columns: tuple[str, str, str | None] = field(default=("", "", None))

    @property
    def params(self) -> dict[str, dict[str, float]]:
        """Parameters of both models, by model kind."""
        return {
            self.purchase_model.kind: self.purchase_model.params,
            self.spend_model.kind: self.spend_model.params,
        }

    def save(self, path: str | Path) -> str:
        """Write the models to a self-describing JSON file; returns its SHA-256."""
        return save_model(
            path,
            self.purchase_model,
            self.spend_model,
            config={
                **self.config.model_dump(),
                "columns": dict(zip(("customer", "at", "amount"), self.columns, strict=True)),
            },
            training_window=dict(self.training_window),
            n_customers=self.predictions.num_rows,
        )


def _config(**settings: Any) -> ClvConfig:
    try:
        return ClvConfig(**settings)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})"
            for e in exc.errors()
        )
        raise ClvInputError(
            f"Invalid lifetime-value settings: {problems}.",
            hint="model is bgnbd or paretonbd; horizon and period > 0; discount rate >= 0.",
        ) from None


def fit_clv(
    transactions: Any,
    *,
    customer: str | None = None,
    at: str | None = None,
    amount: str | None = None,
    calibration_end: DateLike | None = None,
    holdout_end: DateLike | None = None,
    model: Literal["bgnbd", "paretonbd"] = "bgnbd",
    horizon: float = 52.0,
    discount_rate: float = 0.10,
    unit: Literal["weeks", "days"] = "weeks",
    period: float = 1.0,
) -> ClvResult:
    """Fit lifetime-value models on transactions and forecast every customer.

    Parameters
    ----------
    transactions
        pandas DataFrame, pyarrow Table or mapping of arrays; one row per transaction.
    customer, at, amount
        Column names; found by common names when not given (see
        :func:`~insightloop.analytics.clv.transactions.transactions_from`).
    calibration_end
        Last day used for fitting (inclusive); default the last transaction day.
    holdout_end
        Last day of a holdout period after ``calibration_end``, for diagnostics.
    model
        ``"bgnbd"`` or ``"paretonbd"``.
    horizon
        Forecast horizon in ``unit`` (default 52 weeks).
    discount_rate
        Annual discount rate (0.10 is 10 % a year), compounded to a rate per ``period``.
    unit, period
        Time unit of the summaries, and length of one discounting period in that unit.

    Returns
    -------
    ClvResult
        Predictions as of ``calibration_end``, the models, totals and diagnostics.

    Raises
    ------
    ClvInputError
        For missing columns, unparsable dates, negative amounts or bad settings.
    ClvFitError
        When a model cannot be fitted to the data.

    Examples
    --------
    >>> import numpy as np
    >>> from insightloop.analytics.clv import BetaGeoModel, simulate_bgnbd
    >>> rng = np.random.default_rng(0)
    >>> sim = simulate_bgnbd(BetaGeoModel(r=0.5, alpha=10, a=0.8, b=2.5), [52.0] * 500, seed=rng)
    >>> x = sim["frequency"].to_numpy()
    >>> ids = np.repeat(np.arange(500), x + 1)      # a first purchase and x repeat purchases
    >>> weeks = np.concatenate([np.r_[0, np.sort(rng.uniform(0, t, k))] for k, t in
    ...                         zip(x, sim["recency"].to_numpy())])  # repeats up to recency
    >>> days = np.datetime64("2024-01-01") + (weeks * 7).astype(int)
    >>> orders = {"customer_id": ids, "date": days, "amount": rng.gamma(4, 10, len(ids))}
    >>> result = fit_clv(orders, calibration_end="2024-12-29")
    >>> result.predictions.num_rows, result.purchase_model.kind
    (500, 'bgnbd')
    """
    config = _config(
        model=model, horizon=horizon, discount_rate=discount_rate, unit=unit, period=period
    )
    checked = transactions_from(transactions, customer=customer, at=at, amount=amount)
    if len(checked) == 0:
        raise ClvInputError("There are no transactions.", hint="Check the input file or filter.")
    if holdout_end is not None and calibration_end is None:
        raise ClvInputError(
            "A holdout end needs a calibration end.",
            hint="Give --calibration-end too: the models are fitted up to it and checked on "
            "the days after it up to the holdout end.",
        )
    daily = daily_purchases(checked)
    cal = int(daily.day.max()) if calibration_end is None else day_number(calibration_end)
    obs = None if holdout_end is None else day_number(holdout_end)
    if obs is not None and obs <= cal:
        raise ClvInputError(
            "The holdout end must be after the calibration end.",
            hint="Choose a later --holdout-end.",
        )
    if (daily.first_day > cal).all():
        raise ClvInputError(
            "No customer made a first purchase by the calibration end.",
            hint="Choose a later --calibration-end.",
        )
    summary = summarise(daily, calibration_end=cal, observation_end=obs, unit=config.unit)
    x, t_x, big_t, m = (
        summary.column(c).to_numpy().astype(np.float64)
        for c in ("frequency", "recency", "T", "monetary_value")
    )
    purchases = _MODELS[config.model].fit(x, t_x, big_t)
    # Zero-value repeat purchases (free orders) carry no information on spend.
    spend_model = GammaGammaModel.fit(np.where(m > 0, x, 0.0), np.where(m > 0, m, 1.0))
    spend = spend_model.conditional_expected_spend(np.where(m > 0, x, 0.0), m)
    rate = rate_per_period(config.discount_rate, config.period * unit_days(config.unit))
    forecast = customer_value(
        purchases, x, t_x, big_t, spend,
        horizon=config.horizon, period=config.period, discount_rate=rate,
    )  # fmt: skip
    predictions = summary.select(["customer_id", "frequency", "recency", "T", "monetary_value"])
    for name, column in zip(
        forecast.to_arrow().column_names, forecast.to_arrow().columns, strict=True
    ):
        predictions = predictions.append_column(name, column)
    diagnostics = None
    if obs is not None:
        diagnostics = holdout_diagnostics(
            purchases, daily, summary, calibration_end=cal, observation_end=obs, unit=config.unit
        )
    in_window = daily.day[daily.day <= (obs if obs is not None else cal)]
    window = {
        "first_transaction": day_to_date(int(in_window.min())).isoformat(),
        "last_transaction": day_to_date(int(in_window.max())).isoformat(),
        "calibration_end": day_to_date(cal).isoformat(),
        "holdout_end": day_to_date(obs).isoformat() if obs is not None else None,
    }
    totals = {**forecast.totals(), "horizon": config.horizon, "unit": config.unit,
              "discount_rate_per_period": rate}  # fmt: skip
    return ClvResult(
        predictions=predictions,
        purchase_model=purchases,
        spend_model=spend_model,
        config=config,
        training_window=window,
        totals=totals,
        diagnostics=diagnostics,
        columns=checked.columns,
    )
