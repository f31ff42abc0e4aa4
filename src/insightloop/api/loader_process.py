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
import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

from insightloop.api.background import LOADER_ENV, BackgroundLoader
from insightloop.config import load_settings
from insightloop.store import WorkspaceLayout

__all__ = ["LOADER_ENV", "main", "run_loader", "start_loader_process", "stop_loader_process"]

# Named, not __name__: run with -m, the module is __main__.
log = logging.getLogger("insightloop.api.loader_process")

#: How often the loader looks whether the server that started it is still there, seconds.
PARENT_CHECK_SECONDS = 0.5
#: How long the server waits for the loader's last pass when it stops, seconds.
STOP_TIMEOUT_SECONDS = 120
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _rss_mib() -> float | None:
    """This process's resident memory, MiB (Linux; ``None`` elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)


def _give_back_memory() -> None:
    """Return the heap's free pages to the system (glibc keeps them otherwise, and a pass
    that parsed many messages leaves many)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _lower_priority(niceness: int) -> None:
    """Run at ``niceness``, and make this process's scheduling group yield as much.

    Linux with autogroups (the default on desktops and many servers) shares the CPU between
    sessions first and applies nice values only inside one: a niced loader in the server's
    session still earned that session a full share, taken from every other program on the
    machine (clients, the dashboard's queries). The server starts the loader in a session of
    its own, whose group gets the same niceness here. A loader started in someone else's
    session (by hand, from a shell) leaves that session's group alone; where the kernel has no
    autogroups there is nothing to set.
    """
    os.nice(niceness)
    if os.getsid(0) == os.getpid():
        with contextlib.suppress(OSError):
            Path("/proc/self/autogroup").write_text(str(niceness))


def _command(root: Path, parent_pid: int | None, *flags: str) -> list[str]:
    """The command line of a loader for the workspace at ``root``."""
    command = [sys.executable, "-m", "insightloop.api.loader_process", str(root), *flags]
    return command if parent_pid is None else [*command, "--parent-pid", str(parent_pid)]


def _restart(root: Path, parent_pid: int | None) -> NoReturn:
    """Replace this process by a fresh loader (same pid, so the server keeps its handle)."""
    command = _command(root, parent_pid, "--restarted")
    sys.stdout.flush()
    sys.stderr.flush()
    # A stop asked for while the new process starts waits (blocked signals stay blocked, and
    # pending, across exec) until it can make its last pass, instead of killing it.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    os.execv(sys.executable, command)


def run_loader(root: Path, *, parent_pid: int | None = None, restarted: bool = False) -> int:
    """Load landed events until stopped (signal, or ``parent_pid`` gone); returns the number
    of passes that loaded.

    After a pass that leaves the process over ``collect.loader_max_memory_mb``, it replaces
    itself by a fresh process (``exec``, same pid): whatever a pass leaves behind (Python's and
    DuckDB's allocations, fragmentation) does not accumulate over days of serving.
    """
    layout = WorkspaceLayout(root)
    layout.require()
    settings = load_settings(layout.config_file)
    logging.getLogger("insightloop").setLevel(settings.log_level)
    if settings.collect.loader_niceness and not restarted:  # a restarted one keeps its own
        _lower_priority(settings.collect.loader_niceness)
    limit = settings.collect.loader_max_memory_mb
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in _STOP_SIGNALS:
        signal.signal(signum, on_signal)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by a restart
    loader = BackgroundLoader(layout, settings)
    loader.start()
    passes, restart = 0, False
    try:
        while not stop.wait(PARENT_CHECK_SECONDS):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the server stopped without stopping its loader; the loader stops")
                break
            if loader.passes != passes:
                passes = loader.passes
                _give_back_memory()
                rss = _rss_mib()
                if limit and rss is not None and rss > limit:
                    log.info("the loader uses %.0f MiB (over %d): it restarts", rss, limit)
                    restart = True
                    break
    finally:
        loader.stop()  # waits for a pass under way
    if restart and not stop.is_set():
        _restart(root, parent_pid)  # the fresh loader loads what has landed
    loader.run_once()  # what landed since the last pass
    return loader.passes


def start_loader_process(root: Path) -> subprocess.Popen[bytes]:
    """Start the loader for the workspace at ``root`` as a child of this process, and make
    the workers of this process's server leave loading to it."""
    os.environ[LOADER_ENV] = "process"
    # A session of its own: its scheduling group can yield (see _lower_priority), and a Ctrl-C
    # at the terminal reaches the server, which stops the loader after its last pass.
    return subprocess.Popen(_command(root, os.getpid()), start_new_session=True)


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
    parser.add_argument(
        "--restarted", action="store_true", help="replaces a loader over its memory limit"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = args.workspace.expanduser().resolve()
    run_loader(root, parent_pid=args.parent_pid, restarted=args.restarted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
