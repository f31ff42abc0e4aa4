"""``retry_quarantine``: run quarantined rows again, after the mapping or the contract was fixed.

The raw values kept in the quarantine go through the source's current mapping and contract as a
batch of their own (location ``quarantine-retry``). Rows that pass are loaded and their
quarantine rows marked ``resolved``; rows that still fail stay quarantined with their new
reasons. Either way ``retried_at`` records the attempt. Records the reader could not split into
fields (kept as ``{"_text": ...}``) cannot be retried from the quarantine: fix the file instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from insightloop.config import Settings
from insightloop.ingest.load.batch import BatchWriter
from insightloop.ingest.load.loader import _contract, _ReferenceKeys
from insightloop.ingest.load.records import new_batch_id, now_utc, record_finished, record_started
from insightloop.ingest.load.report import BatchReport, LoadReport
from insightloop.ingest.sources import SourceDeclaration, parse_sources
from insightloop.store import Engine, WorkspaceLayout

__all__ = ["RETRY_LOCATION", "retry_quarantine"]

RETRY_LOCATION = "quarantine-retry"
_UNREADABLE = "_text"


@dataclass(frozen=True)
class _Held:
    ids: list[str]
    locations: list[str]
    raw: list[dict[str, str | None]]


def _held(engine: Engine, source: str, ids: Sequence[str] | None) -> _Held:
    t = engine.table("quarantine")
    t = t.filter((t.source == source) & ~t.resolved.fill_null(False))
    rows = engine.records(t.select("quarantine_id", "location", "raw").order_by("location"))
    if ids is not None:
        wanted = set(ids)
        rows = [r for r in rows if r["quarantine_id"] in wanted]
    held = _Held([], [], [])
    for row in rows:
        values = json.loads(row["raw"])
        if _UNREADABLE in values:
            continue
        held.ids.append(row["quarantine_id"])
        held.locations.append(row["location"])
        held.raw.append(values)
    return held


def retry_quarantine(
    engine: Engine,
    settings: Settings,
    root: Path,
    *,
    run_id: str,
    sources: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
) -> LoadReport:
    """Retry the unresolved quarantined rows of the named sources (default: all sources).

    Parameters
    ----------
    ids
        Only these quarantine ids (default: every unresolved row of the sources).
    """
    declared = parse_sources(settings.sources)
    report = LoadReport()
    refs = _ReferenceKeys(engine, {s.entity for s in declared.values()})
    candidates = {**_collected_sources(engine, root, set(declared)), **declared}
    for name, source in candidates.items():
        if sources and name not in sources:
            continue
        held = _held(engine, name, ids)
        if not held.ids:
            continue
        started = now_utc()
        batch = BatchReport(new_batch_id(started), name, source.entity, RETRY_LOCATION)
        record_started(engine, batch, run_id=run_id, started_at=started)
        contract = _contract(source, settings)
        flat = source.model_copy(update={"explode": None})  # the raw rows are already exploded
        columns = sorted({k for r in held.raw for k in r})
        raw = pa.table({c: pa.array([r.get(c) for r in held.raw], pa.string()) for c in columns})
        with engine.transaction():
            writer = BatchWriter(
                engine, flat, contract, batch, started, refs.for_contract(contract), True
            )
            writer.write_chunk(raw, pa.array(held.locations, pa.string()))
            record_finished(engine, batch, run_id=run_id, started_at=started)
        _mark(engine, held.ids, batch.batch_id, started)
        refs.invalidate(source.entity)
        report.batches.append(batch)
    return report


def _collected_sources(
    engine: Engine, root: Path, declared: set[str]
) -> dict[str, SourceDeclaration]:
    """The sources of events received by the collection API that hold quarantined rows."""
    from insightloop.ingest.collect.loader import collected_source

    t = engine.table("quarantine")
    t = t.filter(t.location.startswith("landing/") & (t.entity == "events"))
    names = engine.to_pyarrow(t.select("source").distinct()).column("source").to_pylist()
    landing = WorkspaceLayout(root).landing_dir
    return {n: collected_source(n, landing) for n in names if n not in declared}


def _mark(engine: Engine, ids: list[str], batch_id: str, at: object) -> None:
    """Set ``retried_at`` on every retried row, and ``resolved`` on those that passed."""
    t = engine.table("quarantine")
    still = engine.to_pyarrow(t.filter(t.batch_id == batch_id).select("quarantine_id"))
    failed = set(still.column("quarantine_id").to_pylist())
    keys = pa.table({"quarantine_id": pa.array(ids, pa.string())})
    engine.update_matching("quarantine", keys, {"retried_at": at})
    passed = [i for i in ids if i not in failed]
    if passed:
        keys = pa.table({"quarantine_id": pa.array(passed, pa.string())})
        engine.update_matching("quarantine", keys, {"resolved": True})
