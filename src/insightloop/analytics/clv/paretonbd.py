"""The Pareto/NBD model of repeat purchasing.

Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your Customers: Who Are They
and What Will They Do Next? *Management Science* 33(1), 1-24; likelihood as in Fader, P. S.,
Hardie, B. G. S. & Lee, K. L. (2005). "A Note on Implementing the Pareto/NBD Model in MATLAB".
http://brucehardie.com/notes/008/

While alive, a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``; the
lifetime is exponential with rate ``mu ~ Gamma(s, beta)``, so a customer can drop out at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

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

__all__ = ["ParetoNBDModel"]


@dataclass(frozen=True)
class ParetoNBDModel:
    """A fitted (or given) Pareto/NBD model.

    Parameters
    ----------
    r, alpha
        Shape and rate of the gamma distribution of purchase rates.
    s, beta
        Shape and rate of the gamma distribution of drop-out rates.
    fit_info
        How the parameters were estimated; ``None`` for parameters given by hand.

    Examples
    --------
    The CDNOW parameters of Fader, Hardie & Lee (2005):

    >>> model = ParetoNBDModel(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    >>> model.expected_purchases(39.0).round(3).tolist()
    [1.213]
    >>> model.probability_alive(0, 0.0, 38.86).round(3).tolist()
    [0.295]
    """

    r: float
    alpha: float
    s: float
    beta: float
    fit_info: FitInfo | None = field(default=None, compare=False)

    kind: ClassVar[str] = "paretonbd"
    param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    @property
    def params(self) -> dict[str, float]:
        """The parameters by name."""
        return {"r": self.r, "alpha": self.alpha, "s": self.s, "beta": self.beta}

    @classmethod
    def fit(
        cls,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        weights: ArrayLike | None = None,
    ) -> ParetoNBDModel:
        """Maximum-likelihood estimates from customer summaries.

        The gradient is taken by central differences: the derivatives of the Gaussian
        hypergeometric function in its parameters have no cheap closed form.

        Raises
        ------
        ClvInputError
            When the summary is not valid.
        ClvFitError
            When the optimiser does not converge.
        """
        x, t_x, big_t, w = check_summary(frequency, recency, T, weights)
        (x, t_x, big_t), w, _ = compress_rows(x, t_x, big_t, weights=w)
        keep = w > 0
        x, t_x, big_t, w = x[keep], t_x[keep], big_t[keep], w[keep]
        scale = max(float(np.average(big_t, weights=w)), 1e-3)

        def objective(theta: FloatArray) -> tuple[float, None]:
            return dot(w, _log_likelihood(np.exp(theta), x, t_x, big_t)), None

        params, info = maximise_log_likelihood(
            objective,
            (1.0, scale, 1.0, scale),
            cls.param_names,
            total_weight=float(w.sum()),
            n_distinct=len(x),
            model="Pareto/NBD",
            analytic_gradient=False,
        )
        r, alpha, s, beta = params.tolist()
        return cls(r=r, alpha=alpha, s=s, beta=beta, fit_info=info)

    def log_likelihood(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
        """Per-customer log-likelihood of the summaries under this model."""
        x, t_x, big_t, _ = check_summary(frequency, recency, T)
        params = np.array([self.r, self.alpha, self.s, self.beta])
        return _log_likelihood(params, x, t_x, big_t)

    def expected_purchases(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases in ``(0, t]`` of a customer who has just made a first one.

        ``E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]``
        """
        t = as_array(t, "t")
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        return r * beta / alpha * _power_ratio(np.log(beta / (beta + t)), s - 1)

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that each customer is still active at ``T``.

        ``P(alive) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)`` (FHL 2005 note, eq. 11).
        """
        x, t_x, big_t, _ = check_summary(frequency, recency, T)
        params = np.array([self.r, self.alpha, self.s, self.beta])
        log_alive, log_dead = _log_terms(params, x, t_x, big_t)
        return np.asarray(expit(log_alive - log_dead), dtype=np.float64)

    def expected_purchases_if_alive(
        self, t: ArrayLike, frequency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in ``(T, T+t]`` of a customer known to be alive at ``T``.

        ``(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]``
        """
        t, x, big_t = np.broadcast_arrays(
            as_array(t, "t"), as_array(frequency, "frequency"), as_array(T, "T")
        )
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        rest = beta + big_t
        ratio = _power_ratio(np.log(rest) - np.log(rest + t), s - 1)
        return (r + x) * rest / (alpha + big_t) * ratio

    def conditional_expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in the next ``t`` time units given each customer's history."""
        alive = self.probability_alive(frequency, recency, T)
        return alive * self.expected_purchases_if_alive(t, frequency, T)


def _power_ratio(log_q: FloatArray, k: float) -> FloatArray:
    """``(1 - q^k) / k``, continuous through ``k = 0`` where it is ``-log q``."""
    if abs(k) < 1e-12:
        return np.asarray(-log_q, dtype=np.float64)
    return np.asarray(-np.expm1(k * log_q) / k, dtype=np.float64)


def _log_terms(
    params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Logs of the two parts of the likelihood, without the factor
    ``Gamma(r+x) alpha^r beta^s / Gamma(r)``: alive at ``T``, and dropped out in ``(t_x, T]``.

    The dropped-out part is ``s/(r+s+x) A0``. ``A0`` is a difference of two Gaussian
    hypergeometric terms ``2F1(m, b; m+1; z) / (k+t)^m`` at ``t = t_x`` and ``t = T``, with
    ``m = r+s+x``. As the note explains, the function is evaluated with the larger of ``alpha``
    and ``beta`` as ``k``, so that ``z = |alpha-beta|/(k+t)`` lies in ``[0, 1)``; then
    ``b = s+1`` when ``alpha >= beta`` and ``b = r+x`` otherwise.

    For large ``s`` or ``x`` the function overflows near ``z = 1``. Euler's transformation,
    ``2F1(m, b; m+1; z) = (1-z)^(1-b) 2F1(1, m+1-b; m+1; z)``, splits off the growth as a power
    (taken in logs) and leaves a series bounded by ``1/(1-z)``.
    """
    r, alpha, s, beta = params
    m = r + s + x
    log_alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    if alpha >= beta:
        big, b = alpha, s + 1
    else:
        big, b = beta, r + x
    small = min(alpha, beta)

    def log_term(t: FloatArray) -> FloatArray:
        z = abs(alpha - beta) / (big + t)
        # log(1 - z) = log((small + t) / (big + t)), exact even when z is close to 1.
        log_1mz = np.log(small + t) - np.log(big + t)
        series = hyp2f1(1.0, m + 1 - b, m + 1, z)
        return np.asarray(np.log(series) + (1 - b) * log_1mz - m * np.log(big + t))

    with np.errstate(divide="ignore", invalid="ignore"):
        early, late = log_term(t_x), log_term(big_t)
        # log(exp(early) - exp(late)); early >= late because the integrand is positive.
        log_a0 = early + np.log(-np.expm1(np.minimum(late - early, 0.0)))
    log_dead = np.log(s) - np.log(m) + log_a0
    return np.asarray(log_alive, dtype=np.float64), np.asarray(log_dead, dtype=np.float64)


def _log_likelihood(
    params: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> FloatArray:
    r, alpha, s, beta = params
    log_alive, log_dead = _log_terms(params, x, t_x, big_t)
    front = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    # Where t_x == T the dropped-out part is exactly zero (log -inf): logaddexp handles it.
    # Far outside where the model is defined the terms are not finite; the fit steps back
    # from such points, so they are not warned about.
    with np.errstate(invalid="ignore"):
        total = front + np.logaddexp(log_alive, log_dead)
    return np.asarray(total, dtype=np.float64)
