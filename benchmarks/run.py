"""Run the benchmark suite: ``python -m benchmarks.run [--only NAME ...] [--sizes N,N]``.

Each benchmark runs the real command in a child process, so wall time and peak memory (the
child's maximum resident set size, from wait4) are those a user would see.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_info

RESULTS_DIR = Path(__file__).parent / "results"


def measure(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``argv`` to completion; wall seconds and peak RSS of the child in MiB."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"benchmark command failed with exit code {code}: {' '.join(argv)}")
    # Linux reports ru_maxrss in KiB.
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}


def bench_demo_generation(sizes: list[int], seed: int = 42) -> list[dict[str, Any]]:
    results = []
    for n in sizes:
        out = Path(tempfile.mkdtemp(prefix=f"il-bench-demo-{n}-"))
        try:
            command = [
                sys.executable, "-m", "insightloop.cli.main", "demo", "generate",
                "--customers", str(n), "--seed", str(seed), "--out", str(out), "--json",
            ]  # fmt: skip
            m = measure(command)
            size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
            results.append(
                {
                    "benchmark": "demo_generate",
                    "customers": n,
                    **m,
                    "output_gib": round(size / 1024**3, 2),
                    "customers_per_second": round(n / m["seconds"]),
                    "command": f"insightloop demo generate --customers {n} --seed {seed} "
                    "--out DIR --json",
                }
            )
            print(json.dumps(results[-1]), flush=True)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return results


def _bare_duckdb_rows_per_second(path: Path, reader: str) -> float:
    """Rows/s of a bare DuckDB read of ``path`` into a table of a new database file."""
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="il-bench-bare-"))
    try:
        con = duckdb.connect(str(folder / "bare.duckdb"))
        start = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM {reader}(?)", [str(path)])
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]  # type: ignore[index]
        seconds = time.perf_counter() - start
        con.close()
        return float(rows) / seconds
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def bench_load(sizes: list[int], seed: int = 42) -> list[dict[str, Any]]:
    """The demo company loaded end to end (`insightloop load`), per source against bare DuckDB."""
    import duckdb

    results = []
    for n in sizes:
        root = Path(tempfile.mkdtemp(prefix=f"il-bench-load-{n}-"))
        try:
            company, ws = root / "company", root / "workspace"
            cli = [sys.executable, "-m", "insightloop.cli.main"]
            subprocess.run(
                [*cli, "demo", "generate", "--customers", str(n), "--seed", str(seed),
                 "--out", str(company), "--json"], check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            subprocess.run([*cli, "init", str(ws)], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(
                [*cli, "demo", "declare", "--company", str(company), "-w", str(ws)],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            m = measure([*cli, "load", "-w", str(ws), "--json"])
            con = duckdb.connect(str(ws / "insightloop.duckdb"), read_only=True)
            batches = con.execute(
                "SELECT source, sum(rows_read), sum(epoch(finished_at - started_at)) "
                "FROM load_batches WHERE status = 'loaded' GROUP BY source ORDER BY source"
            ).fetchall()
            con.close()
            per_source = {s: round(rows / secs) for s, rows, secs in batches if secs}
            rows_total = sum(rows for _, rows, _ in batches)
            bare = {
                "events": _bare_duckdb_rows_per_second(
                    company / "sources/events/part-0000.jsonl", "read_json"
                ),
                "crm_hq": _bare_duckdb_rows_per_second(
                    company / "sources/crm/customers_hq.csv", "read_csv"
                ),
            }
            results.append(
                {
                    "benchmark": "load",
                    "customers": n,
                    **m,
                    "rows_read": rows_total,
                    "rows_per_second": round(rows_total / m["seconds"]),
                    "source_rows_per_second": per_source,
                    "bare_duckdb_rows_per_second": {k: round(v) for k, v in bare.items()},
                    "command": "insightloop load -w WS --json (after demo generate and "
                    "demo declare)",
                }
            )
            print(json.dumps(results[-1]), flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return results


def _json_benchmark(module: str, sizes: list[int]) -> list[dict[str, Any]]:
    """Run ``python -m benchmarks.<module> --records N`` per size; its last output is JSON."""
    results = []
    for n in sizes:
        argv = [sys.executable, "-m", f"benchmarks.{module}", "--records", str(n)]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        lines = done.stdout.splitlines()
        start = lines.index("{") if "{" in lines else len(lines)  # the outermost object
        text = "\n".join(lines[start:]) or "{}"
        results.append({"benchmark": module, "records": n, "command": " ".join(argv[1:]),
                        "result": json.loads(text)})  # fmt: skip
    return results


def bench_identity(sizes: list[int]) -> list[dict[str, Any]]:
    """A workspace's identity resolution, full then incremental (benchmarks/identity.py)."""
    return _json_benchmark("identity", sizes)


def bench_matching(sizes: list[int]) -> list[dict[str, Any]]:
    """The matching engine alone (benchmarks/matching.py)."""
    return _json_benchmark("matching", sizes)


def bench_collection(sizes: list[int]) -> list[dict[str, Any]]:
    """The collection API against a bare FastAPI endpoint (benchmarks/collection.py)."""
    argv = [sys.executable, "-m", "benchmarks.collection", "--seconds", "20"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    text = done.stdout[done.stdout.index("{") :]
    return [{"benchmark": "collection", "command": " ".join(argv[1:]), "result": json.loads(text)}]


def _server_benchmark(name: str, argv: list[str]) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", *argv], capture_output=True, text=True, check=True)
    text = done.stdout[done.stdout.index("{") :]
    command = "python -m " + " ".join(argv)
    return [{"benchmark": name, "command": command, "result": json.loads(text)}]


def bench_clv(sizes: list[int]) -> list[dict[str, Any]]:
    """Lifetime-value fits and forecasts for 1M customers, against lifetimes (benchmarks/clv.py)."""
    return _json_benchmark("clv", sizes)


def bench_measures(sizes: list[int]) -> list[dict[str, Any]]:
    """build_measures for 1M customers / 50M events against one hand-written DuckDB query
    (benchmarks/measures.py); the data is kept in benchmarks/results/measures-1m/ and reused."""
    return _server_benchmark(
        "measures", ["benchmarks.measures", "--customers", "1000000", "--reuse"]
    )


def bench_profile_api(sizes: list[int]) -> list[dict[str, Any]]:
    """The profile API over 1M customers against a bare endpoint (benchmarks/profile_api.py)."""
    argv = ["benchmarks.profile_api", "--customers", "1000000", "--seconds", "20"]
    return _server_benchmark("profile_api", argv)


def bench_soak(sizes: list[int]) -> list[dict[str, Any]]:
    """Ten minutes of profile reads and collection: does memory stay flat (benchmarks/soak.py)."""
    return _server_benchmark("soak", ["benchmarks.soak", "--minutes", "10"])


BENCHMARKS = {
    "demo": bench_demo_generation,
    "load": bench_load,
    "identity": bench_identity,
    "matching": bench_matching,
    "collection": bench_collection,
    "profile_api": bench_profile_api,
    "clv": bench_clv,
    "measures": bench_measures,
    "soak": bench_soak,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=sorted(BENCHMARKS))
    parser.add_argument(
        "--sizes",
        default="100000,1000000",
        help="customer counts of the demo company, comma-separated",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    record: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.run " + " ".join(argv or sys.argv[1:]),
        "machine": machine_info(),
        "results": [],
    }
    for name in args.only:
        record["results"].extend(BENCHMARKS[name](sizes))
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
