"""The official Segment and RudderStack Python SDKs against a running ``insightloop serve``.

N events sent are exactly N events stored: also when the server is killed with SIGKILL while
the SDKs send, and restarted (the SDKs retry what was not acknowledged; what was acknowledged
survived in the landing log, and retries of it are deduplicated on ``messageId``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from argon2 import PasswordHasher

from insightloop import Workspace
from insightloop.auth import AuthStore
from insightloop.errors import InsightloopError
from insightloop.ingest.collect import read_records, segments
from tests.helpers import free_port

pytestmark = pytest.mark.slow

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


class Server:
    """``insightloop serve`` in its own process group, so SIGKILL takes all its processes."""

    def __init__(self, ws_path: Path, port: int, workers: int = 1) -> None:
        self.ws_path, self.port, self.workers = ws_path, port, workers
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable, "-m", "insightloop.cli.main", "serve", "--workspace",
            str(self.ws_path), "--port", str(self.port), "--workers", str(self.workers),
        ]  # fmt: skip
        env = {**os.environ, "INSIGHTLOOP_COLLECT__LOAD_INTERVAL_SECONDS": "0.5"}
        self.proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited"
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    with Workspace.init(tmp_path / "ws"):
        pass
    return tmp_path / "ws"


@pytest.fixture
def write_key(ws_path: Path) -> str:
    store = AuthStore.for_workspace(ws_path, hasher=FAST)
    return store.write_keys.create("app", actor="test")[1]


@contextmanager
def running(ws_path: Path, workers: int = 1) -> Iterator[Server]:
    server = Server(ws_path, free_port(), workers)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _stored(ws_path: Path, timeout: float, expected: int) -> list[str]:
    """The message ids in ``events`` once ``expected`` arrived (or the time is up)."""
    deadline = time.monotonic() + timeout
    ids: list[str] = []
    while time.monotonic() < deadline:
        try:
            with Workspace.open(ws_path, read_only=True) as ws:
                t = ws.engine.table("events")
                ids = ws.engine.to_pyarrow(t.select("message_id")).column(0).to_pylist()
        except InsightloopError:  # the server's loader holds the database for a moment
            time.sleep(0.2)
            continue
        if len(ids) >= expected:
            return ids
        time.sleep(0.3)
    return ids


def _landed_messages(ws_path: Path) -> int:
    """Messages acknowledged so far: those in the landing log, loaded or not."""
    folder = ws_path / "landing"
    total = 0
    for segment in [*segments(folder), *segments(folder / "loaded")]:
        for record in read_records(segment):
            total += len(orjson.loads(record.body).get("batch", [None]))
    return total


def _segment_client(write_key: str, host: str, errors: list[Any]) -> Any:
    from segment.analytics import Client

    return Client(
        write_key,
        host=host,
        gzip=True,
        max_retries=20,
        upload_size=100,
        on_error=lambda error, batch: errors.append(error),
    )


def _rudder_client(write_key: str, host: str, errors: list[Any]) -> Any:
    from rudderstack.analytics import Client

    return Client(
        write_key,
        host=host,
        max_retries=20,
        upload_size=100,
        on_error=lambda error, batch: errors.append(error),
    )


SDKS: dict[str, Callable[[str, str, list[Any]], Any]] = {
    "segment-analytics-python": _segment_client,
    "rudder-sdk-python": _rudder_client,
}


def _send(client: Any, n: int, prefix: str, pause_every: int = 0) -> None:
    for i in range(n):
        user = f"{prefix}-user-{i % 50}"
        if i % 10 == 0:
            client.identify(user, {"email": f"{user}@example.com"}, message_id=f"{prefix}-{i}")
        else:
            client.track(user, "Product Viewed", {"sku": f"S{i}"}, message_id=f"{prefix}-{i}")
        if pause_every and i % pause_every == 0:
            time.sleep(0.01)


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_every_event_an_sdk_sends_is_stored_exactly_once(
    sdk: str, ws_path: Path, write_key: str
) -> None:
    n = 1000
    errors: list[Any] = []
    with running(ws_path) as server:
        client = SDKS[sdk](write_key, server.url, errors)
        _send(client, n, sdk)
        client.flush()
        client.join()
        ids = _stored(ws_path, 30, n)
    assert not errors
    assert len(ids) == n
    assert set(ids) == {f"{sdk}-{i}" for i in range(n)}


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_a_kill_9_while_sending_loses_and_doubles_nothing(
    sdk: str, ws_path: Path, write_key: str
) -> None:
    n = 3000
    errors: list[Any] = []
    server = Server(ws_path, free_port(), workers=2)
    server.start()
    try:
        client = SDKS[sdk](write_key, server.url, errors)
        sender = threading.Thread(target=_send, args=(client, n, sdk, 25))
        sender.start()
        time.sleep(1.0)  # mid-stream
        server.kill()
        landed = _landed_messages(ws_path)
        assert 0 < landed < n, "the kill did not come while the SDK was sending"
        time.sleep(0.5)
        server.start()  # same port: the SDK's retries reach the new server
        sender.join()
        client.flush()
        client.join()
        ids = _stored(ws_path, 60, n)
    finally:
        server.stop()
    assert not errors
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert set(ids) == {f"{sdk}-{i}" for i in range(n)}
