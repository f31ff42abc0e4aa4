"""The Gamma-Gamma model of the value of repeat purchases.

Fader, P. S. & Hardie, B. G. S. (2013). "The Gamma-Gamma Model of Monetary Value".
http://brucehardie.com/notes/025/ (building on Colombo & Jiang 1999).

A customer's purchase values are ``Gamma(p, nu)`` with a customer-specific rate
``nu ~ Gamma(q, gamma)``; the mean spend per purchase is then ``p / nu``. The model assumes spend
is independent of purchase frequency and is fitted on customers with at least one repeat purchase,
from the number ``x`` of repeat purchases and their mean value ``m_x``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.special import digamma, gammaln

from insightloop.analytics.clv.errors import ClvInputError
from insightloop.analytics.clv.fitting import (
    ArrayLike,
    FitInfo,
    FloatArray,
    as_array,
    dot,
    maximise_log_likelihood,
)

__all__ = ["GammaGammaModel"]


@dataclass(frozen=True)
class GammaGammaModel:
    """A fitted (or given) Gamma-Gamma spend model.

    Parameters
    ----------
    p
        Shape of the gamma distribution of one purchase's value.
    q, gamma
        Shape and rate of the gamma distribution of the customers' rates ``nu``.
    fit_info
        How the parameters were estimated; ``None`` for parameters given by hand.

    Examples
    --------
    The CDNOW parameters of Fader & Hardie (2013):

    >>> model = GammaGammaModel(p=6.25, q=3.74, gamma=15.44)
    >>> round(model.mean_spend, 2)
    35.22
    >>> model.conditional_expected_spend([0, 1, 10], [0, 20, 20]).round(2).tolist()
    [35.22, 24.64, 20.64]
    """

    p: float
    q: float
    gamma: float
    fit_info: FitInfo | None = field(default=None, compare=False)

    kind: ClassVar[str] = "gamma_gamma"
    param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")

    @property
    def params(self) -> dict[str, float]:
        """The parameters by name."""
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def mean_spend(self) -> float:
        """Expected spend per purchase of a customer about whom nothing is known,
        ``p gamma / (q - 1)`` (infinite when ``q <= 1``)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    @classmethod
    def fit(
        cls,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> GammaGammaModel:
        """Maximum-likelihood estimates from repeat customers.

        Parameters
        ----------
        frequency
            Repeat purchases ``x`` per customer; customers with ``x == 0`` are left out.
        monetary_value
            Mean value ``m_x`` of each customer's repeat purchases (must be > 0 where x > 0).
        weights
            How many customers each row stands for (default one each).

        Raises
        ------
        ClvInputError
            When there are no repeat customers or a mean value is not positive.
        ClvFitError
            When the optimiser does not converge.
        """
        x, m = as_array(frequency, "frequency"), as_array(monetary_value, "monetary_value")
        w = np.ones_like(x) if weights is None else as_array(weights, "weights")
        if not len(x) == len(m) == len(w):
            raise ClvInputError("frequency, monetary_value and weights must have the same length.")
        keep = (x > 0) & (w > 0)
        if not keep.any():
            raise ClvInputError(
                "The Gamma-Gamma model needs customers with repeat purchases; there are none.",
                hint="Use a longer calibration period.",
            )
        if (m[keep] <= 0).any():
            raise ClvInputError(
                f"monetary_value must be > 0 for repeat customers; {int((m[keep] <= 0).sum())} "
                "are not.",
                hint="Leave out returns and free orders, or drop those customers before fitting.",
            )
        # No compression: mean values are continuous, so rows are nearly all distinct.
        x, m, w = x[keep], m[keep], w[keep]
        objective = _Objective(x, m, w)
        mean, var = (
            np.average(m, weights=w),
            np.average((m - np.average(m, weights=w)) ** 2, weights=w),
        )
        # Moments of a gamma for p, a moderately heavy tail for q; gamma makes the mean match.
        p0 = max(mean**2 / max(var, 1e-12), 0.1)
        q0 = 3.0
        start = (p0, q0, mean * (q0 - 1) / p0)
        params, info = maximise_log_likelihood(
            objective,
            start,
            cls.param_names,
            total_weight=float(w.sum()),
            n_distinct=len(x),
            model="Gamma-Gamma",
        )
        p, q, gamma = params.tolist()
        return cls(p=p, q=q, gamma=gamma, fit_info=info)

    def log_likelihood(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood (of customers with ``frequency > 0``)."""
        x, m = as_array(frequency, "frequency"), as_array(monetary_value, "monetary_value")
        return _Objective(x, m, np.ones_like(x)).per_row(np.log([self.p, self.q, self.gamma]))

    def conditional_expected_spend(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> FloatArray:
        """Expected spend per purchase given ``x`` repeat purchases of mean value ``m_x``.

        ``E[M | x, m_x] = p (gamma + x m_x) / (p x + q - 1)``: a weighted mean of the
        population mean and the customer's own mean; :attr:`mean_spend` when ``x == 0``.
        """
        x, m = as_array(frequency, "frequency"), as_array(monetary_value, "monetary_value")
        p, q, gamma = self.p, self.q, self.gamma
        m = np.where(x > 0, m, 0.0)
        return np.asarray(p * (gamma + x * m) / (p * x + q - 1), dtype=np.float64)


class _Objective:
    """Log-likelihood of mean spend ``m_x`` given ``x`` and its gradient in log-parameters.

    ``log L = lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m) + px ln(x)
    - (px+q) ln(gamma + m x)``

    The gamma functions depend on ``x`` only and are evaluated once per distinct ``x``; the
    sums over ``ln m`` do not depend on the parameters. Per customer and evaluation there is one
    logarithm and one division left.
    """

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
        self.x, self.m, self.w = x, m, w
        self.mx = m * x
        self.wx_x = w * x
        ux, inverse = np.unique(x, return_inverse=True)
        self.ux, self.log_ux = ux, np.log(ux)
        self.wx = np.bincount(inverse.reshape(-1), weights=w, minlength=len(ux))
        log_m = np.log(m)
        self.sum_log_m, self.sum_x_log_m = dot(w, log_m), dot(self.wx_x, log_m)

    def per_row(self, theta: FloatArray) -> FloatArray:
        p, q, gamma = np.exp(theta)
        px = p * self.x
        return np.asarray(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1) * np.log(self.m)
            + px * np.log(self.x)
            - (px + q) * np.log(gamma + self.mx),
            dtype=np.float64,
        )

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, gamma = np.exp(theta)
        ux, wx = self.ux, self.wx
        pux = p * ux
        value = dot(wx, gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * np.log(gamma))
        value += dot(wx, pux * self.log_ux) + p * self.sum_x_log_m - self.sum_log_m
        log_gm = np.log(gamma + self.mx)
        value -= p * dot(self.wx_x, log_gm) + q * dot(self.w, log_gm)
        psi_pq = digamma(pux + q)
        d_p = dot(wx, ux * (psi_pq - digamma(pux) + self.log_ux)) + self.sum_x_log_m
        d_p -= dot(self.wx_x, log_gm)
        d_q = dot(wx, psi_pq - digamma(q) + np.log(gamma)) - dot(self.w, log_gm)
        inv_gm = 1.0 / (gamma + self.mx)
        d_gamma = wx.sum() * q / gamma - p * dot(self.wx_x, inv_gm) - q * dot(self.w, inv_gm)
        return value, np.array([d_p * p, d_q * q, d_gamma * gamma])
