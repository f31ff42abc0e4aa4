"""Server time of every page of the web dashboard on a workspace.

``python -m benchmarks.dashboard --workspace demo/workspace [--repeat 5]``

The app runs in this process (``create_app`` with FastAPI's TestClient, no network), signed in
as an admin (every page open to it, personal data unmasked, so the audited path is measured).
For each page: the **first** request (cold: nothing cached, the engine's queries compiled and
run) and the **median** of ``--repeat`` more (what users see while browsing; the overview reuses
its figures for a minute). Pages with an id take the first customer, segment, review pair and
quarantined row of the workspace. Prints a table; ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
from fastapi.testclient import TestClient

from insightloop.api import create_app
from insightloop.auth import AuthStore
from insightloop.store import WorkspaceLayout

USER = "bench-dashboard"
PASSWORD = "a-long-benchmark-secret-2026"


def _first(db: duckdb.DuckDBPyConnection, sql: str) -> Any:
    try:
        row = db.execute(sql).fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


def pages(root: Path) -> list[tuple[str, str]]:
    """(name, URL) of every page to time, with ids taken from the workspace."""
    with duckdb.connect(str(WorkspaceLayout(root).database_file), read_only=True) as db:
        customer = _first(
            db,
            "SELECT customer_id FROM customer_measures ORDER BY orders_365d DESC, customer_id "
            "LIMIT 1",
        )
        email = _first(db, "SELECT email FROM customers WHERE email IS NOT NULL ORDER BY 1 LIMIT 1")
        segment = _first(db, "SELECT name FROM segments ORDER BY name LIMIT 1")
        review = _first(
            db, "SELECT review_id FROM identity_review WHERE status = 'open' ORDER BY 1 LIMIT 1"
        )
        held = _first(db, "SELECT quarantine_id FROM quarantine ORDER BY 1 LIMIT 1")
    found = [
        ("overview", "/"),
        ("overview, filtered", "/?country=SE&channel=web&since=2024-01-01"),
        ("customer search (name)", "/customers?q=anna"),
    ]
    if email:
        found.append(("customer search (e-mail)", f"/customers?q={quote(email)}"))
    if customer:
        found += [
            ("360° page", f"/customers/{customer}"),
            ("360° timeline, orders", f"/customers/{customer}/timeline?kinds=order"),
        ]
    found += [("segments", "/segments"), ("segment builder", "/segments/new")]
    if segment:
        found += [
            ("segment", f"/segments/{segment}"),
            ("segment members", f"/segments/{segment}/members"),
        ]
    found += [
        ("personas", "/personas"),
        ("value", "/value"),
        ("explore", "/explore/result?measure=revenue&by=channel&by=period&period=quarter"),
        ("data quality", "/quality"),
        ("loads", "/quality/loads"),
        ("quarantine", "/quality/quarantine"),
    ]
    if held:
        found.append(("quarantined row", f"/quality/quarantine/{held}"))
    found += [("identity queue", "/identity"), ("merge history", "/identity/merges")]
    if review:
        found.append(("review pair", f"/identity/review/{review}"))
    found += [
        ("admin", "/admin"),
        ("users", "/admin/users"),
        ("tokens", "/admin/tokens"),
        ("sources", "/admin/sources"),
        ("audit log", "/admin/audit"),
    ]
    return found


def _signed_in(root: Path) -> TestClient:
    auth = AuthStore.for_workspace(root)
    if auth.users.get(USER) is None:
        auth.users.add(USER, "admin", password=PASSWORD, actor="benchmark")
    client = TestClient(create_app(root, background=False))
    client.__enter__()
    # Not following the redirect to the overview: that would compute its figures before timing.
    r = client.post("/login", data={"username": USER, "password": PASSWORD}, follow_redirects=False)
    if r.status_code != 303:
        raise SystemExit(f"could not sign in: {r.status_code}")
    token = re.search(r'name="csrf-token" content="([0-9a-f]+)"', client.get("/admin").text)
    if token:
        client.headers["X-CSRF-Token"] = token.group(1)
    return client


def bench(root: Path, repeat: int) -> list[dict[str, Any]]:
    client = _signed_in(root)
    results = []
    try:
        for name, url in pages(root):
            times = []
            for _ in range(repeat + 1):
                start = time.perf_counter()
                r = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200:
                    break  # reported with its status; the other pages are still timed
            results.append(
                {
                    "page": name,
                    "url": url,
                    "status": r.status_code,
                    "first_ms": round(times[0], 1),
                    "median_ms": round(statistics.median(times[1:] or times), 1),
                    "bytes": len(r.content),
                }
            )
    finally:
        client.__exit__(None, None, None)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="Write the figures to this file.")
    args = parser.parse_args()
    results = bench(args.workspace.resolve(), args.repeat)
    width = max(len(r["page"]) for r in results)
    print(f"{'page':<{width}}  {'first ms':>9}  {'median ms':>9}  {'KiB':>6}")
    for r in results:
        failed = "" if r["status"] == 200 else f"  answered {r['status']}"
        print(
            f"{r['page']:<{width}}  {r['first_ms']:>9.1f}  {r['median_ms']:>9.1f}  "
            f"{r['bytes'] / 1024:>6.0f}{failed}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    if any(r["status"] != 200 for r in results):
        raise SystemExit("some pages did not answer 200 (see above)")


if __name__ == "__main__":
    main()
