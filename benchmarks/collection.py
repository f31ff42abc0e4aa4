"""Collection API throughput against a bare FastAPI endpoint, side by side in one run.

``python -m benchmarks.collection --seconds 20 --workers 2``

Both servers are uvicorn with uvloop and httptools and the same number of workers:

- **bare**: a FastAPI ``POST /v1/batch`` that reads the body, parses it with orjson and discards
  it (``benchmarks/bare_app.py``);
- **insightloop**: ``insightloop serve`` on a fresh workspace with a write key: every request
  is checked, appended to the landing log and fsynced before its 200, and the background
  loader moves the events into DuckDB meanwhile (it shares the two cores).

The load generator (here, in child processes: 2 of 32 connections each by default) keeps HTTP/1.1
keep-alive connections busy with pre-built Segment batches of 100 events (unique message ids,
basic-auth write key), counts the 200s and the events they carried, and reports requests and
events per second, the ratio of the two servers, latency percentiles and the server's peak
memory over the run. A server that answers after ``fdatasync`` needs requests in flight to fill
its group commits, hence the connections; the per-key rate limit is off for the measurement
(capacity, not policy).
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson

EVENTS_PER_BATCH = 100
_NO_RATE_LIMIT = {"INSIGHTLOOP_COLLECT__WRITE_KEY_REQUESTS_PER_SECOND": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _batch(client: int, n: int) -> bytes:
    events = []
    for i in range(EVENTS_PER_BATCH):
        k = n * EVENTS_PER_BATCH + i
        events.append(
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": f"user-{k % 5000}",
                "anonymousId": f"anon-{k % 9000}",
                "messageId": f"c{client}-{k}",
                "timestamp": "2026-12-06T10:00:00.000Z",
                "properties": {"sku": f"SKU-{k % 700}", "price": 199.0, "currency": "SEK"},
                "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            }
        )
    return orjson.dumps({"batch": events, "sentAt": "2026-12-06T10:00:01.000Z"})


def _requests(port: int, key: str, client: int, count: int) -> list[bytes]:
    auth = base64.b64encode(f"{key}:".encode()).decode()
    out = []
    for n in range(count):
        body = _batch(client, n)
        head = (
            f"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


def _generator(
    port: int, key: str, client: int, connections: int, seconds: float, queue: Any
) -> None:
    """Keep ``connections`` busy for ``seconds``; put (ok, failed, latencies) on ``queue``."""
    prepared = _requests(port, key, client, 400)
    selector = selectors.DefaultSelector()
    state: dict[socket.socket, list[Any]] = {}
    sent = 0
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(prepared[sent % len(prepared)])
        state[s] = [time.perf_counter(), b""]
        sent += 1
        selector.register(s, selectors.EVENT_READ)
    ok = failed = 0
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    while state:
        for event, _ in selector.select(timeout=1):
            s = event.fileobj
            assert isinstance(s, socket.socket)
            data = s.recv(65536)
            entry = state[s]
            entry[1] += data
            head, sep, rest = entry[1].partition(b"\r\n\r\n")
            if not sep:
                continue
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(rest) < length:
                continue
            now = time.perf_counter()
            latencies.append(now - entry[0])
            if head.startswith(b"HTTP/1.1 200"):
                ok += 1
            else:
                failed += 1
            if now >= end:
                selector.unregister(s)
                s.close()
                del state[s]
                continue
            s.sendall(prepared[sent % len(prepared)])
            sent += 1
            state[s] = [now, rest[length:]]
    queue.put((ok, failed, latencies))


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited at start-up")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"no answer from {url}")


def _rss_by_process(pid: int) -> dict[str, float]:
    """Resident memory of ``pid`` and of its children, MiB (from /proc), by what they are:
    ``server`` (``pid`` itself), ``workers``, ``loader`` (the loader process) and ``other``."""
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    except FileNotFoundError:
        pass
    kinds: dict[str, float] = {"server": 0.0, "workers": 0.0, "loader": 0.0, "other": 0.0}
    for p in pids:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            command = Path(f"/proc/{p}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        kb = sum(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmRSS:"))
        if p == pid:
            kind = "server"
        elif b"loader_process" in command:
            kind = "loader"
        elif b"spawn_main" in command and b"resource_tracker" not in command:
            kind = "workers"
        else:
            kind = "other"
        kinds[kind] += kb / 1024
    return kinds


def _rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its children, MiB (from /proc)."""
    return sum(_rss_by_process(pid).values())


def _drive(
    port: int, key: str, proc: subprocess.Popen[bytes], seconds: float, clients: int, conns: int
) -> dict[str, Any]:
    queue: Any = mp.Queue()
    workers = [
        mp.Process(target=_generator, args=(port, key, c, conns, seconds, queue))
        for c in range(clients)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    memory = []
    while any(w.is_alive() for w in workers) and time.perf_counter() - start < seconds + 30:
        memory.append(_rss_mib(proc.pid))
        time.sleep(1)
        if not queue.empty() and queue.qsize() == clients:
            break
    results = [queue.get(timeout=60) for _ in workers]
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    return {
        "requests_ok": ok,
        "requests_failed": failed,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(ok / seconds),
        "events_per_second": round(ok * EVENTS_PER_BATCH / seconds),
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
        "server_rss_mib": {
            "first": round(memory[0], 1) if memory else None,
            "last": round(memory[-1], 1) if memory else None,
            "peak": round(max(memory), 1) if memory else None,
        },
    }


def start_server(
    workspace: Path, workers: int, env: dict[str, str] | None = None
) -> tuple[int, subprocess.Popen[bytes]]:
    """``insightloop serve`` over ``workspace`` on a free port, once it answers; its port."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "insightloop.cli.main", "serve", "--workspace", str(workspace),
         "--port", str(port), "--workers", str(workers)],
        start_new_session=True, stdout=subprocess.DEVNULL, env={**os.environ, **(env or {})},
    )  # fmt: skip
    try:
        _wait_up(f"http://127.0.0.1:{port}/healthz", server)
    except BaseException:
        _stop(server)
        raise
    return port, server


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def run(seconds: float, workers: int, clients: int, conns: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="il-bench-collect-"))
    try:
        from insightloop import Workspace
        from insightloop.auth import AuthStore

        with Workspace.init(root / "ws"):
            pass
        key = AuthStore.for_workspace(root / "ws").write_keys.create("bench", actor="bench")[1]
        out: dict[str, Any] = {"workers": workers, "events_per_batch": EVENTS_PER_BATCH}

        port = _free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port", str(port),
             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait_up(f"http://127.0.0.1:{port}/healthz", bare)
            out["bare_fastapi"] = _drive(port, key, bare, seconds, clients, conns)
        finally:
            _stop(bare)

        # Capacity, not policy: the per-key rate limit (2,000 requests/s per worker by default)
        # would otherwise be what is measured.
        port, server = start_server(root / "ws", workers, env=_NO_RATE_LIMIT)
        try:
            out["insightloop"] = _drive(port, key, server, seconds, clients, conns)
        finally:
            _stop(server)  # its last loader pass drains the landing log
        with Workspace.open(root / "ws", read_only=True) as ws:
            out["insightloop"]["events_stored"] = ws.engine.count("events")
        ratio = out["insightloop"]["events_per_second"] / out["bare_fastapi"]["events_per_second"]
        out["ratio_to_bare"] = round(ratio, 3)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=32, help="connections per process")
    parser.add_argument("--records", type=int, default=0, help="unused (benchmarks.run's API)")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.workers, args.clients, args.connections)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
