"""One customer's touchpoints across orders, events, contact-centre interactions, survey responses
and campaigns: the timeline of the 360-degree view, newest first.

Each table's rows find their customer through the identifier map
(:func:`~insightloop.identity.attach.with_customer`). A point look-up first narrows each table to
the rows that carry one of the customer's identifier values (a plain ``IN`` filter the engine
pushes down to the scan), so a profile reads a few rows, not the whole table.
:mod:`insightloop.profile.timeline_format` writes the rows as entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.errors import InsightloopError
from insightloop.identity.attach import (
    IDENTIFIER_MAP,
    TRANSACTION_TABLES,
    lookup_value,
    with_customer,
)
from insightloop.identity.config import IdentityConfig
from insightloop.profile.timeline_format import TimelineEntry, entries, iso_utc, newest_first
from insightloop.store import Engine
from insightloop.store.text import trim

__all__ = [
    "COLUMNS",
    "KINDS",
    "ProfileQueryError",
    "TimelineEntry",
    "carrying",
    "check_kinds",
    "customer_rows",
    "entries",
    "iso_utc",
    "kind_rows",
    "newest_first",
    "order_items",
    "read_timeline",
    "rows_with_customer",
    "time_column",
    "with_campaign_names",
]

#: Kinds of timeline entries, each from one table.
KINDS: tuple[str, ...] = ("order", "event", "interaction", "feedback", "campaign")
_TABLE = {
    "order": "orders",
    "event": "events",
    "interaction": "interactions",
    "feedback": "feedback",
    "campaign": "campaign_members",
}
#: The columns each kind's entries are written from (see :func:`entries`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "order": (
        "order_id", "channel", "store_id", "status", "total_amount", "currency",
        "returned_amount", "ordered_at", "_source",
    ),
    "event": (
        "message_id", "type", "event", "name", "user_id", "anonymous_id", "previous_id",
        "group_id", "context", "timestamp", "_source",
    ),
    "interaction": (
        "interaction_id", "channel", "direction", "reason", "agent_id", "duration_seconds",
        "resolved", "language", "notes", "started_at", "_source",
    ),
    "feedback": (
        "response_id", "survey_type", "nps", "csat", "ces", "comment", "language", "order_id",
        "interaction_id", "responded_at", "_source",
    ),
    "campaign": (
        "campaign_id", "campaign_name", "campaign_channel", "group_name", "responded",
        "responded_at", "response_order_id", "sent_at", "at", "_source",
    ),
}  # fmt: skip
_TIME = {
    "order": "ordered_at",
    "event": "timestamp",
    "interaction": "started_at",
    "feedback": "responded_at",
}


class ProfileQueryError(InsightloopError):
    """A profile question that cannot be answered as asked (unknown kind or identifier type)."""

    code = "invalid_request"


def check_kinds(kinds: Sequence[str] | None) -> tuple[str, ...]:
    """The kinds asked for, in :data:`KINDS` order; all when none are named.

    Examples
    --------
    >>> check_kinds(["campaign", "order"])
    ('order', 'campaign')
    >>> check_kinds(None) == KINDS
    True
    """
    if not kinds:
        return KINDS
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ProfileQueryError(
            f"Unknown timeline kind(s): {', '.join(unknown)}.",
            hint=f"Kinds: {', '.join(KINDS)}.",
        )
    return tuple(k for k in KINDS if k in kinds)


def _events_with_customer(
    engine: Engine, rows: ir.Table | None = None, identifiers: ir.Table | None = None
) -> ir.Table:
    e = engine.table("events") if rows is None else rows
    ids = engine.table("identifier_map") if identifiers is None else identifiers
    users = ids.filter(ids.id_type == "user_id").select(_u=ids.id_value, _cu=ids.customer_id)
    devices = ids.filter(ids.id_type == "anonymous_id").select(_a=ids.id_value, _ca=ids.customer_id)
    j = e.left_join(users, trim(e.user_id) == users._u)
    j = j.left_join(devices, trim(j.anonymous_id) == devices._a)
    matched = ibis.cases(
        (j._cu.notnull(), "user_id"), (j._ca.notnull(), "anonymous_id"), else_=ibis.null("string")
    )
    return j.mutate(customer_id=ibis.coalesce(j._cu, j._ca), matched_by=matched).drop(
        "_u", "_cu", "_a", "_ca"
    )


def rows_with_customer(
    engine: Engine,
    config: IdentityConfig,
    table_name: str,
    values: Sequence[str] | None = None,
) -> ir.Table:
    """Every row of ``table_name`` with its ``customer_id`` (see :func:`with_customer`); only
    the rows carrying one of ``values`` when they are given (see :func:`carrying`), chosen
    before the customers are looked up, so the look-ups join only those."""
    rows = None if values is None else carrying(engine.table(table_name), table_name, values)
    return _attached(engine, config, table_name, rows)


def _attached(
    engine: Engine,
    config: IdentityConfig,
    table_name: str,
    rows: ir.Table | None,
    identifiers: ir.Table | None = None,
) -> ir.Table:
    """``rows`` of ``table_name`` (all when None) with their customer, looked up in
    ``identifiers`` (default: the whole identifier map)."""
    try:
        return with_customer(engine, config, table_name, rows, identifiers)
    except AttributeError:
        # with_customer builds a key type for source_customer_key even for events, which have
        # none; until it stops doing so, match events here the same way (user id, then device).
        if table_name != "events":
            raise
        return _events_with_customer(engine, rows, identifiers)


def kind_rows(
    engine: Engine, config: IdentityConfig, kind: str, values: Sequence[str] | None = None
) -> ir.Table:
    """Every row of timeline ``kind`` with its ``customer_id`` (null when no customer is known)
    and, for campaigns, the campaign's name, channel and ``at``; only rows carrying one of
    ``values`` when they are given (see :func:`carrying`)."""
    t = rows_with_customer(engine, config, _TABLE[kind], values)
    return with_campaign_names(engine, t) if kind == "campaign" else t


def _listed(values: list[str]) -> list[str] | ir.Column:
    """``values`` for an ``isin``: a list of literals when few, else a one-column table (the
    expression stays small to compile)."""
    return values if len(values) <= _LITERALS else _value_column(values)


def _value_column(values: Sequence[str]) -> ir.Column:
    """``values`` as the one column of a small table."""
    return ibis.memtable(pa.table({"v": pa.array(values, pa.string())})).v


#: Up to this many values go into a query as literals.
_LITERALS = 64


def carrying(t: ir.Table, table_name: str, values: Sequence[str]) -> ir.Table:
    """The rows of ``t`` (``table_name``, with or without its customer) that carry one of
    ``values`` in an identifier column, compared as :func:`with_customer` looks them up: a
    plain ``IN`` filter on the table's own columns."""
    wanted = sorted(set(values))
    if not wanted:
        return t.filter(ibis.literal(False))
    # An IN over a small table, not a list of literals: the expression stays small to compile.
    listed = _value_column(wanted)
    near: ir.BooleanValue | None = None
    for column in TRANSACTION_TABLES[table_name]:
        if column not in t.columns:
            continue
        hit = lookup_value(column, t).isin(listed)
        near = hit if near is None else near | hit
    return t.filter(near if near is not None else ibis.literal(False))


def customer_rows(
    engine: Engine,
    config: IdentityConfig,
    table_name: str,
    customer_id: str,
    values: Sequence[str],
) -> ir.Table:
    """The rows of ``table_name`` whose customer is ``customer_id``.

    ``values`` are the customer's identifier values (from ``identifier_map``): only rows that
    carry one of them can belong to the customer, which the engine checks before the join.
    """
    t = rows_with_customer(engine, config, table_name, values)
    return t.filter(t.customer_id == customer_id)


def _window(
    t: ir.Table, time: ir.TimestampValue, since: datetime | None, until: datetime | None
) -> ir.Table:
    if since is not None:
        t = t.filter(time >= since)
    if until is not None:
        t = t.filter(time < until)
    return t


def with_campaign_names(engine: Engine, t: ir.Table) -> ir.Table:
    """Campaign members with their campaign's name and channel, and ``at`` (sent, else assigned,
    else responded)."""
    c = engine.table("campaigns")
    names = c.group_by(_campaign=c.campaign_id).aggregate(
        campaign_name=c.name.max(), campaign_channel=c.channel.max()
    )
    t = t.left_join(names, t.campaign_id == names._campaign).drop("_campaign")
    return t.mutate(at=ibis.coalesce(t.sent_at, t.assigned_at, t.responded_at))


def time_column(kind: str) -> str:
    """The column that says when a touchpoint of ``kind`` happened."""
    return _TIME.get(kind, "at")


def _narrow(t: ir.Table, kind: str) -> ir.Table:
    """Only the columns of ``t`` that the entries of ``kind`` and the customer look-up read:
    the engine then scans a few columns of the whole table instead of all."""
    wanted = [*COLUMNS[kind], *TRANSACTION_TABLES[_TABLE[kind]], time_column(kind), "campaign_id"]
    wanted += ["assigned_at"] if kind == "campaign" else []
    return t.select(*dict.fromkeys(c for c in wanted if c in t.columns))


def _rows(
    engine: Engine,
    config: IdentityConfig,
    kind: str,
    customer_id: str,
    values: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
) -> ir.Table:
    table_name = _TABLE[kind]
    t = _narrow(engine.table(table_name), kind)
    if kind != "campaign":  # before the look-up; a campaign's time is computed below
        t = _window(t, t[time_column(kind)], since, until)
    carried = carrying(t, table_name, values)
    if engine.backend == "duckdb":
        carried = _found_first(engine, config, table_name, carried)
    else:  # Spark makes a table of Arrow rows through pandas, which fails on null decimals
        carried = _attached(engine, config, table_name, carried)
    t = carried.filter(carried.customer_id == customer_id)
    if kind == "campaign":
        t = with_campaign_names(engine, t)
        t = _window(t, t.at, since, until)
    t = t.order_by(ibis.desc(t[time_column(kind)]))
    return t.limit(limit) if limit is not None else t


def _found_first(
    engine: Engine, config: IdentityConfig, table_name: str, carried: ir.Table
) -> ir.Table:
    """``carried`` with their customers, in two queries: the rows first, with the values they
    are looked up by; then their customers, from only those values' rows of the identifier map
    (a join with all of it builds a hash table of millions of identifiers each time)."""
    held = [c for c in TRANSACTION_TABLES[table_name] if c in carried.columns]
    looked = {f"_lv{i}": lookup_value(c, carried) for i, c in enumerate(held)}
    found = engine.to_pyarrow(carried.mutate(**looked))
    keys = sorted({v for name in looked for v in found[name].to_pylist() if v is not None})
    ids = engine.table(IDENTIFIER_MAP)
    ids = ids.filter(ids.id_value.isin(_listed(keys)))
    rows = ibis.memtable(found.drop_columns(list(looked)))
    return _attached(engine, config, table_name, rows, ids)


def order_items(engine: Engine, order_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Units and lines of each order, by order id."""
    if not order_ids:
        return {}
    i = engine.table("order_items")
    i = i.filter(i.order_id.isin(order_ids))
    rows = engine.records(
        i.group_by("order_id").aggregate(units=ibis.coalesce(i.quantity, 1).sum(), lines=i.count())
    )
    return {r["order_id"]: r for r in rows}


def read_timeline(
    engine: Engine,
    config: IdentityConfig,
    customer_id: str,
    values: Sequence[str],
    *,
    kinds: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[TimelineEntry]:
    """The customer's touchpoints of ``kinds`` with ``since <= at < until``, newest first.

    ``values`` are the customer's identifier values (see :func:`customer_rows`). Entries without
    a time come last.
    """
    found: list[TimelineEntry] = []
    for kind in check_kinds(kinds):
        rows = engine.records(_rows(engine, config, kind, customer_id, values, since, until, limit))
        items = None
        if kind == "order":
            items = order_items(engine, [r["order_id"] for r in rows if r["order_id"]])
        found += entries(kind, rows, items)
    newest_first(found)
    return found[:limit] if limit is not None else found
