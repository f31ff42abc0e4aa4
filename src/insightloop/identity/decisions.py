"""Manual identity decisions: stored, checked against earlier ones, and applied to the graph.

Every decision is a constraint that each later resolution respects (docs/identity.md, "Manual
decisions"):

- a **must-link** set of records stays one customer: a ``merge`` (every record of the merged
  customers), an ``accept`` (a review pair), and the records an ``unmerge`` takes out. It joins
  the graph as links with rule ``manual``, from the set's first record to each other record;
- a **cannot-link** keeps two sets of records D and R apart: an ``unmerge`` (D the records taken
  out, R the rest of the customer) and a ``reject`` (D the pair's left record, R its right one).
  Every link between D and R is overridden. When the components still join D and R through other
  records, D is isolated: every link between D's must-link group and a record outside it is
  overridden too (links to a device that hangs on the group only are kept), and the components
  are computed once more; after that no component can hold both sides.

A new decision revokes the active ones it contradicts (:func:`plan_decision`), keeping what it
does not contradict as new decisions; nothing is deleted, so ``identity_decisions`` is the audit.
:func:`insightloop.identity.resolve.cluster_records` applies the active decisions with the
expressions of this module, in every resolution and after every manual decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.identity.records import DEVICE
from insightloop.store import Engine

__all__ = [
    "DECISIONS_TABLE",
    "KINDS",
    "LINK_COLUMNS",
    "MANUAL_RULE",
    "Decision",
    "DecisionPlan",
    "cannot_links",
    "load_decisions",
    "manual_links",
    "mark_crossings",
    "mark_isolations",
    "node_id",
    "plan_decision",
    "protected_groups",
    "split_node",
    "store_plan",
    "typed_links",
]

DECISIONS_TABLE = "identity_decisions"
KINDS = ("merge", "unmerge", "accept", "reject")
MANUAL_RULE = "manual"
SEP = "|"

#: Columns of a link as resolution builds it (``identity_links`` adds ``overridden_by``).
LINK_COLUMNS = (
    "left_source",
    "left_key",
    "right_source",
    "right_key",
    "rule",
    "score",
    "evidence",
    "run_id",
)


def node_id(source: ir.StringValue, key: ir.StringValue) -> ir.StringValue:
    """One string per record for the graph: ``source|key``."""
    return source + SEP + key


def split_node(node: str) -> tuple[str, str]:
    """``source|key`` -> ``(source, key)`` (a key may itself contain ``|``)."""
    source, _, key = node.partition(SEP)
    return source, key


@dataclass(frozen=True)
class Decision:
    """One row of ``identity_decisions``."""

    decision_id: str
    kind: str
    left_records: tuple[str, ...]
    right_records: tuple[str, ...]
    reason: str | None
    actor: str | None
    at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def must_link(self) -> tuple[str, ...]:
        """The records kept together (none for a reject)."""
        if self.kind in ("merge", "accept"):
            return self.left_records + self.right_records
        return self.left_records if self.kind == "unmerge" else ()

    @property
    def cannot_link(self) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        """``(D, R)``, the sets kept apart, for an unmerge or a reject."""
        if self.kind in ("unmerge", "reject"):
            return self.left_records, self.right_records
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "kind": self.kind,
            "left_records": list(self.left_records),
            "right_records": list(self.right_records),
            "reason": self.reason,
            "actor": self.actor,
            "at": self.at,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
        }


@dataclass(frozen=True)
class DecisionPlan:
    """A new decision, the active ones it revokes, and what is kept of those as new decisions."""

    decision: Decision
    revoked: tuple[Decision, ...]
    replacements: tuple[Decision, ...]

    def active_after(self, active: Sequence[Decision]) -> list[Decision]:
        """The active decisions once the plan is stored."""
        gone = {d.decision_id for d in self.revoked}
        kept = [d for d in active if d.decision_id not in gone]
        return [*kept, *self.replacements, self.decision]


def _new_id(now: datetime) -> str:
    return f"dec-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def plan_decision(
    active: Sequence[Decision],
    kind: str,
    left: Iterable[str],
    right: Iterable[str],
    *,
    reason: str | None,
    actor: str,
    now: datetime,
) -> DecisionPlan:
    """A new decision and its effect on the active ones (pure; :func:`store_plan` writes it).

    An active must-link set S that meets both sides of the new cannot-link (D, R) is revoked
    and kept as the must-links of S minus D and S within D (each when it has two records or
    more; the parts of an unmerge's D keep its cannot-link with its R). An active cannot-link
    whose two sides both meet the new must-link set is revoked.

    Examples
    --------
    >>> at = datetime(2025, 1, 1)
    >>> merged = plan_decision([], "merge", ["a|1", "b|2", "c|3"], [], reason="same",
    ...                        actor="ann", now=at).decision
    >>> plan = plan_decision([merged], "unmerge", ["c|3"], ["a|1", "b|2"], reason="not her",
    ...                      actor="ann", now=at)
    >>> [d.decision_id for d in plan.revoked] == [merged.decision_id]
    True
    >>> [(d.kind, d.left_records) for d in plan.replacements]
    [('merge', ('a|1', 'b|2'))]
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    new = Decision(
        _new_id(now), kind, tuple(sorted(left)), tuple(sorted(right)), reason, actor, now
    )
    together = set(new.must_link)
    apart = new.cannot_link
    revoked: list[Decision] = []
    replacements: list[Decision] = []
    for old in active:
        linked = set(old.must_link)
        ml_broken = bool(apart and linked & set(apart[0]) and linked & set(apart[1]))
        old_apart = old.cannot_link
        cl_broken = bool(
            old_apart and together & set(old_apart[0]) and together & set(old_apart[1])
        )
        if ml_broken or cl_broken:
            revoked.append(old)
            replacements.extend(_remainders(old, new, ml_broken, cl_broken))
    return DecisionPlan(new, tuple(revoked), tuple(replacements))


def _remainders(old: Decision, new: Decision, ml_broken: bool, cl_broken: bool) -> list[Decision]:
    """What stays of ``old`` once ``new`` revokes it."""
    pieces = [old.must_link]
    if ml_broken and new.cannot_link:
        taken = set(new.cannot_link[0])
        pieces = [
            tuple(r for r in old.must_link if r not in taken),
            tuple(r for r in old.must_link if r in taken),
        ]
    reason = f"kept from decision {old.decision_id} when decision {new.decision_id} revoked it"
    out = []
    for piece in pieces:
        if old.cannot_link and not cl_broken and piece:
            kind, right = "unmerge", old.right_records
        elif len(piece) >= 2:
            kind, right = "merge", ()
        else:
            continue
        out.append(Decision(_new_id(new.at), kind, piece, right, reason, new.actor, new.at))
    return out


# -- storage --------------------------------------------------------------------------------------


def load_decisions(engine: Engine, *, include_revoked: bool = False) -> list[Decision]:
    """The decisions of the workspace, oldest first (only the active ones by default)."""
    t = engine.table(DECISIONS_TABLE)
    if not include_revoked:
        t = t.filter(t.revoked_at.isnull())
    rows = engine.records(t.order_by([t.at, t.decision_id]))
    return [
        Decision(
            decision_id=r["decision_id"],
            kind=r["kind"],
            left_records=tuple(r["left_records"] or ()),
            right_records=tuple(r["right_records"] or ()),
            reason=r["reason"],
            actor=r["actor"],
            at=r["at"],
            revoked_at=r["revoked_at"],
            revoked_by=r["revoked_by"],
        )
        for r in rows
    ]


def store_plan(engine: Engine, plan: DecisionPlan) -> None:
    """Write the plan's decisions and mark the ones it revokes (call within a transaction)."""
    new = [*plan.replacements, plan.decision]
    records = pa.list_(pa.string())
    engine.insert(
        DECISIONS_TABLE,
        pa.table(
            {
                "decision_id": pa.array([d.decision_id for d in new], pa.string()),
                "kind": pa.array([d.kind for d in new], pa.string()),
                "left_records": pa.array([list(d.left_records) for d in new], records),
                "right_records": pa.array([list(d.right_records) for d in new], records),
                "reason": pa.array([d.reason for d in new], pa.string()),
                "actor": pa.array([d.actor for d in new], pa.string()),
                "at": pa.array([d.at for d in new], pa.timestamp("us")),
            }
        ),
    )
    if plan.revoked:
        engine.update_matching(
            DECISIONS_TABLE,
            pa.table({"decision_id": pa.array([d.decision_id for d in plan.revoked], pa.string())}),
            {"revoked_at": plan.decision.at, "revoked_by": plan.decision.decision_id},
        )


# -- the graph ------------------------------------------------------------------------------------


def typed_links(links: ir.Table) -> ir.Table:
    """``links`` with exactly the :data:`LINK_COLUMNS`, typed alike (so that they union)."""
    return links.select(
        *(links[c].cast("string") for c in LINK_COLUMNS if c not in ("score",)),
        score=links.score.cast("float64"),
    ).select(*LINK_COLUMNS)


def manual_links(decisions: Sequence[Decision], nodes: ir.Table, run_id: str) -> ir.Table | None:
    """Links (rule ``manual``) from each must-link set's first record to its other records,
    between records that exist (``nodes.node_id``); None when there are none."""
    rows = [
        (first, other, d.decision_id)
        for d in decisions
        for first in d.must_link[:1]
        for other in d.must_link[1:]
    ]
    if not rows:
        return None
    lefts = [split_node(r[0]) for r in rows]
    rights = [split_node(r[1]) for r in rows]
    t = ibis.memtable(
        pa.table(
            {
                "left_source": pa.array([s for s, _ in lefts], pa.string()),
                "left_key": pa.array([k for _, k in lefts], pa.string()),
                "right_source": pa.array([s for s, _ in rights], pa.string()),
                "right_key": pa.array([k for _, k in rights], pa.string()),
                "evidence": pa.array([f'{{"decision_id": "{r[2]}"}}' for r in rows], pa.string()),
            }
        )
    )
    t = t.mutate(_l=node_id(t.left_source, t.left_key), _r=node_id(t.right_source, t.right_key))
    lefts_known, rights_known = nodes.select(_kl=nodes.node_id), nodes.select(_kr=nodes.node_id)
    t = t.semi_join(lefts_known, t._l == lefts_known._kl)
    t = t.semi_join(rights_known, t._r == rights_known._kr)
    return typed_links(
        t.mutate(
            rule=ibis.literal(MANUAL_RULE), score=ibis.literal(1.0), run_id=ibis.literal(run_id)
        )
    )


def cannot_links(decisions: Sequence[Decision]) -> pa.Table | None:
    """``decision_id, side, node_id`` (side ``D`` or ``R``) of every cannot-link; None if none."""
    ids, sides, nodes = [], [], []
    for d in decisions:
        if d.cannot_link is None:
            continue
        for side, records in zip("DR", d.cannot_link, strict=True):
            ids += [d.decision_id] * len(records)
            sides += [side] * len(records)
            nodes += list(records)
    if not nodes:
        return None
    return pa.table({"decision_id": ids, "side": sides, "node_id": nodes})


def mark_crossings(links: ir.Table, cannot: ir.Table) -> ir.Table:
    """Links with ``overridden_by``: the first cannot-link with one end in D, the other in R."""
    pairs = links.select("left_id", "right_id").distinct()
    a = cannot.select(a_dec=cannot.decision_id, a_side=cannot.side, a_node=cannot.node_id)
    b = cannot.select(b_dec=cannot.decision_id, b_side=cannot.side, b_node=cannot.node_id)
    hits = pairs.join(a, pairs.left_id == a.a_node).join(
        b, [pairs.right_id == b.b_node, a.a_dec == b.b_dec, a.a_side != b.b_side]
    )
    crossing = hits.group_by(c_left=hits.left_id, c_right=hits.right_id).aggregate(
        c_by=hits.a_dec.min()
    )
    joined = links.left_join(
        crossing, [links.left_id == crossing.c_left, links.right_id == crossing.c_right]
    )
    return joined.select(*links.columns, overridden_by=joined.c_by)


def mark_isolations(links: ir.Table, protect: ir.Table, apart: ir.Table) -> ir.Table:
    """``links`` with the links between each violated cannot-link's protected group and the rest
    overridden, but for those to a device whose every link leads into the group (not in R)."""
    live = links.filter(links.overridden_by.isnull())
    directed = live.select(a=live.left_id, b=live.right_id).union(
        live.select(a=live.right_id, b=live.left_id)
    )

    def group(tag: str) -> ir.Table:
        return protect.select(**{f"k{tag}": protect.decision_id, f"n{tag}": protect.node_id})

    p1, p2, p3 = group("1"), group("2"), group("3")
    touch = directed.join(p1, directed.a == p1.n1).select(k=p1.k1, a=directed.a, b=directed.b)
    outside = touch.anti_join(p2, [touch.k == p2.k2, touch.b == p2.n2])
    devices = outside.filter(outside.b.startswith(DEVICE + SEP))
    devices = devices.select(k=devices.k, dev=devices.b).distinct()
    ends = directed.select(da=directed.a, x=directed.b)
    around = devices.join(ends, devices.dev == ends.da).select(
        k=devices.k, dev=devices.dev, x=ends.x
    )
    leaky = around.anti_join(p3, [around.k == p3.k3, around.x == p3.n3])
    rest = apart.select(kr=apart.decision_id, nr=apart.node_id)
    exempt = devices.anti_join(leaky, [devices.k == leaky.k, devices.dev == leaky.dev])
    exempt = exempt.anti_join(rest, [exempt.k == rest.kr, exempt.dev == rest.nr])
    exempt = exempt.select(ek=exempt.k, edev=exempt.dev)
    drops = outside.anti_join(exempt, [outside.k == exempt.ek, outside.b == exempt.edev])
    both = drops.select(k=drops.k, l=drops.a, r=drops.b).union(
        drops.select(k=drops.k, l=drops.b, r=drops.a)
    )
    fallback = both.group_by(["l", "r"]).aggregate(fb=both.k.min())
    joined = links.left_join(fallback, [links.left_id == fallback.l, links.right_id == fallback.r])
    return joined.select(
        *(c for c in links.columns if c != "overridden_by"),
        overridden_by=ibis.coalesce(joined.overridden_by, joined.fb),
    ).select(*links.columns)


def protected_groups(
    decisions: Sequence[Decision], violated: Sequence[str]
) -> tuple[pa.Table, pa.Table]:
    """Per violated cannot-link, its D with every must-link set reachable from it (just D if
    that reaches R), and its R."""
    sets = [set(d.must_link) for d in decisions if len(d.must_link) > 1]
    holding: dict[str, list[int]] = {}
    for i, members in enumerate(sets):
        for record in members:
            holding.setdefault(record, []).append(i)
    by_id = {d.decision_id: d for d in decisions}
    protect: dict[str, list[str]] = {"decision_id": [], "node_id": []}
    apart: dict[str, list[str]] = {"decision_id": [], "node_id": []}
    for dec in violated:
        cannot = by_id[dec].cannot_link
        assert cannot is not None
        group, todo, seen = set(cannot[0]), list(cannot[0]), set()
        while todo:
            for i in holding.get(todo.pop(), []):
                if i not in seen:
                    seen.add(i)
                    todo.extend(sets[i] - group)
                    group |= sets[i]
        if group & set(cannot[1]):
            group = set(cannot[0])
        protect["decision_id"] += [dec] * len(group)
        protect["node_id"] += sorted(group)
        apart["decision_id"] += [dec] * len(cannot[1])
        apart["node_id"] += list(cannot[1])
    return pa.table(protect), pa.table(apart)
