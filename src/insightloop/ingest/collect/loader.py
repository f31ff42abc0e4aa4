"""``load_landed``: move the landing log's new records into the ``events`` table, once each.

A pass reads every segment from where the last pass stopped (``landing_progress``), turns the
messages into rows, and writes them through the same mapping, data contract and quarantine as a
file of events, one load batch per source. The rows and the new positions are written in one
transaction: a crash before the commit leaves the positions where they were and the next pass
reads the same records again, after it nothing is read twice. Messages whose ``messageId`` is
already loaded (an SDK's retry of a request it thought had failed) are skipped as duplicates.

Segments that are complete (no writer holds them) and wholly loaded move to ``landing/loaded``,
kept ``collect.keep_loaded_days`` for replay, then removed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.config import Settings
from insightloop.ingest.collect.landing import (
    LandingRecord,
    read_records,
    segment_is_live,
    segments,
)
from insightloop.ingest.collect.rows import CollectedRows, message_rows
from insightloop.ingest.load.batch import BatchWriter
from insightloop.ingest.load.records import new_batch_id, now_utc, record_finished, record_started
from insightloop.ingest.load.report import BatchReport
from insightloop.ingest.readers import RejectedRecord
from insightloop.ingest.sources import SourceDeclaration
from insightloop.quality.contracts.defaults import contract_from_config
from insightloop.store import Engine

__all__ = ["LandedReport", "collected_source", "load_landed", "loader_lock", "pending_bytes"]

log = logging.getLogger(__name__)

PROGRESS_TABLE = "landing_progress"
LOADED_DIR = "loaded"
LOCK_FILE = "loader.lock"
#: Bytes of landed records one pass reads at most (memory stays bounded on a large backlog).
PASS_BYTES = 16 << 20


@dataclass
class LandedReport:
    """What one pass of the loader did."""

    records: int = 0
    messages: int = 0
    batches: list[BatchReport] = field(default_factory=list)
    segments_finished: list[str] = field(default_factory=list)
    segments_removed: int = 0
    damaged: list[str] = field(default_factory=list)
    more: bool = False  # the pass stopped at PASS_BYTES; records are waiting
    devices_attached: int = 0  # set by the caller that attaches devices to customers
    profiles_refreshed: int = 0  # set by the caller that keeps the profile store in step
    seconds: float = 0.0

    @property
    def rows_loaded(self) -> int:
        return sum(b.rows_loaded for b in self.batches)

    @property
    def rows_quarantined(self) -> int:
        return sum(b.rows_quarantined for b in self.batches)

    @property
    def duplicates_skipped(self) -> int:
        return sum(b.duplicates_skipped for b in self.batches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "messages": self.messages,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "duplicates_skipped": self.duplicates_skipped,
            "segments_finished": self.segments_finished,
            "segments_removed": self.segments_removed,
            "damaged": self.damaged,
            "more": self.more,
            "devices_attached": self.devices_attached,
            "profiles_refreshed": self.profiles_refreshed,
            "seconds": round(self.seconds, 3),
            "batches": [b.to_dict() for b in self.batches],
        }


def collected_source(name: str, landing_dir: Path) -> SourceDeclaration:
    """The declaration the events received for source ``name`` load through.

    Its mapping is the identity (the loader names the raw columns as the table's), so collected
    events take the entity's contract and the workspace's ``[contracts.events]`` settings.
    """
    from insightloop.ingest.collect.rows import RAW_COLUMNS

    return SourceDeclaration(
        name=name,
        kind="folder",
        path=str(landing_dir),
        entity="events",
        mapping={c: c for c in RAW_COLUMNS},  # type: ignore[misc]
    )


@contextmanager
def loader_lock(landing_dir: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the workspace's loader lock (one loader at a time); yields whether it was taken."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(landing_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def pending_bytes(engine: Engine, landing_dir: Path) -> int:
    """Bytes of the landing log not yet loaded."""
    done = _progress(engine)
    return sum(
        max(p.stat().st_size - done.get(p.name, (0, 0, 0))[0], 0) for p in segments(landing_dir)
    )


def load_landed(
    engine: Engine,
    settings: Settings,
    landing_dir: Path,
    *,
    run_id: str,
    max_bytes: int = PASS_BYTES,
) -> LandedReport:
    """Load the landed records not loaded yet (call under :func:`loader_lock`)."""
    clock = time.perf_counter()
    report = LandedReport()
    done = _progress(engine)
    records: list[LandingRecord] = []
    positions: dict[str, tuple[int, int, int, bool]] = {}
    budget = max_bytes
    finished: list[Path] = []
    for path in segments(landing_dir):
        offset, count, messages = done.get(path.name, (0, 0, 0))
        live = segment_is_live(path)
        size = path.stat().st_size
        if budget <= 0:
            break
        new = list(read_records(path, offset, max_bytes=budget))
        end = new[-1].end if new else offset
        budget -= end - offset
        complete = not live and end >= size
        if not live and end < size and (budget > 0 or not new):
            # Nothing more will be written to it: what is left is a record torn by a crash
            # (never acknowledged) or damage. Say so, and finish the segment.
            report.damaged.append(f"{path.name}: {size - end} bytes after offset {end}")
            log.warning("landing segment %s has %d unreadable bytes at its end", path.name,
                        size - end)  # fmt: skip
            complete = True
        if new or complete:
            positions[path.name] = (end, count + len(new), messages, complete)
        if complete:
            finished.append(path)
        records += new
    report.more = budget <= 0
    rows = message_rows(records)
    report.records = len(records)
    started = now_utc()
    per_segment = _messages_per_segment(rows)
    with engine.transaction():
        for source in rows.sources():
            report.batches.append(
                _load_source(engine, settings, landing_dir, source, rows, run_id, started)
            )
        for source, where, why, text in rows.unreadable:
            report.batches.append(
                _unreadable(engine, landing_dir, (source, where, why, text), run_id, started)
            )
        if positions:
            _save_progress(engine, positions, per_segment, started)
    report.messages = sum(b.rows_read for b in report.batches)
    for path in finished:
        _retire(path, landing_dir)
        report.segments_finished.append(path.name)
    report.segments_removed = _expire(landing_dir / LOADED_DIR, settings.collect.keep_loaded_days)
    report.seconds = time.perf_counter() - clock
    return report


def _messages_per_segment(rows: CollectedRows) -> dict[str, int]:
    counts: dict[str, int] = {}
    for locations in rows.locations.values():
        for where in locations:
            name = where.split("/", 1)[1].split("@", 1)[0]
            counts[name] = counts.get(name, 0) + 1
    return counts


def _load_source(
    engine: Engine,
    settings: Settings,
    landing_dir: Path,
    source: str,
    rows: CollectedRows,
    run_id: str,
    started: Any,
) -> BatchReport:
    declaration = collected_source(source, landing_dir)
    contract = contract_from_config("events", settings.contracts.get("events"))
    report = BatchReport(new_batch_id(started), source, "events", "landing")
    record_started(engine, report, run_id=run_id, started_at=started)
    raw = rows.table(source)
    location = rows.location(source)
    keep = _first_unseen(engine, raw.column("message_id"))
    duplicates = raw.num_rows - int(pc.sum(keep).as_py() or 0)
    if duplicates:
        raw, location = raw.filter(keep), location.filter(keep)
    writer = BatchWriter(engine, declaration, contract, report, started, {}, True)
    if raw.num_rows:
        writer.write_chunk(raw, location)
    report.rows_read += duplicates
    report.duplicates_in_batch += duplicates
    record_finished(engine, report, run_id=run_id, started_at=started)
    return report


def _first_unseen(engine: Engine, ids: pa.ChunkedArray) -> pa.Array:
    """Which rows carry a message id seen neither earlier in the batch nor in ``events``."""
    values = ids.combine_chunks()
    seen: set[str] = set()
    first = []
    for value in values.to_pylist():
        first.append(value is None or value not in seen)
        if value is not None:
            seen.add(value)
    wanted = pa.table({"message_id": pa.array(sorted(seen), pa.string())})
    t = engine.table("events")
    known = engine.to_pyarrow(t.semi_join(ibis.memtable(wanted), "message_id").select("message_id"))
    loaded = pc.is_in(values, value_set=known.column("message_id").combine_chunks())
    return pc.and_(pa.array(first), pc.invert(pc.fill_null(loaded, False)))


def _unreadable(
    engine: Engine,
    landing_dir: Path,
    record: tuple[str, str, str, str],
    run_id: str,
    started: Any,
) -> BatchReport:
    """Quarantine a landed record that is not a valid request (damaged, or of another release)."""
    source, where, why, text = record
    report = BatchReport(new_batch_id(started), source, "events", where)
    record_started(engine, report, run_id=run_id, started_at=started)
    declaration = collected_source(source, landing_dir)
    contract = contract_from_config("events", None)
    writer = BatchWriter(engine, declaration, contract, report, started, {}, True)
    rejected = RejectedRecord(file=where, record=1, line=1, reason=f"landing_{why}", raw=text)
    writer.quarantine_unreadable([rejected])
    record_finished(engine, report, run_id=run_id, started_at=started)
    return report


def _progress(engine: Engine) -> dict[str, tuple[int, int, int]]:
    t = engine.table(PROGRESS_TABLE)
    rows = engine.records(t.select("segment", "offset", "records", "messages"))
    return {r["segment"]: (r["offset"], r["records"], r["messages"]) for r in rows}


def _save_progress(
    engine: Engine,
    positions: dict[str, tuple[int, int, int, bool]],
    messages: dict[str, int],
    at: Any,
) -> None:
    names = pa.table({"segment": pa.array(sorted(positions), pa.string())})
    engine.delete_matching(PROGRESS_TABLE, names)
    engine.insert(
        PROGRESS_TABLE,
        [
            {
                "segment": name,
                "offset": end,
                "records": records,
                "messages": before + messages.get(name, 0),
                "finished": complete,
                "updated_at": at,
            }
            for name, (end, records, before, complete) in sorted(positions.items())
        ],
    )


def _retire(path: Path, landing_dir: Path) -> None:
    target = landing_dir / LOADED_DIR
    target.mkdir(exist_ok=True)
    path.replace(target / path.name)


def _expire(folder: Path, keep_days: float) -> int:
    if not folder.is_dir():
        return 0
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for path in folder.glob("seg-*.log"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
