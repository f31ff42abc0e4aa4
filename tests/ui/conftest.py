"""The web UI under test: a demo company run through the whole pipeline, users of every role,
the app served by uvicorn on a free port, and Debian's Chromium driven by Playwright.

Fixtures
--------
- ``demo_root``: the workspace (session-wide; 800 customers of seed 42, the full pipeline run).
- ``passwords``: a user per role (``ui-admin``, ``ui-analyst``, ...) and its password.
- ``client_as(role)``: a FastAPI TestClient signed in as that role (with ``csrf`` on it).
- ``live_server``: the base URL of the app served by uvicorn in a thread.
- ``page_as(role)``: a Playwright page signed in as that role. Console errors and uncaught page
  errors fail the test; ``shot(page, name)`` saves a full-page screenshot under
  ``test-artifacts/screenshots/``.

Chromium comes from Debian (``make test`` installs it: scripts/ensure-chromium.sh); without it
the browser tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.api import create_app
from insightloop.api.ratelimit import RateLimiter
from insightloop.auth import ROLES, AuthStore

# isort: off
# The CLI's entry module first: it registers every command in its order (docs/cli.md).
from insightloop.cli.main import app as _cli  # noqa: F401
from insightloop.cli.demo_cmds import declare_demo_sources

# isort: on
from insightloop.demo import generate_company
from tests.api.profile_fixtures import FAST

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DEMO_CUSTOMERS = 800
DEMO_SEED = 42
#: Flags for Chromium on a machine without a network or a screen (docs/dashboard.md).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's Chromium (or ``$INSIGHTLOOP_CHROMIUM``)."""
    given = os.environ.get("INSIGHTLOOP_CHROMIUM")
    if given:
        return given
    return shutil.which("chromium") or shutil.which("chromium-browser")


# -- the workspace -----------------------------------------------------------------------------


def build_demo_workspace(base: Path) -> Path:
    """Generate the demo company under ``base`` and run the whole pipeline on it."""
    company = generate_company(base / "company", DEMO_CUSTOMERS, DEMO_SEED)
    root = base / "ws"
    with Workspace.init(root) as ws:
        declare_demo_sources(ws, company.out)
    with Workspace.open(root) as ws:
        record = ws.run()
        assert record.status == "succeeded", record.error
    return root


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace. ``$INSIGHTLOOP_TEST_UI_WORKSPACE`` names one built before (by
    ``python -m tests.ui.conftest DIR``) to copy instead of building it (about 20 s)."""
    base = tmp_path_factory.mktemp("ui-demo")
    prebuilt = os.environ.get("INSIGHTLOOP_TEST_UI_WORKSPACE")
    if prebuilt:
        root = base / "ws"
        shutil.copytree(Path(prebuilt) / "ws", root)
        return root
    return build_demo_workspace(base)


@pytest.fixture(scope="session")
def passwords(demo_root: Path) -> dict[str, str]:
    """A user of every role: ``ui-<role>`` with a password of its own."""
    store = AuthStore.for_workspace(demo_root, hasher=FAST)
    made = {}
    for role in ROLES:
        name = f"ui-{role}"
        password = f"pw-{role}-correct-horse"
        if store.users.get(name) is None:
            store.users.add(name, role, password=password, actor="test")
        made[role] = password
    return made


def make_app(root: Path) -> Any:
    app = create_app(root, background=False)
    app.state.token_limiter = RateLimiter(0)
    # Sign-ins check passwords with cheap argon2 parameters in tests.
    app.state.auth = AuthStore.for_workspace(root, hasher=FAST)
    return app


_CSRF = re.compile(r'name="csrf-token" content="([0-9a-f]+)"')


def sign_in(client: TestClient, role: str, password: str) -> TestClient:
    r = client.post("/login", data={"username": f"ui-{role}", "password": password})
    assert r.status_code == 200, r.text
    page = client.get("/status").text
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    client.headers["X-CSRF-Token"] = match.group(1)
    return client


@pytest.fixture
def client_as(demo_root: Path, passwords: dict[str, str]) -> Iterator[Callable[[str], TestClient]]:
    """``client_as("analyst")``: a TestClient signed in as that role (CSRF header set)."""
    opened: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(make_app(demo_root), raise_server_exceptions=True)
        client.__enter__()
        opened.append(client)
        return sign_in(client, role, passwords[role])

    yield make
    for client in opened:
        client.__exit__(None, None, None)


# -- the live server and the browser -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """The app over ``root`` served by uvicorn in a thread on a free port; yields its URL."""
    port = _free_port()
    config = uvicorn.Config(
        make_app(root), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the UI server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(demo_root: Path, passwords: dict[str, str]) -> Iterator[str]:
    with serve(demo_root) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing: run scripts/ensure-chromium.sh (make test does)")
        pytest.skip("Chromium is not installed (scripts/ensure-chromium.sh installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


class ConsoleProblems(list[str]):
    """Console errors and uncaught exceptions of a page."""


@pytest.fixture
def page_as(
    browser: Any, live_server: str, passwords: dict[str, str]
) -> Iterator[Callable[[str], Any]]:
    """``page_as("agent")``: a new browser page signed in as that role. Any console error or
    uncaught exception on it fails the test at the end."""
    contexts: list[tuple[Any, ConsoleProblems]] = []

    def make(role: str) -> Any:
        context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
        page = context.new_page()
        problems = ConsoleProblems()
        page.on(
            "console",
            lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        contexts.append((context, problems))
        page.goto("/login")
        page.get_by_label("User name").fill(f"ui-{role}")
        page.get_by_label("Password").fill(passwords[role])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield make
    found = [p for _, problems in contexts for p in problems]
    for context, _ in contexts:
        context.close()
    assert not found, "errors in the browser console:\n" + "\n".join(found)


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


if __name__ == "__main__":
    import sys

    print(build_demo_workspace(Path(sys.argv[1])))
