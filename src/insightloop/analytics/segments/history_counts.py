"""How saved segments grow and shrink over time, counted in the engine from ``segment_members``.

Every row of ``segment_members`` is one period of one customer's membership (``entered_at``, and
``exited_at`` once they left), so the members at any moment are the rows open at it, and the
members after each day are the running total of entries minus exits. Everything here is an Ibis
expression over that table (or one query of it): no member rows are loaded into Python.

- :func:`membership_over_time`: one segment's entries and exits per day or week, and its members
  at the end of each.
- :func:`sizes_over_time`: the members of several segments after each day something changed.
- :func:`size_changes`: every segment's members now and at an earlier moment.

Examples
--------
>>> import datetime as dt
>>> from insightloop.store import Engine
>>> engine = Engine.in_memory()
>>> engine.con.create_table("segment_members", ibis.memtable({
...     "segment_id": ["s", "s", "s"], "customer_id": ["a", "b", "a"],
...     "entered_at": [dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 1), dt.datetime(2024, 5, 3)],
...     "exited_at": [dt.datetime(2024, 5, 2), None, None]}))  # doctest: +ELLIPSIS
DatabaseTable: ...
>>> rows = engine.records(membership_over_time(engine, "s"))
>>> [(r["start"].isoformat(), r["entered"], r["exited"], r["members"]) for r in rows]
[('2024-05-01', 2, 0, 2), ('2024-05-02', 0, 1, 1), ('2024-05-03', 1, 0, 2)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import ibis

from insightloop.analytics.segments.store import KIND, MEMBERS, SEGMENTS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from insightloop.store.engine import Engine

__all__ = ["Period", "membership_over_time", "size_changes", "sizes_over_time"]

Period = Literal["day", "week"]


def _moves(engine: Engine, segment_ids: Sequence[str]) -> ir.Table:
    """One row per entry (``entered`` 1) and per exit (``exited`` 1): ``segment_id``, ``at``."""
    members = engine.table(MEMBERS)
    members = members.filter(members.segment_id.isin(list(segment_ids)))
    zero, one = ibis.literal(0, "int64"), ibis.literal(1, "int64")
    entries = members.select("segment_id", at=members.entered_at, entered=one, exited=zero)
    left = members.filter(members.exited_at.notnull())
    exits = left.select("segment_id", at=left.exited_at, entered=zero, exited=one)
    return entries.union(exits)


def membership_over_time(engine: Engine, segment_id: str, period: Period = "day") -> ir.Table:
    """A segment's history per UTC day or week (weeks start on Monday).

    Returns
    -------
    ibis.expr.types.Table
        ``start`` (the day, or the Monday of the week), ``entered`` and ``exited`` (customers
        who joined and left in it) and ``members`` (the size at its end), oldest first; only
        periods in which something changed have a row.
    """
    moves = _moves(engine, [segment_id])
    start = moves.at.date() if period == "day" else moves.at.truncate("W").date()
    per = moves.group_by(start=start).aggregate(
        entered=moves.entered.sum(), exited=moves.exited.sum()
    )
    members = (per.entered - per.exited).cumsum(order_by=per.start)
    return per.mutate(members=members).order_by("start")


def sizes_over_time(engine: Engine, segment_ids: Sequence[str]) -> ir.Table:
    """The members of each of ``segment_ids`` after every UTC day its membership changed.

    Returns
    -------
    ibis.expr.types.Table
        ``name``, ``day`` and ``members``, by name and day.
    """
    moves = _moves(engine, segment_ids)
    per = moves.group_by("segment_id", day=moves.at.date()).aggregate(
        net=(moves.entered - moves.exited).sum()
    )
    window = ibis.cumulative_window(group_by=per.segment_id, order_by=per.day)
    running = per.select("segment_id", "day", members=per.net.sum().over(window))
    segments = engine.table(SEGMENTS).select("segment_id", "name")
    named = running.inner_join(segments, "segment_id")
    return named.select("name", "day", "members").order_by("name", "day")


def size_changes(engine: Engine, since: dt.datetime) -> ir.Table:
    """Every saved rule segment's members now and at ``since`` (naive UTC, as stored).

    Returns
    -------
    ibis.expr.types.Table
        ``segment_id``, ``name``, ``size`` (members now), ``before`` (members at ``since``) and
        ``change`` (``size - before``); segments without members have zeros.
    """
    members = engine.table(MEMBERS)
    cutoff = ibis.literal(since, type="timestamp")
    open_now = members.exited_at.isnull()
    open_then = (members.entered_at <= cutoff) & (
        members.exited_at.isnull() | (members.exited_at > cutoff)
    )
    counts = members.group_by(_sid=members.segment_id).aggregate(
        _size=open_now.cast("int64").sum(), _before=open_then.cast("int64").sum()
    )
    segments = engine.table(SEGMENTS)
    segments = segments.filter(segments.kind == KIND).select("segment_id", "name")
    joined = segments.left_join(counts, segments.segment_id == counts._sid)
    size = ibis.coalesce(joined._size, 0)
    before = ibis.coalesce(joined._before, 0)
    return joined.select("segment_id", "name", size=size, before=before, change=size - before)
