"""The records a customer is made of, for the 360-degree view: each reference record with its
current main fields, and each account, device and guest known by its identifier only.

**First seen** is the earliest time the record shows up: for a reference record its creation
time in the source (else its first version's start or load time); for an account its first
event or order, for a device its first event, for a guest its first order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.identity.records import ACCOUNT, DEVICE, GUEST
from insightloop.store import Engine

__all__ = ["RECORD_FIELDS", "SourceRecord", "records_table", "source_records"]

#: Fields of a reference record shown in the view.
RECORD_FIELDS = (
    "first_name", "last_name", "email", "phone", "birth_date", "street", "postcode", "city",
    "country", "language", "loyalty_number", "created_at", "updated_at",
)  # fmt: skip


@dataclass(frozen=True)
class SourceRecord:
    """A record of the customer: a reference record's main fields, or an account, device or
    guest known by its identifier only (``source`` ``id:<type>``, no fields)."""

    source: str
    key: str
    fields: dict[str, Any]
    first_seen: datetime | None
    assigned_at: datetime | None


#: Where an account, device or guest known by its identifier only is first seen:
#: (record source, table, identifier column, time column).
_SEEN_IN: tuple[tuple[str, str, str, str], ...] = (
    (ACCOUNT, "events", "user_id", "timestamp"),
    (ACCOUNT, "orders", "source_customer_key", "ordered_at"),
    (DEVICE, "events", "anonymous_id", "timestamp"),
    (GUEST, "orders", "email", "ordered_at"),
)


def _reference(engine: Engine, mapped: ir.Table) -> ir.Table:
    """Each mapped record with its current fields and its first version's time."""
    c = engine.table("src_customers")
    every = mapped.join(c, [mapped.source == c._source, mapped.source_key == c.source_key])
    first = every.group_by(_s=every.source, _k=every.source_key).aggregate(
        _first=ibis.coalesce(every.created_at, every.valid_from, every._loaded_at).min()
    )
    current = c.filter(c.is_current.fill_null(True))
    current = current.select(
        _s=current._source, _k=current.source_key, **{f: current[f] for f in RECORD_FIELDS}
    )
    j = mapped.left_join(current, [mapped.source == current._s, mapped.source_key == current._k])
    j = j.drop("_s", "_k")
    j = j.left_join(first, [j.source == first._s, j.source_key == first._k])
    return j.drop("_s", "_k")


def _first_seen(engine: Engine, keys: dict[str, list[str]]) -> dict[tuple[str, str], datetime]:
    """When each account, device and guest first appears in the orders and events."""
    seen: dict[tuple[str, str], datetime] = {}
    for source, table, column, time in _SEEN_IN:
        if not keys.get(source):
            continue
        t = engine.table(table)
        t = t.filter(t[column].isin(keys[source]))
        rows = engine.records(t.group_by(_k=t[column]).aggregate(_at=t[time].min()))
        for row in rows:
            if row["_at"] is not None:
                was = seen.get((source, row["_k"]))
                seen[(source, row["_k"])] = min(row["_at"], was) if was else row["_at"]
    return seen


def records_table(engine: Engine, mapped: ir.Table) -> ir.Table:
    """The records of ``mapped`` (rows of ``customer_map``) with their fields and ``_first``,
    when each was first seen, in the engine for many customers at once."""
    parts = []
    for source, table, column, time in _SEEN_IN:
        t = engine.table(table)
        wanted = mapped.filter(mapped.source == source).select(_key=mapped.source_key)
        t = t.semi_join(wanted, t[column] == wanted._key)
        parts.append(
            t.group_by(_s2=ibis.literal(source), _k2=t[column]).aggregate(
                _at=t[time].cast("timestamp").min()
            )
        )
    seen = ibis.union(*parts).group_by("_s2", "_k2").aggregate(_seen=ibis._._at.min())
    j = _reference(engine, mapped)
    j = j.left_join(seen, [j.source == seen._s2, j.source_key == seen._k2]).drop("_s2", "_k2")
    return j.mutate(_first=ibis.coalesce(j._first, j._seen)).drop("_seen")


def record_of(row: dict[str, Any]) -> SourceRecord:
    """A :class:`SourceRecord` from a row of :func:`records_table`."""
    fields = {f: row[f] for f in RECORD_FIELDS if row.get(f) is not None}
    return SourceRecord(row["source"], row["source_key"], fields, row["_first"], row["assigned_at"])


def sort_records(records: list[SourceRecord]) -> None:
    """Earliest first (in place)."""
    records.sort(key=lambda r: (r.first_seen or datetime.max, r.source, r.key))


def source_records(engine: Engine, customer_id: str) -> list[SourceRecord]:
    """The records of ``customer_id``, earliest first (see the module docstring)."""
    m = engine.table("customer_map")
    m = m.filter(m.customer_id == customer_id)
    rows = engine.records(_reference(engine, m))
    keys: dict[str, list[str]] = {}
    for r in rows:
        if r["source"] in (ACCOUNT, DEVICE, GUEST):
            keys.setdefault(r["source"], []).append(r["source_key"])
    seen = _first_seen(engine, keys)
    records = []
    for r in rows:
        fields = {f: r[f] for f in RECORD_FIELDS if r.get(f) is not None}
        first = r["_first"] or seen.get((r["source"], r["source_key"]))
        records.append(SourceRecord(r["source"], r["source_key"], fields, first, r["assigned_at"]))
    records.sort(key=lambda r: (r.first_seen or datetime.max, r.source, r.key))
    return records
