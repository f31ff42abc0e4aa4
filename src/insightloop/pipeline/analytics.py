"""The analysis steps of the pipeline: segments (and, as they land, lifetime value, lifecycle and
personas), each over the measures the ``measures`` step wrote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from insightloop.analytics.attributes import segment_sources
from insightloop.analytics.config import analytics_config
from insightloop.analytics.segments import list_segments, refresh_segments
from insightloop.config import Settings
from insightloop.identity.config import identity_config
from insightloop.store import Engine

__all__ = ["refresh_all_segments"]


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
