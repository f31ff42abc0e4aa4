"""What people who take identity decisions read: the two records of a review pair side by side,
field by field; pages of the review queue, the merge log and the decisions; a customer's records.

A record is described exactly as matching saw it (:func:`~insightloop.identity.records.
person_records`: a customer record by its current version, a web account by its latest order
and ``identify`` traits, a guest by its latest order). Each resolution leaves the records it
compared in ``identity_records``, and pages read them from there by key: a page costs about
the same on a workspace of a thousand customers as on one of millions, and a pair is shown as it
was scored even when a source changed the record since. A record that table lacks (loaded after
the last resolution) is described from the raw tables, narrowed to its key before anything runs.

Each compared field of a pair is **matched**, **differed** or **missing** (one side or both
lack it), judged on the real values; :meth:`ReviewDetail.masked` then hides the personal values
for a reader without ``pii:read`` and keeps the verdicts. Next to each field stands the
comparison level matching gave the pair (``exact``, ``nickname``, ``street+postcode``...), from
the evidence the review queue keeps.

Examples
--------
>>> left = PersonRecord("crm", "C1", "t1", "cus_1", {"first_name": "Anna", "city": "Lund"})
>>> right = PersonRecord("web", "u1", "t2", "cus_2", {"first_name": "anna", "city": "Malmö"})
>>> [(f.name, f.status) for f in compare_records(left, right, {}) if f.name in ("first_name",
...  "city", "email")]
[('first_name', 'matched'), ('email', 'missing'), ('city', 'differed')]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

import ibis
import ibis.expr.types as ir

from insightloop.identity.config import IdentityConfig
from insightloop.identity.decisions import DECISIONS_TABLE, SEP, Decision, split_node
from insightloop.identity.manual import UnknownCustomerError, UnknownReviewError
from insightloop.identity.records import (
    ACCOUNT,
    DEVICE,
    GUEST,
    RECORD_COLUMNS,
    RECORDS_TABLE,
    person_records,
)
from insightloop.privacy import MASK, mask_email, mask_phone
from insightloop.store import Engine

__all__ = [
    "COMPARED_FIELDS",
    "CustomerRecords",
    "DecisionOutcome",
    "FieldComparison",
    "FieldStatus",
    "Page",
    "PersonRecord",
    "ReviewDetail",
    "compare_records",
    "customer_records",
    "decision_outcome",
    "decision_page",
    "describe_records",
    "merge_log_page",
    "next_open_review",
    "record_token",
    "review_counts",
    "review_detail",
    "review_page",
    "shown_record",
]

FieldStatus = Literal["matched", "differed", "missing"]
T = TypeVar("T")

#: The fields of a person record that matching compares: name, label, and the comparison whose
#: level the evidence names (the address is one comparison over street, postcode and city;
#: the country only blocks).
COMPARED_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    ("first_name", "First name", "first_name"),
    ("last_name", "Last name", "last_name"),
    ("birth_date", "Birth date", "birth_date"),
    ("email", "E-mail", "email"),
    ("phone", "Phone", "phone"),
    ("street", "Street", "address"),
    ("postcode", "Postcode", "address"),
    ("city", "City", "address"),
    ("country", "Country", None),
)
#: Compared fields that are not personal data (kept when masking).
_NOT_PERSONAL = frozenset({"country"})
#: Sources whose key is the person's e-mail or phone itself.
_KEYED_BY = {GUEST: "email", "id:phone": "phone"}
#: Most records a customer page lists (a customer of thousands of records is a data problem).
MAX_CUSTOMER_RECORDS = 500


def record_token(node: str) -> str:
    """A short opaque reference to record ``source|key`` for a form: a page can name a record
    without showing its key (a guest's key is an e-mail).

    >>> record_token("crm|C1")
    'ddb55258c09710b5'
    """
    return hashlib.sha1(node.encode()).hexdigest()[:16]


def _mask_value(name: str, value: Any) -> Any:
    if value is None or name in _NOT_PERSONAL:
        return value
    if name == "email":
        return mask_email(str(value))
    if name == "phone":
        return mask_phone(str(value))
    return MASK


def _shown_key(source: str, key: str) -> str:
    """The key of a record for a reader without ``pii:read``: masked when it is an e-mail or
    phone (a guest's key is its e-mail)."""
    kind = _KEYED_BY.get(source, "email" if "@" in key else None)
    return str(_mask_value(kind, key)) if kind else key


def shown_record(node: str, *, masked: bool) -> str:
    """Record ``source|key`` as a page shows it (masked: its key hidden when personal).

    >>> shown_record("id:email|ann@x.se", masked=True), shown_record("crm|C1", masked=True)
    ('id:email|***@x.se', 'crm|C1')
    """
    if not masked:
        return node
    source, key = split_node(node)
    return f"{source}{SEP}{_shown_key(source, key)}"


@dataclass(frozen=True)
class PersonRecord:
    """A person record with the fields matching compares (``None`` where it has none).

    ``token`` names the record in forms (:func:`record_token`); once :meth:`masked`, ``key``
    and the personal fields are hidden and the token is what still identifies it.
    """

    source: str
    key: str
    token: str
    customer_id: str | None
    fields: Mapping[str, Any]
    described_at: datetime | None = None
    joined_at: datetime | None = None
    is_masked: bool = False

    @property
    def node(self) -> str:
        """``source|key`` (with the key masked on a masked record)."""
        return f"{self.source}{SEP}{self.key}"

    @property
    def name(self) -> str | None:
        """Given and family name, as the record has them."""
        parts = [self.fields.get("first_name"), self.fields.get("last_name")]
        return " ".join(str(p) for p in parts if p) or None

    @property
    def described(self) -> bool:
        """Whether any compared field is known (a device has none)."""
        return any(v is not None and v != "" for v in self.fields.values())

    def masked(self) -> PersonRecord:
        """A copy with the personal fields and a personal key masked."""
        return replace(
            self,
            key=_shown_key(self.source, self.key),
            fields={k: _mask_value(k, v) for k, v in self.fields.items()},
            is_masked=True,
        )


@dataclass(frozen=True)
class FieldComparison:
    """One compared field of a pair: both values, the verdict, and matching's level for it."""

    name: str
    label: str
    left: Any
    right: Any
    status: FieldStatus
    comparison: str | None
    level: str | None

    def masked(self) -> FieldComparison:
        return replace(
            self, left=_mask_value(self.name, self.left), right=_mask_value(self.name, self.right)
        )


@dataclass(frozen=True)
class ReviewDetail:
    """A review pair with both records described and compared field by field."""

    review_id: str
    score: float
    status: str
    left: PersonRecord
    right: PersonRecord
    fields: tuple[FieldComparison, ...]
    evidence: Mapping[str, str]
    guard: str | None
    decided_by: str | None
    decided_at: datetime | None

    @property
    def same_customer(self) -> bool:
        """Whether both records belong to one customer now."""
        return self.left.customer_id is not None and self.left.customer_id == self.right.customer_id

    def tally(self) -> dict[FieldStatus, int]:
        """How many fields matched, differed and were missing."""
        counts: dict[FieldStatus, int] = {"matched": 0, "differed": 0, "missing": 0}
        for f in self.fields:
            counts[f.status] += 1
        return counts

    def masked(self) -> ReviewDetail:
        """A copy for a reader without ``pii:read``: values masked, verdicts kept."""
        return replace(
            self,
            left=self.left.masked(),
            right=self.right.masked(),
            fields=tuple(f.masked() for f in self.fields),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer list: its items, how many there are in all, and where it starts."""

    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def number(self) -> int:
        """The page's number, from 1."""
        return self.offset // self.limit + 1

    @property
    def pages(self) -> int:
        """How many pages the list has (at least 1)."""
        return max(1, -(-self.total // self.limit))


@dataclass(frozen=True)
class CustomerRecords:
    """The records of a customer (at most ``MAX_CUSTOMER_RECORDS``) and how many it has."""

    customer_id: str
    records: list[PersonRecord]
    total: int

    def masked(self) -> CustomerRecords:
        return replace(self, records=[r.masked() for r in self.records])


@dataclass(frozen=True)
class DecisionOutcome:
    """A stored decision and the customers it changed (from the merge log)."""

    decision: Decision
    before_ids: tuple[str, ...]
    after_ids: tuple[str, ...]


# -- describing records ---------------------------------------------------------------------------


class _NarrowedEngine(Engine):
    """The workspace's engine with the tables that describe person records narrowed to the
    keys of some records, so that :func:`person_records` describes only those (read-only)."""

    def __init__(self, engine: Engine, records: Iterable[tuple[str, str]]) -> None:
        super().__init__(engine.con, engine.backend, read_only=True)
        self._base = engine
        wanted = set(records)
        self._keys = sorted({k for _, k in wanted})
        self._accounts = sorted({k for s, k in wanted if s == ACCOUNT})
        self._guests = sorted({k for s, k in wanted if s == GUEST})

    def table(self, name: str) -> ir.Table:
        t = self._base.table(name)
        if name == "src_customers":
            return t.filter(_among(t.source_key, self._keys))
        if name == "orders":
            return t.filter(
                _among(t.source_customer_key, self._accounts)
                | (t.source_customer_key.isnull() & _among(t.email, self._guests))
            )
        if name == "events":
            return t.filter(_among(t.user_id, self._accounts))
        return t


def _compared(
    engine: Engine, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The records of ``wanted`` that the last resolution compared, by ``(source, key)``."""
    if not engine.has_table(RECORDS_TABLE):
        return {}
    t = engine.table(RECORDS_TABLE)
    rows = engine.records(
        t.filter(t.record_key.isin(sorted({k for _, k in wanted}))).select(*RECORD_COLUMNS)
    )
    found = ((r["record_source"], r["record_key"]) for r in rows)
    return {key: r for key, r in zip(found, rows, strict=True) if key in wanted}


def _among(column: ir.StringColumn, values: Sequence[str]) -> ir.BooleanValue:
    return column.isin(list(values)) if values else ibis.literal(False)


def describe_records(
    engine: Engine, config: IdentityConfig, records: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], PersonRecord]:
    """Records ``(source, key)`` with their compared fields and current customer.

    A record is read from ``identity_records``, where the last resolution left it as it
    compared it; one that resolution did not compare (loaded since, or a workspace not resolved
    since that table came) is described from the raw tables. A record matching cannot describe
    (a device, a record gone since) has no fields.
    """
    wanted = set(records)
    if not wanted:
        return {}
    described = _compared(engine, wanted)
    rest = {r for r in wanted if r not in described and r[0] != DEVICE}
    if rest:
        narrowed = _NarrowedEngine(engine, rest)
        described |= {
            (r["record_source"], r["record_key"]): r
            for r in person_records(narrowed, config).to_pylist()
            if (r["record_source"], r["record_key"]) in rest
        }
    cmap = engine.table("customer_map")
    owners = {
        (r["source"], r["source_key"]): r["customer_id"]
        for r in engine.records(
            cmap.filter(cmap.source_key.isin(sorted({k for _, k in wanted}))).select(
                "source", "source_key", "customer_id"
            )
        )
    }
    out = {}
    for source, key in wanted:
        row = described.get((source, key), {})
        out[(source, key)] = PersonRecord(
            source=source,
            key=key,
            token=record_token(f"{source}{SEP}{key}"),
            customer_id=owners.get((source, key)),
            fields={name: row.get(name) for name, _, _ in COMPARED_FIELDS},
            described_at=row.get("updated_at"),
        )
    return out


def _normal(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return " ".join(str(value).split()).casefold()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def compare_records(
    left: PersonRecord, right: PersonRecord, evidence: Mapping[str, str]
) -> tuple[FieldComparison, ...]:
    """Every compared field of two records: matched (equal but for case and spacing),
    differed, or missing (a side lacks it), with matching's level of its comparison."""
    out = []
    for name, label, comparison in COMPARED_FIELDS:
        a, b = left.fields.get(name), right.fields.get(name)
        status: FieldStatus
        if _blank(a) or _blank(b):
            status = "missing"
        else:
            status = "matched" if _normal(a) == _normal(b) else "differed"
        level = evidence.get(comparison) if comparison else None
        out.append(FieldComparison(name, label, a, b, status, comparison, level))
    return tuple(out)


def _evidence(text: str | None) -> tuple[dict[str, str], str | None]:
    """The comparison levels of a pair's evidence, and its guard."""
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {}, None
    if not isinstance(parsed, dict):
        return {}, None
    guard = parsed.pop("guard", None)
    levels = {str(k): str(v) for k, v in parsed.items() if v is not None}
    return levels, None if guard is None else str(guard)


# -- the review queue -----------------------------------------------------------------------------


def _details(
    engine: Engine, config: IdentityConfig, rows: list[dict[str, Any]]
) -> list[ReviewDetail]:
    sides = {(r[f"{s}_source"], r[f"{s}_key"]) for r in rows for s in ("left", "right")}
    described = describe_records(engine, config, sides)
    out = []
    for r in rows:
        left = described[(r["left_source"], r["left_key"])]
        right = described[(r["right_source"], r["right_key"])]
        levels, guard = _evidence(r["evidence"])
        out.append(
            ReviewDetail(
                review_id=r["review_id"],
                score=float(r["score"]),
                status=r["status"],
                left=left,
                right=right,
                fields=compare_records(left, right, levels),
                evidence=levels,
                guard=guard,
                decided_by=r["decided_by"],
                decided_at=r["decided_at"],
            )
        )
    return out


def _queue(engine: Engine, status: str) -> ir.Table:
    q = engine.table("identity_review")
    return q if status == "all" else q.filter(q.status == status)


def review_page(
    engine: Engine, config: IdentityConfig, status: str = "open", *, limit: int, offset: int = 0
) -> Page[ReviewDetail]:
    """A page of the review pairs of ``status`` (``all``: every pair), highest match
    probability first, as :meth:`Workspace.review_queue` orders them."""
    q = _queue(engine, status)
    total = int(engine.execute(q.count()))
    ordered = q.order_by([ibis.desc(q.score), q.review_id]).limit(limit, offset=offset)
    return Page(_details(engine, config, engine.records(ordered)), total, limit, offset)


def review_counts(engine: Engine) -> dict[str, int]:
    """How many pairs are open, accepted and rejected, and all of them."""
    q = engine.table("identity_review")
    rows = engine.records(q.group_by("status").aggregate(n=q.count()))
    counts = {"open": 0, "accepted": 0, "rejected": 0}
    counts.update({r["status"]: int(r["n"]) for r in rows})
    counts["all"] = sum(counts.values())
    return counts


def review_detail(engine: Engine, config: IdentityConfig, review_id: str) -> ReviewDetail:
    """Review pair ``review_id`` with both records described and compared.

    Raises
    ------
    UnknownReviewError
        No pair has the id.
    """
    q = engine.table("identity_review")
    rows = engine.records(q.filter(q.review_id == review_id))
    if not rows:
        raise UnknownReviewError(
            f"No review pair has the id {review_id!r}.",
            hint="Pick a pair from the review queue (status: all lists every pair).",
        )
    return _details(engine, config, rows)[0]


def next_open_review(engine: Engine) -> str | None:
    """The open pair with the highest match probability, or ``None`` when none is open."""
    q = _queue(engine, "open")
    rows = engine.records(
        q.order_by([ibis.desc(q.score), q.review_id]).select("review_id").limit(1)
    )
    return rows[0]["review_id"] if rows else None


# -- customers, merges and decisions --------------------------------------------------------------


def customer_records(
    engine: Engine, config: IdentityConfig, customer_id: str, *, limit: int = MAX_CUSTOMER_RECORDS
) -> CustomerRecords:
    """The records of a customer, by source and key, each described.

    Raises
    ------
    UnknownCustomerError
        No record belongs to the customer id.
    """
    cmap = engine.table("customer_map")
    mine = cmap.filter(cmap.customer_id == customer_id)
    total = int(engine.execute(mine.count()))
    if not total:
        raise UnknownCustomerError(
            f"Unknown customer id: {customer_id}.",
            hint="Ids change only through merges: the merge history shows what became of one.",
        )
    rows = engine.records(
        mine.order_by(["source", "source_key"])
        .select("source", "source_key", "assigned_at")
        .limit(limit)
    )
    described = describe_records(engine, config, [(r["source"], r["source_key"]) for r in rows])
    records = [
        replace(described[(r["source"], r["source_key"])], joined_at=r["assigned_at"]) for r in rows
    ]
    return CustomerRecords(customer_id, records, total)


def merge_log_page(engine: Engine, *, limit: int, offset: int = 0) -> Page[dict[str, Any]]:
    """A page of ``merge_log`` (merges and splits by runs and by hand), newest first."""
    log = engine.table("merge_log")
    total = int(engine.execute(log.count()))
    ordered = log.order_by([ibis.desc(log.at), ibis.desc(log.merge_id)])
    return Page(engine.records(ordered.limit(limit, offset=offset)), total, limit, offset)


def _decision(row: Mapping[str, Any]) -> Decision:
    return Decision(
        **{
            **row,
            "left_records": tuple(row["left_records"] or ()),
            "right_records": tuple(row["right_records"] or ()),
        }
    )


def decision_page(engine: Engine, *, limit: int, offset: int = 0) -> Page[Decision]:
    """A page of the manual decisions, the revoked ones too, newest first."""
    t = engine.table(DECISIONS_TABLE)
    total = int(engine.execute(t.count()))
    ordered = t.order_by([ibis.desc(t.at), ibis.desc(t.decision_id)])
    rows = engine.records(ordered.limit(limit, offset=offset))
    return Page([_decision(r) for r in rows], total, limit, offset)


def decision_outcome(engine: Engine, decision_id: str) -> DecisionOutcome | None:
    """Decision ``decision_id`` and the customers before and after it (``None``: no such
    decision). A decision that changed no customer has no merge-log entry: both are empty."""
    t = engine.table(DECISIONS_TABLE)
    rows = engine.records(t.filter(t.decision_id == decision_id))
    if not rows:
        return None
    decision = _decision(rows[0])
    log = engine.table("merge_log")
    entries = engine.records(
        log.filter((log.at == decision.at) & log.kind.startswith("manual_")).select(
            "before_ids", "after_ids"
        )
    )
    before = sorted({c for e in entries for c in e["before_ids"] or ()})
    after = sorted({c for e in entries for c in e["after_ids"] or ()})
    return DecisionOutcome(decision, tuple(before), tuple(after))
