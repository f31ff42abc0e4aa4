"""Saved segments and their membership history in the engine tables ``segments`` and
``segment_members``.

A saved rule segment is one row of ``segments`` (kind ``rule``; its definition as compact JSON);
saving a changed definition raises its ``version``. :func:`refresh_segments` computes who is in
each saved segment and writes the difference as history: a customer who newly qualifies gets a
row with ``entered_at = now``; a customer who no longer qualifies gets ``exited_at = now`` on the
open row; everyone else is left alone, so a rerun on unchanged data changes nothing, and someone
who comes back gets a new row. Sizes and overlaps are computed in the engine.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import pyarrow as pa

from insightloop.analytics.segments.compile import compile_segment
from insightloop.analytics.segments.errors import (
    Problem,
    SegmentDefinitionError,
    SegmentError,
    SegmentNotFoundError,
    closest,
)
from insightloop.analytics.segments.model import Condition, dumps_condition, parse_condition
from insightloop.analytics.segments.validate import Resolver, check_condition, references

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from insightloop.analytics.segments.sources import SegmentSources
    from insightloop.store.engine import Engine

__all__ = [
    "RefreshReport",
    "SavedSegment",
    "SegmentChange",
    "SegmentOverlap",
    "current_members",
    "delete_segment",
    "get_segment",
    "list_segments",
    "preview_count",
    "refresh_segments",
    "save_segment",
    "segment_overlaps",
    "segment_sizes",
]

SEGMENTS = "segments"
MEMBERS = "segment_members"
KIND = "rule"
_NAME = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
_NAME_MAX = 64


@dataclass(frozen=True)
class SavedSegment:
    """A saved rule segment."""

    segment_id: str
    name: str
    definition: Condition
    version: int
    created_by: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    kind: str = KIND


@dataclass(frozen=True)
class SegmentChange:
    """What one refresh changed in one segment."""

    segment_id: str
    name: str
    entered: int
    exited: int


@dataclass(frozen=True)
class RefreshReport:
    """What :func:`refresh_segments` changed, segment by segment."""

    now: dt.datetime
    segments: tuple[SegmentChange, ...]

    @property
    def entered(self) -> int:
        return sum(s.entered for s in self.segments)

    @property
    def exited(self) -> int:
        return sum(s.exited for s in self.segments)


@dataclass(frozen=True)
class SegmentOverlap:
    """The current members two segments share; ``jaccard`` = both / either (0 when both are
    empty)."""

    a: str
    b: str
    size_a: int
    size_b: int
    both: int
    jaccard: float


def _utc(moment: dt.datetime) -> dt.datetime:
    """Naive UTC, as the canonical model stores times."""
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > _NAME_MAX:
        raise SegmentError(
            f"{name!r} is not a valid segment name.",
            hint=f"Use lower-case letters and digits, separated by single '-' or '_' (at most "
            f"{_NAME_MAX} characters), e.g. 'lapsed-vip' or 'web_buyers_90d'.",
        )


def _segment(row: Mapping[str, Any]) -> SavedSegment:
    return SavedSegment(
        segment_id=row["segment_id"],
        name=row["name"],
        definition=parse_condition(json.loads(row["definition"])),
        version=int(row["version"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        kind=row["kind"],
    )


def list_segments(engine: Engine) -> list[SavedSegment]:
    """Every saved rule segment, by name."""
    table = engine.table(SEGMENTS)
    rows = engine.records(table.filter(table.kind == KIND).order_by("name"))
    return [_segment(row) for row in rows]


def get_segment(engine: Engine, name: str) -> SavedSegment:
    """The saved rule segment ``name``.

    Raises
    ------
    SegmentNotFoundError
        Naming the closest saved segment.
    """
    table = engine.table(SEGMENTS)
    rows = engine.records(table.filter(table.kind == KIND, table.name == name))
    if not rows:
        known = [s.name for s in list_segments(engine)]
        raise SegmentNotFoundError(
            f"There is no saved segment named '{name}'.", hint=closest(name, known, "segments")
        )
    return _segment(rows[0])


def _resolver(engine: Engine) -> dict[str, Condition]:
    return {s.name: s.definition for s in list_segments(engine)}


def save_segment(
    engine: Engine,
    name: str,
    definition: Condition | Mapping[str, Any],
    *,
    created_by: str | None = None,
    now: dt.datetime | None = None,
    sources: SegmentSources | None = None,
) -> SavedSegment:
    """Save a rule segment under ``name``; a changed definition becomes a new version.

    Saving the same definition again changes nothing. The segments it refers to must exist and
    must not refer back to it; with ``sources`` its columns and operators are checked as well.

    Raises
    ------
    SegmentError
        For an invalid name, or a name taken by a segment of another kind.
    SegmentDefinitionError
        For an invalid definition.
    """
    _check_name(name)
    condition = parse_condition(definition)
    resolve = {**_resolver(engine), name: condition}
    check_condition(condition, sources, resolve, name=name)
    text = dumps_condition(condition, format="json")
    moment = _utc(now or dt.datetime.now(dt.UTC))
    table = engine.table(SEGMENTS)
    rows = engine.records(table.filter(table.name == name))
    if not rows:
        engine.insert(
            SEGMENTS,
            [
                {
                    "segment_id": f"seg_{uuid.uuid4().hex[:16]}",
                    "name": name,
                    "kind": KIND,
                    "definition": text,
                    "version": 1,
                    "created_by": created_by,
                    "created_at": moment,
                    "updated_at": moment,
                }
            ],
        )
        return get_segment(engine, name)
    row = rows[0]
    if row["kind"] != KIND:
        raise SegmentError(
            f"The name '{name}' is taken by a segment of kind '{row['kind']}'.",
            hint="Choose another name for the rule segment.",
        )
    if row["definition"] == text:
        return _segment(row)
    engine.update_matching(
        SEGMENTS,
        pa.table({"segment_id": [row["segment_id"]]}),
        {"definition": text, "version": int(row["version"]) + 1, "updated_at": moment},
    )
    return get_segment(engine, name)


def delete_segment(engine: Engine, name: str) -> None:
    """Delete a saved rule segment and its membership history.

    Raises
    ------
    SegmentError
        When other saved segments refer to it (they are named).
    """
    found = get_segment(engine, name)
    users = sorted(s.name for s in list_segments(engine) if name in references(s.definition))
    if users:
        raise SegmentError(
            f"Segment '{name}' is used by {', '.join(users)}.",
            hint="Remove the references to it from those segments first.",
        )
    keys = pa.table({"segment_id": [found.segment_id]})
    with engine.transaction():
        engine.delete_matching(MEMBERS, keys)
        engine.delete_matching(SEGMENTS, keys)


def preview_count(
    engine: Engine,
    definition: Condition | Mapping[str, Any],
    sources: SegmentSources,
    *,
    resolve: Resolver | None = None,
) -> int:
    """How many customers a definition selects now (without saving it).

    References are looked up among the saved segments unless ``resolve`` is given.
    """
    if resolve is None:
        resolve = _resolver(engine) if engine.has_table(SEGMENTS) else {}
    members = compile_segment(definition, sources, resolve=resolve)
    return int(engine.execute(members.count()))


def _open_members(engine: Engine) -> ir.Table:
    members = engine.table(MEMBERS)
    return members.filter(members.exited_at.isnull())


def refresh_segments(
    engine: Engine,
    sources: SegmentSources,
    now: dt.datetime,
    customer_ids: Iterable[str] | None = None,
) -> RefreshReport:
    """Compute the members of every saved rule segment and write the changes as history.

    Parameters
    ----------
    now
        The time written to ``entered_at`` and ``exited_at`` (usually ``sources.as_of``).
    customer_ids
        Re-evaluate only these customers (an incremental refresh after their data changed);
        everyone else's membership rows are left as they are.

    Raises
    ------
    SegmentDefinitionError
        When saved definitions do not fit the sources; every problem is listed, its path
        starting with the segment's name.
    """
    moment = _utc(now)
    saved = list_segments(engine)
    resolve: dict[str, Condition] = {s.name: s.definition for s in saved}
    current = _open_members(engine)
    if customer_ids is not None:
        ids = sorted(set(customer_ids))
        chosen = ibis.memtable(pa.table({"customer_id": pa.array(ids, pa.string())}))
        sources = sources.restricted_to(chosen)
        current = current.semi_join(chosen, "customer_id")
    targets: dict[str, ir.Table] = {}
    problems: list[Problem] = []
    for seg in saved:
        try:
            targets[seg.segment_id] = compile_segment(
                seg.definition, sources, resolve=resolve, name=seg.name
            )
        except SegmentDefinitionError as exc:
            problems += [
                Problem(f"{seg.name}:{p.path}" if p.path else seg.name, p.message, p.hint)
                for p in exc.problems
            ]
    if problems:
        raise SegmentDefinitionError(problems)
    entering: list[pa.Table] = []
    leaving: list[pa.Table] = []
    changes: list[SegmentChange] = []
    for seg in saved:
        target = targets[seg.segment_id]
        mine = current.filter(current.segment_id == seg.segment_id)
        entered = engine.to_pyarrow(target.anti_join(mine, "customer_id").select("customer_id"))
        exited = engine.to_pyarrow(
            mine.anti_join(target, "customer_id").select("segment_id", "customer_id", "entered_at")
        )
        entering.append(
            pa.table(
                {
                    "segment_id": pa.array([seg.segment_id] * entered.num_rows, pa.string()),
                    "customer_id": entered["customer_id"],
                }
            )
        )
        leaving.append(exited)
        changes.append(SegmentChange(seg.segment_id, seg.name, entered.num_rows, exited.num_rows))
    new_rows = pa.concat_tables(entering) if entering else None
    old_rows = pa.concat_tables(leaving) if leaving else None
    with engine.transaction():
        if old_rows is not None and old_rows.num_rows:
            # The open row of each pair is the one with that entered_at (closed rows differ).
            engine.update_matching(MEMBERS, old_rows, {"exited_at": moment})
        if new_rows is not None and new_rows.num_rows:
            stamps = pa.array([moment] * new_rows.num_rows, pa.timestamp("us"))
            engine.insert(MEMBERS, new_rows.append_column("entered_at", stamps))
    return RefreshReport(moment, tuple(changes))


def segment_history(engine: Engine, segment_id: str) -> ir.Table:
    """How many customers entered and exited a segment on each day of its history: ``day``,
    ``entered``, ``exited``, oldest day first."""
    members = engine.table(MEMBERS)
    mine = members.filter(members.segment_id == segment_id)
    zero, one = ibis.literal(0, "int64"), ibis.literal(1, "int64")
    entered = mine.select(day=mine.entered_at.date(), entered=one, exited=zero)
    left = mine.filter(mine.exited_at.notnull())
    exited = left.select(day=left.exited_at.date(), entered=zero, exited=one)
    both = entered.union(exited)
    return (
        both.group_by("day")
        .aggregate(entered=both.entered.sum(), exited=both.exited.sum())
        .order_by("day")
    )


def current_members(engine: Engine, name: str) -> ir.Table:
    """The current members of a saved segment: ``customer_id`` and ``entered_at``."""
    found = get_segment(engine, name)
    members = _open_members(engine)
    return members.filter(members.segment_id == found.segment_id).select(
        "customer_id", "entered_at"
    )


def _sizes(engine: Engine) -> ir.Table:
    segments = engine.table(SEGMENTS).select("segment_id", "name").distinct()
    members = _open_members(engine)
    counts = members.group_by("segment_id").aggregate(size=members.count())
    joined = segments.left_join(counts, "segment_id")
    return joined.select("segment_id", "name", size=ibis.coalesce(joined["size"], 0))


def segment_sizes(engine: Engine) -> dict[str, int]:
    """The number of current members of every saved segment, by name."""
    rows = engine.records(_sizes(engine).order_by("name"))
    return {row["name"]: int(row["size"]) for row in rows}


def segment_overlaps(engine: Engine) -> list[SegmentOverlap]:
    """For every pair of saved segments, the current members they share and their Jaccard
    index (computed in the engine; pairs sharing nobody included)."""
    members = _open_members(engine)
    left = members.select(a=members.segment_id, customer_id=members.customer_id)
    right = members.select(b=members.segment_id, other=members.customer_id)
    shared = (
        left.join(right, [left.customer_id == right.other, left.a < right.b])
        .group_by("a", "b")
        .aggregate(both=lambda t: t.count())
    )
    sizes = _sizes(engine)
    first = sizes.select(a=sizes.segment_id, name_a=sizes.name, size_a=sizes["size"])
    second = sizes.select(b=sizes.segment_id, name_b=sizes.name, size_b=sizes["size"])
    pairs = first.join(second, first.a < second.b)
    counted = pairs.left_join(shared, ["a", "b"])
    both = ibis.coalesce(counted.both, 0)
    either = counted.size_a + counted.size_b - both
    result = counted.select(
        "name_a",
        "name_b",
        "size_a",
        "size_b",
        both=both,
        jaccard=ibis.ifelse(either > 0, both.cast("float64") / either, 0.0),
    ).order_by("name_a", "name_b")
    return [
        SegmentOverlap(
            a=row["name_a"],
            b=row["name_b"],
            size_a=int(row["size_a"]),
            size_b=int(row["size_b"]),
            both=int(row["both"]),
            jaccard=float(row["jaccard"]),
        )
        for row in engine.records(result)
    ]
