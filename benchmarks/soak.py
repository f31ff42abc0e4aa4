"""Does the server's memory stay flat under sustained load? Profile reads and event collection
together, for minutes, with the server's resident memory sampled throughout.

``python -m benchmarks.soak --minutes 10 --customers 100000``

``insightloop serve`` (2 workers, and its loader process) over a workspace whose profile store
holds ``--customers`` documents gets, at the same time and open loop:

- profile reads at ``--profile-rate`` requests/s (an agent's token: each read audited);
- Segment batches of 100 events at ``--batch-rate`` requests/s (fsynced, then loaded into DuckDB
  by the loader every 2 s).

The resident memory of the server and its workers is sampled every 5 s. Reported: the first,
last and peak sample, and the slope of a least-squares line through the samples after the first
minute (warm-up: caches, the loader's first passes), in MiB per minute.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import multiprocessing as mp
import shutil
import socket
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from benchmarks.collection import _batch, _rss_by_process, _stop, start_server
from benchmarks.profile_api import _loop, _read_response, build_store


def _slope(samples: list[tuple[float, float]]) -> float:
    """MiB per minute of a least-squares line through (seconds, MiB) samples."""
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(m for _, m in samples) / n
    var = sum((t - mx) ** 2 for t, _ in samples)
    cov = sum((t - mx) * (m - my) for t, m in samples)
    return round(60 * cov / var, 2) if var else 0.0


def _paced_batches(port: int, key: str, seconds: float, rate: float, queue: Any) -> None:
    """Segment batches at ``rate`` requests/s over one keep-alive connection (open loop: a
    late answer delays the next send, and its latency counts from the scheduled time)."""
    auth = base64.b64encode(f"{key}:".encode()).decode()
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    ok = failed = 0
    latencies: list[float] = []
    start = time.perf_counter()
    n = 0
    while (due := start + n / rate) < start + seconds:
        time.sleep(max(0.0, due - time.perf_counter()))
        body = _batch(99, n)  # unique message ids
        sock.sendall(
            f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Basic {auth}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        buffer = b""
        while (done := _read_response(buffer)) is None:
            buffer += sock.recv(1 << 16)
        latencies.append(time.perf_counter() - due)
        if b" 200 " in done[0] + b" ":
            ok += 1
        else:
            failed += 1
        n += 1
    sock.close()
    queue.put((ok, failed, latencies))


def run(minutes: float, customers: int, profile_rate: float, batch_rate: float) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="il-bench-soak-"))
    seconds = minutes * 60
    try:
        from insightloop import Workspace
        from insightloop.auth import AuthStore

        with Workspace.init(root / "ws"):
            pass
        out: dict[str, Any] = {"minutes": minutes, "profile_rate": profile_rate}
        out["store"] = build_store(root / "ws", customers)
        auth = AuthStore.for_workspace(root / "ws")
        auth.users.add("soak_agent", "agent", actor="bench")
        token = auth.tokens.create("soak_agent", actor="bench")[1]
        key = auth.write_keys.create("soak", actor="bench")[1]

        unlimited = {
            "INSIGHTLOOP_SERVER__TOKEN_REQUESTS_PER_SECOND": "0",
            "INSIGHTLOOP_COLLECT__WRITE_KEY_REQUESTS_PER_SECOND": "0",
        }
        port, server = start_server(root / "ws", 2, unlimited)
        try:
            queue: Any = mp.Queue()
            readers = mp.Process(
                target=_loop,
                args=(port, token, customers, 8, seconds, profile_rate, 11, queue),
            )
            writers = mp.Process(
                target=_paced_batches, args=(port, key, seconds, batch_rate, queue)
            )
            begin = time.perf_counter()
            readers.start()
            writers.start()
            samples: list[tuple[float, float]] = []
            parts: list[dict[str, float]] = []
            results: list[Any] = []
            # Read results as they come: a child that put a large result waits for it to be read.
            while len(results) < 2 and time.perf_counter() - begin < seconds + 120:
                parts.append(_rss_by_process(server.pid))
                samples.append((time.perf_counter() - begin, sum(parts[-1].values())))
                deadline = time.perf_counter() + 5
                while len(results) < 2 and time.perf_counter() < deadline:
                    with contextlib.suppress(Empty):
                        results.append(queue.get(timeout=0.5))
            readers.join()
            writers.join()
        finally:
            _stop(server)
        with Workspace.open(root / "ws", read_only=True) as ws:
            out["events_stored"] = ws.engine.count("events")
        latencies = sorted(x for r in results for x in r[2])
        out["requests_ok"] = sum(r[0] for r in results)
        out["requests_failed"] = sum(r[1] for r in results)
        out["p99_ms_all_requests"] = round(1000 * latencies[int(0.99 * len(latencies))], 2)
        warm = [(t, m) for t, m in samples if t >= 60]
        out["server_rss_mib"] = {
            "first": round(samples[0][1], 1),
            "after_first_minute": round(warm[0][1], 1) if warm else None,
            "last": round(samples[-1][1], 1),
            "peak": round(max(m for _, m in samples), 1),
            "slope_mib_per_minute_after_warmup": _slope(warm),
            "samples": [(round(t), round(m, 1)) for t, m in samples],
        }
        warm_parts = [p for (t, _), p in zip(samples, parts, strict=True) if t >= 60]
        out["rss_mib_by_process"] = {
            kind: {
                "first": round(parts[0][kind], 1),
                "last": round(parts[-1][kind], 1),
                "peak": round(max(p[kind] for p in parts), 1),
                "slope_mib_per_minute_after_warmup": _slope(
                    [(t, p[kind]) for (t, _), p in zip(warm, warm_parts, strict=True)]
                ),
            }
            for kind in parts[0]
        }
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--profile-rate", type=float, default=500)
    parser.add_argument("--batch-rate", type=float, default=50, help="batches of 100 events/s")
    args = parser.parse_args(argv)
    result = run(args.minutes, args.customers, args.profile_rate, args.batch_rate)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
