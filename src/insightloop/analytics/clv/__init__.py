"""Customer lifetime value: BG/NBD, Pareto/NBD and Gamma-Gamma models, built on numpy and scipy.

- Summaries: :func:`rfm_summary` (numpy/pyarrow) and :func:`rfm_summary_expr` (Ibis, for the
  engine) turn transactions into frequency, recency, T and mean repeat value per customer.
- Purchase models: :class:`BetaGeoModel` (Fader, Hardie & Lee 2005) and :class:`ParetoNBDModel`
  (Schmittlein, Morrison & Colombo 1987); spend model: :class:`GammaGammaModel` (Fader & Hardie
  2013). Each fits by maximum likelihood and predicts purchases, P(alive) and spend.
- Value: :func:`customer_value` (discounted CLV), diagnostics on a holdout period, and the one-call
  :func:`fit_clv`; models are saved in self-describing, hashed JSON files (:func:`save_model`).

See docs/clv.md for the formulas and the CDNOW reproduction.
"""

from __future__ import annotations

from insightloop.analytics.clv.api import ClvConfig, ClvResult, fit_clv
from insightloop.analytics.clv.bgnbd import BetaGeoModel
from insightloop.analytics.clv.diagnostics import (
    HoldoutDiagnostics,
    conditional_expectations,
    holdout_diagnostics,
    holdout_metrics,
    tracking,
)
from insightloop.analytics.clv.errors import ClvError, ClvFitError, ClvInputError, ModelFileError
from insightloop.analytics.clv.fitting import FitInfo
from insightloop.analytics.clv.gamma_gamma import GammaGammaModel
from insightloop.analytics.clv.model_file import ModelFile, load_model, save_model
from insightloop.analytics.clv.paretonbd import ParetoNBDModel
from insightloop.analytics.clv.simulate import simulate_bgnbd, simulate_spend
from insightloop.analytics.clv.summary import DailyPurchases, daily_purchases, rfm_summary
from insightloop.analytics.clv.summary_expr import rfm_summary_expr
from insightloop.analytics.clv.transactions import read_transactions, transactions_from
from insightloop.analytics.clv.value import (
    PurchaseModel,
    ValueForecast,
    customer_value,
    rate_per_period,
)

__all__ = [
    "BetaGeoModel",
    "ClvConfig",
    "ClvError",
    "ClvFitError",
    "ClvInputError",
    "ClvResult",
    "DailyPurchases",
    "FitInfo",
    "GammaGammaModel",
    "HoldoutDiagnostics",
    "ModelFile",
    "ModelFileError",
    "ParetoNBDModel",
    "PurchaseModel",
    "ValueForecast",
    "conditional_expectations",
    "customer_value",
    "daily_purchases",
    "fit_clv",
    "holdout_diagnostics",
    "holdout_metrics",
    "load_model",
    "rate_per_period",
    "read_transactions",
    "rfm_summary",
    "rfm_summary_expr",
    "save_model",
    "simulate_bgnbd",
    "simulate_spend",
    "tracking",
    "transactions_from",
]
