"""One customer's touchpoints across orders, events, contact-centre interactions, survey responses
and campaigns: the timeline of the 360-degree view, newest first.

Each table's rows find their customer through the identifier map
(:func:`~insightloop.identity.attach.with_customer`). A point look-up first narrows each table to
the rows that carry one of the customer's identifier values (a plain ``IN`` filter the engine
pushes down to the scan), so a profile reads a few rows, not the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import orjson
import pyarrow as pa

from insightloop.errors import InsightloopError
from insightloop.identity.attach import (
    IDENTIFIER_MAP,
    TRANSACTION_TABLES,
    lookup_value,
    with_customer,
)
from insightloop.identity.config import IdentityConfig
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


@dataclass(frozen=True)
class TimelineEntry:
    """One touchpoint.

    ``kind`` is one of :data:`KINDS`; ``source`` and ``key`` name the row it comes from (the
    source and the order, message, interaction or response id; the campaign id for campaigns);
    ``details`` holds the structured values the summary is written from.
    """

    at: datetime | None
    kind: str
    channel: str | None
    summary: str
    source: str | None
    key: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": iso_utc(self.at),
            "kind": self.kind,
            "channel": self.channel,
            "summary": self.summary,
            "source": self.source,
            "key": self.key,
            "details": {k: _plain(v) for k, v in self.details.items()},
        }


def iso_utc(value: Any) -> Any:
    """A time in ISO 8601 with its offset (a naive time is UTC: the canonical model stores UTC),
    a date in ISO 8601; any other value as it is.

    Examples
    --------
    >>> iso_utc(datetime(2025, 3, 1, 12, 30))
    '2025-03-01T12:30:00+00:00'
    """
    kind = type(value)
    if kind in _PLAIN:  # most values: checked first, as documents convert millions of them
        return value
    if kind is datetime and value.tzinfo is None:
        return value.isoformat() + "+00:00"  # what replace(tzinfo=UTC).isoformat() writes
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


#: Types :func:`iso_utc` returns as they are.
_PLAIN = frozenset({str, int, float, bool, type(None), dict, list})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return iso_utc(value)


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
    if len(values) <= _LITERALS:
        return values
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
    listed = ibis.memtable(pa.table({"v": pa.array(wanted, pa.string())})).v
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


def _money(amount: Any, currency: str | None) -> str:
    if amount is None:
        return "amount unknown"
    return f"{Decimal(amount):,.2f} {currency or ''}".rstrip()


def _orders(rows: list[dict[str, Any]], items: dict[str, dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        got = items.get(r["order_id"], {})
        units = got.get("units")
        what = f"{units} item{'s' if units != 1 else ''}, " if units is not None else ""
        place = f" at store {r['store_id']}" if r.get("store_id") else ""
        status = f" ({r['status']})" if r.get("status") else ""
        summary = (
            f"{(r['channel'] or 'Order').capitalize()} order {r['order_id']}{place}: {what}"
            f"{_money(r['total_amount'], r['currency'])}{status}"
        )
        details = {
            "amount": r["total_amount"],
            "currency": r["currency"],
            "items": units,
            "lines": got.get("lines"),
            "status": r["status"],
            "store_id": r["store_id"],
            "returned_amount": r["returned_amount"],
        }
        out.append(
            TimelineEntry(
                r["ordered_at"],
                "order",
                r["channel"],
                summary,
                r["_source"],
                r["order_id"],
                details,
            )
        )
    return out


def _event_channel(kind: str | None, context: str | None) -> str | None:
    if kind == "page":
        return "web"
    if kind == "screen":
        return "app"
    try:
        ctx = orjson.loads(context) if context else {}
    except orjson.JSONDecodeError:
        ctx = {}
    if not isinstance(ctx, dict):
        return None
    if "app" in ctx:
        return "app"
    if "page" in ctx or "userAgent" in ctx:
        return "web"
    return None


def _event_summary(r: dict[str, Any]) -> str:
    kind = r["type"]
    if kind == "track":
        return r["event"] or "Tracked event"
    if kind in ("page", "screen"):
        return f"Viewed {kind} {r['name']}" if r["name"] else f"Viewed a {kind}"
    if kind == "identify":
        return "Identified as user " + r["user_id"] if r["user_id"] else "Identified"
    if kind == "alias":
        return f"Device {r['previous_id'] or r['anonymous_id']} linked to user {r['user_id']}"
    if kind == "group":
        return f"Joined group {r['group_id']}"
    return kind or "Event"


def _events(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            r["timestamp"],
            "event",
            _event_channel(r["type"], r["context"]),
            _event_summary(r),
            r["_source"],
            r["message_id"],
            {"type": r["type"], "event": r["event"], "name": r["name"]},
        )
        for r in rows
    ]


def _interactions(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        seconds = r["duration_seconds"]
        took = f"{round(seconds / 60)} min" if seconds is not None else "duration unknown"
        done = {True: "resolved", False: "not resolved"}.get(r["resolved"], "outcome unknown")
        direction = (r["direction"] or "").capitalize()
        summary = (
            f"{direction} {r['channel'] or 'contact'}".strip()
            + f": {r['reason'] or 'no reason recorded'} ({took}, {done})"
        )
        notes = r["notes"]
        details = {
            "direction": r["direction"],
            "reason": r["reason"],
            "agent_id": r["agent_id"],
            "duration_seconds": seconds,
            "resolved": r["resolved"],
            "language": r["language"],
            "notes": notes[:500] if notes else notes,
        }
        out.append(
            TimelineEntry(
                r["started_at"],
                "interaction",
                r["channel"],
                summary,
                r["_source"],
                r["interaction_id"],
                details,
            )
        )
    return out


def _feedback(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        scores = [
            f"{name.upper()} {r[name]}" for name in ("nps", "csat", "ces") if r[name] is not None
        ]
        survey = (r["survey_type"] or "").replace("_", "-")
        summary = f"{survey.capitalize() or 'Survey'} survey: {', '.join(scores) or 'no score'}"
        if r["comment"]:
            comment = r["comment"] if len(r["comment"]) <= 80 else r["comment"][:79] + "…"
            summary += f": “{comment}”"
        details = {
            k: r[k]
            for k in (
                "survey_type",
                "nps",
                "csat",
                "ces",
                "comment",
                "language",
                "order_id",
                "interaction_id",
            )
        }
        out.append(
            TimelineEntry(
                r["responded_at"],
                "feedback",
                "survey",
                summary,
                r["_source"],
                r["response_id"],
                details,
            )
        )
    return out


def _campaigns(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        name = r["campaign_name"] or r["campaign_id"]
        group = r["group_name"] or "unknown group"
        if group == "control":
            outcome = "held out as control" + (", bought anyway" if r["responded"] else "")
        else:
            outcome = {True: "responded", False: "no response"}.get(r["responded"], "sent")
        summary = f"Campaign {name} ({group}): {outcome}"
        details = {
            k: r[k]
            for k in (
                "campaign_id",
                "campaign_name",
                "group_name",
                "responded",
                "responded_at",
                "response_order_id",
                "sent_at",
            )
        }
        out.append(
            TimelineEntry(
                r["at"],
                "campaign",
                r["campaign_channel"],
                summary,
                r["_source"],
                r["campaign_id"],
                details,
            )
        )
    return out


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
    if kind != "campaign":  # a campaign's time is computed from several columns below
        t = _window(t, t[time_column(kind)], since, until)
    carried = carrying(t, table_name, values)
    if engine.backend == "duckdb":
        carried = _found_first(engine, config, table_name, carried)
    else:  # Spark makes a table of Arrow rows through pandas, which fails on null decimals
        carried = _attached(engine, config, table_name, carried)
    t = carried.filter(carried.customer_id == customer_id)
    if kind == "campaign":
        t = with_campaign_names(engine, t)
    time = t[time_column(kind)]
    t = _window(t, time, since, until).order_by(ibis.desc(time))
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


def entries(
    kind: str, rows: list[dict[str, Any]], items: dict[str, dict[str, Any]] | None = None
) -> list[TimelineEntry]:
    """The timeline entries of rows of ``kind`` (orders need their ``items``, see
    :func:`order_items`)."""
    if kind == "order":
        return _orders(rows, items or {})
    if kind == "event":
        return _events(rows)
    if kind == "interaction":
        return _interactions(rows)
    if kind == "feedback":
        return _feedback(rows)
    return _campaigns(rows)


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


def newest_first(found: list[TimelineEntry]) -> None:
    """Sort entries newest first, those without a time last (in place)."""
    found.sort(key=lambda e: (e.at is not None, e.at or datetime.min), reverse=True)
