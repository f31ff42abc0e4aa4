"""Definitions as flat form fields: what a segment builder (the web UI's) posts, and back.

A builder shows a definition as a tree of :class:`Node` s: groups (match **all**, **any** or
**none** of their conditions) holding conditions on an attribute, on a behaviour, or on another
saved segment, and further groups. Each node's inputs are named after its place in the tree, so
the whole tree travels as one flat form::

    r.kind=group  r.mode=all
    r.c0.kind=attribute  r.c0.attribute=value_tier  r.c0.op=eq  r.c0.value=top
    r.c1.kind=behaviour  r.c1.behaviour=orders  r.c1.within_days=90  r.c1.count_value=2
    r.c1.f0.column=channel  r.c1.f0.value=web              (a filter of the orders)
    r.c1.nf.behaviour=purchases  r.c1.nf.within_days=14    (not followed by ...)

:func:`parse_fields` reads such a form into nodes (every value still text), :func:`apply_action`
adds and removes nodes and filters, :func:`to_condition` turns the nodes into a definition whose
values are typed by the :class:`Catalogue` of the data (a number attribute gets numbers), ready for
:func:`~.model.parse_condition`; :func:`from_condition` shows a saved definition as nodes. Values
of ``in``/``not_in`` are written comma-separated; a definition the fields cannot hold exactly
(:func:`fits_fields`) is edited as YAML instead.

Examples
--------
>>> cat = Catalogue(attributes=(Column("value_tier", "text"), Column("orders", "number")))
>>> form = {"r.kind": "group", "r.mode": "any",
...         "r.c0.kind": "attribute", "r.c0.attribute": "orders", "r.c0.op": "ge",
...         "r.c0.value": "3",
...         "r.c1.kind": "group", "r.c1.mode": "none",
...         "r.c1.c0.kind": "attribute", "r.c1.c0.attribute": "value_tier", "r.c1.c0.op": "in",
...         "r.c1.c0.value": "low, rest"}
>>> definition, _ = to_condition(parse_fields(form), cat)
>>> definition["any"][0]
{'attribute': 'orders', 'op': 'ge', 'value': 3}
>>> definition["any"][1]
{'not': {'attribute': 'value_tier', 'op': 'in', 'value': ['low', 'rest']}}
>>> to_condition(from_condition(definition), cat)[0] == definition
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from insightloop.analytics.segments.catalogue import Catalogue, Column, ColumnKind
from insightloop.analytics.segments.errors import Problem, SegmentDefinitionError
from insightloop.analytics.segments.model import (
    AllOf,
    AnyOf,
    AttributeCondition,
    BehaviourCondition,
    Condition,
    Filter,
    NotOf,
    SegmentRef,
    condition_to_dict,
    parse_condition,
)

__all__ = [
    "FilterFields",
    "FollowFields",
    "Node",
    "NodeKind",
    "apply_action",
    "fits_fields",
    "from_condition",
    "node_of_problem",
    "parse_fields",
    "renumber",
    "to_condition",
]

NodeKind = Literal["group", "attribute", "behaviour", "segment"]
GroupMode = Literal["all", "any", "none"]
NODE_KINDS: tuple[str, ...] = get_args(NodeKind)
GROUP_MODES: tuple[str, ...] = get_args(GroupMode)

#: Bounds of a tree a form may hold (a rule beyond them belongs in YAML, if anywhere).
MAX_NODES = 200
MAX_DEPTH = 8

_FIELD = re.compile(r"^(r(?:\.c\d{1,4})*)(\.nf)?(?:\.f(\d{1,4}))?\.([a-z_]{1,20})$")
_INTEGER = re.compile(r"^[+-]?\d{1,19}$")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


# -- the nodes ---------------------------------------------------------------------------------


@dataclass
class FilterFields:
    """A filter of a behaviour's rows, as typed: ``column op value`` (``value_to``: between)."""

    column: str = ""
    op: str = "eq"
    value: str = ""
    value_to: str = ""
    key: str = ""


@dataclass
class FollowFields:
    """What must not follow a behaviour's rows: behaviour, window, ``same`` columns, filters."""

    behaviour: str = "purchases"
    within_days: str = "14"
    same: str = ""
    filters: list[FilterFields] = field(default_factory=list)
    key: str = ""


@dataclass
class Node:
    """One node of the builder's tree; every value as text, as the form holds it.

    ``key`` is the node's place in the form (``r``, ``r.c1``, ``r.c1.c0`` ...).
    """

    kind: NodeKind = "group"
    key: str = "r"
    mode: GroupMode = "all"
    children: list[Node] = field(default_factory=list)
    attribute: str = ""
    op: str = "eq"
    value: str = ""
    value_to: str = ""
    behaviour: str = "orders"
    within_days: str = ""
    count_op: str = "ge"
    count_value: str = ""
    count_distinct: str = ""
    agg_fn: str = ""
    agg_column: str = ""
    agg_op: str = "ge"
    agg_value: str = ""
    filters: list[FilterFields] = field(default_factory=list)
    follow: FollowFields | None = None
    segment: str = ""

    def walk(self) -> list[Node]:
        """This node and every node below it, depth first."""
        return [self, *(n for child in self.children for n in child.walk())]


#: The fields of a node that are plain text (set from the form as they are).
_NODE_TEXT = frozenset(Node.__dataclass_fields__) - {
    "kind",
    "key",
    "mode",
    "children",
    "filters",
    "follow",
}
_FILTER_FIELDS = frozenset(FilterFields.__dataclass_fields__) - {"key"}
_FOLLOW_FIELDS = frozenset(FollowFields.__dataclass_fields__) - {"key", "filters"}


def _too_big(what: str) -> SegmentDefinitionError:
    return SegmentDefinitionError(
        [Problem("", f"the rule has {what}", "Split it into saved segments and refer to them.")]
    )


def _filters(found: Mapping[int, dict[str, str]], key: str) -> list[FilterFields]:
    return [
        FilterFields(
            **{k: v for k, v in found[i].items() if k in _FILTER_FIELDS}, key=f"{key}.f{i}"
        )
        for i in sorted(found)
    ]


def parse_fields(form: Mapping[str, str]) -> Node:
    """The tree of a posted builder form (fields of other names are ignored).

    A node is there when its ``kind`` is (the root ``r`` always is); children are ordered by
    their number; an unknown kind or mode reads as ``attribute`` or ``all``.

    Raises
    ------
    SegmentDefinitionError
        When the form holds more than :data:`MAX_NODES` nodes or is deeper than
        :data:`MAX_DEPTH`.
    """
    nodes: dict[str, dict[str, str]] = {"r": {}}
    filters: dict[tuple[str, bool], dict[int, dict[str, str]]] = {}
    follows: dict[str, dict[str, str]] = {}
    for name, value in form.items():
        match = _FIELD.match(name)
        if match is None or not isinstance(value, str):
            continue
        key, follow, index, attr = match.groups()
        if index is not None:
            filters.setdefault((key, follow is not None), {}).setdefault(int(index), {})[attr] = (
                value
            )
        elif follow is not None:
            follows.setdefault(key, {})[attr] = value
        else:
            nodes.setdefault(key, {})[attr] = value
    present = [k for k, v in nodes.items() if k == "r" or "kind" in v]
    if len(present) > MAX_NODES:
        raise _too_big(f"more than {MAX_NODES} conditions")
    if max(k.count(".") for k in present) >= MAX_DEPTH:
        raise _too_big(f"groups nested more than {MAX_DEPTH} deep")
    children: dict[str, list[tuple[int, str]]] = {}
    for key in present:
        if key != "r":
            parent, _, last = key.rpartition(".")
            children.setdefault(parent, []).append((int(last[1:]), key))

    def build(key: str) -> Node:
        values = nodes[key]
        kind = values.get("kind", "group")
        mode = values.get("mode", "all")
        node = Node(
            kind=kind if kind in NODE_KINDS else "attribute",  # type: ignore[arg-type]
            key=key,
            mode=mode if mode in GROUP_MODES else "all",  # type: ignore[arg-type]
        )
        for name in _NODE_TEXT.intersection(values):
            setattr(node, name, values[name])
        node.filters = _filters(filters.get((key, False), {}), key)
        if key in follows:
            values = {k: v for k, v in follows[key].items() if k in _FOLLOW_FIELDS}
            node.follow = FollowFields(
                **values,
                filters=_filters(filters.get((key, True), {}), f"{key}.nf"),
                key=f"{key}.nf",
            )
        if node.kind == "group":
            node.children = [build(k) for _, k in sorted(children.get(key, []))]
        return node

    return build("r")


def renumber(root: Node) -> Node:
    """Give every node, filter and follow-up the key of its place now (after changes)."""

    def visit(node: Node, key: str) -> None:
        node.key = key
        for i, f in enumerate(node.filters):
            f.key = f"{key}.f{i}"
        if node.follow is not None:
            node.follow.key = f"{key}.nf"
            for i, f in enumerate(node.follow.filters):
                f.key = f"{key}.nf.f{i}"
        for i, child in enumerate(node.children):
            visit(child, f"{key}.c{i}")

    visit(root, "r")
    return root


def _new(kind: str, catalogue: Catalogue) -> Node:
    if kind == "group":
        return Node(kind="group", mode="any", children=[_new("attribute", catalogue)])
    if kind == "behaviour":
        names = list(catalogue.behaviours)
        return Node(kind="behaviour", behaviour="orders" if "orders" in names else names[0])
    if kind == "segment":
        return Node(kind="segment", segment=catalogue.segments[0] if catalogue.segments else "")
    first = catalogue.attributes[0].name if catalogue.attributes else ""
    return Node(kind="attribute", attribute=first)


def apply_action(root: Node, action: str, catalogue: Catalogue) -> Node:
    """The tree after one builder action (keys are those of the posted form).

    ``add:KEY:KIND`` adds a condition of ``KIND`` (attribute, behaviour, segment, group) to the
    group ``KEY``; ``remove:KEY`` removes a node, a filter (``KEY.fN``), a follow-up
    (``KEY.nf``) or one of its filters (``KEY.nf.fN``); ``add-filter:KEY`` adds a filter to a
    behaviour (or, with ``KEY.nf``, to its follow-up); ``add-follow:KEY`` adds a follow-up. An
    action on a key that is not there changes nothing.

    Returns
    -------
    Node
        The same root, changed and renumbered.
    """
    verb, _, rest = action.partition(":")
    key, _, kind = rest.partition(":")
    nodes = {n.key: n for n in root.walk()}
    target = nodes.get(key.removesuffix(".nf"))
    if verb == "add" and target is not None and target.kind == "group" and kind in NODE_KINDS:
        if len(nodes) < MAX_NODES and target.key.count(".") < MAX_DEPTH - 1:
            target.children.append(_new(kind, catalogue))
    elif verb == "add-filter" and target is not None and target.kind == "behaviour":
        if key.endswith(".nf") and target.follow is not None:
            target.follow.filters.append(FilterFields())
        elif not key.endswith(".nf"):
            target.filters.append(FilterFields())
    elif verb == "add-follow" and target is not None and target.kind == "behaviour":
        target.follow = target.follow or FollowFields()
    elif verb == "remove":
        _remove(nodes, key)
    return renumber(root)


def _remove(nodes: Mapping[str, Node], key: str) -> None:
    owner_key, _, last = key.rpartition(".")
    if last.startswith("f") and last[1:].isdigit():
        owner = nodes.get(owner_key.removesuffix(".nf"))
        if owner is None:
            return
        if owner_key.endswith(".nf"):
            listed = owner.follow.filters if owner.follow is not None else []
        else:
            listed = owner.filters
        listed[:] = [f for f in listed if f.key != key]
    elif last == "nf":
        if owner_key in nodes:
            nodes[owner_key].follow = None
    elif owner_key in nodes:
        parent = nodes[owner_key]
        parent.children = [c for c in parent.children if c.key != key]


# -- nodes to a definition ---------------------------------------------------------------------


def _typed(text: str, kind: ColumnKind | None) -> Any:
    """A typed value as the column's kind needs it; text that does not fit stays text (so the
    checks against the data say what is wrong with it)."""
    value = text.strip()
    if kind == "number":
        if _INTEGER.match(value):
            return int(value)
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    if kind == "boolean" and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    return value


def _compared(
    data: dict[str, Any], op: str, text: str, text_to: str, kind: ColumnKind | None
) -> None:
    """Set ``op`` and ``value`` of a comparison on ``data`` (no value where none is given)."""
    data["op"] = op
    if op in ("is_null", "not_null"):
        return
    if op in ("in", "not_in"):
        data["value"] = [_typed(v, kind) for v in text.split(",") if v.strip()]
    elif op == "between":
        data["value"] = [_typed(v, kind) for v in (text, text_to) if v.strip()]
    elif text.strip():
        data["value"] = _typed(text, kind)


def _item_kind(column: Column | None) -> ColumnKind | None:
    if column is None:
        return None
    return column.item if column.kind == "list" else column.kind


def _where(
    filters: Sequence[FilterFields], behaviour: str, catalogue: Catalogue
) -> list[dict[str, Any]]:
    out = []
    for f in filters:
        if not f.column.strip():
            continue  # a filter row not filled in yet
        data: dict[str, Any] = {"column": f.column.strip()}
        kind = _item_kind(catalogue.column(behaviour, f.column.strip()))
        _compared(data, f.op, f.value, f.value_to, kind)
        out.append(data)
    return out


def _whole(text: str) -> Any:
    value = text.strip()
    return int(value) if _INTEGER.match(value) else value


def _behaviour(node: Node, catalogue: Catalogue) -> dict[str, Any]:
    data: dict[str, Any] = {"behaviour": node.behaviour}
    where = _where(node.filters, node.behaviour, catalogue)
    if where:
        data["where"] = where
    if node.within_days.strip():
        data["within_days"] = _whole(node.within_days)
    count: dict[str, Any] = {"op": node.count_op, "value": _whole(node.count_value or "1")}
    if node.count_distinct.strip():
        count["distinct"] = node.count_distinct.strip()
    if count != {"op": "ge", "value": 1}:  # "at least one row" goes without saying
        data["count"] = count
    if node.agg_fn.strip():
        aggregate: dict[str, Any] = {node.agg_fn.strip(): node.agg_column.strip()}
        aggregate["op"] = node.agg_op
        if node.agg_value.strip():
            aggregate["value"] = _typed(node.agg_value, "number")
        data["aggregate"] = aggregate
    follow = node.follow
    if follow is not None and follow.behaviour.strip():
        then: dict[str, Any] = {"behaviour": follow.behaviour.strip()}
        if follow.within_days.strip():
            then["within_days"] = _whole(follow.within_days)
        same = [s.strip() for s in follow.same.split(",") if s.strip()]
        if same:
            then["same"] = same
        where = _where(follow.filters, follow.behaviour.strip(), catalogue)
        if where:
            then["where"] = where
        data["not_followed_by"] = then
    return data


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(node: Node, catalogue: Catalogue, path: str, paths: dict[str, str]) -> dict[str, Any]:
    paths[path] = node.key
    if node.kind == "attribute":
        data: dict[str, Any] = {"attribute": node.attribute.strip()}
        kind = _item_kind(catalogue.attribute(node.attribute.strip()))
        _compared(data, node.op, node.value, node.value_to, kind)
        return data
    if node.kind == "behaviour":
        return _behaviour(node, catalogue)
    if node.kind == "segment":
        return {"segment": node.segment.strip()}
    kids = node.children
    if node.mode == "none":
        if len(kids) == 1:
            return {"not": _convert(kids[0], catalogue, _at(path, "not"), paths)}
        inner = _at(path, "not.any")
        either = [_convert(k, catalogue, f"{inner}[{i}]", paths) for i, k in enumerate(kids)]
        return {"not": {"any": either}}
    if len(kids) == 1:
        return _convert(kids[0], catalogue, path, paths)
    inner = _at(path, node.mode)
    return {node.mode: [_convert(k, catalogue, f"{inner}[{i}]", paths) for i, k in enumerate(kids)]}


def to_condition(root: Node, catalogue: Catalogue) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition the nodes describe, values typed by the catalogue, not yet validated.

    A group of all or any with one condition is that condition; a group of none is ``not``
    of its condition (``not`` of ``any`` of several).

    Returns
    -------
    tuple of (dict, dict)
        The definition (for :func:`~.model.parse_condition`), and for each node the path its
        problems are reported at, mapped to the node's key (see :func:`node_of_problem`).
    """
    paths: dict[str, str] = {}
    return _convert(root, catalogue, "", paths), paths


def node_of_problem(problem: Problem, paths: Mapping[str, str]) -> str:
    """The key of the node a problem of :func:`to_condition`'s definition belongs to."""
    best = ""
    for path in paths:
        inside = problem.path == path or problem.path.startswith((f"{path}.", f"{path}["))
        if (inside or not path) and len(path) >= len(best):
            best = path
    return paths.get(best, "r")


# -- a definition as nodes ---------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_Compared = TypeVar("_Compared", Node, FilterFields)


def _set(fields: _Compared, op: str, value: Any) -> _Compared:
    """Set ``op``, ``value`` and ``value_to`` of a node or filter as the form shows them."""
    fields.op = op
    if isinstance(value, tuple) and op == "between":
        fields.value, fields.value_to = _text(value[0]), _text(value[1])
    elif isinstance(value, tuple):
        fields.value = ", ".join(_text(v) for v in value)
    else:
        fields.value = _text(value)
    return fields


def _filter_fields(filters: Sequence[Filter]) -> list[FilterFields]:
    return [_set(FilterFields(column=f.column), f.op, f.value) for f in filters]


def _node(cond: Condition) -> Node:
    if isinstance(cond, AllOf | AnyOf):
        mode: GroupMode = "all" if isinstance(cond, AllOf) else "any"
        kids = cond.all if isinstance(cond, AllOf) else cond.any
        return Node(kind="group", mode=mode, children=[_node(c) for c in kids])
    if isinstance(cond, NotOf):
        inner = cond.not_
        kids = inner.any if isinstance(inner, AnyOf) else (inner,)
        return Node(kind="group", mode="none", children=[_node(c) for c in kids])
    if isinstance(cond, AttributeCondition):
        return _set(Node(kind="attribute", attribute=cond.attribute), cond.op, cond.value)
    if isinstance(cond, SegmentRef):
        return Node(kind="segment", segment=cond.segment)
    assert isinstance(cond, BehaviourCondition)
    node = Node(kind="behaviour", behaviour=cond.behaviour, within_days=_text(cond.within_days))
    node.filters = _filter_fields(cond.where)
    if cond.count is not None:
        node.count_op, node.count_value = cond.count.op, _text(cond.count.value)
        node.count_distinct = cond.count.distinct or ""
    if cond.aggregate is not None:
        agg = cond.aggregate
        node.agg_fn, node.agg_column = agg.function, agg.column
        node.agg_op, node.agg_value = agg.op, _text(agg.value)
    if cond.not_followed_by is not None:
        then = cond.not_followed_by
        node.follow = FollowFields(
            behaviour=then.behaviour,
            within_days=_text(then.within_days),
            same=", ".join(then.same),
            filters=_filter_fields(then.where),
        )
    return node


def from_condition(definition: Condition | Mapping[str, Any]) -> Node:
    """A definition as the builder's tree (the root is always a group).

    Raises
    ------
    SegmentDefinitionError
        When ``definition`` is not a valid definition.
    """
    node = _node(parse_condition(definition))
    if node.kind != "group":
        node = Node(kind="group", mode="all", children=[node])
    return renumber(node)


def fits_fields(definition: Condition | Mapping[str, Any], catalogue: Catalogue) -> bool:
    """Do the builder's fields hold ``definition`` exactly (so editing it there loses nothing)?

    Not when a value of a list holds a comma, or a group holds one condition, for example.
    """
    wanted = condition_to_dict(parse_condition(definition))
    again, _ = to_condition(from_condition(wanted), catalogue)
    try:
        return condition_to_dict(parse_condition(again)) == wanted
    except SegmentDefinitionError:
        return False
