"""`insightloop demo up` (what `make demo` runs): generate, set up, run and serve the demo."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop.auth import AuthStore
from insightloop.cli.demo_cmds import _same_company
from insightloop.cli.main import app
from insightloop.demo.params import GENERATOR_VERSION
from insightloop.store import latest_version

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def test_demo_generate_json_reports_the_files(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["demo", "generate", "--customers", "1000", "--out", str(tmp_path / "c"), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["customers"] == 1000
    assert all((tmp_path / "c" / f["path"]).is_file() for f in report["files"])
    assert (tmp_path / "c" / "truth").is_dir()


def test_demo_generate_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "keep.txt").write_text("mine")
    result = runner.invoke(
        app, ["demo", "generate", "--customers", "1000", "--out", str(tmp_path / "c")]
    )
    assert result.exit_code == 1
    assert "Hint:" in result.stderr
    assert (tmp_path / "c" / "keep.txt").read_text() == "mine"


_VIEWER_PASSWORD = "correct-horse-battery-2026"


@pytest.mark.slow
def test_demo_up_reaches_a_served_status_page(tmp_path: Path) -> None:
    port = _free_port()
    command = [
        sys.executable, "-m", "insightloop.cli.main", "demo", "up", "--dir", str(tmp_path),
        "--customers", "1000", "--port", str(port),
    ]  # fmt: skip
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        deadline = time.monotonic() + 240
        page = ""
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                status, page = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200
        assert 'action="/login"' in page  # `/` asks to sign in first, then shows the overview
        store = AuthStore.for_workspace(tmp_path / "workspace")
        store.users.add("demo-viewer", "viewer", password=_VIEWER_PASSWORD, actor="test")
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        form = urllib.parse.urlencode({"username": "demo-viewer", "password": _VIEWER_PASSWORD})
        with browser.open(f"http://127.0.0.1:{port}/login", data=form.encode(), timeout=60) as r:
            overview = r.read().decode()
        assert 'id="kpi-customers"' in overview
        with browser.open(f"http://127.0.0.1:{port}/status", timeout=30) as r:
            status_page = r.read().decode()
        assert 'id="last-run-status">succeeded<' in status_page
        assert f'id="schema-version">v{latest_version()}<' in status_page
        # The API needs a token: the admin (whose password `demo up` printed) makes one.
        secret = store.tokens.create("admin", actor="test")[1]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/status", headers={"Authorization": f"Bearer {secret}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["last_run"]["status"] == "succeeded"
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in output
    assert "username: admin" in output
    assert "password: " in output
    # Idempotent: a second run reuses the company and the workspace.
    result = runner.invoke(
        app, ["demo", "up", "--dir", str(tmp_path), "--customers", "1000", "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    assert "Reusing the demo company" in result.stdout


def test_a_company_of_another_generator_version_is_generated_again(tmp_path: Path) -> None:
    """Files of an older generator may lack fields the demo's mappings read (1.1 added the web
    items' discount and returned units): ``demo up`` does not reuse them."""
    manifest = tmp_path / "manifest.json"
    document = {"customers": 1000, "seed": 42, "generator_version": GENERATOR_VERSION}
    manifest.write_text(json.dumps(document))
    assert _same_company(tmp_path, 1000, 42)
    manifest.write_text(json.dumps({**document, "generator_version": "1.0.0"}))
    assert not _same_company(tmp_path, 1000, 42)
