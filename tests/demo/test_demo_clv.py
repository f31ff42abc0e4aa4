"""The true purchase process reproduces the planted BG/NBD and Gamma-Gamma parameters.

Maximum likelihood fits, written here from the papers (Fader, Hardie & Lee 2005, "Counting your
customers the easy way" and "RFM and CLV"), on the truth's calibration summary of a 20,000-person
company. In operational time, where the planted model holds exactly, estimates must lie within
sampling error (four standard errors from the observed information); in calendar time, which the
December peak bends, within a looser band.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

from insightloop.demo import generate_company
from tests.demo.companies import Company

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Company:
    out: Path = tmp_path_factory.mktemp("demo-large") / "company"
    return Company(generate_company(out, 20_000, seed=11))


def _bgnbd_nll(x: np.ndarray, t_x: np.ndarray, t: np.ndarray) -> Callable[[np.ndarray], float]:
    def nll(log_params: np.ndarray) -> float:
        r, alpha, a, b = np.exp(log_params)
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t)
        repeat = x > 0
        dropped = np.full(len(x), -np.inf)
        dropped[repeat] = (
            betaln(a + 1, b + x[repeat] - 1)
            - betaln(a, b)
            - (r + x[repeat]) * np.log(alpha + t_x[repeat])
        )
        return float(-np.sum(head + np.logaddexp(alive, dropped)))

    return nll


def _gamma_gamma_nll(x: np.ndarray, m: np.ndarray) -> Callable[[np.ndarray], float]:
    def nll(log_params: np.ndarray) -> float:
        p, q, g = np.exp(log_params)
        ll = (
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(g)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(g + m * x)
        )
        return float(-np.sum(ll))

    return nll


def _fit(nll: Callable[[np.ndarray], float], start: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Estimates and standard errors of the log parameters (inverse numerical Hessian).

    L-BFGS-B on log parameters; from a unit start, Nelder-Mead drifts to the degenerate
    Gamma-Gamma ridge (p to infinity, gamma to zero).
    """
    result = minimize(nll, np.log(start), method="L-BFGS-B")
    assert result.success, result.message
    theta = result.x
    k, h = len(theta), 1e-3
    hessian = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            hessian[i, j] = (
                nll(theta + ei + ej)
                - nll(theta + ei - ej)
                - nll(theta - ei + ej)
                + nll(theta - ei - ej)
            ) / (4 * h * h)
    return theta, np.sqrt(np.diag(np.linalg.inv(hessian)))


def _summary(company: Company) -> pd.DataFrame:
    return company.truth("persons").to_pandas()


def test_bgnbd_parameters_are_recovered_within_sampling_error(large: Company) -> None:
    persons = _summary(large)
    planted = large.params()["bgnbd"]
    truth = np.log([planted["r"], planted["alpha"], planted["a"], planted["b"]])
    x = persons["calib_frequency"].to_numpy(float)
    theta, se = _fit(
        _bgnbd_nll(
            x, persons["calib_recency_op_weeks"].to_numpy(), persons["calib_T_op_weeks"].to_numpy()
        ),
        [1.0, 1.0, 1.0, 1.0],
    )
    assert np.all(np.abs(theta - truth) < 4 * se), (np.exp(theta), se)
    assert np.all(se < 0.2)
    # What an analyst sees: calendar weeks, bent by the seasonal peak.
    calendar, _ = _fit(
        _bgnbd_nll(
            x, persons["calib_recency_weeks"].to_numpy(), persons["calib_T_weeks"].to_numpy()
        ),
        [1.0, 1.0, 1.0, 1.0],
    )
    relative = np.abs(np.exp(calendar - truth) - 1)
    assert np.all(relative[:2] < 0.1), np.exp(calendar)
    assert np.all(relative[2:] < 0.25), np.exp(calendar)


def test_gamma_gamma_parameters_are_recovered(large: Company) -> None:
    persons = _summary(large)
    repeaters = persons[persons["calib_frequency"] > 0]
    planted = large.params()["gamma_gamma"]
    truth = np.log([planted["p"], planted["q"], planted["gamma"]])
    theta, se = _fit(
        _gamma_gamma_nll(
            repeaters["calib_frequency"].to_numpy(float),
            repeaters["calib_monetary_eur"].to_numpy(),
        ),
        [1.0, 1.0, 1.0],
    )
    assert np.all(np.abs(theta - truth) < np.maximum(4 * se, 0.1)), (np.exp(theta), se)
