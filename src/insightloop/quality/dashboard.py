"""What the dashboard shows of data quality: the load history with its account, the scorecard per
load over time, and one summary for the overview page (:func:`quality_summary`).

Every function builds Ibis expressions over ``load_batches`` and ``quality_metrics``; the engine
runs them, and only aggregated or paginated rows reach Python, so the pages stay fast however
long the history grows. The quarantine browser's queries are in
:mod:`insightloop.quality.quarantine_browser`.

A batch writes a ``started`` row to ``load_batches`` before anything else and its final row
(``loaded``, ``unchanged`` or ``failed``) at the end; :func:`final_batches_expr` keeps one row
per batch, the final one when there is one. A batch with only its ``started`` row is still
running, or was interrupted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.quality.contracts.quarantine import QUARANTINE_TABLE
from insightloop.quality.scorecard.loads import LOADS_TABLE, SUCCESSFUL_LOADS
from insightloop.quality.scorecard.thresholds import METRICS_TABLE
from insightloop.store import Engine

__all__ = [
    "BatchQuality",
    "LoadBatch",
    "LoadHistory",
    "LoadTotals",
    "QualitySummary",
    "SourceLoadStatus",
    "final_batches_expr",
    "load_history",
    "loaded_sources",
    "quality_summary",
    "scorecard_trends",
    "scorecard_trends_expr",
]

_COUNTS = ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined", "duplicates_skipped")
# ``detail_json`` writes compact JSON with sorted keys, so these texts are how the flags read.
_REQUIRED = '"required":true'
_NOT_JUDGED = '"reason":"not enough history"'


def final_batches_expr(
    engine: Engine, *, source: str | None = None, entity: str | None = None
) -> ir.Table:
    """One row per batch of ``load_batches`` (its final row, else its ``started`` row), with
    its account checked.

    Columns: those of ``load_batches``, plus ``difference`` (``rows_read - rows_loaded -
    rows_quarantined - duplicates_skipped``, null for a batch that never finished) and
    ``balanced``: ``difference == 0`` for a finished batch, *nothing kept* for a failed one (a
    failed batch keeps no row; what it read is not loaded), null for one that never finished.
    """
    t = engine.table(LOADS_TABLE)
    if source is not None:
        t = t.filter(t.source == source)
    if entity is not None:
        t = t.filter(t.entity == entity)
    final_first = ibis.row_number().over(
        group_by=t.batch_id,
        order_by=[
            (t.status == "started").cast("int8"),
            ibis.desc(t.finished_at.coalesce(t.started_at)),
        ],
    )
    t = t.mutate(_position=final_first)
    t = t.filter(t._position == 0).drop("_position")
    # A finished batch has every count; only a `started` row has none (its difference is null).
    difference = t.rows_read - t.rows_loaded - t.rows_quarantined - t.duplicates_skipped
    balanced = ibis.cases(
        (t.status == "started", ibis.null("boolean")),
        (t.status == "failed", (t.rows_loaded == 0) & (t.rows_quarantined == 0)),
        else_=difference == 0,
    )
    return t.mutate(difference=difference, balanced=balanced)


# -- the load history ------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadBatch:
    """One batch of the load history, with the check of its account.

    ``difference`` is ``rows_read - (rows_loaded + rows_quarantined + duplicates_skipped)``;
    ``balanced`` is ``None`` for a batch that never finished (``status == "started"``).
    """

    batch_id: str
    run_id: str | None
    source: str
    entity: str
    location: str | None
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_quarantined: int
    duplicates_skipped: int
    difference: int
    balanced: bool | None
    error: str | None


@dataclass(frozen=True)
class LoadTotals:
    """Sums over batches. The counts cover only *completed* batches (status ``loaded`` or
    ``unchanged``): a failed batch keeps nothing, so its rows are in ``rows_read_failed``."""

    batches: int
    completed: int
    failed: int
    running: int
    rows_read: int
    rows_loaded: int
    rows_updated: int
    rows_quarantined: int
    duplicates_skipped: int
    rows_read_failed: int
    unbalanced: int

    @property
    def difference(self) -> int:
        """``rows_read - (rows_loaded + rows_quarantined + duplicates_skipped)``: 0 when every
        row read is accounted for."""
        return self.rows_read - self.rows_loaded - self.rows_quarantined - self.duplicates_skipped

    @property
    def balanced(self) -> bool:
        """Whether the sums balance and no batch broke the invariant."""
        return self.difference == 0 and self.unbalanced == 0


@dataclass(frozen=True)
class LoadHistory:
    """A page of the load history (newest first) and the totals of every batch matched."""

    batches: tuple[LoadBatch, ...]
    totals: LoadTotals
    offset: int
    limit: int

    @property
    def total(self) -> int:
        """How many batches match (on every page)."""
        return self.totals.batches


def _totals_expr(t: ir.Table) -> ir.Table:
    done = t.status.isin(SUCCESSFUL_LOADS)
    sums = {c: t[c].sum(where=done) for c in _COUNTS}
    return t.aggregate(
        batches=t.count(),
        completed=done.sum(),
        failed=(t.status == "failed").sum(),
        running=(t.status == "started").sum(),
        rows_read_failed=t.rows_read.sum(where=t.status == "failed"),
        unbalanced=(~t.balanced.fill_null(True)).sum(),
        **sums,
    )


def _totals(row: dict[str, Any]) -> LoadTotals:
    return LoadTotals(**{name: int(row[name] or 0) for name in LoadTotals.__dataclass_fields__})


def loaded_sources(engine: Engine) -> list[tuple[str, str]]:
    """Every ``(source, entity)`` with a batch in ``load_batches``, sorted (for filters)."""
    t = engine.table(LOADS_TABLE)
    rows = engine.records(t.select("source", "entity").distinct())
    return sorted((r["source"], r["entity"]) for r in rows if r["source"] and r["entity"])


def _load_batch(row: dict[str, Any]) -> LoadBatch:
    counts = {c: int(row[c] or 0) for c in (*_COUNTS, "difference")}
    return LoadBatch(**{**row, **counts})


def load_history(
    engine: Engine,
    *,
    source: str | None = None,
    entity: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> LoadHistory:
    """The batches of every load, newest first, ``limit`` of them from ``offset``.

    Returns
    -------
    LoadHistory
        The page's batches and the totals of every batch of the source and entity (two
        queries: the totals and the page).

    Raises
    ------
    ValueError
        When ``offset`` is negative or ``limit`` is not 1 to 1,000.
    """
    if offset < 0 or not 1 <= limit <= 1000:
        raise ValueError(f"offset must be at least 0 and limit 1 to 1000, got {offset}, {limit}")
    t = final_batches_expr(engine, source=source, entity=entity)
    totals = _totals(engine.records(_totals_expr(t))[0])
    page = (
        t.order_by(ibis.desc(t.started_at), ibis.desc(t.batch_id))
        .limit(limit, offset=offset)
        .select(*LoadBatch.__dataclass_fields__)
    )
    rows = tuple(_load_batch(r) for r in engine.records(page))
    return LoadHistory(batches=rows, totals=totals, offset=offset, limit=limit)


# -- the scorecard per load ------------------------------------------------------------------


@dataclass(frozen=True)
class BatchQuality:
    """The batch-level measures of one loaded batch: one point of the scorecard over time.

    ``completeness`` is the lowest completeness among the columns the contract requires,
    ``validity`` the share of rows the contract did not reject, ``uniqueness`` the lowest
    uniqueness of the key, ``volume`` the rows read over the usual volume (``None`` when not
    judged: too few earlier loads, or a usual volume of zero). ``flagged`` counts the batch's
    flagged measures.
    """

    source: str
    entity: str
    batch_id: str
    measured_at: datetime
    completeness: float | None
    validity: float | None
    uniqueness: float | None
    volume: float | None
    volume_flagged: bool
    flagged: int


def scorecard_trends_expr(
    engine: Engine, *, source: str | None = None, entity: str | None = None, history: int = 30
) -> ir.Table:
    """One row per measured batch (see :class:`BatchQuality`), the last ``history`` batches of
    each source and entity."""
    t = engine.table(METRICS_TABLE)
    t = t.filter(t.batch_id.notnull() & (t.batch_id != ""))
    if source is not None:
        t = t.filter(t.source == source)
    if entity is not None:
        t = t.filter(t.entity == entity)
    detail = t.detail.fill_null("")
    per_batch = t.group_by("source", "entity", "batch_id").aggregate(
        measured_at=t.measured_at.min(),
        completeness=t.value.min(where=(t.metric == "completeness") & detail.contains(_REQUIRED)),
        validity=t.value.max(where=(t.metric == "validity") & (t.field.fill_null("") == "")),
        uniqueness=t.value.min(where=t.metric == "uniqueness"),
        volume=t.value.max(where=(t.metric == "volume") & ~detail.contains(_NOT_JUDGED)),
        volume_flagged=t.flagged.any(where=t.metric == "volume").fill_null(False),
        flagged=t.flagged.cast("int64").sum(),
    )
    newest_first = ibis.row_number().over(
        group_by=[per_batch.source, per_batch.entity],
        order_by=[ibis.desc(per_batch.measured_at), ibis.desc(per_batch.batch_id)],
    )
    ranked = per_batch.mutate(_position=newest_first)
    return (
        ranked.filter(ranked._position < history)
        .drop("_position")
        .order_by("source", "entity", "measured_at", "batch_id")
    )


def scorecard_trends(
    engine: Engine, *, source: str | None = None, entity: str | None = None, history: int = 30
) -> dict[tuple[str, str], list[BatchQuality]]:
    """The scorecard per load over time, per ``(source, entity)``, oldest batch first.

    Raises
    ------
    ValueError
        When ``history`` is below 1.
    """
    if history < 1:
        raise ValueError(f"history must be at least 1, got {history}")
    expr = scorecard_trends_expr(engine, source=source, entity=entity, history=history)
    out: dict[tuple[str, str], list[BatchQuality]] = {}
    for row in engine.records(expr):
        row["flagged"] = int(row["flagged"] or 0)
        row["volume_flagged"] = bool(row["volume_flagged"])
        out.setdefault((row["source"], row["entity"]), []).append(BatchQuality(**row))
    return out


# -- the summary for the overview ------------------------------------------------------------


@dataclass(frozen=True)
class SourceLoadStatus:
    """A source (and entity) and its last batch.

    ``last_load_at`` is when the last batch finished (when it started, if it did not finish);
    ``balanced`` and ``difference`` are its account (see :func:`final_batches_expr`);
    ``volume_anomaly`` says its volume measure was flagged; ``volume_ratio`` is rows read over
    the usual volume (``None`` when not judged: too few earlier loads).
    """

    source: str
    entity: str
    batches: int
    last_batch_id: str
    last_load_at: datetime | None
    last_status: str
    last_location: str | None
    balanced: bool | None
    difference: int
    volume_anomaly: bool
    volume_ratio: float | None

    @property
    def broke_invariant(self) -> bool:
        """The last batch's account does not balance."""
        return self.balanced is False


@dataclass(frozen=True)
class QualitySummary:
    """Data quality at a glance (for the overview page); see :func:`quality_summary`.

    Attributes
    ----------
    batches, failed_batches
        Batches ever loaded (one per file or database increment) and how many of them failed.
    rows_read, rows_loaded, rows_quarantined, duplicates_skipped
        Sums over every completed batch (status ``loaded`` or ``unchanged``); a retry of the
        quarantine is a batch too, so a row that was held and later loaded counts in both.
    unresolved_quarantined
        Rows in the quarantine not (yet) loaded by a retry.
    sources
        Every source and entity that ever loaded, with its last batch, by name.
    """

    batches: int
    failed_batches: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    duplicates_skipped: int
    unresolved_quarantined: int
    sources: tuple[SourceLoadStatus, ...]

    @property
    def balanced(self) -> bool:
        """Whether rows read = loaded + quarantined + duplicates skipped over all loads."""
        accounted = self.rows_loaded + self.rows_quarantined + self.duplicates_skipped
        return self.rows_read == accounted

    @property
    def broke_invariant(self) -> tuple[SourceLoadStatus, ...]:
        """Sources whose last batch's account does not balance."""
        return tuple(s for s in self.sources if s.broke_invariant)

    @property
    def volume_anomalies(self) -> tuple[SourceLoadStatus, ...]:
        """Sources whose last batch had a flagged volume (far fewer or more rows than usual)."""
        return tuple(s for s in self.sources if s.volume_anomaly)

    @property
    def failed(self) -> tuple[SourceLoadStatus, ...]:
        """Sources whose last batch failed (nothing of it was kept)."""
        return tuple(s for s in self.sources if s.last_status == "failed")

    @property
    def attention(self) -> tuple[SourceLoadStatus, ...]:
        """Sources whose last batch broke the invariant or had a volume anomaly."""
        return tuple(s for s in self.sources if s.broke_invariant or s.volume_anomaly)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (times as ISO 8601 text), with ``balanced`` and the attention list."""
        data = asdict(self)
        for source in data["sources"]:
            at = source["last_load_at"]
            source["last_load_at"] = None if at is None else at.isoformat()
        data["balanced"] = self.balanced
        data["attention"] = [f"{s.source}/{s.entity}" for s in self.attention]
        return data


def _last_batches_expr(batches: ir.Table) -> ir.Table:
    """The last batch of every source and entity, with the source's number of batches."""
    newest_first = ibis.row_number().over(
        group_by=[batches.source, batches.entity],
        order_by=[ibis.desc(batches.started_at), ibis.desc(batches.batch_id)],
    )
    count = batches.batch_id.count().over(group_by=[batches.source, batches.entity])
    ranked = batches.mutate(_position=newest_first, batches=count)
    last = ranked.filter(ranked._position == 0)
    return last.select(
        "source",
        "entity",
        "batches",
        last_batch_id=last.batch_id,
        last_load_at=last.finished_at.coalesce(last.started_at),
        last_status=last.status,
        last_location=last.location,
        balanced=last.balanced,
        difference=last["difference"],
    ).order_by("source", "entity")


def _volume_expr(engine: Engine, batch_ids: Sequence[str]) -> ir.Table:
    """``batch_id, volume_anomaly, volume_ratio`` of the volume measures of these batches."""
    m = engine.table(METRICS_TABLE)
    m = m.filter((m.metric == "volume") & m.batch_id.isin(list(batch_ids)))
    judged = ~m.detail.fill_null("").contains(_NOT_JUDGED)
    return m.group_by("batch_id").aggregate(
        volume_anomaly=m.flagged.any(), volume_ratio=m.value.max(where=judged)
    )


def _sources(engine: Engine, batches: ir.Table) -> tuple[SourceLoadStatus, ...]:
    last = engine.records(_last_batches_expr(batches))
    volume: dict[str, dict[str, Any]] = {}
    if last:
        ids = [r["last_batch_id"] for r in last]
        volume = {r["batch_id"]: r for r in engine.records(_volume_expr(engine, ids))}
    out = []
    for row in last:
        measured = volume.get(row["last_batch_id"], {})
        out.append(
            SourceLoadStatus(
                **{
                    **row,
                    "batches": int(row["batches"]),
                    "difference": int(row["difference"] or 0),
                },
                volume_anomaly=bool(measured.get("volume_anomaly")),
                volume_ratio=measured.get("volume_ratio"),
            )
        )
    return tuple(out)


def quality_summary(engine: Engine) -> QualitySummary:
    """Data quality over every load, for the overview page (four small queries).

    Returns
    -------
    QualitySummary
        ``rows_read``, ``rows_loaded``, ``rows_quarantined`` and ``duplicates_skipped`` summed
        over every completed batch; ``unresolved_quarantined`` (rows still held);
        ``sources``: each source and entity with its last load's time, status, account and
        volume verdict; and ``attention``: the sources whose last load broke the invariant
        (rows read ≠ loaded + quarantined + duplicates) or had a volume anomaly.

    Examples
    --------
    >>> from insightloop.store import migrate
    >>> engine = Engine.in_memory()
    >>> _ = migrate(engine)
    >>> _ = engine.insert("load_batches", [
    ...     {"batch_id": "b1", "source": "crm", "entity": "customers", "status": "loaded",
    ...      "started_at": datetime(2025, 1, 1), "finished_at": datetime(2025, 1, 1, 0, 1),
    ...      "rows_read": 10, "rows_loaded": 7, "rows_quarantined": 2, "duplicates_skipped": 1}])
    >>> summary = quality_summary(engine)
    >>> summary.rows_read, summary.balanced, [s.last_status for s in summary.sources]
    (10, True, ['loaded'])
    """
    batches = final_batches_expr(engine)
    totals = _totals(engine.records(_totals_expr(batches))[0])
    sources = _sources(engine, batches)
    q = engine.table(QUARANTINE_TABLE)
    unresolved = int(engine.execute(q.filter(~q.resolved.fill_null(False)).count()))
    return QualitySummary(
        batches=totals.batches,
        failed_batches=totals.failed,
        rows_read=totals.rows_read,
        rows_loaded=totals.rows_loaded,
        rows_quarantined=totals.rows_quarantined,
        duplicates_skipped=totals.duplicates_skipped,
        unresolved_quarantined=unresolved,
        sources=sources,
    )
