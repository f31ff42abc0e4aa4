"""Identity resolution of a workspace at scale: ``python -m benchmarks.identity --records 1000000``.

The synthetic person records of ``benchmarks.matching`` (households, typos, nicknames, pinyin,
junk values) are written into a new DuckDB workspace as customer records of three sources. A
child process runs the pipeline's ``resolve`` step logic end to end (person records and
identifiers from the canonical tables, stitching, Splink training and scoring, the cluster
check, components, stable ids, identifier map); a second child adds ``--new`` records and
resolves again, incrementally with the saved model. The parent reports each child's wall time
and peak resident memory (``wait4``) and the pairwise precision, recall and F1 of the customers
against the truth.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from benchmarks.matching import _measure, generate

_SOURCES = np.array(["crm", "loyalty", "shop"])


def _customers(table: pa.Table, seed: int) -> pa.Table:
    """The generated records as ``src_customers`` rows of three sources."""
    rng = np.random.default_rng(seed)
    source = _SOURCES[rng.integers(len(_SOURCES), size=table.num_rows)]
    dob = pc.strptime(table["birth_date"], format="%Y-%m-%d", unit="s", error_is_null=True)
    return pa.table(
        {
            "_source": pa.array(source, pa.string()),
            "source_key": table["record_id"],
            "first_name": table["first_name"],
            "last_name": table["last_name"],
            "name_raw": table["name_raw"],
            "email": table["email"],
            "phone": table["phone"],
            "birth_date": pc.cast(dob, pa.date32()),
            "street": table["street"],
            "postcode": table["postcode"],
            "city": table["city"],
            "country": table["country"],
            "is_current": pa.array(np.ones(table.num_rows, dtype=bool)),
        }
    )


def run_child(workspace: Path, data: Path, out: Path) -> None:
    """Insert ``data`` into the workspace (created if new) and resolve; write the report."""
    from insightloop import Workspace
    from insightloop.identity.config import identity_config
    from insightloop.identity.incremental import model_link_finder
    from insightloop.identity.resolve import resolve_identities

    ws = Workspace.open(workspace) if workspace.exists() else Workspace.init(workspace)
    with ws:
        ws.engine.insert("src_customers", pq.read_table(data))
        start = time.perf_counter()
        report = resolve_identities(
            ws.engine,
            identity_config({}),
            run_id="bench",
            now=datetime(2026, 1, 1),
            find_links=model_link_finder(ws.layout.models_dir / "identity"),
        )
        seconds = time.perf_counter() - start
    out.write_text(json.dumps({"seconds": seconds, "report": report.to_dict()}, default=str))


def _score(workspace: Path, truth: Path) -> dict[str, Any]:
    con = duckdb.connect(str(workspace / "insightloop.duckdb"), read_only=True)
    con.execute(f"CREATE TEMP VIEW truth AS SELECT * FROM read_parquet('{truth}')")
    row = con.execute(
        """
        WITH j AS (SELECT m.customer_id, t.person_id FROM customer_map m
                   JOIN truth t ON m.source_key = t.record_id),
        pc AS (SELECT count(*) AS n FROM j GROUP BY customer_id, person_id),
        c AS (SELECT count(*) AS n FROM j GROUP BY customer_id),
        p AS (SELECT count(*) AS n FROM j GROUP BY person_id)
        SELECT (SELECT sum(n * (n - 1) / 2) FROM pc), (SELECT sum(n * (n - 1) / 2) FROM c),
               (SELECT sum(n * (n - 1) / 2) FROM p)
        """
    ).fetchone()
    con.close()
    tp, predicted, actual = (float(v or 0) for v in row or (0, 0, 0))
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--new", type=int, default=10_000, help="records arriving later")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="keep the workspace in this folder")
    parser.add_argument("--child", nargs=3, metavar=("WS", "DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_child(*(Path(p) for p in args.child))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="il-bench-identity-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        table, person = generate(args.records + args.new, seed=args.seed)
        customers = _customers(table, args.seed)
        pq.write_table(customers.slice(0, args.records), folder / "first.parquet")
        pq.write_table(customers.slice(args.records), folder / "later.parquet")
        truth = folder / "truth.parquet"
        pq.write_table(pa.table({"record_id": table["record_id"], "person_id": person}), truth)
        ws = folder / "ws"
        me = [sys.executable, "-m", "benchmarks.identity", "--child", str(ws)]
        summary: dict[str, Any] = {"benchmark": "identity", "records": args.records}
        for name, data in (("full", "first.parquet"), ("incremental", "later.parquet")):
            wall, peak = _measure([*me, str(folder / data), str(folder / f"{name}.json")])
            result = json.loads((folder / f"{name}.json").read_text())
            summary[name] = {
                "wall_seconds": round(wall, 1),
                "resolve_seconds": round(result["seconds"], 1),
                "peak_rss_mib": round(peak),
                "mode": result["report"]["matching"].get("mode"),
                "customers": result["report"]["customers"],
            }
        summary["new_records"] = args.new
        summary["accuracy"] = _score(ws, truth)
        print(json.dumps(summary, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
