"""What every lifetime-value model shares: checked input arrays, compressed rows, and maximum
likelihood on log-parameters with a convergence check and standard errors.

The models maximise the sum of per-customer log-likelihoods. Customers with the same summary
(``frequency``, ``recency``, ``T``) contribute the same term, so rows are first compressed to the
distinct ones with a weight each: on data built from daily transactions this removes most rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize

from insightloop.analytics.clv.errors import ClvFitError, ClvInputError

__all__ = [
    "FitInfo",
    "as_array",
    "check_summary",
    "compress_rows",
    "dot",
    "maximise_log_likelihood",
]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

#: Log-parameters are kept inside these bounds (about 3e-7 .. 3e6). A fit that runs to one is
#: degenerate: e.g. ``r`` and ``alpha`` grow without limit when every customer buys at the same
#: rate (no heterogeneity), and the hypergeometric functions of the predictions break down.
LOG_BOUNDS = (-15.0, 15.0)
#: Optimiser tolerances on the mean log-likelihood per customer (see maximise_log_likelihood).
FTOL = 1e-12
_EDGE_HINT = (
    "The data do not identify the model: usually too few repeat customers, a calibration "
    "period that is too short, or customers who all buy at the same rate (check that the "
    "customer column identifies customers, not orders or stores)."
)
GTOL = 1e-8


@dataclass(frozen=True)
class FitInfo:
    """How a model was fitted.

    Parameters
    ----------
    log_likelihood
        The maximised log-likelihood, summed over customers.
    n_customers
        Customers (the total weight) the model was fitted on.
    n_distinct
        Distinct rows after compression (what the optimiser saw).
    iterations
        Optimiser iterations.
    standard_errors
        Asymptotic standard errors of the parameters (delta method from the Hessian of the
        log-likelihood in log-parameters); NaN where the Hessian is not positive definite.
    """

    log_likelihood: float
    n_customers: float
    n_distinct: int
    iterations: int
    standard_errors: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "n_distinct": self.n_distinct,
            "iterations": self.iterations,
            "standard_errors": dict(self.standard_errors),
        }


def dot(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    """Inner product of two vectors without BLAS.

    BLAS starts threads for ``a @ b``; on a busy machine with few cores that costs milliseconds
    per call, a thousand times the arithmetic. ``einsum`` sums in the calling thread.
    """
    return float(np.einsum("i,i->", a, b))


def as_array(values: ArrayLike, name: str) -> FloatArray:
    """``values`` as a 1-D float array; refuses other shapes and non-finite values."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ClvInputError(f"{name} must be one-dimensional; it has shape {array.shape}.")
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).sum())
        raise ClvInputError(
            f"{name} has {bad} missing or infinite values.",
            hint="Drop or fill those rows before fitting.",
        )
    return array


def check_summary(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate a customer summary: ``0 <= recency <= T``, integer ``frequency >= 0``.

    Every problem found is reported at once.
    """
    x, t_x, big_t = as_array(frequency, "frequency"), as_array(recency, "recency"), as_array(T, "T")
    w = np.ones_like(x) if weights is None else as_array(weights, "weights")
    n = len(x)
    if not (len(t_x) == len(big_t) == len(w) == n):
        raise ClvInputError(
            "frequency, recency, T (and weights) must have the same length; they have "
            f"{n}, {len(t_x)}, {len(big_t)} and {len(w)}."
        )
    problems = []
    if n == 0:
        problems.append("there are no customers")
    if (x < 0).any() or (x != np.round(x)).any():
        problems.append("frequency must be a whole number >= 0 (repeat purchases)")
    if (t_x < 0).any():
        problems.append("recency must be >= 0")
    if (t_x > big_t * (1 + 1e-9) + 1e-12).any():
        problems.append(f"recency must not exceed T ({int((t_x > big_t).sum())} rows do)")
    if ((x == 0) & (t_x != 0)).any():
        problems.append("recency must be 0 when frequency is 0")
    if (w < 0).any():
        problems.append("weights must be >= 0")
    if problems:
        raise ClvInputError(
            "The customer summary is not valid: " + "; ".join(problems) + ".",
            hint="Build it with rfm_summary(), which counts repeat purchases per day.",
        )
    return x, np.minimum(t_x, big_t), big_t, w


def compress_rows(
    *columns: FloatArray, weights: FloatArray | None = None
) -> tuple[list[FloatArray], FloatArray, npt.NDArray[np.intp]]:
    """The distinct rows of ``columns`` with summed weights, and the inverse index.

    Rows come out in order of first appearance. Hash-based (``pandas.factorize``): sorting a
    million rows, as ``np.unique`` does, costs several times more.

    Examples
    --------
    >>> import numpy as np
    >>> (x, t), w, inverse = compress_rows(np.array([1.0, 1, 2]), np.array([3.0, 3, 4]))
    >>> x.tolist(), t.tolist(), w.tolist(), inverse.tolist()
    ([1.0, 2.0], [3.0, 4.0], [2.0, 1.0], [0, 0, 1])
    """
    n = len(columns[0])
    uniques, codes = [], []
    key = np.zeros(n, dtype=np.int64)
    width = 1
    for column in columns:
        code, unique = pd.factorize(column)
        width *= max(len(unique), 1)
        if width >= 2**62:  # pragma: no cover - needs ~2**21 distinct values per column
            return list(columns), _ones_or(weights, n), np.arange(n)
        # Codes per column, combined in mixed radix: far cheaper than np.unique(axis=0).
        key = key * len(unique) + code
        uniques.append(np.asarray(unique))
        codes.append(len(unique))
    inverse, distinct = pd.factorize(key)
    distinct = np.asarray(distinct, dtype=np.int64)
    summed = np.bincount(inverse, weights=_ones_or(weights, n), minlength=len(distinct)).astype(
        np.float64
    )
    out = []
    for unique, size in zip(reversed(uniques), reversed(codes), strict=True):
        out.append(unique[distinct % size])
        distinct = distinct // size
    return out[::-1], summed, inverse.astype(np.intp)


def _ones_or(weights: FloatArray | None, n: int) -> FloatArray:
    return np.ones(n) if weights is None else weights


def maximise_log_likelihood(
    objective: Callable[[FloatArray], tuple[float, FloatArray | None]],
    start: Sequence[float],
    names: Sequence[str],
    *,
    total_weight: float,
    n_distinct: int,
    model: str,
    analytic_gradient: bool = True,
) -> tuple[FloatArray, FitInfo]:
    """Maximise a log-likelihood over log-parameters; the parameters and how the fit went.

    Parameters
    ----------
    objective
        Log-parameters -> (total log-likelihood, its gradient in log-parameters or None).
    start
        Starting parameters (not logs).
    total_weight
        Sum of the weights, used to scale the objective so tolerances do not depend on size.

    Raises
    ------
    ClvFitError
        When the optimiser fails, the result is not finite, or a parameter ran to a bound.
    """
    scale = 1.0 / max(total_weight, 1.0)

    def negative(theta: FloatArray) -> Any:
        value, gradient = objective(theta)
        if not np.isfinite(value):
            # Outside where the model is defined: a large finite value keeps L-BFGS-B going.
            return (1e300, np.zeros_like(theta)) if analytic_gradient else 1e300
        if analytic_gradient:
            assert gradient is not None
            return -value * scale, -gradient * scale
        return -value * scale

    theta0 = np.log(np.asarray(start, dtype=np.float64))
    bounds = [LOG_BOUNDS] * len(theta0)
    options = {"maxiter": 2000, "ftol": FTOL, "gtol": GTOL, "maxls": 50}
    # Finite differences need a step far above the optimiser's tolerances: central differences.
    jac: Any = True if analytic_gradient else "3-point"
    result = optimize.minimize(
        negative, theta0, jac=jac, method="L-BFGS-B", bounds=bounds, options=options
    )
    theta = np.asarray(result.x, dtype=np.float64)
    value, _ = objective(theta)
    params = np.exp(theta)
    described = ", ".join(f"{n}={p:.4g}" for n, p in zip(names, params, strict=True))
    gradient = _gradient(objective, theta, analytic_gradient) * scale
    # ABNORMAL line searches at the optimum are common once the objective is flat to machine
    # precision; judge convergence by the gradient, not by the optimiser's message alone.
    if not np.isfinite(value) or np.abs(gradient).max() > 1e-4:
        raise ClvFitError(
            f"The {model} fit did not converge ({result.message}; {described}).",
            hint="Check that the summary has repeat purchases and a calibration period longer "
            "than the time between purchases; try the other model or more customers.",
        )
    at_bound = (theta <= LOG_BOUNDS[0] + 1e-3) | (theta >= LOG_BOUNDS[1] - 1e-3)
    if at_bound.any():
        names_at = [n for n, hit in zip(names, at_bound, strict=True) if hit]
        raise ClvFitError(
            f"The {model} fit ran to the edge of the parameter space ({', '.join(names_at)}; "
            f"{described}).",
            hint=_EDGE_HINT,
        )
    errors = _standard_errors(objective, theta, analytic_gradient)
    # A flat likelihood far out (no curvature, huge values) is the same failure short of the
    # bound: the optimiser stopped on the way to infinity.
    runaway = (theta > LOG_BOUNDS[1] - 3.5) & ~np.isfinite(errors)
    if runaway.any():
        names_at = [n for n, hit in zip(names, runaway, strict=True) if hit]
        raise ClvFitError(
            f"The {model} fit ran to the edge of the parameter space ({', '.join(names_at)}; "
            f"{described}).",
            hint=_EDGE_HINT,
        )
    info = FitInfo(
        log_likelihood=float(value),
        n_customers=float(total_weight),
        n_distinct=n_distinct,
        iterations=int(result.nit),
        standard_errors=dict(zip(names, errors.tolist(), strict=True)),
    )
    return params, info


def _gradient(
    objective: Callable[[FloatArray], tuple[float, FloatArray | None]],
    theta: FloatArray,
    analytic: bool,
) -> FloatArray:
    if analytic:
        gradient = objective(theta)[1]
        assert gradient is not None
        return gradient
    step = 1e-5
    eye = np.eye(len(theta)) * step
    return np.array([(objective(theta + e)[0] - objective(theta - e)[0]) / (2 * step) for e in eye])


def _standard_errors(
    objective: Callable[[FloatArray], tuple[float, FloatArray | None]],
    theta: FloatArray,
    analytic: bool,
) -> FloatArray:
    """Delta-method standard errors from a finite-difference Hessian in log-parameters."""
    step = 1e-5
    eye = np.eye(len(theta)) * step
    # Forward differences: half the evaluations of central ones, precise enough for errors.
    at = _gradient(objective, theta, analytic)
    rows = [(_gradient(objective, theta + e, analytic) - at) / step for e in eye]
    hessian = np.array(rows)
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(len(theta), np.nan)
    variances = np.diag(covariance)
    if not np.isfinite(variances).all() or (variances <= 0).any():
        return np.full(len(theta), np.nan)
    return np.exp(theta) * np.sqrt(variances)
