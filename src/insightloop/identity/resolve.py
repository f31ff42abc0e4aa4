"""Resolve identities: person records → links → clusters → stable customer ids.

One pass over the workspace (``resolve_identities``), run by the pipeline's ``resolve`` step:

1. person records and their identifiers (:mod:`insightloop.identity.records`);
2. junk values and deterministic links (:mod:`insightloop.identity.stitch`);
3. probabilistic links between records that share no reliable identifier (Splink, through
   :mod:`insightloop.identity.probabilistic`); borderline pairs go to ``identity_review``;
4. connected components over all links, in SQL (:mod:`insightloop.identity.components`);
5. stable ids, merges and splits (:mod:`insightloop.identity.ids`);
6. ``customer_map``, ``identity_links``, ``identifier_map`` and ``merge_log`` written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.components import connected_components
from insightloop.identity.config import IdentityConfig
from insightloop.identity.ids import IdAssignment, assign_ids
from insightloop.identity.records import (
    ACCOUNT,
    DEVICE,
    device_links,
    person_identifiers,
    person_records,
)
from insightloop.identity.stitch import deterministic_edges, junk_values
from insightloop.store import Engine

__all__ = ["LinkFinder", "ResolveReport", "node_id", "resolve_identities"]

_SEP = "|"
_WORK = ("_id_records", "_id_identifiers", "_id_junk", "_id_devices", "_id_edges", "_id_nodes")


@dataclass(frozen=True)
class ProbabilisticLinks:
    """What probabilistic matching found: links at or above the threshold, and the review band."""

    links: pa.Table  # left_source, left_key, right_source, right_key, score, evidence
    review: pa.Table  # the same columns, between the review and link thresholds
    summary: dict[str, Any]


#: Finds probabilistic links among person records (the junk values already removed).
LinkFinder = Callable[[Engine, pa.Table, IdentityConfig], ProbabilisticLinks]


@dataclass(frozen=True)
class ResolveReport:
    """What a resolution did, for the run record and the CLI."""

    records: int
    devices: int
    junk_values: int
    deterministic_links: int
    probabilistic_links: int
    review_pairs: int
    customers: int
    new_customers: int
    kept_customers: int
    merges: int
    splits: int
    identifiers_mapped: int
    seconds: float
    matching: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def node_id(source: ir.StringValue, key: ir.StringValue) -> ir.StringValue:
    """One string per record for the graph: ``source|key``."""
    return source + _SEP + key


def _materialise(engine: Engine, name: str, expr: ir.Table | pa.Table) -> ir.Table:
    if isinstance(expr, pa.Table):
        expr = ibis.memtable(expr)
    engine.materialise(name, expr)
    return engine.table(name)


def _null_junk(records: pa.Table, junk: pa.Table) -> pa.Table:
    """Records with junk e-mails and phones removed, so matching does not count them."""
    for column in ("email", "phone"):
        values = junk.filter(pc.equal(junk["id_type"], column))["id_value"]
        if len(values) == 0:
            continue
        bad = pc.is_in(records[column], value_set=values.combine_chunks())
        cleaned = pc.if_else(
            pc.fill_null(bad, False), pa.scalar(None, pa.string()), records[column]
        )
        records = records.set_column(records.schema.get_field_index(column), column, cleaned)
    return records


def _edges_table(det: ir.Table, prob: pa.Table) -> ir.Table:
    left = det.select(
        left_id=node_id(det.left_source, det.left_key),
        right_id=node_id(det.right_source, det.right_key),
    )
    if prob.num_rows:
        p = ibis.memtable(prob)
        left = left.union(
            p.select(
                left_id=node_id(p.left_source, p.left_key),
                right_id=node_id(p.right_source, p.right_key),
            )
        )
    return left


def resolve_identities(
    engine: Engine,
    config: IdentityConfig,
    *,
    run_id: str,
    now: datetime,
    find_links: LinkFinder | None = None,
    progress: Callable[[float], None] | None = None,
) -> ResolveReport:
    """Resolve every person record of the workspace into customers (see the module steps)."""
    started = time.perf_counter()
    tick = progress or (lambda fraction: None)
    records = person_records(engine, config)
    rec = _materialise(engine, "_id_records", records)
    ids = _materialise(engine, "_id_identifiers", person_identifiers(engine, config))
    junk = _materialise(engine, "_id_junk", junk_values(ids, rec, config))
    devices = _materialise(engine, "_id_devices", device_links(engine))
    det = _materialise(engine, "_id_edges", deterministic_edges(ids, devices, config))
    tick(0.2)
    empty = pa.table(
        {
            "left_source": pa.array([], pa.string()),
            "left_key": pa.array([], pa.string()),
            "right_source": pa.array([], pa.string()),
            "right_key": pa.array([], pa.string()),
            "score": pa.array([], pa.float64()),
            "evidence": pa.array([], pa.string()),
        }
    )
    found = ProbabilisticLinks(empty, empty, {})
    if find_links is not None and records.num_rows:
        found = find_links(engine, _null_junk(records, engine.to_pyarrow(junk)), config)
    tick(0.6)
    # Every record, every account (also those only the events know), and the devices that
    # ever logged in; a device that never did is an anonymous visitor, not a customer.
    accounts = ids.filter(ids.record_source == ACCOUNT)
    nodes = (
        rec.select(node_id=node_id(rec.record_source, rec.record_key))
        .union(accounts.select(node_id=node_id(accounts.record_source, accounts.record_key)))
        .union(devices.select(node_id=node_id(ibis.literal(DEVICE), devices.anonymous_id)))
    )
    nodes = _materialise(engine, "_id_nodes", nodes.distinct())
    comp = connected_components(
        engine, _edges_table(det, found.links), nodes=nodes, output="_id_components"
    )
    clusters = engine.table(comp.table)
    split = clusters.node_id.find(_SEP)
    clusters = clusters.select(
        record_source=clusters.node_id.substr(0, split),
        record_key=clusters.node_id.substr(split + 1),
        component=clusters.component_id,
    )
    tick(0.75)
    previous = engine.table("customer_map").select(
        "source", "source_key", "customer_id", "assigned_at"
    )
    assignment = assign_ids(
        engine.to_pyarrow(clusters).to_pandas(), engine.to_pyarrow(previous).to_pandas(), now
    )
    mapped = _write(engine, assignment, det, found, ids, junk, run_id, now)
    counts = {name: engine.count(name) for name in ("_id_devices", "_id_junk", "_id_edges")}
    _drop_work(engine, [*_WORK, comp.table])
    tick(1.0)
    return ResolveReport(
        records=records.num_rows,
        devices=counts["_id_devices"],
        junk_values=counts["_id_junk"],
        deterministic_links=counts["_id_edges"],
        probabilistic_links=found.links.num_rows,
        review_pairs=found.review.num_rows,
        customers=int(assignment.records["customer_id"].nunique()),
        new_customers=assignment.new_customers,
        kept_customers=assignment.kept_customers,
        merges=len(assignment.merges),
        splits=len(assignment.splits),
        identifiers_mapped=mapped,
        seconds=round(time.perf_counter() - started, 2),
        matching=found.summary,
    )


def _write(
    engine: Engine,
    assignment: IdAssignment,
    det: ir.Table,
    found: ProbabilisticLinks,
    ids: ir.Table,
    junk: ir.Table,
    run_id: str,
    now: datetime,
) -> int:
    """Replace the identity tables with this run's result; return identifiers mapped."""
    frame = assignment.records
    cmap = pa.table(
        {
            "source": pa.array(frame["record_source"], pa.string()),
            "source_key": pa.array(frame["record_key"], pa.string()),
            "customer_id": pa.array(frame["customer_id"], pa.string()),
            "assigned_at": pa.array(pd.to_datetime(frame["assigned_at"]), pa.timestamp("us")),
            "run_id": pa.repeat(pa.scalar(run_id, pa.string()), len(frame)),
        }
    )
    links = engine.to_pyarrow(
        det.select(
            "left_source",
            "left_key",
            "right_source",
            "right_key",
            "rule",
            score=ibis.literal(1.0),
            evidence=ibis.null("string"),
        )
    )
    prob = found.links
    prob_links = pa.table(
        {
            "left_source": prob["left_source"],
            "left_key": prob["left_key"],
            "right_source": prob["right_source"],
            "right_key": prob["right_key"],
            "rule": pa.repeat(pa.scalar("probabilistic", pa.string()), prob.num_rows),
            "score": prob["score"],
            "evidence": prob["evidence"],
        }
    )
    all_links = pa.concat_tables([links.cast(prob_links.schema), prob_links])
    all_links = all_links.append_column(
        "run_id", pa.repeat(pa.scalar(run_id, pa.string()), all_links.num_rows)
    )
    with engine.transaction():
        _replace(engine, "customer_map", cmap)
        _replace(engine, "identity_links", all_links)
        mapped = _identifier_map(engine, ids, junk, run_id)
        _replace(engine, "identifier_map", mapped)
        _queue_review(engine, found.review, run_id)
        log = assignment.log_rows(now)
        if log:
            engine.insert("merge_log", log)
    return mapped.num_rows


def _replace(engine: Engine, name: str, rows: pa.Table) -> None:
    current = engine.table(name)
    engine.delete_matching(name, engine.to_pyarrow(current.select(current.columns[0]).distinct()))
    if rows.num_rows:
        engine.insert(name, rows)


def _identifier_map(engine: Engine, ids: ir.Table, junk: ir.Table, run_id: str) -> pa.Table:
    """Each identifier value to the customer holding it on most records (ties: nobody)."""
    cmap = engine.table("customer_map")
    usable = ids.anti_join(junk, ["id_type", "id_value"])
    held = usable.join(
        cmap, [usable.record_source == cmap.source, usable.record_key == cmap.source_key]
    )
    per = held.group_by(["id_type", "id_value", "customer_id"]).aggregate(records=held.count())
    window = ibis.window(group_by=[per.id_type, per.id_value], order_by=ibis.desc(per.records))
    ranked = per.mutate(
        _rank=ibis.row_number().over(window),
        _holders=per.count().over(ibis.window(group_by=[per.id_type, per.id_value])),
        _second=per.records.lead().over(window),
    )
    best = ranked.filter((ranked._rank == 0) & ranked._second.fill_null(0).__lt__(ranked.records))
    out = best.select(
        "id_type",
        "id_value",
        "customer_id",
        "records",
        rule=ibis.ifelse(best._holders == 1, "only", "most records"),
        run_id=ibis.literal(run_id),
    )
    return engine.to_pyarrow(out)


def _queue_review(engine: Engine, review: pa.Table, run_id: str) -> None:
    """Add new borderline pairs to the review queue; decided pairs are kept as decided."""
    if not review.num_rows:
        return
    queue = engine.table("identity_review")
    keys = ["left_source", "left_key", "right_source", "right_key"]
    fresh = ibis.memtable(review.select([*keys, "score", "evidence"]))
    new = fresh.anti_join(queue, keys).mutate(
        status=ibis.literal("open"),
        decided_by=ibis.null("string"),
        decided_at=ibis.null("timestamp"),
        run_id=ibis.literal(run_id),
    )
    rows = engine.to_pyarrow(new)
    if rows.num_rows:
        engine.insert("identity_review", rows)


def _drop_work(engine: Engine, names: list[str]) -> None:
    for name in names:
        if engine.has_table(name):
            engine.con.drop_table(name, force=True)
