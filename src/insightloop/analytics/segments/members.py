"""A saved segment's current members as pages and chunks (optionally with the golden record's
name and e-mail), and what it shares with the other segments.

Pages and chunks are bounded queries: a page is ``LIMIT/OFFSET`` over the members, longest-standing
first; an export walks the members in chunks by customer id (each chunk starts after the last id
of the one before), so a segment of a million customers is never one result in memory. Names and
e-mail addresses are personal data: callers mask them or record the read (docs/segments.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import ibis

from insightloop.analytics.segments.store import (
    MEMBERS,
    SEGMENTS,
    SegmentOverlap,
    current_members,
    get_segment,
)

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from insightloop.store.engine import Engine

__all__ = ["CONTACT_FIELDS", "member_chunks", "member_page", "overlaps_with"]

#: The golden-record fields shown with members to those allowed to read personal data.
CONTACT_FIELDS = ("first_name", "last_name", "email")
#: Rows per chunk of an export: a few megabytes of text.
CHUNK = 20_000


def _with_contacts(engine: Engine, members: ir.Table) -> ir.Table:
    golden = engine.table("customers").select("customer_id", *CONTACT_FIELDS)
    joined = members.left_join(golden, "customer_id")
    return joined.select("customer_id", "entered_at", *CONTACT_FIELDS)


def member_page(
    engine: Engine, name: str, *, limit: int, offset: int = 0, contacts: bool = False
) -> list[dict[str, Any]]:
    """One page of a segment's current members, longest-standing first (then by id).

    Returns
    -------
    list of dict
        ``customer_id`` and ``entered_at``, and with ``contacts`` the fields of
        :data:`CONTACT_FIELDS` (``None`` where the golden record has none).

    Raises
    ------
    SegmentNotFoundError
        When no saved segment has the name.
    """
    ordered = current_members(engine, name).order_by("entered_at", "customer_id")
    page = ordered.limit(limit, offset=offset)
    if contacts:
        page = _with_contacts(engine, page).order_by("entered_at", "customer_id")
    return engine.records(page)


def member_chunks(
    engine: Engine, name: str, *, contacts: bool = False, size: int = CHUNK
) -> Iterator[list[dict[str, Any]]]:
    """Every current member of a segment, by customer id, in chunks of at most ``size`` rows
    (the columns of :func:`member_page`).

    The segment is looked up before the first chunk is asked for, so an unknown name fails at
    once. Each chunk is its own query: members who join or leave while the chunks are read may
    be missed or included.

    Raises
    ------
    SegmentNotFoundError
        When no saved segment has the name.
    """
    members = current_members(engine, name)
    return _chunks(engine, members, contacts=contacts, size=size)


def _chunks(
    engine: Engine, members: ir.Table, *, contacts: bool, size: int
) -> Iterator[list[dict[str, Any]]]:
    last: str | None = None
    while True:
        rest = members if last is None else members.filter(members.customer_id > last)
        chunk = rest.order_by("customer_id").limit(size)
        if contacts:
            chunk = _with_contacts(engine, chunk).order_by("customer_id")
        rows = engine.records(chunk)
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1]["customer_id"]


def overlaps_with(engine: Engine, name: str) -> list[SegmentOverlap]:
    """What segment ``name`` shares with every other saved segment now, most shared first.

    One pass over the open membership rows of the customers of ``name`` (not a comparison of
    every pair of segments, as :func:`~.store.segment_overlaps` makes).

    Returns
    -------
    list of SegmentOverlap
        ``a`` is ``name``; segments sharing nobody are left out.

    Raises
    ------
    SegmentNotFoundError
        When no saved segment has the name.
    """
    found = get_segment(engine, name)
    rows = engine.table(MEMBERS)
    open_rows = rows.filter(rows.exited_at.isnull())
    mine = open_rows.filter(open_rows.segment_id == found.segment_id).select("customer_id")
    size_a = int(engine.execute(mine.count()))
    others = open_rows.filter(open_rows.segment_id != found.segment_id)
    shared = (
        others.semi_join(mine, "customer_id")
        .group_by(_sid=others.segment_id)
        .aggregate(both=lambda t: t.count())
    )
    sizes = others.group_by(_id=others.segment_id).aggregate(size_b=lambda t: t.count())
    segments = engine.table(SEGMENTS).select("segment_id", "name")
    joined = shared.inner_join(sizes, shared._sid == sizes._id).inner_join(
        segments, shared._sid == segments.segment_id
    )
    either = ibis.literal(size_a) + joined.size_b - joined.both
    result = joined.select(
        "name",
        "size_b",
        "both",
        jaccard=ibis.ifelse(either > 0, joined.both.cast("float64") / either, 0.0),
    ).order_by(ibis.desc("both"), "name")
    return [
        SegmentOverlap(
            a=name,
            b=row["name"],
            size_a=size_a,
            size_b=int(row["size_b"]),
            both=int(row["both"]),
            jaccard=float(row["jaccard"]),
        )
        for row in engine.records(result)
    ]
