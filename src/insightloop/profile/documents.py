"""Profile documents: each customer's 360-degree view as one JSON document, built for every
customer (or a given set of them) in a few passes of the engine, for the profile store to serve.

The API does not answer from analytical queries (a DuckDB point look-up costs about a
millisecond, and the server must not hold the database while ``insightloop run`` writes it): it
reads these documents. A document holds what :meth:`ProfileReader.get` returns
(:meth:`Profile.to_dict`) with the newest ``timeline_entries`` touchpoints, plus

- ``timeline_counts``: how many touchpoints of each kind the customer has in all;
- ``materialised_at``: when the document was built;
- one key per *extra* part the caller adds (computed attributes, segments, scores: the layers
  above the profile compute them; see ``extras`` of :func:`build_documents`).

Building runs in two phases. First every part (golden records, identifiers, records, consents,
the newest entries of each timeline kind with their totals) is staged as a table by the engine:
joins and windows over all customers at once, no Python loop per customer. Then the staged tables
are read back a range of customer ids at a time and assembled into documents, so memory is bounded
by the chunk, not by the number of customers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.identity.config import IdentityConfig
from insightloop.profile.fields import GOLDEN_FIELDS
from insightloop.profile.records import record_of, records_table, sort_records
from insightloop.profile.timeline import (
    COLUMNS,
    KINDS,
    entries,
    iso_utc,
    kind_rows,
    newest_first,
    rows_with_customer,
    time_column,
)
from insightloop.profile.view import (
    ConsentState,
    Profile,
    ProfileIdentifier,
    latest_consents,
    parse_provenance,
)
from insightloop.store import Engine

__all__ = ["DEFAULT_TIMELINE_ENTRIES", "Extra", "build_documents", "identifier_values"]

#: Touchpoints a document keeps, newest first.
DEFAULT_TIMELINE_ENTRIES = 25
#: Customers assembled per chunk.
CHUNK_CUSTOMERS = 20_000

_STAGE = "_profile_stage_"


def _scoped(t: ir.Table, scope: ir.Table | None) -> ir.Table:
    return t if scope is None else t.semi_join(scope, "customer_id")


def _stage_timeline(
    engine: Engine,
    config: IdentityConfig,
    kind: str,
    scope: ir.Table | None,
    keep: int,
    values: Sequence[str] | None,
) -> ir.Table:
    """The newest ``keep`` rows of ``kind`` per customer, numbered (``_n``) newest first, with
    the customer's total (``_total``) and the time as ``_at``."""
    t = kind_rows(engine, config, kind, values)
    t = _scoped(t.filter(t.customer_id.notnull()), scope)
    time = t[time_column(kind)]
    t = t.select(
        "customer_id",
        *COLUMNS[kind],
        _at=time.cast("timestamp"),
        _n=ibis.row_number().over(group_by=t.customer_id, order_by=[ibis.desc(time)]),
        _total=t.customer_id.count().over(group_by=t.customer_id),
    )
    t = t.filter(t._n < keep)
    if kind == "order":
        i = engine.table("order_items")
        i = i.semi_join(t, "order_id")
        items = i.group_by(_order=i.order_id).aggregate(
            _units=ibis.coalesce(i.quantity, 1).sum(), _lines=i.count()
        )
        t = t.left_join(items, t.order_id == items._order).drop("_order")
    return t


def _stage_newest(staged: dict[str, ir.Table], keep: int) -> ir.Table:
    """Which staged timeline rows make a customer's newest ``keep`` across all kinds, and every
    customer's total per kind (rows with ``_n`` null)."""
    picks = ibis.union(
        *(
            staged[kind].select(
                "customer_id", "_at", "_n", _kind=ibis.literal(kind), _rank=ibis.literal(rank)
            )
            for rank, kind in enumerate(KINDS)
        )
    )
    # Entries at the same time are kept in kind order, then newest first within the kind, as
    # read_timeline's stable sort keeps them: the cut falls where the 360-degree view's does.
    order = [ibis.desc(picks._at), picks._rank, picks._n]
    picks = picks.mutate(_g=ibis.row_number().over(group_by=picks.customer_id, order_by=order))
    picks = picks.filter(picks._g < keep).select(
        "customer_id", "_kind", "_n", _total=ibis.null("int64")
    )
    totals = ibis.union(
        *(
            staged[kind]
            .filter(staged[kind]._n == 0)
            .select("customer_id", _kind=ibis.literal(kind), _n=ibis.null("int64"), _total="_total")
            for kind in KINDS
        )
    )
    return ibis.union(picks.cast(totals.schema()), totals)


def _stage_consents(
    engine: Engine, config: IdentityConfig, scope: ir.Table | None, values: Sequence[str] | None
) -> ir.Table:
    t = rows_with_customer(engine, config, "consents", values)
    t = _scoped(t.filter(t.customer_id.notnull()), scope)
    return latest_consents(t, by=["customer_id"])


def _stages(
    engine: Engine,
    config: IdentityConfig,
    scope: ir.Table | None,
    keep: int,
    values: Sequence[str] | None,
) -> dict[str, ir.Table]:
    ids = engine.table("identifier_map")
    mapped = _scoped(engine.table("customer_map"), scope)
    stages: dict[str, ir.Table] = {
        "golden": _scoped(engine.table("customers"), scope),
        "identifiers": _scoped(ids, scope).select("customer_id", "id_type", "id_value", "records"),
        "records": records_table(engine, mapped),
        "consents": _stage_consents(engine, config, scope, values),
    }
    for kind in KINDS:
        stages[kind] = _stage_timeline(engine, config, kind, scope, keep, values)
    return stages


#: Up to this many identifier values, a build for some customers first narrows each table to
#: the rows that carry one of them (an IN list); beyond, it joins the whole tables.
MAX_NARROWING_VALUES = 20_000


def identifier_values(engine: Engine, customer_ids: Sequence[str] | None) -> list[str] | None:
    """The identifier values of ``customer_ids`` (``None``: all customers, or too many)."""
    if customer_ids is None:
        return None
    ids = engine.table("identifier_map")
    found = engine.to_pyarrow(
        ids.filter(ids.customer_id.isin(sorted(set(customer_ids)))).select("id_value").distinct()
    )
    values = [str(v) for v in found.column("id_value").to_pylist() if v is not None]
    return values if len(values) <= MAX_NARROWING_VALUES else None


def _grouped(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {k: list(g) for k, g in itertools.groupby(rows, key=lambda r: r["customer_id"])}


def _extra_value(rows: list[dict[str, Any]], many: bool) -> Any:
    cleaned = [
        {k: iso_utc(v) for k, v in r.items() if k != "customer_id" and not k.startswith("_")}
        for r in rows
    ]
    if many:
        return cleaned
    return cleaned[0] if cleaned else None


def _document(
    golden: dict[str, Any],
    parts: dict[str, dict[str, list[dict[str, Any]]]],
    built: str,
    extras: Mapping[str, Extra] | None = None,
) -> dict[str, Any]:
    cid = golden["customer_id"]
    records = [record_of(r) for r in parts["records"].get(cid, [])]
    sort_records(records)
    counts = dict.fromkeys(KINDS, 0)
    wanted: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for pick in parts["newest"].get(cid, []):
        if pick["_n"] is None:
            counts[pick["_kind"]] = pick["_total"]
        else:
            wanted[pick["_kind"]].add(pick["_n"])
    timeline = []
    for kind in KINDS:
        rows = [r for r in parts[kind].get(cid, []) if r["_n"] in wanted[kind]]
        items = None
        if kind == "order":
            items = {r["order_id"]: {"units": r["_units"], "lines": r["_lines"]} for r in rows}
        timeline += entries(kind, rows, items)
    newest_first(timeline)
    profile = Profile(
        customer_id=cid,
        **{f: golden.get(f) for f in GOLDEN_FIELDS},
        created_at=golden.get("created_at"),
        updated_at=golden.get("updated_at"),
        provenance=parse_provenance(golden.get("provenance")),
        identifiers=[
            ProfileIdentifier(r["id_type"], r["id_value"], r["records"])
            for r in parts["identifiers"].get(cid, [])
        ],
        records=records,
        consents=[
            ConsentState(r["channel"], r["purpose"], r["status"], r["recorded_at"], r["_source"])
            for r in parts["consents"].get(cid, [])
        ],
        timeline=timeline,
    )
    doc = profile.to_dict()
    doc["timeline_counts"] = counts
    for name, extra in (extras or {}).items():
        doc[name] = _extra_value(parts[f"extra:{name}"].get(cid, []), extra.many)
    doc["materialised_at"] = built
    doc["masked"] = False
    return doc


_ORDER = {
    "identifiers": ("id_type", "id_value"),
    "records": ("source", "source_key"),
    "consents": ("channel", "purpose"),
    "newest": ("_kind", "_n"),
}


@dataclass(frozen=True)
class Extra:
    """A part of the documents that a layer above the profile computes: ``table`` has a
    ``customer_id`` column; with ``many`` a customer's rows become a list (ordered by
    ``order_by``), else the customer's one row becomes an object (null when there is none)."""

    table: ir.Table
    many: bool = False
    order_by: tuple[str, ...] = ()


def build_documents(
    engine: Engine,
    config: IdentityConfig,
    *,
    customer_ids: Sequence[str] | None = None,
    extras: Mapping[str, Extra] | None = None,
    timeline_entries: int = DEFAULT_TIMELINE_ENTRIES,
    chunk_customers: int = CHUNK_CUSTOMERS,
    now: datetime | None = None,
    progress: Callable[[float], None] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """The profile documents of every customer with a golden record (or of ``customer_ids``),
    a chunk of customers at a time, in customer id order.

    The engine must be writable: the parts are staged as tables (dropped at the end).

    Parameters
    ----------
    customer_ids
        Only these customers (those without a golden record are left out).
    timeline_entries
        Touchpoints each document keeps, newest first.
    chunk_customers
        Customers assembled at a time.
    extras
        More parts by document key (see :class:`Extra`); ``customer_id`` and columns starting
        with ``_`` are left out, times are written with their UTC offset.
    """
    built = (now or datetime.now(UTC)).isoformat()
    scope = None
    if customer_ids is not None:
        if not customer_ids:
            return
        scope = ibis.memtable(
            pa.table({"customer_id": pa.array(sorted(set(customer_ids)), pa.string())})
        )
    names = {part: f"{_STAGE}{part}" for part in ("golden", "identifiers", "records", "consents")}
    names.update({kind: f"{_STAGE}{kind}" for kind in KINDS})
    names["newest"] = f"{_STAGE}newest"
    extras = dict(extras or {})
    names.update({f"extra:{name}": f"{_STAGE}extra_{i}" for i, name in enumerate(extras)})
    try:
        if timeline_entries < 1:
            raise ValueError("timeline_entries must be at least 1")
        stages = _stages(
            engine, config, scope, timeline_entries, identifier_values(engine, customer_ids)
        )
        stages.update({f"extra:{n}": _scoped(e.table, scope) for n, e in extras.items()})
        for step, (part, expr) in enumerate(stages.items()):
            engine.materialise(names[part], expr)
            if progress:
                progress(0.5 * (step + 1) / (len(stages) + 1))
        staged = {kind: engine.table(names[kind]) for kind in KINDS}
        engine.materialise(names["newest"], _stage_newest(staged, timeline_entries))
        golden = engine.table(names["golden"])
        ids = engine.execute(golden.select("customer_id").order_by("customer_id"))["customer_id"]
        ids = ids.tolist()
        for start in range(0, len(ids), chunk_customers):
            lo, hi = ids[start], ids[min(start + chunk_customers, len(ids)) - 1]
            parts: dict[str, dict[str, list[dict[str, Any]]]] = {}
            for part, name in names.items():
                t = engine.table(name)
                t = t.filter(t.customer_id.between(lo, hi))
                order = ["customer_id", *_ORDER.get(part, ())]
                if part.startswith("extra:"):
                    order += list(extras[part[len("extra:") :]].order_by)
                if part in KINDS:
                    order.append("_n")
                    # Only the rows that make the newest entries across kinds.
                    picks = engine.table(names["newest"])
                    picks = picks.filter(picks._kind == part, picks._n.notnull())
                    t = t.semi_join(picks, ["customer_id", "_n"])
                parts[part] = _grouped(engine.records(t.order_by(order)))
            yield [_document(g[0], parts, built, extras) for g in parts["golden"].values()]
            if progress:
                progress(0.5 + 0.5 * min(start + chunk_customers, len(ids)) / len(ids))
    finally:
        for name in names.values():
            engine.drop_table(name)
