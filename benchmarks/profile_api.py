"""Profile API latency and throughput over many customers, against a bare FastAPI endpoint.

``python -m benchmarks.profile_api --customers 1000000 --seconds 20 --workers 2``

1. A profile store of ``--customers`` documents is written (``ProfileStore.replace_all``); the
   documents have the shape and size of real ones (golden record with provenance, identifiers,
   records, consents, 25 timeline entries of every kind), with distinct ids, names and e-mails.
2. **bare**: uvicorn + FastAPI ``GET /api/v1/profiles/{id}`` returning a dict of the same size
   from memory (``benchmarks/bare_app.py``), same workers.
3. **insightloop**: ``insightloop serve`` over the store; an agent's token (``pii:read``: the
   stored document as it is, each read written to the audit log) and an analyst's token (masked).

For each server: the most requests per second a closed loop of keep-alive connections gets
(random customer ids), then an open loop at ``--rate`` requests/s (default 500), whose latency
is measured from each request's scheduled send time, so a stall counts for every request it
delays. The server's memory is sampled every second.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import orjson

from benchmarks.collection import _free_port, _rss_mib, _stop, _wait_up, start_server

KINDS = ("order", "event", "interaction", "feedback", "campaign")


def customer_id(n: int) -> str:
    return f"cus_{n:016x}"


def document(n: int) -> dict[str, Any]:
    """A profile document shaped like the ones the pipeline builds (about 7 KB of JSON)."""
    rnd = random.Random(n)
    first = rnd.choice(["Anna", "Erik", "Maria", "Lars", "Wei", "Fang", "Karin", "Johan"])
    last = rnd.choice(["Andersson", "Berg", "Lindqvist", "Wang", "Li", "Nilsson", "Smith"])
    email = f"{first.lower()}.{last.lower()}{n}@mail.example"
    phone = f"+4670{n % 10_000_000:07d}"
    at = "2025-11-12T06:53:00"
    golden = {
        "first_name": first, "last_name": last, "email": email, "phone": phone,
        "birth_date": f"19{50 + n % 50}-0{1 + n % 9}-1{n % 9}", "street": f"Storgatan {n % 90}",
        "postcode": f"{10000 + n % 89999}", "city": "Göteborg", "country": "SE", "language": "sv",
    }  # fmt: skip
    provenance = {
        f: {"source": "crm", "key": f"CRM{n}", "at": at, "rule": "most_recent"} for f in golden
    }
    identifiers = [
        {"type": "anonymous_id", "value": f"{n:08x}-d1fe-4746-9265-35197f2a741a", "records": 1},
        {"type": "customer_key", "value": f"CRM{n}", "records": 1},
        {"type": "email", "value": email, "records": 3},
        {"type": "loyalty_number", "value": f"L{n:09d}", "records": 2},
        {"type": "phone", "value": phone, "records": 1},
        {"type": "user_id", "value": str(100_000_000 + n), "records": 1},
    ]
    records = [
        {"source": "crm", "key": f"CRM{n}", "fields": {**golden, "loyalty_number": f"L{n:09d}"},
         "first_seen": at, "assigned_at": at},
        {"source": "loyalty", "key": f"L{n:09d}", "fields": {"first_name": first,
         "last_name": last, "email": email}, "first_seen": at, "assigned_at": at},
        {"source": "id:user_id", "key": str(100_000_000 + n), "fields": {}, "first_seen": at,
         "assigned_at": at},
    ]  # fmt: skip
    consents = [
        {"channel": c, "purpose": "marketing", "status": "granted", "recorded_at": at,
         "source": "consents"} for c in ("email", "sms")
    ]  # fmt: skip
    timeline = []
    for i in range(25):
        kind = KINDS[i % 5]
        timeline.append(
            {
                "at": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00",
                "kind": kind,
                "channel": "web",
                "summary": f"Web order O{n}-{i}: 3 items, 1,249.00 SEK (delivered)"
                if kind == "order"
                else f"A {kind} touchpoint number {i} with a typical summary line",
                "source": kind + "s",
                "key": f"{kind[0]}-{n}-{i}",
                "details": {"amount": 1249.0, "currency": "SEK", "items": 3, "status": "ok",
                            "reason": "delivery", "notes": "Customer asked about the parcel."},
            }
        )  # fmt: skip
    return {
        "customer_id": customer_id(n),
        "golden": golden,
        "created_at": at,
        "updated_at": at,
        "provenance": provenance,
        "identifiers": identifiers,
        "records": records,
        "consents": consents,
        "timeline": timeline,
        "timeline_counts": dict.fromkeys(KINDS, 12),
        "materialised_at": "2026-12-06T03:00:00+00:00",
        "masked": False,
    }


def build_store(root: Path, customers: int) -> dict[str, Any]:
    from insightloop.profile.store import ProfileStore

    store = ProfileStore.for_workspace(root)
    start = time.perf_counter()
    chunks = ([document(n) for n in range(s, min(s + 10_000, customers))]
              for s in range(0, customers, 10_000))  # fmt: skip
    written = store.replace_all(chunks, run_id="bench")
    return {
        "customers": written,
        "seconds": round(time.perf_counter() - start, 1),
        "bytes": store.info()["bytes"],
        "document_json_bytes": len(orjson.dumps(document(0))),
    }


def _request(port: int, token: str, n: int) -> bytes:
    return (
        f"GET /api/v1/profiles/{customer_id(n)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()


def _read_response(buffer: bytes) -> tuple[bytes, bytes] | None:
    """(status line, rest after the response) when ``buffer`` holds a whole response."""
    head, sep, rest = buffer.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if len(rest) < length:
        return None
    return head.split(b"\r\n", 1)[0], rest[length:]


def _loop(
    port: int, token: str, customers: int, conns: int, seconds: float, rate: float, seed: int,
    queue: Any,
) -> None:  # fmt: skip
    """Closed loop (``rate`` 0) or open loop at ``rate`` requests/s; puts (ok, failed,
    latencies) on ``queue``. Connections are used in turn, so none idles past the server's
    keep-alive timeout; one the server closed anyway is reopened and the request sent again."""
    rnd = random.Random(seed)
    selector = selectors.DefaultSelector()
    idle: deque[socket.socket] = deque()
    busy: dict[socket.socket, list[Any]] = {}

    def connect() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector.register(s, selectors.EVENT_READ)
        return s

    def send(s: socket.socket, scheduled: float, request: bytes | None = None) -> None:
        request = request or _request(port, token, rnd.randrange(customers))
        try:
            s.sendall(request)
        except OSError:  # closed by the server while idle
            selector.unregister(s)
            s.close()
            s = connect()
            s.sendall(request)
        busy[s] = [scheduled, b"", request]

    for _ in range(conns):
        idle.append(connect())
    ok = failed = 0
    latencies: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    due: deque[float] = deque()  # open loop: scheduled send times not yet sent
    sent = 0
    while True:
        now = time.perf_counter()
        if rate:
            while start + sent / rate <= min(now, end):
                due.append(start + sent / rate)
                sent += 1
            while due and idle:
                send(idle.popleft(), due.popleft())
        else:
            while idle and now < end:
                send(idle.popleft(), now)
        if now >= end and not busy and not due:
            break
        for event, _ in selector.select(timeout=0.001 if rate else 1.0):
            s = event.fileobj
            assert isinstance(s, socket.socket)
            entry = busy.get(s)
            data = s.recv(1 << 20)
            if not data:  # the server closed it: reopen (and resend what was in flight)
                selector.unregister(s)
                s.close()
                if entry is None:
                    idle.remove(s)
                    idle.append(connect())
                else:
                    del busy[s]
                    send(connect(), entry[0], entry[2])
                continue
            if entry is None:
                continue
            entry[1] += data
            done = _read_response(entry[1])
            if done is None:
                continue
            status, _ = done
            latencies.append(time.perf_counter() - entry[0])
            if b" 200 " in status + b" ":
                ok += 1
            else:
                failed += 1
            del busy[s]
            idle.append(s)
    for s in idle:
        s.close()
    queue.put((ok, failed, latencies))


def _drive(
    port: int, token: str, proc: subprocess.Popen[bytes], customers: int, seconds: float,
    clients: int, conns: int, rate: float,
) -> dict[str, Any]:  # fmt: skip
    queue: Any = mp.Queue()
    each = rate / clients if rate else 0
    procs = [
        mp.Process(target=_loop, args=(port, token, customers, conns, seconds, each, 7 + c, queue))
        for c in range(clients)
    ]
    begin = time.perf_counter()
    for p in procs:
        p.start()
    memory = []
    while any(p.is_alive() for p in procs) and time.perf_counter() - begin < seconds + 30:
        memory.append(_rss_mib(proc.pid))
        time.sleep(1)
        if queue.qsize() == clients:
            break
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join()
    ok = sum(r[0] for r in results)
    latencies = sorted(x for r in results for x in r[2])

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    return {
        "requests_ok": ok,
        "requests_failed": sum(r[1] for r in results),
        "requests_per_second": round(ok / seconds),
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
        "server_rss_mib": {
            "first": round(memory[0], 1) if memory else None,
            "last": round(memory[-1], 1) if memory else None,
            "peak": round(max(memory), 1) if memory else None,
        },
    }


def run(
    customers: int, seconds: float, workers: int, rate: float, clients: int, conns: int
) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="il-bench-profiles-"))
    try:
        from insightloop import Workspace
        from insightloop.auth import AuthStore

        with Workspace.init(root / "ws"):
            pass
        out: dict[str, Any] = {"workers": workers, "rate": rate}
        out["store"] = build_store(root / "ws", customers)
        auth = AuthStore.for_workspace(root / "ws")
        tokens = {}
        for role in ("agent", "analyst"):
            auth.users.add(f"bench_{role}", role, actor="bench")
            tokens[role] = auth.tokens.create(f"bench_{role}", actor="bench")[1]
        template = root / "doc.json"
        template.write_bytes(orjson.dumps(document(1)))

        port = _free_port()
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app", "--port", str(port),
             "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
            start_new_session=True, env={**os.environ, "BENCH_PROFILE_DOC": str(template)},
        )  # fmt: skip
        try:
            _wait_up(f"http://127.0.0.1:{port}/healthz", bare)
            out["bare_fastapi"] = {
                "max": _drive(port, "-", bare, customers, seconds, clients, conns, 0),
                "at_rate": _drive(port, "-", bare, customers, seconds, clients, conns, rate),
            }
        finally:
            _stop(bare)

        # One token makes every request here; its per-token limit would answer 429.
        unlimited = {"INSIGHTLOOP_SERVER__TOKEN_REQUESTS_PER_SECOND": "0"}
        port, server = start_server(root / "ws", workers, unlimited)
        try:
            for role, token in tokens.items():
                out[f"insightloop_{role}"] = {
                    "max": _drive(port, token, server, customers, seconds, clients, conns, 0),
                    "at_rate": _drive(
                        port, token, server, customers, seconds, clients, conns, rate
                    ),
                }
        finally:
            _stop(server)
        bare_max = out["bare_fastapi"]["max"]["requests_per_second"]
        out["ratio_to_bare"] = {
            role: round(out[f"insightloop_{role}"]["max"]["requests_per_second"] / bare_max, 3)
            for role in tokens
        }
        out["audit_entries"] = len(auth.audit.query(action="profile.read", limit=100_000))
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=500, help="open-loop requests/s")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--connections", type=int, default=8, help="connections per process")
    args = parser.parse_args(argv)
    result = run(
        args.customers, args.seconds, args.workers, args.rate, args.clients, args.connections
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
