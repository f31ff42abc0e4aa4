"""The server's background loader: landed events into the database within seconds.

It looks at the landing log every :data:`POLL_SECONDS` and starts a pass as soon as the log has
grown, but at most one pass every ``collect.load_interval_seconds`` (counted from the start of
the last): a quiet server loads a new event at once, a busy one in batches.

Every worker process runs one; each pass first takes the workspace's loader lock without
waiting, so one process loads at a time and another takes over when it stops. The database is
opened only when the landing log has grown since the last pass (an idle server leaves the
DuckDB file alone, for ``insightloop run`` and the readers), and closed after each pass.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from insightloop.config import Settings
from insightloop.errors import InsightloopError
from insightloop.ingest.collect import loader_lock, segments
from insightloop.pipeline.collect import drain_landing
from insightloop.store import WorkspaceLayout
from insightloop.workspace import Workspace

__all__ = ["LOADER_ENV", "BackgroundLoader"]

log = logging.getLogger(__name__)

#: Set to ``process`` in the server's environment: its workers run no loader of their own, as
#: `insightloop serve` runs one in a process of its own (:mod:`insightloop.api.loader_process`).
LOADER_ENV = "INSIGHTLOOP_LOADER"
#: How often the loader looks whether the landing log has grown (a listing and a stat).
POLL_SECONDS = 0.2


class BackgroundLoader:
    """Runs :func:`drain_landing` in a thread when events have landed, at most every
    ``collect.load_interval_seconds``."""

    def __init__(self, layout: WorkspaceLayout, settings: Settings) -> None:
        self.layout = layout
        self.interval = settings.collect.load_interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[str, int] | None = None  # segment sizes loaded by the last pass here
        self.passes = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="insightloop-loader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)

    def _run(self) -> None:
        last_start = float("-inf")
        while not self._stop.wait(min(POLL_SECONDS, self.interval)):
            if time.monotonic() - last_start < self.interval:
                continue
            started = time.monotonic()
            if self.run_once():
                last_start = started

    def _sizes(self) -> dict[str, int]:
        sizes = {}
        for path in segments(self.layout.landing_dir):
            try:
                sizes[path.name] = path.stat().st_size
            except FileNotFoundError:  # retired by another process meanwhile
                continue
        return sizes

    def run_once(self) -> bool:
        """One pass; returns whether it loaded (False: nothing new, or another loader runs)."""
        sizes = self._sizes()
        if sizes == self._seen:
            return False
        with loader_lock(self.layout.landing_dir, wait=False) as taken:
            if not taken:
                self._seen = None  # another process loads; look again next time
                return False
            try:
                with Workspace.open(self.layout.root) as ws:
                    run_id = f"collect-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
                    report = drain_landing(ws.engine, ws.settings, ws.layout, run_id=run_id)
            except InsightloopError as error:
                # Typically `insightloop run` holds the database; the events wait, durable.
                log.warning("the loader could not load received events now: %s", error.code)
                self._seen = None
                return False
            except Exception:
                log.exception("the loader failed; received events stay in the landing log")
                self._seen = None
                return False
        self.passes += 1
        # The sizes from before the pass: what landed while it ran may not have been loaded,
        # and must make the next pass look again.
        self._seen = sizes
        if report.messages:
            log.info(
                "loaded %d received messages (%d quarantined, %d duplicates) in %.2f s",
                report.rows_loaded,
                report.rows_quarantined,
                report.duplicates_skipped,
                report.seconds,
            )
        return True
