"""The loader in a process of its own (insightloop.api.loader_process), as `insightloop serve`
runs it: it loads what lands, loads the rest when stopped, and stops when its server is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from insightloop import Workspace
from insightloop.api import create_app
from insightloop.api.background import LOADER_ENV
from insightloop.api.loader_process import start_loader_process, stop_loader_process
from insightloop.errors import WorkspaceError
from insightloop.ingest.collect import LandingLog
from insightloop.store import WorkspaceLayout
from tests.api.test_background import _land, _stored

LOADER = [sys.executable, "-m", "insightloop.api.loader_process"]


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INSIGHTLOOP_COLLECT__LOAD_INTERVAL_SECONDS", "0.2")  # loaders inherit it
    with Workspace.init(tmp_path / "ws") as ws:
        return ws.layout.root


def _clean_up(proc: subprocess.Popen[bytes], log: LandingLog) -> None:
    """Kill the loader if a failed check left it running, and close the landing log."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    log.close()


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except WorkspaceError:  # the loader holds the database during a pass
            pass
        time.sleep(0.2)
    return False


def test_it_loads_what_lands_and_the_rest_when_stopped(root: Path) -> None:
    log = LandingLog(WorkspaceLayout(root).landing_dir)
    proc = subprocess.Popen([*LOADER, str(root)])
    try:
        _land(log, "m-1")
        assert _wait_for(lambda: _stored(root) == {"m-1"}), "not loaded while running"
        proc.send_signal(signal.SIGSTOP)  # between passes: what lands now waits for the stop
        _land(log, "m-2")
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGCONT)
        assert proc.wait(timeout=60) == 0
    finally:
        _clean_up(proc, log)
    assert _stored(root) == {"m-1", "m-2"}


def test_over_its_memory_limit_it_goes_on_as_a_fresh_process(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTLOOP_COLLECT__LOADER_MAX_MEMORY_MB", "1")  # after every pass
    before = (
        Path("/proc/self/autogroup").read_text() if Path("/proc/self/autogroup").exists() else ""
    )
    log = LandingLog(WorkspaceLayout(root).landing_dir)
    output = tmp_path / "loader.log"
    with output.open("wb") as sink:
        proc = subprocess.Popen([*LOADER, str(root)], stderr=sink)
    try:
        for n in (1, 2):
            _land(log, f"m-{n}")
            expected = {f"m-{i}" for i in range(1, n + 1)}
            assert _wait_for(lambda e=expected: _stored(root) == e), f"m-{n} not loaded"  # type: ignore[misc]
            assert _wait_for(lambda n=n: output.read_text().count("it restarts") >= n, 30)  # type: ignore[misc]
        assert proc.poll() is None, "the loader exited instead of restarting"
        # Still as much below the server's priority as configured, not lowered once more.
        assert _niceness(proc.pid) == os.nice(0) + 10
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        _clean_up(proc, log)
    assert _stored(root) == {"m-1", "m-2"}
    # Started in this session, it left the session's scheduling group alone.
    autogroup = Path("/proc/self/autogroup")
    if autogroup.exists():
        assert autogroup.read_text() == before


def test_it_stops_when_the_server_that_started_it_is_killed(root: Path) -> None:
    # A shell stands in for the server: it starts the loader, names itself as the parent,
    # and is killed with SIGKILL (no chance to stop its loader).
    command = " ".join([*LOADER, str(root), "--parent-pid", "$$"])
    shell = subprocess.Popen(
        ["sh", "-c", f"{command} & echo $! ; wait"], stdout=subprocess.PIPE, text=True
    )
    assert shell.stdout is not None
    loader_pid = int(shell.stdout.readline())
    time.sleep(1)
    assert _alive(loader_pid)
    shell.send_signal(signal.SIGKILL)
    shell.wait()
    shell.stdout.close()
    assert _wait_for(lambda: not _alive(loader_pid), 30), "the orphaned loader kept running"


def test_the_server_starts_it_in_a_session_whose_scheduling_group_yields_too(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOADER_ENV, "thread")  # start_loader_process sets it; restored after
    proc = start_loader_process(root)
    try:
        assert _wait_for(lambda: _niceness(proc.pid) == os.nice(0) + 10, 30)
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
        autogroup = Path(f"/proc/{proc.pid}/autogroup")
        if autogroup.exists():  # kernels with autogroups: the group is niced as the process
            assert _wait_for(lambda: autogroup.read_text().split()[-1] == "10", 30)
    finally:
        stop_loader_process(proc)
    assert proc.returncode == 0


def _niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_the_workers_of_insightloop_serve_leave_loading_to_it(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert create_app(root).state.loader is not None  # alone, an app loads for itself
    monkeypatch.setenv(LOADER_ENV, "process")
    assert create_app(root).state.loader is None
    assert create_app(root, background=True).state.loader is not None
