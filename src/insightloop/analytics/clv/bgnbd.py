"""The BG/NBD model of repeat purchasing ("buy till you die").

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way: An
Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275-284.

While alive, a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``; after each
repeat purchase they drop out with probability ``p ~ Beta(a, b)``. A customer is summarised by
``x`` repeat purchases, the time ``t_x`` of the last one and the time ``T`` since the first
purchase, all measured from the first purchase.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1, roots_jacobi

from insightloop.analytics.clv.fitting import (
    ArrayLike,
    FitInfo,
    FloatArray,
    as_array,
    check_summary,
    compress_rows,
    dot,
    maximise_log_likelihood,
)

__all__ = ["BetaGeoModel"]


@dataclass(frozen=True)
class BetaGeoModel:
    """A fitted (or given) BG/NBD model.

    Parameters
    ----------
    r, alpha
        Shape and rate of the gamma distribution of purchase rates (``alpha`` in time units).
    a, b
        Parameters of the beta distribution of the drop-out probability.
    fit_info
        How the parameters were estimated; ``None`` for parameters given by hand.

    Examples
    --------
    The CDNOW parameters of Fader, Hardie & Lee (2005):

    >>> model = BetaGeoModel(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> model.expected_purchases(39.0).round(3).tolist()
    [1.197]
    >>> model.probability_alive(2, 30.43, 38.86).round(3).tolist()
    [0.727]
    """

    r: float
    alpha: float
    a: float
    b: float
    fit_info: FitInfo | None = field(default=None, compare=False)

    kind: ClassVar[str] = "bgnbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @property
    def params(self) -> dict[str, float]:
        """The parameters by name."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @classmethod
    def fit(
        cls,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> BetaGeoModel:
        """Maximum-likelihood estimates from customer summaries.

        Parameters
        ----------
        frequency, recency, T
            Repeat purchases, time of the last purchase and age of each customer, in one time
            unit (see :func:`~insightloop.analytics.clv.rfm_summary`).
        weights
            How many customers each row stands for (default one each).

        Raises
        ------
        ClvInputError
            When the summary is not valid (negative values, ``recency > T``, ...).
        ClvFitError
            When the optimiser does not converge.
        """
        x, t_x, big_t, w = check_summary(frequency, recency, T, weights)
        (x, t_x, big_t), w, _ = compress_rows(x, t_x, big_t, weights=w)
        keep = w > 0
        x, t_x, big_t, w = x[keep], t_x[keep], big_t[keep], w[keep]
        objective = _Objective(x, t_x, big_t, w)
        # Purchase rates of about one per mean customer age, a mild drop-out rate.
        start = (1.0, max(float(np.average(big_t, weights=w)), 1e-3), 1.0, 3.0)
        params, info = maximise_log_likelihood(
            objective,
            start,
            cls.param_names,
            total_weight=float(w.sum()),
            n_distinct=len(x),
            model="BG/NBD",
        )
        r, alpha, a, b = params.tolist()
        return cls(r=r, alpha=alpha, a=a, b=b, fit_info=info)

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood of the summaries under this model."""
        x, t_x, big_t, _ = check_summary(frequency, recency, T)
        return _Objective(x, t_x, big_t, np.ones_like(x)).per_row(
            np.log([self.r, self.alpha, self.a, self.b])
        )

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer who has just made a first one.

        ``E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``:
        :meth:`expected_purchases_if_alive` with ``x = 0`` and ``T = 0``.
        """
        t = as_array(t, "t")
        return self.expected_purchases_if_alive(t, np.zeros_like(t), np.zeros_like(t))

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that each customer is still active at ``T``; 1 when ``frequency`` is 0.

        ``P(alive) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``
        """
        x, t_x, big_t, _ = check_summary(frequency, recency, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds = (
                np.log(a)
                - np.log(b + x - 1)
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            )
        return np.where(x > 0, expit(-log_odds), 1.0)

    def expected_purchases_if_alive(
        self, t: ArrayLike, frequency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in ``(T, T+t]`` of a customer known to be alive at ``T``.

        Depends on ``(x, T)`` only, which lets :mod:`~insightloop.analytics.clv.value` evaluate
        it once per distinct pair:
        ``(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]``,
        ``z = t/(alpha+T+t)``.
        """
        t, x, big_t = np.broadcast_arrays(
            as_array(t, "t"), as_array(frequency, "frequency"), as_array(T, "T")
        )
        a = self.a
        if abs(a - 1) < 1e-5:
            # The closed form is 0/0 at a = 1; it is smooth there, so average both sides.
            below = _alive_closed_form(self, 1 - 1e-5, t, x, big_t)
            above = _alive_closed_form(self, 1 + 1e-5, t, x, big_t)
            result = (below + above) / 2
        else:
            result = _alive_closed_form(self, a, t, x, big_t)
        # 2F1(.; c; .) has poles at c = 0, -1, ...; c = a+b+x-1 is small only when x = 0 and
        # a + b <= 1. Integrate over the drop-out probability there instead.
        awkward = (a + self.b + x - 1 < 0.05) | ~np.isfinite(result)
        if awkward.any():
            result = np.array(result, dtype=np.float64)
            result[awkward] = _alive_quadrature(self, t[awkward], x[awkward], big_t[awkward])
        return np.asarray(result, dtype=np.float64)

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in the next ``t`` time units given each customer's history.

        The product of :meth:`probability_alive` and :meth:`expected_purchases_if_alive` (FHL
        2005, equation 10).
        """
        alive = self.probability_alive(frequency, recency, T)
        return alive * self.expected_purchases_if_alive(t, frequency, T)


def _alive_closed_form(
    model: BetaGeoModel, a: float, t: FloatArray, x: FloatArray, big_t: FloatArray
) -> FloatArray:
    r, alpha, b = model.r, model.alpha, model.b
    rest = alpha + big_t
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (rest + t))
        ratio = np.exp((r + x) * (np.log(rest) - np.log(rest + t)))
        return np.asarray((a + b + x - 1) / (a - 1) * (1 - ratio * hyp), dtype=np.float64)


def _alive_quadrature(
    model: BetaGeoModel, t: FloatArray, x: FloatArray, big_t: FloatArray, nodes: int = 200
) -> FloatArray:
    """``E[(1 - (1 + p u)^-(r+x)) / p]`` over ``p ~ Beta(a, b+x)``, ``u = t/(alpha+T)``, by
    Gauss-Jacobi quadrature: one set of nodes per distinct ``x``."""
    out = np.empty(len(t))
    u = t / (model.alpha + big_t)
    for value in np.unique(x):  # distinct frequencies, not customers
        rows = x == value
        y, weight = roots_jacobi(nodes, model.b + value - 1, model.a - 1)
        p = (1 + y) / 2
        weight = weight / weight.sum()
        curve = -np.expm1(-(model.r + value) * np.log1p(np.outer(u[rows], p))) / p
        out[rows] = (curve * weight).sum(axis=1)
    return out


class _Objective:
    """Log-likelihood and gradient in log-parameters.

    Terms that depend on ``x`` only are evaluated once per distinct ``x`` (digamma and log-gamma
    are the expensive part), and customers without repeat purchases, whose likelihood has one
    term instead of two, are kept apart.
    """

    def __init__(self, x: FloatArray, t_x: FloatArray, big_t: FloatArray, w: FloatArray) -> None:
        self.x, self.t_x, self.big_t, self.w = x, t_x, big_t, w
        self.ux, inverse = np.unique(x, return_inverse=True)
        self.wx = np.bincount(inverse.reshape(-1), weights=w, minlength=len(self.ux))
        repeat = x > 0
        self.none_t, self.none_w = big_t[~repeat], w[~repeat]
        self.rx, self.rt_x, self.rt, self.rw = x[repeat], t_x[repeat], big_t[repeat], w[repeat]
        self.r_inverse = inverse.reshape(-1)[repeat]

    def per_row(self, theta: FloatArray) -> FloatArray:
        r, alpha, a, b = np.exp(theta)
        x = self.x
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
        a3 = -(r + x) * np.log(alpha + self.big_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + self.t_x)
        a4 = np.where(x > 0, a4, -np.inf)
        return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)

    def __call__(self, theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = np.exp(theta)
        ux, wx = self.ux, self.wx
        # Terms in x only, summed with the weight of each distinct x.
        value = dot(
            wx,
            gammaln(r + ux)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + ux)
            - gammaln(b)
            - gammaln(a + b + ux),
        )
        d_ab, d_abx = digamma(a + b), digamma(a + b + ux)
        d_r = dot(wx, digamma(r + ux) - digamma(r) + np.log(alpha))
        d_alpha = wx.sum() * r / alpha
        d_a = dot(wx, d_ab - d_abx)
        d_b = dot(wx, d_ab + digamma(b + ux) - digamma(b) - d_abx)
        # No repeat purchase: the likelihood's second term is absent.
        log_at = np.log(alpha + self.none_t)
        value -= r * dot(self.none_w, log_at)
        d_r -= dot(self.none_w, log_at)
        d_alpha -= r * dot(self.none_w, 1.0 / (alpha + self.none_t))
        # Repeat customers: log(exp(a3) + exp(a4)).
        w, rx = self.rw, r + self.rx
        log_b1 = np.log(b + ux - 1, where=ux > 0, out=np.zeros(len(ux)))
        log_at = np.log(alpha + self.rt)
        log_atx = np.log(alpha + self.rt_x)
        a3 = -rx * log_at
        a4 = np.log(a) - log_b1[self.r_inverse] - rx * log_atx
        mix = np.logaddexp(a3, a4)
        value += dot(w, mix)
        # Posterior weights of the two terms, times the customer weights.
        w4 = w * np.exp(a4 - mix)
        w3 = w - w4
        d_r -= dot(w3, log_at) + dot(w4, log_atx)
        d_alpha -= dot(w3, rx / (alpha + self.rt)) + dot(w4, rx / (alpha + self.rt_x))
        d_a += w4.sum() / a
        w4_by_x = np.bincount(self.r_inverse, weights=w4, minlength=len(ux))
        d_b -= dot(w4_by_x, np.divide(1.0, b + ux - 1, where=ux > 0, out=np.zeros(len(ux))))
        gradient = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return value, gradient
