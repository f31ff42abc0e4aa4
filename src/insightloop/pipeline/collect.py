"""Received events into the workspace: the landing log's loader, then the devices it revealed.

Used by the server's background loader (every ``collect.load_interval_seconds``), by
``insightloop collect load`` and by the pipeline's ``collect`` step.
"""

from __future__ import annotations

import logging

from insightloop.config import Settings
from insightloop.identity.config import identity_config
from insightloop.identity.realtime import attach_devices, customers_of_batches
from insightloop.ingest.collect import LandedReport, load_landed, loader_lock
from insightloop.pipeline.analytics import refresh_analysis
from insightloop.pipeline.profiles import refresh_profiles
from insightloop.store import Engine, WorkspaceLayout

__all__ = ["drain_landing", "load_collected"]

_log = logging.getLogger(__name__)


def load_collected(
    engine: Engine,
    settings: Settings,
    layout: WorkspaceLayout,
    *,
    run_id: str,
    wait: bool = True,
) -> LandedReport | None:
    """Load what the collection API landed, until the log is drained.

    Returns ``None`` when another loader holds the lock and ``wait`` is false.
    """
    with loader_lock(layout.landing_dir, wait=wait) as taken:
        if not taken:
            return None
        return drain_landing(engine, settings, layout, run_id=run_id)


def drain_landing(
    engine: Engine, settings: Settings, layout: WorkspaceLayout, *, run_id: str
) -> LandedReport:
    """Load until the landing log is drained, then refresh the measures and segments and
    rewrite the profile documents of the customers the loaded events belong to; the caller
    holds the loader lock."""
    total = LandedReport()
    touched: set[str] = set()
    while True:
        report = load_landed(engine, settings, layout.landing_dir, run_id=run_id)
        loaded = [b.batch_id for b in report.batches if b.rows_loaded]
        report.devices_attached = attach_devices(
            engine, identity_config(settings.identity), loaded, run_id=run_id
        )
        if settings.profiles.refresh_on_load:
            touched.update(customers_of_batches(engine, loaded))
        _add(total, report)
        if not report.more:
            break
    customers = sorted(touched)
    # The new events reach the profiles first (the promise is seconds); the customers' measures
    # and segments follow, and their profiles are rewritten once more with them.
    total.profiles_refreshed = refresh_profiles(engine, settings, layout, customers, run_id=run_id)
    try:
        analysed = refresh_analysis(engine, settings, customers)
    except Exception:  # noqa: BLE001 - an analysis must never stop events from loading
        _log.exception(
            "refreshing the measures and segments of %d customers failed", len(customers)
        )
        analysed = 0
    if analysed:
        refresh_profiles(engine, settings, layout, customers, run_id=run_id)
    return total


def _add(total: LandedReport, report: LandedReport) -> None:
    total.records += report.records
    total.messages += report.messages
    total.batches += report.batches
    total.segments_finished += report.segments_finished
    total.segments_removed += report.segments_removed
    total.damaged += report.damaged
    total.devices_attached += report.devices_attached
    total.seconds += report.seconds
