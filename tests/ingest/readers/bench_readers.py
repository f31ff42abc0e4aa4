"""Benchmark: insightloop's readers against a bare DuckDB read of the same file into a table.

Not collected by pytest. Run from the repository root::

    .venv/bin/python tests/ingest/readers/bench_readers.py \\
        --csv-rows 2000000 --jsonl-rows 1000000

Prints rows/s for both and the ratio, then the peak RSS of the process.
Bare DuckDB reads into a table; the reader is timed streaming every Arrow batch to the caller.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from insightloop.ingest.readers import open_file

CITIES = ["Göteborg", "Malmö", "London", "北京", "Stockholm", "Dublin"]


def make_csv(path: Path, rows: int, multiline: bool) -> None:
    rng = random.Random(1)
    with open(path, "w", encoding="utf-8") as out:
        out.write("id,email,name,city,amount,joined,note\n")
        for i in range(rows):
            note = '"two\nlines"' if multiline and i % 1000 == 0 else "ok"
            out.write(
                f"{i},user{i}@example.com,Åsa Öberg {i},{rng.choice(CITIES)},"
                f"{rng.random() * 1000:.2f},2024-0{1 + i % 9}-1{i % 10},{note}\n"
            )


def make_jsonl(path: Path, rows: int) -> None:
    rng = random.Random(2)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(rows):
            out.write(
                f'{{"id": {i}, "email": "user{i}@example.com", "city": "{rng.choice(CITIES)}", '
                f'"amount": {rng.random() * 1000:.2f}, "tags": ["a", "b"]}}\n'
            )


def bare(sql: str, path: Path) -> tuple[float, int]:
    connection = duckdb.connect()
    started = time.perf_counter()
    connection.execute(f"CREATE TABLE t AS {sql}", {"path": str(path)})
    elapsed = time.perf_counter() - started
    count = connection.execute("SELECT count(*) FROM t").fetchone()
    connection.close()
    return elapsed, int(count[0]) if count else 0


def ours(path: Path) -> tuple[float, int]:
    """Open, detect, scan and stream every batch (what the loader gets), without storing it."""
    started = time.perf_counter()
    with open_file(path) as reader:
        for _batch in reader.batches(100_000):
            pass
    return time.perf_counter() - started, reader.rows_yielded


def report(name: str, base: tuple[float, int], mine: tuple[float, int]) -> None:
    print(f"{name}: bare DuckDB {base[1] / base[0]:>12,.0f} rows/s ({base[0]:.2f} s)")
    print(f"{name}: insightloop {mine[1] / mine[0]:>12,.0f} rows/s ({mine[0]:.2f} s)")
    print(f"{name}: ratio {base[0] / mine[0]:.0%}   rows {mine[1]:,} / {base[1]:,}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv-rows", type=int, default=2_000_000)
    parser.add_argument("--jsonl-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        csv_path, multi_path = Path(folder) / "c.csv", Path(folder) / "m.csv"
        jsonl_path = Path(folder) / "e.jsonl"
        make_csv(csv_path, args.csv_rows, multiline=False)
        make_csv(multi_path, args.csv_rows, multiline=True)
        make_jsonl(jsonl_path, args.jsonl_rows)
        csv_sql = "SELECT * FROM read_csv($path, all_varchar = true)"
        for name, path in (("csv", csv_path), ("csv+quoted newlines", multi_path)):
            size = path.stat().st_size / 1e6
            report(f"{name} ({size:.0f} MB)", bare(csv_sql, path), ours(path))
        json_sql = "SELECT * FROM read_json($path, format = 'newline_delimited')"
        size = jsonl_path.stat().st_size / 1e6
        report(f"jsonl ({size:.0f} MB)", bare(json_sql, jsonl_path), ours(jsonl_path))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
