"""The analysis steps of the pipeline: segments (and, as they land, lifetime value, lifecycle and
personas), each over the measures the ``measures`` step wrote."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from insightloop.analytics.activity import activity
from insightloop.analytics.attributes import measures_day, segment_sources
from insightloop.analytics.clv import ClvError
from insightloop.analytics.config import analytics_config
from insightloop.analytics.lifecycle import build_lifecycle
from insightloop.analytics.measures import MEASURES_TABLE, refresh_measures
from insightloop.analytics.segments import list_segments, refresh_segments
from insightloop.analytics.workspace_clv import build_clv
from insightloop.analytics.workspace_personas import build_personas
from insightloop.config import Settings
from insightloop.identity.config import identity_config
from insightloop.pipeline.records import now_utc
from insightloop.profile.documents import identifier_values
from insightloop.store import Engine, WorkspaceLayout

__all__ = [
    "find_personas",
    "fit_lifetime_value",
    "refresh_all_segments",
    "refresh_analysis",
    "stage_lifecycle",
]


def refresh_analysis(engine: Engine, settings: Settings, customer_ids: Sequence[str]) -> int:
    """After new data of some customers (events the server's loader just loaded): recompute
    their measures (against the last full run's cut points) and their rule segments, so that
    their profiles show them at once. Nothing before the first full run of the measures, or
    when ``[analytics] refresh_on_load`` is off. Returns the customers refreshed.

    Lifetime value, lifecycle stages and personas are models over everyone: the next full run
    updates them.
    """
    config = analytics_config(settings.analytics)
    if not customer_ids or not config.refresh_on_load or not engine.has_table(MEASURES_TABLE):
        return 0
    identity = identity_config(settings.identity)
    report = refresh_measures(
        engine, identity, config, customer_ids, values=identifier_values(engine, customer_ids)
    )
    if list_segments(engine):
        sources = segment_sources(engine, identity, config)
        if sources is not None:
            refresh_segments(engine, sources, now_utc(), customer_ids)
    return report.customers


def find_personas(
    engine: Engine, settings: Settings, layout: WorkspaceLayout, *, now: datetime
) -> dict[str, Any]:
    """Cluster the customers who ordered into personas (ids kept from the previous run)."""
    day = measures_day(engine)
    if day is None:
        return {"customers": 0, "note": "the measures have not been computed yet"}
    config = analytics_config(settings.analytics)
    acts = activity(engine, identity_config(settings.identity), config)
    report = build_personas(
        engine,
        acts,
        as_of=day,
        models_dir=layout.models_dir / "personas",
        now=now,
        k=config.personas.k,
        k_max=config.personas.k_max,
    )
    return report.to_dict()


def stage_lifecycle(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Every customer's lifecycle stage as of the measures' day, with the moves recorded."""
    day = measures_day(engine)
    if day is None:
        return {"customers": 0, "note": "the measures have not been computed yet"}
    config = analytics_config(settings.analytics)
    acts = activity(engine, identity_config(settings.identity), config)
    return build_lifecycle(engine, acts, config.lifecycle, as_of=day).to_dict()


def fit_lifetime_value(
    engine: Engine, settings: Settings, layout: WorkspaceLayout
) -> dict[str, Any]:
    """Fit the lifetime-value models on the orders up to the measures' day and write every
    customer's probability alive, expected purchases and value (``customer_clv``)."""
    day = measures_day(engine)
    if day is None:
        return {"customers": 0, "note": "the measures have not been computed yet"}
    try:
        report = build_clv(
            engine,
            identity_config(settings.identity),
            analytics_config(settings.analytics),
            as_of=day,
            models_dir=layout.models_dir / "clv",
        )
    except ClvError as exc:
        # The data do not identify the model: said in the run record; the rest of the run
        # (segments, profiles) does not depend on it.
        return {"as_of": day.isoformat(), "customers": 0, "note": f"{exc} {exc.hint or ''}"}
    return {"as_of": day.isoformat(), **report.to_dict()}


def refresh_all_segments(engine: Engine, settings: Settings, *, now: datetime) -> dict[str, Any]:
    """Recompute the members of every saved rule segment as of the measures' day; a customer
    who joins or leaves gets a history row stamped ``now``."""
    saved = list_segments(engine)
    if not saved:
        return {"segments": 0, "note": "no saved segments (docs/segments.md)"}
    sources = segment_sources(
        engine, identity_config(settings.identity), analytics_config(settings.analytics)
    )
    if sources is None:
        return {"segments": len(saved), "note": "the measures have not been computed yet"}
    report = refresh_segments(engine, sources, now)
    return {
        "segments": len(saved),
        "as_of": sources.as_of.isoformat(),
        "changes": [
            {"segment": c.name, "entered": c.entered, "exited": c.exited} for c in report.segments
        ],
    }
