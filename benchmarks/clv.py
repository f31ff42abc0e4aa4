"""Lifetime-value models at scale: ``python -m benchmarks.clv --customers 1000000``.

Simulates customers from known BG/NBD and Gamma-Gamma parameters with numpy: acquired on whole
days over two years and observed to the end, purchase times cut to whole days (as summaries built
from daily transactions are). Then times, from the summaries (no transaction table): the BG/NBD
fit, the Gamma-Gamma fit, P(alive), expected purchases over 52 weeks, and discounted CLV; prints
the timings, the recovered parameters and the process's peak memory as JSON. With lifetimes
installed, its BetaGeoFitter is timed on the same summaries in a child process for comparison
(``--no-lifetimes`` skips it; ``--lifetimes-customers`` caps its size).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from insightloop.analytics.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_value,
    rate_per_period,
    simulate_bgnbd,
    simulate_spend,
)

TRUE_BGNBD = BetaGeoModel(r=0.25, alpha=4.0, a=0.8, b=2.5)
TRUE_SPEND = GammaGammaModel(p=6.0, q=4.0, gamma=15.0)
WINDOW_DAYS = 730

_LIFETIMES_CHILD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from lifetimes import BetaGeoFitter
data = np.load(sys.argv[1])
start = time.perf_counter()
fitter = BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
fitted = time.perf_counter() - start
start = time.perf_counter()
fitter.conditional_probability_alive(data["frequency"], data["recency"], data["T"])
fitter.conditional_expected_number_of_purchases_up_to_time(
    52, data["frequency"], data["recency"], data["T"])
predicted = time.perf_counter() - start
print(json.dumps({"fit_seconds": round(fitted, 2), "predict_seconds": round(predicted, 2),
                  "params": {k: round(float(v), 4) for k, v in fitter.params_.items()}}))
"""


def simulate(customers: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    age_days = rng.integers(0, WINDOW_DAYS, customers)
    summary = simulate_bgnbd(TRUE_BGNBD, age_days / 7.0, seed=rng)
    frequency = summary.column("frequency").to_numpy()
    # Purchases happen on days: cut the last purchase time to its day.
    recency = np.floor(summary.column("recency").to_numpy() * 7.0) / 7.0
    spend = simulate_spend(TRUE_SPEND, frequency, seed=rng)
    return {"frequency": frequency, "recency": recency, "T": age_days / 7.0, "spend": spend}


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(customers: int, seed: int) -> dict[str, Any]:
    data = simulate(customers, seed)
    x, t_x, big_t, m = data["frequency"], data["recency"], data["T"], data["spend"]
    timings: dict[str, float] = {}
    cpu = time.process_time()
    start = time.perf_counter()
    purchases = BetaGeoModel.fit(x, t_x, big_t)
    timings["fit_bgnbd"] = time.perf_counter() - start
    mark = time.perf_counter()
    spend_model = GammaGammaModel.fit(x, m)
    timings["fit_gamma_gamma"] = time.perf_counter() - mark
    mark = time.perf_counter()
    spend = spend_model.conditional_expected_spend(x, m)
    value = customer_value(
        purchases, x, t_x, big_t, spend,
        horizon=52, period=1, discount_rate=rate_per_period(0.10, 7),
    )  # fmt: skip
    timings["predict"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    # CPU seconds of this process: on a shared machine, wall time also counts others' load.
    timings["total_cpu"] = time.process_time() - cpu
    assert purchases.fit_info is not None
    return {
        "benchmark": "clv",
        "customers": customers,
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "distinct_summaries": purchases.fit_info.n_distinct,
        "distinct_frequency_T_pairs": len(np.unique(x * 1e4 + big_t)),
        "params": {
            "bgnbd": {k: round(v, 4) for k, v in purchases.params.items()},
            "gamma_gamma": {k: round(v, 4) for k, v in spend_model.params.items()},
        },
        "true_params": {"bgnbd": TRUE_BGNBD.params, "gamma_gamma": TRUE_SPEND.params},
        "totals": {k: round(v, 2) for k, v in value.totals().items()},
        "peak_rss_mib": peak_rss_mib(),
        "load_average_1min": os.getloadavg()[0],
        "command": f"python -m benchmarks.clv --customers {customers} --seed {seed}",
    }


def run_lifetimes(customers: int, seed: int, timeout: float) -> dict[str, Any]:
    """lifetimes' BetaGeoFitter on the same summaries, in a child process (best effort)."""
    data = simulate(customers, seed)
    with tempfile.TemporaryDirectory(prefix="il-bench-clv-") as folder:
        path = Path(folder) / "summary.npz"
        np.savez(path, frequency=data["frequency"], recency=data["recency"], T=data["T"])
        try:
            done = subprocess.run(
                [sys.executable, "-c", _LIFETIMES_CHILD, str(path)],
                capture_output=True, text=True, timeout=timeout, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"customers": customers, "error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"customers": customers, "error": last}
    return {"customers": customers, **json.loads(done.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", "--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-lifetimes", action="store_true", help="skip the lifetimes run")
    parser.add_argument("--lifetimes-customers", type=int, help="customers for lifetimes")
    parser.add_argument("--lifetimes-timeout", type=float, default=600.0)
    args = parser.parse_args(argv)
    result = run(args.customers, args.seed)
    if not args.no_lifetimes:
        size = args.lifetimes_customers or args.customers
        result["lifetimes"] = run_lifetimes(size, args.seed, args.lifetimes_timeout)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
