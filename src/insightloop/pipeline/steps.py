"""Pipeline steps: what each does and in which order they run.

A step is a function of a :class:`StepContext` that does one idempotent piece of work through the
engine and returns a :class:`StepResult`. Steps live in the layer that owns their work; this module
only orders them. Later layers (loading, identity, analytics, activation) add their steps here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insightloop.analytics.activity_marts import build_activity_marts
from insightloop.analytics.config import analytics_config
from insightloop.analytics.measures import build_measures
from insightloop.analytics.overview_snapshot import write_snapshots
from insightloop.config import Settings
from insightloop.errors import PipelineError
from insightloop.identity.config import identity_config
from insightloop.identity.incremental import model_link_finder
from insightloop.identity.resolve import resolve_identities
from insightloop.ingest.load import load_sources
from insightloop.pipeline.analytics import (
    find_personas,
    fit_lifetime_value,
    refresh_all_segments,
    stage_lifecycle,
)
from insightloop.pipeline.profiles import build_profile_store
from insightloop.pipeline.records import now_utc
from insightloop.profile.golden import build_golden_records
from insightloop.quality import snapshot_table_counts
from insightloop.store import Engine, WorkspaceLayout

__all__ = ["STEPS", "Step", "StepContext", "StepResult", "resolve_steps"]


@dataclass
class StepContext:
    """What a step may use: the engine, the settings, the workspace folders and the run id."""

    engine: Engine
    settings: Settings
    layout: WorkspaceLayout
    run_id: str
    progress: Callable[[float], None] = field(default=lambda fraction: None)

    @property
    def root(self) -> Path:
        return self.layout.root


@dataclass(frozen=True)
class StepResult:
    """What a step did: rows it wrote and a JSON-able summary shown in the run record."""

    rows_written: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: Callable[[StepContext], StepResult]


def _table_stats(ctx: StepContext) -> StepResult:
    counts = snapshot_table_counts(ctx.engine, ctx.run_id)
    return StepResult(rows_written=len(counts), summary={"tables": counts})


def _load(ctx: StepContext) -> StepResult:
    report = load_sources(
        ctx.engine, ctx.settings, ctx.root, run_id=ctx.run_id, progress=ctx.progress
    )
    report.raise_for_failures()
    totals = report.totals()
    summary = {**totals, "sources": report.by_source()}
    return StepResult(
        rows_written=totals["rows_loaded"] + totals["rows_quarantined"], summary=summary
    )


def _collect(ctx: StepContext) -> StepResult:
    from insightloop.pipeline.collect import load_collected

    report = load_collected(ctx.engine, ctx.settings, ctx.layout, run_id=ctx.run_id)
    assert report is not None  # waited for the lock
    summary = {k: v for k, v in report.to_dict().items() if k != "batches"}
    return StepResult(rows_written=report.rows_loaded + report.rows_quarantined, summary=summary)


def _resolve(ctx: StepContext) -> StepResult:
    config = identity_config(ctx.settings.identity)
    report = resolve_identities(
        ctx.engine,
        config,
        run_id=ctx.run_id,
        now=now_utc(),
        find_links=model_link_finder(ctx.layout.models_dir / "identity"),
        progress=ctx.progress,
    )
    return StepResult(rows_written=report.records + report.devices, summary=report.to_dict())


def _profiles(ctx: StepContext) -> StepResult:
    report = build_profile_store(
        ctx.engine, ctx.settings, ctx.layout, run_id=ctx.run_id, progress=ctx.progress
    )
    return StepResult(rows_written=report.customers, summary=report.to_dict())


def _golden(ctx: StepContext) -> StepResult:
    config = identity_config(ctx.settings.identity)
    report = build_golden_records(ctx.engine, config, run_id=ctx.run_id, now=now_utc())
    return StepResult(rows_written=report.customers, summary=report.to_dict())


def _activity(ctx: StepContext) -> StepResult:
    summary = build_activity_marts(
        ctx.engine,
        identity_config(ctx.settings.identity),
        analytics_config(ctx.settings.analytics),
        run_id=ctx.run_id,
    )
    return StepResult(rows_written=summary["orders"] + summary["order_lines"], summary=summary)


def _measures(ctx: StepContext) -> StepResult:
    report = build_measures(
        ctx.engine,
        identity_config(ctx.settings.identity),
        analytics_config(ctx.settings.analytics),
        now=now_utc(),
        progress=ctx.progress,
    )
    return StepResult(rows_written=report.customers, summary=report.to_dict())


def _clv(ctx: StepContext) -> StepResult:
    summary = fit_lifetime_value(ctx.engine, ctx.settings, ctx.layout)
    return StepResult(rows_written=int(summary.get("customers", 0)), summary=summary)


def _lifecycle(ctx: StepContext) -> StepResult:
    summary = stage_lifecycle(ctx.engine, ctx.settings)
    return StepResult(rows_written=int(summary.get("moved", 0)), summary=summary)


def _personas(ctx: StepContext) -> StepResult:
    summary = find_personas(ctx.engine, ctx.settings, ctx.layout, now=now_utc())
    return StepResult(rows_written=int(summary.get("customers", 0)), summary=summary)


def _segments(ctx: StepContext) -> StepResult:
    summary = refresh_all_segments(ctx.engine, ctx.settings, now=now_utc())
    changed = sum(c["entered"] + c["exited"] for c in summary.get("changes", []))
    return StepResult(rows_written=changed, summary=summary)


def _dashboard(ctx: StepContext) -> StepResult:
    summary = write_snapshots(
        ctx.engine,
        identity_config(ctx.settings.identity),
        analytics_config(ctx.settings.analytics),
        ctx.layout.dashboard_dir,
        run_id=ctx.run_id,
    )
    return StepResult(rows_written=len(summary["files"]), summary=summary)


# In run order. Each later issue inserts its steps before table_stats, which closes every run.
STEPS: tuple[Step, ...] = (
    Step(
        "load",
        "Load the declared sources' new files and database rows; quarantine what breaks a "
        "contract (read = loaded + quarantined + duplicates skipped).",
        _load,
    ),
    Step(
        "collect",
        "Move the events the collection API received (the landing log) into the database, "
        "once each, through the events contract and quarantine.",
        _collect,
    ),
    Step(
        "resolve",
        "Resolve identities: link records that are one person (shared keys, devices, "
        "probabilistic matching), cluster them and keep customer ids stable.",
        _resolve,
    ),
    Step(
        "golden",
        "Build one golden record per customer: each field chosen by its survivorship rule, "
        "with the source record and time it came from.",
        _golden,
    ),
    Step(
        "activity",
        "Attach every order and order line to its customer once, in the reporting currency "
        "(tables activity_orders and activity_purchases), for fast slicing and dashboards.",
        _activity,
    ),
    Step(
        "measures",
        "Compute every customer's measures as of the newest day of data (recency, frequency, "
        "value, margin, cost to serve, contacts, ...), RFM scores and value tiers.",
        _measures,
    ),
    Step(
        "clv",
        "Fit BG/NBD (or Pareto/NBD) and Gamma-Gamma on the orders up to the measures' day and "
        "forecast every customer's probability alive, purchases and lifetime value.",
        _clv,
    ),
    Step(
        "lifecycle",
        "Put every customer in a lifecycle stage (prospect, new, active, at risk, lapsed, won "
        "back) from purchase timing and probability alive, recording each move.",
        _lifecycle,
    ),
    Step(
        "personas",
        "Cluster the customers who ordered into personas (behaviour, value, channels, "
        "categories) with a card each; ids and labels stay stable across runs.",
        _personas,
    ),
    Step(
        "segments",
        "Recompute the members of every saved rule segment as of the measures' day, keeping "
        "the history of who entered and left when.",
        _segments,
    ),
    Step(
        "profiles",
        "Materialise every customer's profile document (golden record, identifiers, records, "
        "consents, recent timeline) into the profile store the API serves.",
        _profiles,
    ),
    Step(
        "dashboard",
        "Compute the dashboard overview's figures without filters and the value tiers ahead, "
        "so that the first page every user opens does not aggregate the whole workspace.",
        _dashboard,
    ),
    Step(
        "table_stats",
        "Count the rows of every canonical table and keep the history for volume checks.",
        _table_stats,
    ),
)


def resolve_steps(names: Sequence[str] | None, steps: Sequence[Step] = STEPS) -> list[Step]:
    """The steps to run, in pipeline order; all of them when ``names`` is empty.

    Raises
    ------
    PipelineError
        Naming every unknown step and listing the known ones.
    """
    if not names:
        return list(steps)
    known = {s.name: s for s in steps}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise PipelineError(
            f"Unknown pipeline step(s): {', '.join(unknown)}.",
            hint=f"Known steps, in order: {', '.join(known)}. `insightloop run --list` shows them.",
        )
    wanted = set(names)
    return [s for s in steps if s.name in wanted]
