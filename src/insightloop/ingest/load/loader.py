"""``load_sources``: load every declared source's new data into the canonical model.

Sources load in dependency order (customers, products and campaigns before the orders, items,
contacts, surveys, members and consents that refer to them). Each file, or database increment,
is one batch in one transaction: it lands completely or not at all, and a failed batch is
reported without stopping the others. A file whose content was loaded before is not read again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.config import Settings
from insightloop.errors import ConfigError, InsightloopError
from insightloop.ingest.load.batch import BatchWriter, key_columns
from insightloop.ingest.load.files import SourceFile, file_hash, source_files
from insightloop.ingest.load.keys import LoadedKeys
from insightloop.ingest.load.metrics import BatchMetrics
from insightloop.ingest.load.records import (
    last_watermark,
    loaded_hashes,
    new_batch_id,
    now_utc,
    record_finished,
    record_started,
    recover_interrupted,
    undo_batch,
)
from insightloop.ingest.load.report import BatchReport, LoadReport
from insightloop.ingest.readers import open_file
from insightloop.ingest.sources import SourceDeclaration, entity_table, parse_sources
from insightloop.quality.contracts import Contract, ContractError, ReferenceRule, default_contract
from insightloop.quality.contracts.defaults import contract_from_config
from insightloop.quality.scorecard import QualityThresholds, freshness_metrics, record_metrics
from insightloop.quality.scorecard.batch import measured_columns
from insightloop.store import Engine

__all__ = [
    "ENTITY_ORDER", "LOAD_MEMORY_LIMIT_MB", "LoadOptions", "load_sources", "source_contract",
]  # fmt: skip

#: Referenced entities first, so that reference checks see the keys loaded in the same run.
ENTITY_ORDER = (
    "customers", "products", "campaigns", "orders", "order_items", "events", "interactions",
    "feedback", "campaign_members", "consents",
)  # fmt: skip
Progress = Callable[[float], None]


@dataclass(frozen=True)
class LoadOptions:
    """How a load runs: rows per chunk (memory per chunk grows with it).

    The default is one DuckDB row group (122,880 rows): DuckDB writes a whole row group to
    the database file as it is inserted, instead of leaving it all to the commit.
    """

    rows_per_batch: int = 122_880


def source_contract(source: SourceDeclaration, settings: Settings) -> Contract:
    """The contract of ``source``: its entity's, changed by ``[contracts.<entity>]`` and by the
    source's own ``contract`` table when it has one."""
    own = getattr(source, "contract", None)
    if callable(own):
        contract: Contract = own(settings.contracts.get(source.entity))
        return contract
    return contract_from_config(source.entity, settings.contracts.get(source.entity))


@dataclass
class _ReferenceKeys:
    """The keys of each referenced entity, fetched once and refreshed after it loads."""

    engine: Engine
    declared: set[str]
    cache: dict[str, pa.Array] = field(default_factory=dict)

    def for_contract(self, contract: Contract) -> dict[str, pa.Array]:
        wanted = {r.references for r in contract.rules if isinstance(r, ReferenceRule)}
        return {e: self.get(e) for e in wanted if e in self.declared}

    def get(self, entity: str) -> pa.Array:
        if entity not in self.cache:
            key = key_columns(default_contract(entity))[0]
            t = self.engine.table(entity_table(entity))
            if "is_current" in t.columns:
                t = t.filter(t.is_current)
            keys = self.engine.to_pyarrow(t.select(key).distinct()).column(key)
            self.cache[entity] = keys.combine_chunks()
        return self.cache[entity]

    def invalidate(self, entity: str) -> None:
        self.cache.pop(entity, None)


def load_sources(
    engine: Engine,
    settings: Settings,
    root: Path,
    *,
    run_id: str,
    names: Sequence[str] | None = None,
    progress: Progress | None = None,
    options: LoadOptions | None = None,
) -> LoadReport:
    """Load the new data of the declared sources (all, or those in ``names``).

    Raises
    ------
    ConfigError
        When the ``[sources]`` or ``[contracts]`` settings are invalid, or ``names`` names an
        undeclared source. A batch that fails is reported in the result instead.
    """
    options = options or LoadOptions()
    declared = parse_sources(settings.sources)
    sources = declared
    if names:
        unknown = [n for n in names if n not in sources]
        if unknown:
            raise ConfigError(
                f"No source named {', '.join(map(repr, unknown))} is declared.",
                hint=f"Declared sources: {', '.join(sources) or 'none'}; "
                "`insightloop sources list` shows them.",
            )
        sources = {n: s for n, s in sources.items() if n in names}
    contracts = {name: _contract(s, settings) for name, s in sources.items()}
    thresholds = QualityThresholds.from_config(settings.quality)
    recover_interrupted(engine, run_id)
    order = sorted(sources.values(), key=lambda s: ENTITY_ORDER.index(s.entity))
    refs = _ReferenceKeys(engine, {s.entity for s in declared.values()})
    report = LoadReport()
    plan = [(s, _plan(s, root, report)) for s in order]
    total = sum(f.size if f else 1 for _, units in plan for f in units) or 1
    done = 0
    with _FileHashes([f for _, units in plan for f in units if f]) as hashes, _memory(engine):
        for source, units in plan:
            # Read once per source and load, extended by every batch (see .keys).
            loaded = LoadedKeys.for_source(
                engine,
                entity_table(source.entity),
                source.name,
                key_columns(contracts[source.name]),
            )
            for unit in units:
                loader = _Loader(
                    engine, source, contracts[source.name], refs, run_id, options, thresholds,
                    loaded,
                )  # fmt: skip
                batch = (
                    loader.load_file(unit, hashes.of(unit)) if unit else loader.load_database(root)
                )
                report.batches.append(batch)
                if batch.status == "loaded" and batch.rows_loaded:
                    refs.invalidate(source.entity)
                done += unit.size if unit else 1
                if progress is not None:
                    progress(done / total)
    if report.batches:
        fresh = freshness_metrics(
            engine, now=now_utc(), run_id=run_id, max_age_hours=thresholds.max_age_hours
        )
        record_metrics(engine, fresh)
    return report


#: DuckDB's memory limit while a load runs, in MiB. Without a limit of the workspace's own
#: (``engine.memory_limit``) DuckDB keeps the blocks it wrote cached up to 80% of RAM: the 1M
#: demo company's load peaked at 7.2 GB resident. A load reads little back; beyond the limit
#: DuckDB drops cached blocks and reads them again when needed.
LOAD_MEMORY_LIMIT_MB = 3072


@contextmanager
def _memory(engine: Engine) -> Iterator[None]:
    """Lower DuckDB's memory limit to :data:`LOAD_MEMORY_LIMIT_MB` for the block, unless the
    workspace chose one or DuckDB's default (80% of RAM) is lower already."""
    ram = _physical_memory_mb()
    chosen = engine.backend != "duckdb" or engine.memory_limit is not None
    if chosen or ram is None or ram * 0.8 <= LOAD_MEMORY_LIMIT_MB:
        yield
        return
    duck = engine.con.con
    duck.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT_MB}MiB'")
    try:
        yield
    finally:
        duck.execute("RESET memory_limit")


def _physical_memory_mb() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 20)
    except (AttributeError, OSError, ValueError):  # not on this platform
        return None


class _FileHashes:
    """The content hashes of the planned files, computed in plan order in a second thread while
    the batches before them load (hashing the 1M demo company's 26 GB of files took about a
    minute before the first batch could start). ``hashlib`` releases Python's lock."""

    def __init__(self, files: Sequence[SourceFile]) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="insightloop-hash")
        self._hashes: dict[Path, Future[str]] = {}
        for f in files:  # a file two sources read (orders and their items) is hashed once
            if f.path not in self._hashes:
                self._hashes[f.path] = self._pool.submit(file_hash, f.path)

    def of(self, unit: SourceFile) -> str:
        """The hash of ``unit``, waiting for it if need be (raises what hashing raised)."""
        return self._hashes[unit.path].result()

    def __enter__(self) -> _FileHashes:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_DERIVED = {
    "email": ("email_raw",),
    "phone": ("phone_raw",),
    "name_raw": ("first_name", "last_name"),
    "first_name": ("name_raw",),
    "last_name": ("name_raw",),
}


def scored_columns(source: SourceDeclaration) -> list[str]:
    """The canonical columns the source fills (mapped, or derived from a mapped one)."""
    filled = set(source.mapping)
    for column in source.mapping:
        filled.update(_DERIVED.get(column, ()))
    return [c for c in measured_columns(source.entity) if c in filled]


def _contract(source: SourceDeclaration, settings: Settings) -> Contract:
    try:
        return source_contract(source, settings)
    except ContractError as error:
        raise ConfigError(
            f"sources.{source.name}: its contract is invalid: {error.message}",
            hint=error.hint,
        ) from None


def _plan(source: SourceDeclaration, root: Path, report: LoadReport) -> list[SourceFile | None]:
    """The units to load: the source's files, or one database increment (``None``)."""
    if source.kind == "database":
        return [None]
    try:
        return list(source_files(source, root, hashed=False))
    except ConfigError as error:
        report.batches.append(
            BatchReport(
                new_batch_id(now_utc()),
                source.name,
                source.entity,
                source.path or "",
                status="failed",
                error=f"{error.message}. {error.hint or ''}".strip(),
            )
        )
        return []


@dataclass
class _Loader:
    engine: Engine
    source: SourceDeclaration
    contract: Contract
    refs: _ReferenceKeys
    run_id: str
    options: LoadOptions
    thresholds: QualityThresholds
    loaded: LoadedKeys | None = None

    def load_file(self, unit: SourceFile, content_hash: str) -> BatchReport:
        started = now_utc()
        report = BatchReport(
            new_batch_id(started), self.source.name, self.source.entity, unit.shown
        )
        if content_hash in loaded_hashes(self.engine, self.source.name):
            report.status = "unchanged"
            report.notes = ["the same content was loaded before; not read again"]
            record_finished(
                self.engine, report, run_id=self.run_id, started_at=started,
                content_hash=content_hash, size_bytes=unit.size,
            )  # fmt: skip
            return report
        extra = {"content_hash": content_hash, "size_bytes": unit.size}

        def read(writer: BatchWriter) -> None:
            with open_file(unit.path, self.source.read_options()) as reader:
                writer.write_chunks(
                    (raw, _file_locations(raw, unit.shown))
                    for raw in reader.batches(self.options.rows_per_batch)
                )
                writer.quarantine_unreadable(reader.rejected)
                report.notes = [_described(reader), *reader.notes]

        return self._run(report, started, read, extra)

    def load_database(self, root: Path) -> BatchReport:
        from insightloop.ingest.databases import open_database

        started = now_utc()
        since = last_watermark(self.engine, self.source.name) if self.source.incremental else None
        report = BatchReport(
            new_batch_id(started), self.source.name, self.source.entity,
            self.source.table or "query", watermark_from=since,
        )  # fmt: skip

        def read(writer: BatchWriter) -> None:
            with open_database(self.source, since=since, base_dir=root) as reader:
                report.location = reader.location
                for raw in reader.batches(self.options.rows_per_batch):
                    keys = raw.column(raw.schema.get_field_index("_key"))
                    writer.write_chunk(raw, pc.binary_join_element_wise(reader.location, keys, "#"))
                report.watermark_to = reader.watermark_to
                report.notes = list(reader.notes)

        return self._run(report, started, read, {})

    def _run(
        self,
        report: BatchReport,
        started: datetime,
        read: Callable[[BatchWriter], None],
        extra: dict[str, Any],
    ) -> BatchReport:
        clock = time.perf_counter()
        record_started(self.engine, report, run_id=self.run_id, started_at=started, **extra)
        try:
            with self.engine.transaction():
                metrics = BatchMetrics(
                    self.engine, source=self.source.name, entity=self.source.entity,
                    batch_id=report.batch_id, run_id=self.run_id, contract=self.contract,
                    columns=scored_columns(self.source), thresholds=self.thresholds,
                    measured_at=started,
                )  # fmt: skip
                writer = BatchWriter(
                    self.engine, self.source, self.contract, report, started,
                    self.refs.for_contract(self.contract), self._has_rows(), metrics.add,
                    self.loaded,
                )  # fmt: skip
                read(writer)
                if not report.balanced:
                    raise ContractError(
                        f"The account of batch {report.batch_id} does not balance: read "
                        f"{report.rows_read}, loaded {report.rows_loaded}, quarantined "
                        f"{report.rows_quarantined}, skipped {report.duplicates_skipped}.",
                        hint="This is a bug in insightloop; please report it. Nothing was kept.",
                    )
                record_metrics(self.engine, metrics.finish(report.rows_read))
                report.seconds = time.perf_counter() - clock
                record_finished(
                    self.engine, report, run_id=self.run_id, started_at=started, **extra
                )
            return report
        except InsightloopError as error:
            failure = f"{error.message}" + (f" ({error.hint})" if error.hint else "")
        except Exception as error:
            self._fail(report, started, extra, f"unexpected {type(error).__name__}", clock)
            raise
        self._fail(report, started, extra, failure, clock)
        return report

    def _fail(
        self, report: BatchReport, started: datetime, extra: dict[str, Any], why: str, clock: float
    ) -> None:
        if self.engine.backend != "duckdb":
            undo_batch(self.engine, report.batch_id, self.source.name, self.source.entity, started)
        report.status, report.error = "failed", why
        report.rows_loaded = report.rows_updated = report.rows_quarantined = 0
        report.duplicates_in_batch = report.unchanged_rows = 0
        report.seconds = time.perf_counter() - clock
        record_finished(self.engine, report, run_id=self.run_id, started_at=started, **extra)

    def _has_rows(self) -> bool:
        t = self.engine.table(entity_table(self.source.entity))
        return bool(self.engine.execute(t.filter(t._source == self.source.name).count()) > 0)


def _file_locations(raw: pa.RecordBatch, shown: str) -> pa.Array:
    line = raw.column(raw.schema.get_field_index("_line"))
    record = raw.column(raw.schema.get_field_index("_record"))
    where = pc.coalesce(line, record).cast(pa.string())
    return pc.binary_join_element_wise(pa.scalar(shown), where, ":")


def _described(reader: Any) -> str:
    parts = [f"read as {reader.format}"]
    if reader.encoding:
        parts.append(f"encoding {reader.encoding}")
    if reader.dialect is not None:
        parts.append(f"delimiter {reader.dialect.delimiter!r}")
    return ", ".join(parts)
