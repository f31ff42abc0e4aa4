"""What a segment builder offers: the attributes, the behaviours with their columns, and the
saved segments, each column with its kind (number, text, boolean, time, list), read from the
schemas of the :class:`~.sources.SegmentSources` (no query runs).

Examples
--------
>>> import datetime as dt, ibis
>>> from insightloop.analytics.segments import SegmentSources
>>> attributes = ibis.memtable({"customer_id": ["a"], "value_tier": ["top"], "orders": [3]})
>>> cat = catalogue_of(SegmentSources(attributes, as_of=dt.datetime(2024, 6, 1)))
>>> [(c.name, c.label) for c in cat.attributes]
[('value_tier', 'text'), ('orders', 'number')]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import ibis.expr.datatypes as idt

    from insightloop.analytics.segments.sources import SegmentSources

__all__ = ["OPERATOR_KINDS", "Catalogue", "Column", "ColumnKind", "catalogue_of"]

ColumnKind = Literal["number", "text", "boolean", "time", "list", "other"]

#: The kinds of column each operator applies to (the builder offers only these).
OPERATOR_KINDS: dict[str, tuple[ColumnKind, ...]] = {
    "eq": ("number", "text", "boolean", "time"),
    "ne": ("number", "text", "boolean", "time"),
    "gt": ("number", "time"),
    "ge": ("number", "time"),
    "lt": ("number", "time"),
    "le": ("number", "time"),
    "between": ("number", "time"),
    "in": ("number", "text", "boolean", "time"),
    "not_in": ("number", "text", "boolean", "time"),
    "contains": ("list",),
    "is_null": ("number", "text", "boolean", "time", "list", "other"),
    "not_null": ("number", "text", "boolean", "time", "list", "other"),
}


@dataclass(frozen=True)
class Column:
    """A column a condition can test: its name, kind and (of a list) the kind of its items."""

    name: str
    kind: ColumnKind
    item: ColumnKind | None = None

    @property
    def label(self) -> str:
        """``number``, ``text``, ``list of text`` ..."""
        return f"list of {self.item}" if self.kind == "list" else self.kind


_KIND_TESTS: tuple[tuple[ColumnKind, str], ...] = (
    ("number", "is_numeric"),
    ("text", "is_string"),
    ("boolean", "is_boolean"),
    ("time", "is_temporal"),
)


def _kind(dtype: idt.DataType) -> ColumnKind:
    if dtype.is_array():
        return "list"
    for kind, test in _KIND_TESTS:
        if getattr(dtype, test)():
            return kind
    return "other"


def _column(name: str, dtype: idt.DataType) -> Column:
    kind = _kind(dtype)
    return Column(name, kind, _kind(dtype.value_type) if kind == "list" else None)


@dataclass(frozen=True)
class Catalogue:
    """What a builder offers: the attributes, the behaviours that have data with their columns,
    and the saved segments a condition may refer to."""

    attributes: tuple[Column, ...]
    behaviours: Mapping[str, tuple[Column, ...]] = field(default_factory=dict)
    segments: tuple[str, ...] = ()

    def attribute(self, name: str) -> Column | None:
        return next((c for c in self.attributes if c.name == name), None)

    def column(self, behaviour: str, name: str) -> Column | None:
        return next((c for c in self.behaviours.get(behaviour, ()) if c.name == name), None)


def catalogue_of(sources: SegmentSources, segments: Sequence[str] = ()) -> Catalogue:
    """The catalogue of ``sources`` (from their schemas; no query runs).

    Returns
    -------
    Catalogue
        The attributes but ``customer_id``; each behaviour with data and its columns but
        ``customer_id`` and ``at``; ``segments`` as given.
    """
    schema = sources.attributes.schema()
    attributes = tuple(_column(n, t) for n, t in schema.items() if n != "customer_id")
    behaviours: dict[str, tuple[Column, ...]] = {}
    for name in sources.behaviour_names():
        table = sources.behaviour(name)
        if table is not None:
            behaviours[name] = tuple(
                _column(n, t) for n, t in table.schema().items() if n not in ("customer_id", "at")
            )
    return Catalogue(attributes, behaviours, tuple(segments))
