"""``insightloop demo stream``: demo events sent through the real Segment SDK to a running
``insightloop serve`` show up in the customers' profiles within seconds.

The planner's tests run on a hand-made profile store; the end-to-end ones on a 100-customer demo
workspace and a real server subprocess (the default load interval of 2 s: the latency measured is
the one users see).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from segment.analytics import Client
from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.auth import AuthStore
from insightloop.cli.demo_sessions import Call, Product, SessionPlanner, ShopperSource, _shorten
from insightloop.cli.demo_stream import SOURCE, check_write_key
from insightloop.cli.main import app
from insightloop.errors import InsightloopError
from insightloop.identity.realtime import REALTIME_RULE
from insightloop.ingest.collect import messages_of
from insightloop.profile.store import ProfileStore
from tests.helpers import free_port

runner = CliRunner()

#: The issue's promise: a new event is visible in the customer's profile within 5 seconds.
VISIBLE_WITHIN_SECONDS = 5.0

PRODUCTS = [
    Product("FA-10001", "Linen Shirt", "fashion", "Tern", {"SEK": 499.0, "EUR": 45.99}),
    Product("FA-10002", "Oak Scarf", "fashion", None, {"SEK": 199.0, "EUR": 17.99}),
    Product("KI-20001", "Chef Knife", "kitchen", "Sølvik", {"EUR": 59.0}),
]


def _doc(customer_id: str, user_id: str, devices: list[str], country: str) -> dict[str, Any]:
    identifiers = [{"type": "user_id", "value": user_id, "records": 1}]
    identifiers += [{"type": "anonymous_id", "value": d, "records": 1} for d in devices]
    golden = {"first_name": "Anna", "last_name": "Berg", "email": f"{user_id}@x.example"}
    return {"customer_id": customer_id, "golden": golden | {"country": country},
            "identifiers": identifiers}  # fmt: skip


@pytest.fixture
def shoppers(tmp_path: Path) -> ShopperSource:
    store = ProfileStore(tmp_path / "profiles")
    store.replace_all(
        [[_doc("c1", "u1", ["dev-a", "dev-b"], "SE"), _doc("c2", "u2", [], "US"),
          _doc("c3", "u3", ["dev-c"], "CN")]]
    )  # fmt: skip
    return ShopperSource(store)


CUSTOMERS = [("u1", "c1"), ("u2", "c2"), ("u3", "c3")]


def _as_sent(calls: list[Call]) -> list[dict[str, Any]]:
    """The messages the real SDK makes of these calls (without sending them)."""
    client = Client("il_wk_test", send=False)
    return [getattr(client, c.method)(**c.kwargs)[1] for c in calls]


def test_sessions_are_valid_segment_messages_the_server_accepts(shoppers: ShopperSource) -> None:
    calls = list(SessionPlanner(CUSTOMERS, PRODUCTS, shoppers, seed=1).calls(300))
    assert len(calls) == 300
    messages = _as_sent(calls)
    assert messages_of({"batch": messages}, "batch") == messages  # raises on any invalid one
    assert len({m["messageId"] for m in messages}) == 300
    events = {m.get("event") or m["type"] for m in messages}
    assert {"identify", "page", "screen", "Product Viewed", "Product Added",
            "Order Completed"} <= events  # fmt: skip
    for m in messages:
        assert m["anonymousId"]
        assert m["timestamp"]
        assert "userAgent" in m["context"] or "app" in m["context"]
        if m.get("event") == "Order Completed":
            items = m["properties"]["products"]
            total = sum(i["price"] * i["quantity"] for i in items)
            assert m["properties"]["total"] == pytest.approx(total)
            assert m["properties"]["order_id"].startswith("WO")


def test_new_visitors_browse_anonymously_then_log_in_on_that_device(
    shoppers: ShopperSource,
) -> None:
    calls = list(SessionPlanner(CUSTOMERS, PRODUCTS, shoppers, seed=2).calls(400))
    anonymous = [c for c in calls if c.kwargs["user_id"] is None]
    assert anonymous, "no new visitor in 400 events"
    logins = {(c.kwargs["anonymous_id"], c.user_id) for c in calls if c.method == "identify"}
    for c in anonymous:
        assert (c.kwargs["anonymous_id"], c.user_id) in logins
    # u2 has no known device: every one of their sessions starts on a new one.
    assert any(c.user_id == "u2" for c in anonymous)


def test_a_seed_repeats_the_choices_but_never_the_message_ids(shoppers: ShopperSource) -> None:
    def run() -> list[Call]:
        return list(SessionPlanner(CUSTOMERS, PRODUCTS, shoppers, seed=3).calls(100))

    first, second = run(), run()
    assert [(c.user_id, c.label) for c in first] == [(c.user_id, c.label) for c in second]
    assert not {c.message_id for c in first} & {c.message_id for c in second}


def test_a_shortened_session_keeps_the_login(shoppers: ShopperSource) -> None:
    planner = SessionPlanner(CUSTOMERS, PRODUCTS, shoppers, seed=4)
    session = next(s for s in iter(planner.session, None) if s[0].kwargs["user_id"] is None)
    login = next(i for i, c in enumerate(session) if c.method == "identify")
    assert login > 0
    assert [c.method for c in _shorten(session, 1)] == ["identify"]
    assert _shorten(session, login + 1) == session[: login + 1]


# -- against a running server ----------------------------------------------------------------


@contextmanager
def serving(workspace: Path) -> Iterator[str]:
    """``insightloop serve`` in its own process group (as tests/api/test_collect_sdks.py)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "insightloop.cli.main", "serve", "--workspace",
               str(workspace), "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = runner.invoke(
        app, ["demo", "up", "--no-serve", "--customers", "100", "--dir", str(folder)]
    )
    assert result.exit_code == 0, result.output
    return folder


def _profile(url: str, token: str, user_id: str) -> dict[str, Any] | None:
    request = urllib.request.Request(
        f"{url}/api/v1/profiles/by/user_id/{user_id}?timeline_limit=50",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _stored(workspace: Path, timeout: float) -> list[tuple[str, str | None, str | None]]:
    """``(message_id, user_id, anonymous_id)`` of the streamed events in the database."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with Workspace.open(workspace, read_only=True) as ws:
                e = ws.engine.table("events")
                e = e.filter(e._source == SOURCE).select("message_id", "user_id", "anonymous_id")
                rows = ws.engine.to_pyarrow(e).to_pylist()
            return [(r["message_id"], r["user_id"], r["anonymous_id"]) for r in rows]
        except InsightloopError:  # the server's loader holds the database for a moment
            assert time.monotonic() < deadline, "the database stayed locked"
            time.sleep(0.2)


@pytest.mark.slow
def test_streamed_events_show_in_the_profile_within_seconds(demo_dir: Path) -> None:
    workspace = demo_dir / "workspace"
    token = AuthStore.for_workspace(workspace).tokens.create("admin", actor="test")[1]
    n = 50
    with serving(workspace) as url:
        result = runner.invoke(
            app,
            ["demo", "stream", "--dir", str(demo_dir), "--url", url, "--events", str(n),
             "--rate", "0", "--seed", "7", "--json"],
        )  # fmt: skip
        streamed = time.monotonic()  # every event is acknowledged (durable) by now
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert (report["sent"], report["failed"], report["stopped"]) == (n, 0, "completed")
        assert report["write_key"].startswith("il_wk_")
        sample = report["sample"]
        visible_after = None
        while time.monotonic() - streamed <= VISIBLE_WITHIN_SECONDS + 1:
            doc = _profile(url, token, sample["user_id"])
            if doc and any(e.get("key") == sample["message_id"] for e in doc["timeline"]):
                visible_after = time.monotonic() - streamed
                break
            time.sleep(0.1)
        print(f"\nstreamed event visible in the profile {visible_after} s after the stream")
        assert visible_after is not None, "the event did not reach the profile"
        assert visible_after <= VISIBLE_WITHIN_SECONDS
        assert doc is not None
        assert doc["customer_id"] == sample["customer_id"]
        rows = _stored(workspace, 30)
        deadline = time.monotonic() + 30
        while len(rows) < n and time.monotonic() < deadline:
            time.sleep(0.5)
            rows = _stored(workspace, 30)
    rows = _stored(workspace, 30)  # again, with the server stopped: nothing more arrived
    assert len(rows) == n
    assert len({r[0] for r in rows}) == n
    # The new visitors' devices were attached to the customers they logged in as.
    devices = {r[2] for r in rows if r[1] is None}
    assert devices, "the stream had no anonymous visitor"
    with Workspace.open(workspace, read_only=True) as ws:
        m = ws.engine.table("identifier_map")
        m = m.filter((m.id_type == "anonymous_id") & (m.rule == REALTIME_RULE)).select("id_value")
        attached = set(ws.engine.to_pyarrow(m).column(0).to_pylist())
    assert devices <= attached


@pytest.mark.slow
def test_a_missing_server_and_a_refused_key_say_what_to_do(demo_dir: Path) -> None:
    workspace = demo_dir / "workspace"
    keys = AuthStore.for_workspace(workspace).write_keys
    before = len(keys.list())
    nobody = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["demo", "stream", "--dir", str(demo_dir), "--url", nobody])
    assert result.exit_code == 1
    assert f"No insightloop server answers at {nobody}" in result.stderr
    assert "insightloop serve" in result.stderr
    assert len(keys.list()) == before, "a key was made for a server that is not there"

    key, secret = keys.create(SOURCE, actor="test")
    keys.revoke(key.key_id, actor="test")
    with serving(workspace) as url:
        result = runner.invoke(
            app, ["demo", "stream", "--dir", str(demo_dir), "--url", url, "--write-key", secret]
        )
        assert result.exit_code == 1
        assert "not an active key" in result.stderr
        assert secret not in result.output
        # A key the server does not know (of another workspace, say): its 401, explained.
        with pytest.raises(InsightloopError, match="refused the write key"):
            check_write_key(url, "il_wk_of_another_workspace")

        # With a good key (another source's, so the other test's count stays exact): the
        # progress, the summary and how to see the events.
        _, secret = keys.create("stream_output_check", actor="test")
        result = runner.invoke(
            app,
            ["demo", "stream", "--dir", str(demo_dir), "--url", url, "--write-key", secret,
             "--events", "5", "--rate", "0"],
            env={"COLUMNS": "200"},
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Sending with write key" in result.stdout
    assert secret not in result.stdout
    assert "Sent 5 events" in result.stdout
    assert "0 failed" in result.stdout
    assert f"curl -H 'Authorization: Bearer <TOKEN>' '{url}/api/v1/profiles/by/user_id/" in (
        result.stdout
    )
