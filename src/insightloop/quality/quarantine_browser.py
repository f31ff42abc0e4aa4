"""Browsing the quarantine: filters, counts per reason code, pages of held rows, one row in full.

The queries are Ibis expressions over the ``quarantine`` table run by the engine; counts are
aggregated there and lists come back a page at a time. Only :func:`quarantine_entry` returns the
raw values of a row (personal data: the caller decides whether to mask them, and audits reading
them); the lists never carry them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

import ibis
import ibis.expr.types as ir

from insightloop.quality.contracts.quarantine import QUARANTINE_TABLE
from insightloop.quality.contracts.reasons import RULE_CODES
from insightloop.store import Engine

__all__ = [
    "QUARANTINE_STATES",
    "HeldRow",
    "Location",
    "QuarantineEntry",
    "QuarantineFacets",
    "QuarantineFilter",
    "QuarantinePage",
    "QuarantineState",
    "Reason",
    "ReasonCount",
    "describe_reason",
    "held_expr",
    "parse_location",
    "quarantine_entry",
    "quarantine_facets",
    "quarantine_page",
    "reason_counts",
]

QuarantineState = Literal["unresolved", "resolved", "all"]
#: ``unresolved``: still held; ``resolved``: loaded by a later retry; ``all``: both.
QUARANTINE_STATES: tuple[QuarantineState, ...] = get_args(QuarantineState)

#: The key under which a record the reader could not split into fields keeps its text.
UNREADABLE = "_text"


@dataclass(frozen=True)
class QuarantineFilter:
    """Which quarantined rows: of a source, of an entity, carrying a reason code, by state.

    ``reason`` is a whole code as stored (``required_missing:email``, ``date_impossible``).
    """

    source: str | None = None
    entity: str | None = None
    reason: str | None = None
    state: QuarantineState = "unresolved"

    def __post_init__(self) -> None:
        if self.state not in QUARANTINE_STATES:
            raise ValueError(f"state must be one of {', '.join(QUARANTINE_STATES)}")


def held_expr(engine: Engine, where: QuarantineFilter, *, with_reason: bool = True) -> ir.Table:
    """The ``quarantine`` rows ``where`` selects (``with_reason=False`` ignores its reason)."""
    t = engine.table(QUARANTINE_TABLE)
    resolved = t.resolved.fill_null(False)
    if where.state == "unresolved":
        t = t.filter(~resolved)
    elif where.state == "resolved":
        t = t.filter(resolved)
    if where.source is not None:
        t = t.filter(t.source == where.source)
    if where.entity is not None:
        t = t.filter(t.entity == where.entity)
    if with_reason and where.reason is not None:
        t = t.filter(t.reason_codes.contains(where.reason))
    return t


@dataclass(frozen=True)
class ReasonCount:
    """How many of the selected rows carry a reason code."""

    code: str
    rows: int


def reason_counts(engine: Engine, where: QuarantineFilter) -> list[ReasonCount]:
    """Rows per reason code among the rows of ``where``'s source, entity and state, most
    frequent first (its ``reason`` is ignored, so the counts show every reason to pick from).

    A row with several reasons counts once for each of them.
    """
    t = held_expr(engine, where, with_reason=False)
    codes = t.select(code=t.reason_codes.unnest())
    expr = codes.group_by("code").aggregate(rows=codes.count()).order_by(ibis.desc("rows"), "code")
    return [ReasonCount(r["code"], int(r["rows"])) for r in engine.records(expr)]


@dataclass(frozen=True)
class HeldRow:
    """A quarantined row without its raw values (what a list shows)."""

    quarantine_id: str
    source: str
    entity: str
    batch_id: str | None
    location: str
    reason_codes: tuple[str, ...]
    quarantined_at: datetime | None
    retried_at: datetime | None
    resolved: bool


def _held_row(row: dict[str, Any]) -> HeldRow:
    return HeldRow(
        quarantine_id=row["quarantine_id"],
        source=row["source"],
        entity=row["entity"],
        batch_id=row["batch_id"],
        location=row["location"] or "",
        reason_codes=tuple(row["reason_codes"] or ()),
        quarantined_at=row["quarantined_at"],
        retried_at=row["retried_at"],
        resolved=bool(row["resolved"]),
    )


@dataclass(frozen=True)
class QuarantinePage:
    """A page of held rows, newest first, and how many rows match in all."""

    rows: tuple[HeldRow, ...]
    total: int
    offset: int
    limit: int


def quarantine_page(
    engine: Engine, where: QuarantineFilter, *, offset: int = 0, limit: int = 50
) -> QuarantinePage:
    """The rows of ``where``, newest first (then by location), ``limit`` of them from ``offset``.

    Raises
    ------
    ValueError
        When ``offset`` is negative or ``limit`` is not 1 to 1,000.
    """
    if offset < 0 or not 1 <= limit <= 1000:
        raise ValueError(f"offset must be at least 0 and limit 1 to 1000, got {offset}, {limit}")
    t = held_expr(engine, where)
    total = int(engine.execute(t.count()))
    page = (
        t.drop("raw")
        .order_by(ibis.desc("quarantined_at"), "location", "quarantine_id")
        .limit(limit, offset=offset)
    )
    rows = tuple(_held_row(r) for r in engine.records(page))
    return QuarantinePage(rows=rows, total=total, offset=offset, limit=limit)


@dataclass(frozen=True)
class QuarantineFacets:
    """The sources and entities that have quarantined rows (the choices of the filters)."""

    sources: tuple[str, ...]
    entities: tuple[str, ...]


def quarantine_facets(engine: Engine) -> QuarantineFacets:
    """Every source and entity with rows in the quarantine, sorted (one query)."""
    t = engine.table(QUARANTINE_TABLE)
    pairs = engine.records(t.select("source", "entity").distinct())
    return QuarantineFacets(
        sources=tuple(sorted({p["source"] for p in pairs if p["source"]})),
        entities=tuple(sorted({p["entity"] for p in pairs if p["entity"]})),
    )


# -- one row -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """A reason code taken apart: the code, the column(s) it names, and what it means."""

    qualified: str
    code: str
    fields: tuple[str, ...]
    message: str


def describe_reason(qualified: str, meanings: Mapping[str, str] = RULE_CODES) -> Reason:
    """``<code>:<columns>`` (a contract rule's) or a bare code (a normaliser's or the reader's)
    split into code and columns, with its meaning from ``meanings`` (default: the rule codes).

    Examples
    --------
    >>> describe_reason("duplicate_key:order_id+line_number").fields
    ('order_id', 'line_number')
    >>> r = describe_reason("date_impossible", {"date_impossible": "No such date."})
    >>> r.code, r.fields, r.message
    ('date_impossible', (), 'No such date.')
    """
    code, _, columns = qualified.partition(":")
    fields = tuple(c for c in columns.split("+") if c) if columns else ()
    message = meanings.get(code) or meanings.get(qualified) or "No description for this code."
    return Reason(qualified=qualified, code=code, fields=fields, message=message)


@dataclass(frozen=True)
class Location:
    """Where a row came from: a file and line (and element of an exploded list), or a database
    source and the row's key. ``text`` is the location as stored."""

    text: str
    file: str | None = None
    line: int | None = None
    element: int | None = None
    database: str | None = None
    key: str | None = None


_FILE_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?::(?P<element>\d+))?$")


def parse_location(text: str) -> Location:
    """Take a stored location apart.

    Examples
    --------
    >>> loc = parse_location("crm/customers.csv:12")
    >>> loc.file, loc.line, loc.element
    ('crm/customers.csv', 12, None)
    >>> parse_location("orders.jsonl:41:2").element
    2
    >>> loc = parse_location("postgresql://reader@db/sales#sales.orders#id=42")
    >>> loc.database, loc.key
    ('postgresql://reader@db/sales#sales.orders', 'id=42')
    """
    if "#" in text:
        database, _, key = text.rpartition("#")
        return Location(text=text, database=database, key=key)
    match = _FILE_LINE.match(text)
    if match is None:
        return Location(text=text)
    element = match.group("element")
    return Location(
        text=text,
        file=match.group("file"),
        line=int(match.group("line")),
        element=None if element is None else int(element),
    )


@dataclass(frozen=True)
class QuarantineEntry:
    """One quarantined row in full: every reason, where it came from, and its raw values.

    ``raw`` maps each field *as received* (the source's own column names) to its value; a
    record the reader could not split into fields has the one field ``_text`` (``unreadable``
    is true). The values are personal data whenever the source holds any.
    """

    row: HeldRow
    reasons: tuple[Reason, ...]
    location: Location
    raw: dict[str, Any]

    @property
    def unreadable(self) -> bool:
        """The reader could not split the record into fields (it cannot be retried)."""
        return list(self.raw) == [UNREADABLE]


def quarantine_entry(
    engine: Engine, quarantine_id: str, meanings: Mapping[str, str] = RULE_CODES
) -> QuarantineEntry | None:
    """The quarantined row with this id, or ``None``; ``meanings`` describe its reason codes.

    Returns
    -------
    QuarantineEntry or None
        The row with its reasons taken apart (:func:`describe_reason`), its location taken
        apart (:func:`parse_location`) and its raw values as a dict (``{"_text": ...}`` when
        they are not a JSON object).
    """
    t = engine.table(QUARANTINE_TABLE)
    rows = engine.records(t.filter(t.quarantine_id == quarantine_id).limit(1))
    if not rows:
        return None
    row = rows[0]
    try:
        raw = json.loads(row["raw"] or "{}")
    except ValueError:
        raw = {UNREADABLE: row["raw"]}
    if not isinstance(raw, dict):
        raw = {UNREADABLE: row["raw"]}
    held = _held_row(row)
    return QuarantineEntry(
        row=held,
        reasons=tuple(describe_reason(code, meanings) for code in held.reason_codes),
        location=parse_location(held.location),
        raw=raw,
    )
