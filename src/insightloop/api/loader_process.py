"""The loader of received events in a process of its own, beside the server's workers.

``insightloop serve`` starts it (:func:`start_loader_process`) and tells the workers, through
:data:`LOADER_ENV`, to leave loading to it. Out of the workers, a loader pass (parsing landed
JSON, loading DuckDB, rewriting profile documents) no longer competes with the requests for
their interpreter lock, and at a lower scheduling priority (``collect.loader_niceness``) it
takes the CPU the requests leave; what has landed is durable, so a busy loader only delays
events, never loses them. Its memory is its own, and released when it exits.

It stops, after a last pass over what has landed, on SIGTERM or SIGINT (Ctrl+C reaches the
whole process group), and on its own when the server process that started it is gone (a
``kill -9`` of the server: the next server's loader takes over the landing log).

Run by hand: ``python -m insightloop.api.loader_process WORKSPACE``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

from insightloop.api.background import LOADER_ENV, BackgroundLoader
from insightloop.config import load_settings
from insightloop.store import WorkspaceLayout

__all__ = ["LOADER_ENV", "main", "run_loader", "start_loader_process", "stop_loader_process"]

log = logging.getLogger(__name__)

#: How often the loader looks whether the server that started it is still there, seconds.
PARENT_CHECK_SECONDS = 0.5
#: How long the server waits for the loader's last pass when it stops, seconds.
STOP_TIMEOUT_SECONDS = 120


def run_loader(root: Path, *, parent_pid: int | None = None) -> int:
    """Load landed events until stopped (signal, or ``parent_pid`` gone); returns the number
    of passes that loaded."""
    layout = WorkspaceLayout(root)
    layout.require()
    settings = load_settings(layout.config_file)
    logging.getLogger("insightloop").setLevel(settings.log_level)
    if settings.collect.loader_niceness:
        os.nice(settings.collect.loader_niceness)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    loader = BackgroundLoader(layout, settings)
    loader.start()
    try:
        while not stop.wait(PARENT_CHECK_SECONDS):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the server stopped without stopping its loader; the loader stops")
                break
    finally:
        loader.stop()
        loader.run_once()  # what landed since the last pass
    return loader.passes


def start_loader_process(root: Path) -> subprocess.Popen[bytes]:
    """Start the loader for the workspace at ``root`` as a child of this process, and make
    the workers of this process's server leave loading to it."""
    os.environ[LOADER_ENV] = "process"
    command = [sys.executable, "-m", "insightloop.api.loader_process", str(root)]
    return subprocess.Popen([*command, "--parent-pid", str(os.getpid())])


def stop_loader_process(proc: subprocess.Popen[bytes]) -> None:
    """Stop the loader after its last pass (killed if that takes over
    :data:`STOP_TIMEOUT_SECONDS`: what has landed stays in the landing log)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path, help="the workspace folder")
    parser.add_argument(
        "--parent-pid", type=int, default=None, help="stop when this process is gone"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_loader(args.workspace.expanduser().resolve(), parent_pid=args.parent_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
