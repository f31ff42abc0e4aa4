"""Resolve identities: person records → links → clusters → stable customer ids.

One pass over the workspace (``resolve_identities``), run by the pipeline's ``resolve`` step:

1. person records and their identifiers (:mod:`insightloop.identity.records`);
2. junk values and deterministic links (:mod:`insightloop.identity.stitch`);
3. probabilistic links between records that share no reliable identifier (Splink, through
   :mod:`insightloop.identity.probabilistic`); borderline pairs go to ``identity_review``;
4. manual decisions applied (:mod:`insightloop.identity.decisions`): must-links added,
   cannot-links override the links that would join their sides;
5. connected components over the links that count, in SQL
   (:mod:`insightloop.identity.components`);
6. stable ids, merges and splits (:mod:`insightloop.identity.ids`); a component that is exactly
   an earlier customer keeps its id without being looked at (:func:`assign_clusters`);
7. ``identity_links`` and ``merge_log`` written; ``customer_map`` and ``identity_records``
   (the person records as compared, for the review pages) updated where their rows changed
   (:func:`~insightloop.store.changes.sync_rows`); ``identifier_map`` for the values whose
   carriers changed (:mod:`insightloop.identity.idmap`).

Every run writes its work tables as temporary tables of the connection (``temp=True``); an
incremental run keeps the last run's links in the engine (``ProbabilisticLinks.kept``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
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
from insightloop.identity.decisions import (
    LINK_COLUMNS,
    SEP,
    Decision,
    cannot_links,
    load_decisions,
    manual_links,
    mark_crossings,
    mark_isolations,
    node_id,
    protected_groups,
    typed_links,
)
from insightloop.identity.idmap import update_identifier_map
from insightloop.identity.ids import IdAssignment, assign_ids
from insightloop.identity.records import (
    ACCOUNT,
    DEVICE,
    RECORD_COLUMNS,
    RECORDS_TABLE,
    device_links,
    person_identifiers,
    person_records,
)
from insightloop.identity.stitch import (
    deterministic_edges,
    junk_values,
    one_person_device_edges,
)
from insightloop.store import Engine
from insightloop.store.changes import sync_rows

__all__ = [
    "Clustering",
    "LinkFinder",
    "ResolveReport",
    "assign_clusters",
    "cluster_records",
    "current_customers",
    "node_id",
    "rebuild_identifier_map",
    "resolve_identities",
    "review_id",
    "write_customers",
]

_WORK = (
    "_id_records",
    "_id_identifiers",
    "_id_junk",
    "_id_devices",
    "_id_edges",
    "_id_device_edges",
    "_id_nodes",
)


@dataclass(frozen=True)
class ProbabilisticLinks:
    """What probabilistic matching found: links at or above the threshold, and the review band.

    ``kept``: links of the last run that an incremental run keeps as they are (between records
    that still exist), left in the engine, with the columns of ``links``.
    """

    links: pa.Table  # left_source, left_key, right_source, right_key, score, evidence
    review: pa.Table  # the same columns, between the review and link thresholds
    summary: dict[str, Any]
    kept: ir.Table | None = None


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
    decisions: int
    overridden_links: int
    identifiers_mapped: int
    seconds: float
    matching: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def review_id(left_source: str, left_key: str, right_source: str, right_key: str) -> str:
    """The stable id of a review pair: 12 hex digits of the SHA-1 of ``left|right``.

    Examples
    --------
    >>> review_id("crm", "C1", "loyalty", "L9")
    'bd62c603cb69'
    """
    text = SEP.join((left_source, left_key, right_source, right_key))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


_EMPTY_LINKS = pa.table(
    {
        "left_source": pa.array([], pa.string()),
        "left_key": pa.array([], pa.string()),
        "right_source": pa.array([], pa.string()),
        "right_key": pa.array([], pa.string()),
        "score": pa.array([], pa.float64()),
        "evidence": pa.array([], pa.string()),
    }
)


def _materialise(engine: Engine, name: str, expr: ir.Table | pa.Table) -> ir.Table:
    if isinstance(expr, pa.Table):
        expr = ibis.memtable(expr)
    engine.materialise(name, expr, temp=True)
    return engine.table(name)


def _snapshot(records: pa.Table, run_id: str) -> pa.Table:
    """The person records as compared, for :data:`RECORDS_TABLE` (junk values kept: the review
    pages show a record as its sources wrote it), in key order: DuckDB then skips the row groups
    whose key range holds none of the keys a page asks for (10 ms instead of 200 ms at 3.5
    million records)."""
    snapshot = records.select(list(RECORD_COLUMNS)).append_column(
        "run_id", pa.repeat(pa.scalar(run_id, pa.string()), records.num_rows)
    )
    return snapshot.sort_by([("record_key", "ascending"), ("record_source", "ascending")])


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


def _links_expr(
    det: ir.Table, prob: pa.Table, run_id: str, kept: ir.Table | None = None
) -> ir.Table:
    """Deterministic and probabilistic links (``prob``, and ``kept`` in the engine), as
    :data:`~.decisions.LINK_COLUMNS`."""
    ends = ("left_source", "left_key", "right_source", "right_key")
    links = det.select(
        *ends, "rule", score=ibis.literal(1.0), evidence=ibis.null("string"),
        run_id=ibis.literal(run_id),
    )  # fmt: skip
    probabilistic = [ibis.memtable(prob)] if prob.num_rows else []
    for p in [*probabilistic, *([] if kept is None else [kept])]:
        score, evidence = p.score.cast("float64"), p.evidence.cast("string")
        rule, run = ibis.literal("probabilistic"), ibis.literal(run_id)
        links = links.union(p.select(*ends, rule=rule, score=score, evidence=evidence, run_id=run))
    return links


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
    # What the SQL steps read of a record (its key, and the family name for junk values): the
    # whole records would cost a second a million to copy into the engine.
    rec = _materialise(
        engine, "_id_records", records.select(["record_source", "record_key", "last_name"])
    )
    ids = _materialise(engine, "_id_identifiers", person_identifiers(engine, config))
    junk = _materialise(engine, "_id_junk", junk_values(ids, rec, config))
    devices = _materialise(engine, "_id_devices", device_links(engine))
    det = _materialise(engine, "_id_edges", deterministic_edges(ids, devices, config))
    tick(0.2)
    found = ProbabilisticLinks(_EMPTY_LINKS, _EMPTY_LINKS, {})
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
    decisions = load_decisions(engine)
    links = _links_expr(det, found.links, run_id, found.kept)
    clustering = cluster_records(engine, links, nodes, decisions, run_id=run_id)
    # A device that logged in as several accounts joins them once the clusters show that they
    # are one customer's (stitch.one_person_device_edges); that takes a second clustering.
    shared = _materialise(
        engine,
        "_id_device_edges",
        one_person_device_edges(devices, engine.table(clustering.components), config),
    )
    if engine.count("_id_device_edges"):
        _drop_work(engine, [clustering.links, clustering.components])
        more = _links_expr(shared, _EMPTY_LINKS, run_id)
        clustering = cluster_records(engine, links.union(more), nodes, decisions, run_id=run_id)
    tick(0.75)
    assignment = assign_clusters(engine, clustering, None, now)
    with engine.transaction():
        write_customers(engine, assignment, clustering, run_id)
        sync_rows(
            engine, RECORDS_TABLE, _snapshot(records, run_id), ["record_key", "record_source"],
            ignore=["run_id"],
        )  # fmt: skip
        mapped = update_identifier_map(engine, ids, junk, run_id)
        _queue_review(engine, found.review, run_id)
        log = assignment.log_rows(now)
        if log:
            engine.insert("merge_log", log)
    customers = int(engine.execute(engine.table("customer_map").customer_id.nunique()))
    links = engine.table(clustering.links)
    [tally] = engine.records(
        links.aggregate(
            overridden=links.overridden_by.notnull().sum().fill_null(0),
            probabilistic=(links.rule == "probabilistic").sum().fill_null(0),
        )
    )
    counts = {name: engine.count(name) for name in ("_id_devices", "_id_junk", "_id_edges")}
    counts["_id_edges"] += engine.count("_id_device_edges")
    _drop_work(engine, [*_WORK, clustering.links, clustering.components])
    tick(1.0)
    return ResolveReport(
        records=records.num_rows,
        devices=counts["_id_devices"],
        junk_values=counts["_id_junk"],
        deterministic_links=counts["_id_edges"],
        probabilistic_links=int(tally["probabilistic"]),
        review_pairs=found.review.num_rows,
        customers=customers,
        new_customers=assignment.new_customers,
        kept_customers=assignment.kept_customers,
        merges=len(assignment.merges),
        splits=len(assignment.splits),
        decisions=len(decisions),
        overridden_links=int(tally["overridden"]),
        identifiers_mapped=mapped,
        seconds=round(time.perf_counter() - started, 2),
        matching=found.summary,
    )


@dataclass(frozen=True)
class Clustering:
    """What :func:`cluster_records` materialised.

    Attributes
    ----------
    links
        Table of every link: :data:`LINK_COLUMNS`, ``left_id``, ``right_id`` and
        ``overridden_by`` (the cannot-link decision that keeps the link from counting).
    components
        Table ``node_id, component_id`` over the links that count.
    isolated
        Cannot-links whose sides a path through other records joined, so that their D side
        was isolated.
    """

    links: str
    components: str
    isolated: int


def _components(engine: Engine, links: str, nodes: ir.Table, output: str) -> str:
    t = engine.table(links)
    live = t.filter(t.overridden_by.isnull())
    return connected_components(engine, live, nodes=nodes, output=output, temp=True).table


def _violated(engine: Engine, components: str, cannot: ir.Table) -> list[str]:
    comp = engine.table(components)
    cl = cannot.select(cl_dec=cannot.decision_id, cl_side=cannot.side, cl_node=cannot.node_id)
    hits = comp.join(cl, comp.node_id == cl.cl_node)
    per = hits.group_by(dec=hits.cl_dec, comp=hits.component_id).aggregate(
        sides=hits.cl_side.nunique()
    )
    bad = per.filter(per.sides > 1).select("dec").distinct()
    return sorted(r["dec"] for r in engine.records(bad))


def cluster_records(
    engine: Engine,
    links: ir.Table,
    nodes: ir.Table,
    decisions: Sequence[Decision],
    *,
    run_id: str,
    prefix: str = "_id",
) -> Clustering:
    """Connected components of the records under the links and the active decisions.

    Parameters
    ----------
    engine
        The workspace engine.
    links
        The links found by the rules and matching (:data:`LINK_COLUMNS`); manual links are
        added here from ``decisions``.
    nodes
        Every record (``node_id``), also those without links.
    decisions
        The active decisions.
    run_id
        Written on the manual links.
    prefix
        Prefix of the tables materialised (``<prefix>_links``, ``<prefix>_components``); the
        caller drops them.

    Returns
    -------
    Clustering
        The tables of the links (with ``overridden_by``) and of the components.
    """
    links = typed_links(links)
    manual = manual_links(decisions, nodes, run_id)
    if manual is not None:
        links = links.union(manual)
    keyed = links.mutate(
        left_id=node_id(links.left_source, links.left_key),
        right_id=node_id(links.right_source, links.right_key),
    )
    found = cannot_links(decisions)
    cannot = None if found is None else ibis.memtable(found)
    marked = (
        keyed.mutate(overridden_by=ibis.null("string"))
        if cannot is None
        else mark_crossings(keyed, cannot)
    )
    name, output = f"{prefix}_links", f"{prefix}_components"
    engine.materialise(name, marked, temp=True)
    components = _components(engine, name, nodes, output)
    violated = [] if cannot is None else _violated(engine, components, cannot)
    if not violated:
        return Clustering(name, components, 0)
    assert found is not None
    protect, apart = protected_groups(decisions, violated)
    checked = f"{prefix}_links_checked"
    engine.materialise(
        checked,
        mark_isolations(engine.table(name), ibis.memtable(protect), ibis.memtable(apart)),
        temp=True,
    )
    engine.con.drop_table(name, force=True)
    return Clustering(checked, _components(engine, checked, nodes, output), len(violated))


def current_customers(engine: Engine) -> pd.DataFrame:
    """``customer_map`` as it is: ``source, source_key, customer_id, assigned_at``."""
    cmap = engine.table("customer_map").select("source", "source_key", "customer_id", "assigned_at")
    return engine.to_pyarrow(cmap).to_pandas()


def _clusters(engine: Engine, clustering: Clustering) -> ir.Table:
    """``record_source, record_key, component`` of the components of ``clustering``."""
    clusters = engine.table(clustering.components)
    split = clusters.node_id.find(SEP)
    return clusters.select(
        record_source=clusters.node_id.substr(0, split),
        record_key=clusters.node_id.substr(split + 1),
        component=clusters.component_id,
    )


def assign_clusters(
    engine: Engine, clustering: Clustering, previous: pd.DataFrame | None, now: datetime
) -> IdAssignment:
    """Customer ids for the components of ``clustering``, keeping those of ``previous`` (by
    default the ``customer_map`` of the workspace).

    With the workspace's own ``customer_map``, the components that are exactly an earlier
    customer (every record held by it, and all of its records) are found in the engine and
    keep its id untouched: the returned records are only those of the other components, whose
    ids :func:`~insightloop.identity.ids.assign_ids` works out. An incremental run touches a few
    thousand customers of a million, and pandas then groups those instead of every record.
    """
    clusters = _clusters(engine, clustering)
    if previous is not None:
        return assign_ids(engine.to_pyarrow(clusters).to_pandas(), previous, now)
    cmap = engine.table("customer_map")
    held = clusters.left_join(
        cmap, [clusters.record_source == cmap.source, clusters.record_key == cmap.source_key]
    ).select("record_source", "record_key", "component", "customer_id", "assigned_at")
    per = held.group_by("component").aggregate(
        n=held.count(), known=held.customer_id.count(), ids=held.customer_id.nunique(),
        customer=held.customer_id.max(),
    )  # fmt: skip
    sizes = cmap.group_by(size_of=cmap.customer_id).aggregate(size_n=cmap.count())
    settled = (
        per.filter((per.n == per.known) & (per.ids == 1))
        .join(sizes, per.customer == sizes.size_of)
        .filter(lambda t: t.size_n == t.n)
        .select("component")
    )
    engine.materialise("_id_settled", settled, temp=True)
    try:
        rest = engine.to_pyarrow(held.anti_join(engine.table("_id_settled"), "component"))
        kept = engine.count("_id_settled")
    finally:
        engine.con.drop_table("_id_settled", force=True)
    frame = rest.to_pandas()
    before = frame.dropna(subset=["customer_id"]).rename(
        columns={"record_source": "source", "record_key": "source_key"}
    )
    taken = engine.to_pyarrow(cmap.select("customer_id").distinct())["customer_id"]
    assignment = assign_ids(
        frame[["record_source", "record_key", "component"]],
        before[["source", "source_key", "customer_id", "assigned_at"]],
        now,
        taken=taken.to_pylist(),
    )
    assignment.kept_customers += kept
    return assignment


def write_customers(
    engine: Engine, assignment: IdAssignment, clustering: Clustering, run_id: str
) -> None:
    """Bring ``customer_map`` up to ``assignment`` and replace ``identity_links`` with the links
    of ``clustering`` (call within a transaction).

    The records of ``assignment`` that changed customer are rewritten, with this run's id; the
    records no component holds any more are removed; the others are left as they are (the
    records of a partial assignment, see :func:`assign_clusters`)."""
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
    current = engine.table("customer_map")
    clusters = _clusters(engine, clustering)
    gone = current.anti_join(
        clusters,
        [current.source == clusters.record_source, current.source_key == clusters.record_key],
    )
    engine.delete_matching("customer_map", engine.to_pyarrow(gone.select("source", "source_key")))
    # New rows go in key order, so that look-ups by record key skip most row groups (see
    # _snapshot).
    sync_rows(
        engine, "customer_map", cmap, ["source_key", "source"], ignore=["run_id"], partial=True
    )
    links = engine.table(clustering.links)
    _replace(
        engine, "identity_links", engine.to_pyarrow(links.select(*LINK_COLUMNS, "overridden_by"))
    )


def rebuild_identifier_map(engine: Engine, config: IdentityConfig, run_id: str) -> int:
    """Bring ``identifier_map`` up to the identifiers and the current ``customer_map`` (after a
    manual decision changed it, without a full resolution; see
    :func:`~insightloop.identity.idmap.update_identifier_map`); returns the identifiers mapped."""
    ids = _materialise(engine, "_idm_identifiers", person_identifiers(engine, config))
    records = _materialise(engine, "_idm_records", person_records(engine, config))
    junk = _materialise(engine, "_idm_junk", junk_values(ids, records, config))
    try:
        return update_identifier_map(engine, ids, junk, run_id)
    finally:
        _drop_work(engine, ["_idm_identifiers", "_idm_records", "_idm_junk"])


def _replace(engine: Engine, name: str, rows: pa.Table) -> None:
    current = engine.table(name)
    engine.delete_matching(name, engine.to_pyarrow(current.select(current.columns[0]).distinct()))
    if rows.num_rows:
        engine.insert(name, rows)


def _queue_review(engine: Engine, review: pa.Table, run_id: str) -> None:
    """Add new borderline pairs to the review queue; decided pairs are kept as decided."""
    if not review.num_rows:
        return
    queue = engine.table("identity_review")
    keys = ["left_source", "left_key", "right_source", "right_key"]
    pairs = zip(*(review[k].to_pylist() for k in keys), strict=True)
    ids = [review_id(*pair) for pair in pairs]
    first = {rid: i for i, rid in reversed(list(enumerate(ids)))}  # a pair queued once
    named = (
        review.select([*keys, "score", "evidence"])
        .add_column(0, "review_id", pa.array(ids, pa.string()))
        .take(sorted(first.values()))
    )
    fresh = ibis.memtable(named)
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
