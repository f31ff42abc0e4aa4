"""Refreshing the members of one saved segment, right after it was saved.

:func:`~.store.refresh_segments` (the pipeline step ``segments``) recomputes every saved segment;
someone who has just saved one wants to see its members at once, without paying for all the
others. :func:`refresh_segment` records the same history for that one segment only: customers who
newly qualify enter at ``now``, members who no longer qualify exit at ``now``, everyone else is
left alone (so a refresh on unchanged data changes nothing).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa

from insightloop.analytics.segments.compile import compile_segment
from insightloop.analytics.segments.store import (
    MEMBERS,
    SegmentChange,
    get_segment,
    list_segments,
)

if TYPE_CHECKING:
    from insightloop.analytics.segments.sources import SegmentSources
    from insightloop.store.engine import Engine

__all__ = ["refresh_segment"]


def refresh_segment(
    engine: Engine, sources: SegmentSources, name: str, now: dt.datetime
) -> SegmentChange:
    """Compute the members of the saved segment ``name`` and write who entered and exited.

    Parameters
    ----------
    now
        The time written to ``entered_at`` and ``exited_at`` (naive UTC, or aware and converted).

    Returns
    -------
    SegmentChange
        How many customers entered and exited.

    Raises
    ------
    SegmentNotFoundError
        When no saved segment has the name.
    SegmentDefinitionError
        When the definition does not fit the sources (every problem with its path).
    """
    seg = get_segment(engine, name)
    resolve = {s.name: s.definition for s in list_segments(engine)}
    target = compile_segment(seg.definition, sources, resolve=resolve, name=seg.name)
    history = engine.table(MEMBERS)
    current = history.filter(history.segment_id == seg.segment_id, history.exited_at.isnull())
    joining = engine.to_pyarrow(target.anti_join(current, "customer_id").select("customer_id"))
    leaving = engine.to_pyarrow(
        current.anti_join(target, "customer_id").select("segment_id", "customer_id", "entered_at")
    )
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    with engine.transaction():
        if leaving.num_rows:
            # Only the open row of each member carries this entered_at without an exit.
            engine.update_matching(MEMBERS, leaving, {"exited_at": now})
        if joining.num_rows:
            count = joining.num_rows
            engine.insert(
                MEMBERS,
                pa.table(
                    {
                        "segment_id": pa.array([seg.segment_id] * count, pa.string()),
                        "customer_id": joining["customer_id"],
                        "entered_at": pa.array([now] * count, pa.timestamp("us")),
                    }
                ),
            )
    return SegmentChange(seg.segment_id, seg.name, joining.num_rows, leaving.num_rows)
