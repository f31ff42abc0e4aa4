"""Manual merge and unmerge, and decisions on the review queue, applied at once.

Each operation checks its input (an :class:`~insightloop.errors.IdentityDecisionError` with a
hint otherwise), plans the decision against the active ones
(:func:`~insightloop.identity.decisions.plan_decision`), clusters the records again from the
links of the last resolution and the decisions, and then, in one transaction, stores the
decision, rewrites ``customer_map``, ``identity_links`` and ``identifier_map`` and logs the
change in ``merge_log``. It clusters what the next resolution clusters, with the same rules for
ids, so the next ``resolve`` gives every record the customer it has now.

Error messages name customer ids, review ids and record sources, never personal data: a key
that is an e-mail (guests, ``id:email``) is shown as ``<e-mail>``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, cast

import ibis
import pandas as pd
import pyarrow as pa

from insightloop.errors import IdentityDecisionError
from insightloop.identity.config import IdentityConfig
from insightloop.identity.decisions import (
    LINK_COLUMNS,
    MANUAL_RULE,
    SEP,
    Decision,
    DecisionPlan,
    load_decisions,
    node_id,
    plan_decision,
    split_node,
    store_plan,
)
from insightloop.identity.ids import new_customer_id
from insightloop.identity.records import GUEST
from insightloop.identity.resolve import (
    assign_clusters,
    cluster_records,
    current_customers,
    rebuild_identifier_map,
    write_customers,
)
from insightloop.store import Engine

__all__ = [
    "REVIEW_STATUSES",
    "AlreadyDecidedError",
    "DecisionResult",
    "RecordRef",
    "ReviewPair",
    "ReviewRecord",
    "UnknownCustomerError",
    "UnknownReviewError",
    "decide_review",
    "decision_list",
    "merge_customers",
    "merge_history",
    "review_queue",
    "unmerge_records",
]

REVIEW_STATUSES = ("open", "accepted", "rejected", "all")
_WORK = "_mn"  # prefix of this module's work tables

#: A record as the API takes it: ``"source|key"``, ``"source:key"`` or ``(source, key)``.
RecordRef = str | tuple[str, str]


class UnknownCustomerError(IdentityDecisionError):
    """No record belongs to the customer id."""

    code = "not_found"


class UnknownReviewError(IdentityDecisionError):
    """No review pair has the id."""

    code = "not_found"


class AlreadyDecidedError(IdentityDecisionError):
    """The review pair was already decided the same way."""

    code = "conflict"


@dataclass(frozen=True)
class DecisionResult:
    """What a manual decision did: the customers before and after, and the decisions revoked."""

    decision_id: str
    kind: str
    before_ids: tuple[str, ...]
    after_ids: tuple[str, ...]
    revoked: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _shown(node: str) -> str:
    """A record for a message: its key hidden when the key is an e-mail."""
    source, key = split_node(node)
    return f"{source}{SEP}<e-mail>" if source == GUEST or "@" in key else node


def _require_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise IdentityDecisionError(
            "A reason is required for a manual merge or unmerge.",
            hint="Say why, for the audit: e.g. --reason 'same person, confirmed by phone'.",
        )
    return reason.strip()


def _records_of(engine: Engine, customer_ids: Sequence[str]) -> dict[str, list[str]]:
    """The records (``source|key``) of each customer; raises for an unknown id."""
    cmap = engine.table("customer_map")
    rows = engine.records(
        cmap.filter(cmap.customer_id.isin(list(customer_ids))).select(
            "customer_id", node=node_id(cmap.source, cmap.source_key)
        )
    )
    held: dict[str, list[str]] = {}
    for row in rows:
        held.setdefault(row["customer_id"], []).append(row["node"])
    unknown = [c for c in customer_ids if c not in held]
    if unknown:
        raise UnknownCustomerError(
            f"Unknown customer id(s): {', '.join(unknown)}.",
            hint="Find a customer's id with `insightloop profile show IDENTIFIER`; ids change "
            "only through merges (see `insightloop identity log`).",
        )
    return {c: sorted(held[c]) for c in customer_ids}


def merge_customers(
    engine: Engine,
    config: IdentityConfig,
    customer_ids: Sequence[str],
    *,
    reason: str,
    actor: str,
    run_id: str,
    now: datetime | None = None,
) -> DecisionResult:
    """Merge customers into one, for good: their records stay together in every later run.

    The survivor is the customer with most records (ties: the one assigned first, then the
    smaller id), as when resolution merges.

    Raises
    ------
    IdentityDecisionError
        Fewer than two different customers, or no reason.
    UnknownCustomerError
        A customer id that no record has.
    """
    reason = _require_reason(reason)
    ids = list(customer_ids)
    twice = sorted({c for c in ids if ids.count(c) > 1})
    if twice or len(ids) < 2:
        what = f"Customer {twice[0]} is given twice" if twice else "Only one customer is given"
        raise IdentityDecisionError(
            f"{what}: a customer cannot be merged with itself.",
            hint="Name two or more different customer ids.",
        )
    held = _records_of(engine, ids)
    records = [r for c in ids for r in held[c]]
    at = now or _now()
    plan = plan_decision(
        load_decisions(engine), "merge", records, [], reason=reason, actor=actor, now=at
    )
    return _apply(engine, config, plan, sorted(ids), run_id=run_id, log_kind="manual_merge")


def _parse_record(ref: RecordRef, position: int, known: set[str]) -> str:
    """``source|key`` of a record given as ``source|key``, ``source:key`` or a pair."""
    if isinstance(ref, tuple):
        return f"{ref[0]}{SEP}{ref[1]}"
    if SEP in ref:
        return ref
    # Sources may hold a colon themselves (``id:user_id``): prefer the split that names a record.
    for i, char in enumerate(ref):
        if char == ":" and f"{ref[:i]}{SEP}{ref[i + 1 :]}" in known:
            return f"{ref[:i]}{SEP}{ref[i + 1 :]}"
    cut = ref.find(":", 3 if ref.startswith("id:") else 0)
    if cut <= 0:
        raise IdentityDecisionError(
            f"Record #{position} is not given as SOURCE:KEY.",
            hint="Give each record as SOURCE:KEY (e.g. crm:C1, id:user_id:u1), as "
            "`insightloop profile show CUSTOMER_ID` lists them.",
        )
    return f"{ref[:cut]}{SEP}{ref[cut + 1 :]}"


def unmerge_records(
    engine: Engine,
    config: IdentityConfig,
    customer_id: str,
    records: Iterable[RecordRef],
    *,
    reason: str,
    actor: str,
    run_id: str,
    now: datetime | None = None,
) -> DecisionResult:
    """Take records out of a customer, for good: they become a customer of their own (a new
    id, derived from their smallest record) and never join the rest of the customer again.

    The rest keeps the id; if it falls apart without the records taken out, its largest part
    keeps it and the others get new ids.

    Raises
    ------
    IdentityDecisionError
        No records, all of the customer's records, a record of another customer, or no reason.
    UnknownCustomerError
        A customer id that no record has.
    """
    reason = _require_reason(reason)
    mine = set(_records_of(engine, [customer_id])[customer_id])
    chosen = {_parse_record(r, i, mine) for i, r in enumerate(records, start=1)}
    if not chosen:
        raise IdentityDecisionError(
            f"No records given to take out of customer {customer_id}.",
            hint="Name the records to take out with --record SOURCE:KEY (repeatable).",
        )
    strangers = sorted(chosen - mine)
    if strangers:
        raise IdentityDecisionError(
            f"{len(strangers)} of the given records are not records of customer {customer_id}: "
            + ", ".join(_shown(r) for r in strangers)
            + ".",
            hint=f"List its records with `insightloop profile show {customer_id}`.",
        )
    rest = mine - chosen
    if not rest:
        raise IdentityDecisionError(
            f"Every record of customer {customer_id} is given: nothing would remain.",
            hint="Name only the records that are another person; the rest keeps the id.",
        )
    at = now or _now()
    plan = plan_decision(
        load_decisions(engine), "unmerge", chosen, rest, reason=reason, actor=actor, now=at
    )
    cmap = engine.table("customer_map")
    taken = {r["customer_id"] for r in engine.records(cmap.select("customer_id").distinct())}
    fresh = new_customer_id(min(chosen), taken)
    return _apply(
        engine,
        config,
        plan,
        [customer_id],
        run_id=run_id,
        log_kind="manual_unmerge",
        relabel=dict.fromkeys(chosen, fresh),
    )


def decide_review(
    engine: Engine,
    config: IdentityConfig,
    review_id: str,
    accept: bool,
    *,
    actor: str,
    reason: str | None = None,
    run_id: str,
    now: datetime | None = None,
) -> DecisionResult:
    """Accept (the two records are one person) or reject (they never are) a review pair.

    A pair decided one way may be decided the other way later: that revokes the earlier
    decision. Deciding it the same way again is an error.

    Raises
    ------
    UnknownReviewError
        No pair has ``review_id``.
    AlreadyDecidedError
        The pair was already decided the same way.
    """
    queue = engine.table("identity_review")
    rows = engine.records(queue.filter(queue.review_id == review_id))
    if not rows:
        raise UnknownReviewError(
            f"No review pair has the id {review_id!r}.",
            hint="List the pairs and their ids with `insightloop identity review --status all`.",
        )
    row = rows[0]
    verb, undo = ("accepted", "reject") if accept else ("rejected", "accept")
    if row["status"] == verb:
        when = f" at {row['decided_at']:%Y-%m-%d %H:%M}" if row["decided_at"] else ""
        raise AlreadyDecidedError(
            f"Review pair {review_id} was already {verb} by {row['decided_by']}{when}.",
            hint=f"To revert it, {undo} it (`insightloop identity {undo} {review_id}`): the new "
            "decision revokes the earlier one.",
        )
    left = f"{row['left_source']}{SEP}{row['left_key']}"
    right = f"{row['right_source']}{SEP}{row['right_key']}"
    at = now or _now()
    plan = plan_decision(
        load_decisions(engine),
        "accept" if accept else "reject",
        [left],
        [right],
        reason=reason.strip() if reason and reason.strip() else f"review {review_id} {verb}",
        actor=actor,
        now=at,
    )
    cmap = engine.table("customer_map")
    pair = cmap.filter(node_id(cmap.source, cmap.source_key).isin([left, right]))
    before = sorted({r["customer_id"] for r in engine.records(pair.select("customer_id"))})
    return _apply(
        engine,
        config,
        plan,
        before,
        run_id=run_id,
        log_kind="manual_merge" if accept else "manual_unmerge",
        review=(review_id, verb),
    )


def _apply(
    engine: Engine,
    config: IdentityConfig,
    plan: DecisionPlan,
    before: list[str],
    *,
    run_id: str,
    log_kind: str,
    relabel: Mapping[str, str] | None = None,
    review: tuple[str, str] | None = None,
) -> DecisionResult:
    """Cluster again with ``plan``, then store everything in one transaction."""
    decision = plan.decision
    now = decision.at
    previous = current_customers(engine)
    nodes_of = previous["source"] + SEP + previous["source_key"]
    former = set(nodes_of[previous["customer_id"].isin(before)])
    if relabel:
        moved = nodes_of.isin(list(relabel))
        previous.loc[moved, "customer_id"] = nodes_of[moved].map(relabel)
        previous.loc[moved, "assigned_at"] = pd.Timestamp(now)
    cmap = engine.table("customer_map")
    engine.materialise(
        f"{_WORK}_nodes",
        cmap.select(node_id=node_id(cmap.source, cmap.source_key)).distinct(),
        temp=True,
    )
    stored = engine.table("identity_links")
    stored = stored.filter(stored.rule != MANUAL_RULE).select(*LINK_COLUMNS)
    work = [f"{_WORK}_nodes"]
    try:
        clustering = cluster_records(
            engine,
            stored,
            engine.table(f"{_WORK}_nodes"),
            plan.active_after(load_decisions(engine)),
            run_id=run_id,
            prefix=_WORK,
        )
        work += [clustering.links, clustering.components]
        assignment = assign_clusters(engine, clustering, previous, now)
        frame = assignment.records
        held = frame["customer_id"][
            (frame["record_source"] + SEP + frame["record_key"]).isin(former)
        ]
        after = sorted(set(held))
        log = [
            row
            for row in assignment.log_rows(now, actor=decision.actor or "unknown")
            if not set(cast(list[str], row["before_ids"])) & set(before)
        ]
        if after != before:
            log.append(
                {
                    "merge_id": str(uuid.uuid4()),
                    "kind": log_kind,
                    "before_ids": before,
                    "after_ids": after,
                    "reason": decision.reason,
                    "actor": decision.actor,
                    "at": now,
                }
            )
        with engine.transaction():
            store_plan(engine, plan)
            if review is not None:
                engine.update_matching(
                    "identity_review",
                    pa.table({"review_id": [review[0]]}),
                    {"status": review[1], "decided_by": decision.actor, "decided_at": now},
                )
            write_customers(engine, assignment, clustering, run_id)
            rebuild_identifier_map(engine, config, run_id)
            if log:
                engine.insert("merge_log", log)
    finally:
        for name in work:
            engine.con.drop_table(name, force=True)
    return DecisionResult(
        decision_id=decision.decision_id,
        kind=decision.kind,
        before_ids=tuple(before),
        after_ids=tuple(after),
        revoked=tuple(d.decision_id for d in plan.revoked),
    )


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRecord:
    """One side of a review pair, described by its customer record when there is one."""

    source: str
    key: str
    name: str | None
    email: str | None


@dataclass(frozen=True)
class ReviewPair:
    """A borderline pair of the review queue."""

    review_id: str
    score: float
    status: str
    left: ReviewRecord
    right: ReviewRecord
    evidence: dict[str, str]
    decided_by: str | None
    decided_at: datetime | None

    def evidence_summary(self) -> str:
        """The comparison levels that say something, e.g. ``first_name exact, phone different``."""
        return ", ".join(f"{k} {v}" for k, v in self.evidence.items() if v != "missing")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _evidence(text: str | None) -> dict[str, str]:
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {str(k): str(v) for k, v in parsed.items() if v is not None}


def _describe(engine: Engine, records: set[tuple[str, str]]) -> dict[tuple[str, str], ReviewRecord]:
    c = engine.table("src_customers")
    c = c.filter(c.is_current.fill_null(True))
    wanted = ibis.memtable(
        pa.table(
            {
                "w_source": pa.array([r[0] for r in records], pa.string()),
                "w_key": pa.array([r[1] for r in records], pa.string()),
            }
        )
    )
    found = c.join(wanted, [c._source == wanted.w_source, c.source_key == wanted.w_key])
    rows = engine.records(
        found.select(
            source=found._source,
            key=found.source_key,
            first=found.first_name,
            last=found.last_name,
            raw=found.name_raw,
            email=found.email,
        )
    )
    out = {}
    for r in rows:
        name = " ".join(p for p in (r["first"], r["last"]) if p) or r["raw"]
        out[(r["source"], r["key"])] = ReviewRecord(r["source"], r["key"], name, r["email"])
    for source, key in records:
        if (source, key) not in out:
            out[(source, key)] = ReviewRecord(source, key, None, key if source == GUEST else None)
    return out


def review_queue(engine: Engine, status: str = "open", limit: int | None = 50) -> list[ReviewPair]:
    """The review pairs of a status (``all``: every pair), highest score first.

    Raises
    ------
    IdentityDecisionError
        An unknown status.
    """
    if status not in REVIEW_STATUSES:
        raise IdentityDecisionError(
            f"Unknown review status {status!r}.",
            hint=f"Use one of: {', '.join(REVIEW_STATUSES)}.",
        )
    q = engine.table("identity_review")
    if status != "all":
        q = q.filter(q.status == status)
    q = q.order_by([ibis.desc(q.score), q.review_id])
    rows = engine.records(q.limit(limit) if limit else q)
    sides = {(r[f"{s}_source"], r[f"{s}_key"]) for r in rows for s in ("left", "right")}
    described = _describe(engine, sides) if sides else {}
    return [
        ReviewPair(
            review_id=r["review_id"],
            score=float(r["score"]),
            status=r["status"],
            left=described[(r["left_source"], r["left_key"])],
            right=described[(r["right_source"], r["right_key"])],
            evidence=_evidence(r["evidence"]),
            decided_by=r["decided_by"],
            decided_at=r["decided_at"],
        )
        for r in rows
    ]


def merge_history(engine: Engine, limit: int | None = 50) -> list[dict[str, Any]]:
    """``merge_log``, newest first: merges and splits of the runs and the manual ones."""
    log = engine.table("merge_log")
    log = log.order_by([ibis.desc(log.at), ibis.desc(log.merge_id)])
    return engine.records(log.limit(limit) if limit else log)


def decision_list(engine: Engine) -> list[Decision]:
    """Every decision, also the revoked ones, oldest first (the audit)."""
    return load_decisions(engine, include_revoked=True)
