"""Everything known about each customer from the analyses, as one row: measures, scores, value
tier, lifetime value, lifecycle stage and persona; and each customer's current segments.

:func:`customer_attributes` joins whichever of the analysis tables the workspace has, so the
profile, segments and slicing read one table whatever has been computed so far.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, timedelta
from typing import Any

import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from insightloop.analytics.activity import BEHAVIOURS, activity
from insightloop.analytics.config import AnalyticsConfig
from insightloop.analytics.measures import MEASURES_TABLE
from insightloop.analytics.measures.compute import as_of_end
from insightloop.analytics.segments import SegmentSources
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = [
    "ATTRIBUTE_TABLES",
    "CLV_TABLE",
    "LIFECYCLE_TABLE",
    "PERSONAS_TABLE",
    "attributes_from",
    "attributes_schema",
    "current_segments",
    "customer_analysis",
    "customer_attributes",
    "measures_day",
    "segment_sources",
]

CLV_TABLE = "customer_clv"
LIFECYCLE_TABLE = "customer_lifecycle"
PERSONAS_TABLE = "customer_personas"

#: The per-customer analysis tables after the measures, joined on ``customer_id`` in this order.
_JOINED = (CLV_TABLE, LIFECYCLE_TABLE, PERSONAS_TABLE)
#: Every table :func:`customer_attributes` reads.
ATTRIBUTE_TABLES = (MEASURES_TABLE, *_JOINED)


def customer_attributes(engine: Engine, columns: Collection[str] | None = None) -> ir.Table | None:
    """One row per customer with every attribute computed so far (None before the measures).

    Columns of the later tables that clash with earlier ones are left out (the earlier wins).
    ``columns``: only these (and ``customer_id``), joining only the tables that hold them; a
    narrow expression compiles much faster than the whole row of some 70 columns.
    """
    present = set(engine.tables())
    return attributes_from(
        {name: engine.table(name) for name in ATTRIBUTE_TABLES if name in present}, columns
    )


def attributes_from(
    tables: Mapping[str, ir.Table], columns: Collection[str] | None = None
) -> ir.Table | None:
    """:func:`customer_attributes` from tables already opened (by name; missing ones skipped)."""
    if MEASURES_TABLE not in tables:
        return None
    t = tables[MEASURES_TABLE]
    seen = set(t.columns)
    if columns is not None:
        t = t.select("customer_id", *[c for c in t.columns if c in columns and c != "customer_id"])
    for name in _JOINED:
        if name not in tables:
            continue
        part = tables[name]
        keep = [c for c in part.columns if c != "customer_id" and c not in seen]
        seen.update(keep)
        if columns is not None:
            keep = [c for c in keep if c in columns]
            if not keep:
                continue
        part = part.select(*keep, _k=part.customer_id)
        t = t.left_join(part, t.customer_id == part._k).drop("_k")
    return t


def attributes_schema(
    tables: Mapping[str, ir.Table],
) -> dict[str, dt.DataType] | None:
    """The columns and types of :func:`attributes_from` ``(tables)`` without building its joins
    (which takes longer than some queries run)."""
    if MEASURES_TABLE not in tables:
        return None
    schema = dict(tables[MEASURES_TABLE].schema().items())
    for name in _JOINED:
        if name in tables:
            for column, dtype in tables[name].schema().items():
                schema.setdefault(column, dtype)
    return schema


def current_segments(engine: Engine) -> ir.Table | None:
    """Each customer's current segment memberships: ``customer_id``, ``segment``, ``kind``,
    ``since`` (None before any segment exists)."""
    if not (engine.has_table("segments") and engine.has_table("segment_members")):
        return None
    members = engine.table("segment_members")
    segments = engine.table("segments")
    open_rows = members.filter(members.exited_at.isnull())
    j = open_rows.inner_join(segments, open_rows.segment_id == segments.segment_id)
    return j.select("customer_id", segment=j.name, kind=j.kind, since=j.entered_at).distinct()


def segment_sources(
    engine: Engine, identity: IdentityConfig, config: AnalyticsConfig
) -> SegmentSources | None:
    """What segments are computed from: the attributes, every behaviour table and the as-of
    moment of the measures (None before the measures are computed)."""
    attributes = customer_attributes(engine)
    if attributes is None:
        return None
    as_of = measures_day(engine)
    if as_of is None:
        return None
    acts = activity(engine, identity, config)
    return SegmentSources(
        attributes=attributes,
        # The end of the as-of day, as the measures count it.
        as_of=as_of_end(as_of) - timedelta(microseconds=1),
        **{b: acts.get(b) for b in BEHAVIOURS},
    )


def measures_day(engine: Engine) -> date | None:
    """The as-of day of the stored measures (None before they are computed)."""
    if not engine.has_table(MEASURES_TABLE):
        return None
    t = engine.table(MEASURES_TABLE)
    value = engine.execute(t.as_of.max())
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def customer_analysis(engine: Engine, customer_id: str) -> dict[str, Any]:
    """One customer's ``attributes`` (None before the measures) and current ``segments``, as the
    profile documents carry them."""
    found: dict[str, Any] = {"attributes": None, "segments": []}
    attributes = customer_attributes(engine)
    if attributes is not None:
        rows = engine.records(attributes.filter(attributes.customer_id == customer_id))
        if rows:
            found["attributes"] = {k: v for k, v in rows[0].items() if k != "customer_id"}
    segments = current_segments(engine)
    if segments is not None:
        mine = segments.filter(segments.customer_id == customer_id).order_by(["kind", "segment"])
        found["segments"] = [
            {k: v for k, v in r.items() if k != "customer_id"} for r in engine.records(mine)
        ]
    return found
