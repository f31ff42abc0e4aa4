"""Benchmark connected components on DuckDB: ``python -m benchmarks.components --edges 5000000``.

Builds a random identifier graph shaped like a customer-data platform's in DuckDB: many small
components of 1-50 identifiers (random trees plus extra and duplicate links, ends in either
order) and a few long chains (one with its ids in sorted order), with ids such as
``email:1234567890``. Then times :func:`insightloop.identity.components.connected_components` on
it and prints edges, nodes, components, rounds, seconds and the process's peak resident memory.
The component and node counts are checked against the ones the generator planted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ibis

from insightloop.identity.components import connected_components
from insightloop.store import Engine

# A new component starts at a node with this probability (and at least every 50 nodes), so
# sizes follow a geometric law of mean about 6, cut at 50.
BREAK_PER_MILLE = 150
# Share of non-first nodes that get a second link into their component (a cycle).
EXTRA_PER_CENT = 30
CHAINS = 4

# The graph, from integer parameters only (bound, never formatted into the SQL).
SMALL_SQL = """
CREATE TABLE small AS
WITH nodes AS (
    SELECT i, i % 50 = 0 OR hash(i, $seed) % 1000 < $break AS first FROM range($nodes) AS r(i)
), placed AS (
    SELECT i, first,
           max(CASE WHEN first THEN i END) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) AS start
    FROM nodes
)
SELECT * FROM placed
"""
EDGES_SQL = """
CREATE TABLE edges AS
WITH links AS (
    SELECT i, start + hash(i, $seed + 1) % (i - start) AS j, hash(i, $seed + 2) % 2 = 0 AS flip
    FROM small WHERE NOT first
    UNION ALL
    SELECT i, start + hash(i, $seed + 3) % (i - start), hash(i, $seed + 4) % 2 = 0
    FROM small WHERE NOT first AND hash(i, $seed + 5) % 100 < $extra
), chains AS (
    SELECT $nodes + c * $chain + k AS i, $nodes + c * $chain + k + 1 AS j, k % 2 = 0 AS flip
    FROM range($chains) AS a(c), range($chain - 1) AS b(k)
), named AS (
    SELECT CASE WHEN flip THEN j ELSE i END::BIGINT AS x,
           CASE WHEN flip THEN i ELSE j END::BIGINT AS y
    FROM (SELECT * FROM links UNION ALL SELECT * FROM chains)
)
SELECT {name_x} AS left_id, {name_y} AS right_id FROM named
"""
# Ids look like identifiers of four kinds; (i * 48271) % (2^31 - 1) is a bijection, so they are
# unique and their string order is unrelated to the graph, except on the last chain (sorted).
NAME_SQL = """
CASE WHEN {v} >= $nodes + ($chains - 1) * $chain THEN 'chain:' || lpad({v}::VARCHAR, 12, '0')
ELSE ['email:', 'phone:', 'cookie:', 'account:'][{v} % 4 + 1]
     || ((({v} * 48271) % 2147483647) + 1000000000)::VARCHAR END
"""


def build_graph(engine: Engine, edges: int, seed: int) -> dict[str, int]:
    """Create table ``edges`` with about ``edges`` rows; return what the generator planted."""
    chain = max(1_000, edges // 200)
    small_edges = edges - CHAINS * (chain - 1)
    # Per node: (1 - break rate) tree links, times (1 + extra) with the second links.
    first_rate = BREAK_PER_MILLE / 1000 + 0.02
    nodes = int(small_edges / ((1 - first_rate) * (1 + EXTRA_PER_CENT / 100)))
    params = {
        "seed": seed,
        "nodes": nodes,
        "break": BREAK_PER_MILLE,
        "extra": EXTRA_PER_CENT,
        "chains": CHAINS,
        "chain": chain,
    }
    duck = engine.con.con
    duck.execute(SMALL_SQL, {k: params[k] for k in ("seed", "nodes", "break")})
    name_x, name_y = (NAME_SQL.format(v=v) for v in ("x", "y"))
    edge_params = {k: v for k, v in params.items() if k != "break"}
    duck.execute(EDGES_SQL.format(name_x=name_x, name_y=name_y), edge_params)
    # A component of one node has no edge, so it is not part of the graph.
    linked, components = duck.execute(
        "SELECT sum(n), count(*) FROM (SELECT count(*) AS n FROM small GROUP BY start) WHERE n > 1"
    ).fetchone()  # type: ignore[misc]
    duck.execute("DROP TABLE small")
    return {"nodes": int(linked) + CHAINS * chain, "components": components + CHAINS}


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(edges: int, seed: int, database: str | None, settings: dict[str, str]) -> dict[str, Any]:
    engine = Engine(ibis.duckdb.connect(database or ":memory:", **settings), "duckdb")
    # Keep stdout to the one JSON line: DuckDB draws a progress bar on queries over 2 s.
    engine.con.con.execute("SET enable_progress_bar = false")
    start = time.perf_counter()
    planted = build_graph(engine, edges, seed)
    built = time.perf_counter() - start
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    result = connected_components(engine, engine.table("edges"), output="components")
    seconds = time.perf_counter() - start
    figures = {
        "edges": engine.count("edges"),
        "nodes": result.nodes,
        "components": result.components,
        "iterations": result.iterations,
        "seconds": round(seconds, 2),
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_mib_after_build": rss_before,
        "build_seconds": round(built, 2),
        "database": database or ":memory:",
        # The machine may be shared: a load above the core count means the figures are slow.
        "load_average_1min": os.getloadavg()[0],
    }
    engine.close()
    if (result.nodes, result.components) != (planted["nodes"], planted["components"]):
        raise SystemExit(f"wrong result: planted {planted}, found {figures}")
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=5_000_000, help="about this many edges")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a DuckDB setting, e.g. threads=2 or preserve_insertion_order=false (repeatable)",
    )
    parser.add_argument(
        "--storage",
        choices=("memory", "file"),
        default="memory",
        help="an in-memory database, or one in a temporary file",
    )
    args = parser.parse_args(argv)
    settings = dict(item.split("=", 1) for item in args.set)
    if args.storage == "file":
        with tempfile.TemporaryDirectory(prefix="il-bench-cc-") as folder:
            figures = run(args.edges, args.seed, str(Path(folder) / "cc.duckdb"), settings)
    else:
        figures = run(args.edges, args.seed, None, settings)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
