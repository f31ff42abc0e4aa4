"""Incremental matching: new and changed person records against the others, with the saved model.

The first resolution of a workspace (and any later one asked to retrain) trains the automatic
Splink model on every person record and saves it in the workspace's ``models/identity/`` folder
with what it was trained under. A later resolution then

1. keeps the probabilistic links of the last run between records that did not change and still
   exist (``identity_links``, rule ``probabilistic``): in the engine, as an expression, except
   those in a customer that a new link reaches (:func:`_last_links`);
2. scores only the **new or changed** records (absent from the last run, or with other match
   fields: their digests are kept beside the model) against all the others and against each
   other, with the saved model (:meth:`MatchModel.predict_new`): the same blocking rules,
   comparisons, parameters and guards as a full match (only the existing records that a
   blocking rule pairs with a new one are given to Splink);
3. runs the cluster check (:mod:`insightloop.identity.consistency`) over the clusters that hold
   a new or changed record: the others are the last run's links, which passed it then.

A record's comparison columns are prepared once and kept in :data:`PREPARED_TABLE`, prepared
again only when the record (its digest) or the release changes.

Term frequencies (how common a first name, family name or postcode is, which weighs an exact
agreement) are those of the training records, saved with the model and used by every later
score: a pair scored in an incremental run and in a rebuild gets the same probability.

Deterministic links and components are recomputed in SQL every run (see
:mod:`insightloop.identity.resolve` for how ids and tables are kept where nothing changed, and
:mod:`insightloop.identity.idmap` for the identifier map). A full match runs instead when
there is no saved model, when the settings that shape the model changed (the thresholds, or the
comparisons and guards, which a new release may change), or when more than
``incremental_max_share`` of the records are new.
``rescore`` scores every pair with the saved model without training: a full rebuild that gives
the same clusters as the incremental runs before it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from insightloop.__about__ import __version__
from insightloop.identity.config import IdentityConfig
from insightloop.identity.probabilistic import (
    ROLES,
    decide,
    match_settings,
    record_table,
    split_ids,
)
from insightloop.identity.resolve import LinkFinder, ProbabilisticLinks
from insightloop.identity.splink_comparisons import comparison_specs
from insightloop.identity.splink_guards import guard_sql
from insightloop.identity.splink_model import MatchModel
from insightloop.identity.splink_prepare import prepare_records
from insightloop.store import Engine
from insightloop.store.engine import quoted
from insightloop.store.scratch import query_arrow

__all__ = ["MODEL_FILE", "PREPARED_TABLE", "Mode", "model_link_finder"]

MODEL_FILE = "identity-model.json"
_STATE_FILE = "identity-model.state.json"

#: ``auto``: incremental when it can be; ``rescore``: every pair with the saved model;
#: ``retrain``: train a new model on every record.
Mode = Literal["auto", "rescore", "retrain"]


def _fingerprint(config: IdentityConfig, table: pa.Table) -> str:
    """What shapes the model: the thresholds, and the comparisons and guards of the columns
    ``table`` prepares to (so a release that compares differently trains a new model)."""
    columns = prepare_records(table.slice(0, 0), ROLES, id_column="record_id").column_names
    specs = comparison_specs(columns, "duckdb")
    shaping = {
        "link": config.link_threshold,
        "review": config.review_threshold,
        "comparisons": [spec.to_splink() for spec in specs],
        "guards": guard_sql(specs, "duckdb", strict=True),
    }
    text = json.dumps(shaping, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _State:
    fingerprint: str
    resolved_at: str

    @classmethod
    def read(cls, folder: Path) -> _State | None:
        try:
            data = json.loads((folder / _STATE_FILE).read_text(encoding="utf-8"))
            return cls(str(data["fingerprint"]), str(data["resolved_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, folder: Path) -> None:
        text = json.dumps({"fingerprint": self.fingerprint, "resolved_at": self.resolved_at})
        (folder / _STATE_FILE).write_text(text, encoding="utf-8")


def _weights(probability: pd.Series) -> pd.Series:
    """Match weight (log2 odds) back from a stored match probability."""
    p = probability.astype(float).clip(1e-15, 1 - 1e-15)
    return np.log2(p / (1 - p))


#: The columns of a link that :class:`~insightloop.identity.resolve.ProbabilisticLinks` holds.
_LINK_FIELDS = ("left_source", "left_key", "right_source", "right_key", "score", "evidence")


def _ids_table(ids: pa.Array | pa.ChunkedArray) -> ir.Table:
    """``source, key`` of record ids (``source|key``), as an in-memory table."""
    source, key = split_ids(ids)
    return ibis.memtable(pa.table({"source": source, "key": key}))


def _on(links: ir.Table, ids: ir.Table, side: str) -> list[ir.BooleanValue]:
    return [links[f"{side}_source"] == ids.source, links[f"{side}_key"] == ids.key]


def _within(links: ir.Table, ids: ir.Table, side: str) -> ir.Table:
    """``links`` whose ``side`` end is one of ``ids`` (``source, key``)."""
    return links.semi_join(ids, _on(links, ids, side))


def _without(links: ir.Table, ids: ir.Table, side: str) -> ir.Table:
    """``links`` whose ``side`` end is none of ``ids`` (``source, key``)."""
    return links.anti_join(ids, _on(links, ids, side))


@dataclass(frozen=True)
class _LastLinks:
    """The last run's probabilistic links between records that did not change, in two parts.

    ``near`` (pandas, as scored pairs) are those in the customers that a new link reaches: the
    cluster check must see them beside the new links. ``far`` (an engine expression, the
    columns of :class:`~insightloop.identity.resolve.ProbabilisticLinks`) are all the others,
    which no new link can reach: they stay in the engine, as they are (a million records hold
    about 370,000, which pandas took 2.5 s to carry through).
    """

    near: pd.DataFrame
    far: ir.Table


def _last_links(engine: Engine, dropped: pa.Array, reached: pa.Array) -> _LastLinks:
    """Split the last run's probabilistic links (see :class:`_LastLinks`).

    ``dropped``: ids of the records whose links go: the new or changed ones (scored again) and
    those gone since. ``reached``: ids at an end of a new link. A link of the last run lies
    within one customer of the last run (``customer_map``), so the links a new link connects to
    are among those with an end in a customer that holds a reached record.
    """
    links = engine.table("identity_links")
    links = links.filter(links.rule == "probabilistic")
    if len(dropped):
        gone = _ids_table(dropped)
        links = _without(_without(links, gone, "left"), gone.view(), "right")
    cmap = engine.table("customer_map")
    ends = _ids_table(reached)
    customers = cmap.semi_join(ends, [cmap.source == ends.source, cmap.source_key == ends.key])
    members = cmap.semi_join(customers.select("customer_id"), "customer_id").select(
        source=cmap.source, key=cmap.source_key
    )
    near = _within(links, members, "left").union(_within(links, members, "right"))
    found = engine.to_pyarrow(
        near.select(
            left_id=near.left_source + "|" + near.left_key,
            right_id=near.right_source + "|" + near.right_key,
            match_probability=near.score,
            evidence=near.evidence,
        ).distinct()
    )
    far = _without(_without(links, members, "left"), members.view(), "right")
    frame = found.sort_by([("left_id", "ascending"), ("right_id", "ascending")]).to_pandas()
    frame = frame.assign(match_weight=_weights(frame["match_probability"]), decision="link")
    return _LastLinks(frame, far.select(*_LINK_FIELDS))


_SIGNATURES_FILE = "identity-records.parquet"


# Each half of the MD5 is shifted into a signed 64-bit integer: Spark has no unsigned type.
_HALF = "CAST(9223372036854775808 AS HUGEINT)"
_LOW = "CAST(18446744073709551615 AS UHUGEINT)"


def _signatures(table: pa.Table) -> pa.Table:
    """``record_id`` and a 128-bit digest of the record's match fields (MD5, as ``md5_hi`` and
    ``md5_lo``): what changes when the record does (a new CRM version, an account's newer order
    or traits). Digests only: no personal data is kept beside the model. Computed by DuckDB over
    the Arrow table, on every core (0.5 s at a million records; two vectorised SipHashes in
    pandas took 2.5 s)."""
    fields = [c for c in table.column_names if c not in ("record_id", "updated_at")]
    texts = [f"coalesce(CAST({quoted(c)} AS VARCHAR), '')" for c in fields] or ["''"]
    return query_arrow(
        f"""
        WITH digests AS (
            SELECT record_id,
                   CAST(md5_number(concat_ws(chr(31), {", ".join(texts)})) AS UHUGEINT) AS md5
            FROM records
        )
        SELECT record_id,
               CAST(CAST(md5 >> 64 AS HUGEINT) - {_HALF} AS BIGINT) AS md5_hi,
               CAST(CAST(md5 & {_LOW} AS HUGEINT) - {_HALF} AS BIGINT) AS md5_lo
        FROM digests
        """,
        {"records": table.select(["record_id", *fields])},
    )


def _last_signatures(folder: Path, signatures: pa.Table) -> str | None:
    """The file of the last run's signatures, when there is one of the layout of
    ``signatures``."""
    path = folder / _SIGNATURES_FILE
    try:
        layout = pq.read_schema(path).names
    except (OSError, pa.ArrowInvalid):
        return None
    return str(path) if layout == signatures.column_names else None


def _new_records(folder: Path, signatures: pa.Table) -> pa.Array:
    """Which records are new or changed since the signatures of the last run (an anti-join in
    DuckDB straight from the Parquet file: 0.3 s at a million records)."""
    path = _last_signatures(folder, signatures)
    mask = np.ones(signatures.num_rows, dtype=bool)
    if path is None:
        return pa.array(mask)
    same = query_arrow(
        "SELECT n._row FROM now AS n SEMI JOIN read_parquet(?) AS b ON n.record_id = "
        "b.record_id AND n.md5_hi = b.md5_hi AND n.md5_lo = b.md5_lo",
        {"now": signatures.append_column("_row", pa.array(np.arange(len(mask))))},
        [path],
    )
    mask[same["_row"].to_numpy()] = False
    return pa.array(mask)


def _gone_records(folder: Path, signatures: pa.Table) -> pa.Array | None:
    """Ids of the records of the last run that are no more (deleted, or with nothing left to
    match on), from its signatures; ``None`` without them (every record is then new)."""
    path = _last_signatures(folder, signatures)
    if path is None:
        return None
    found = query_arrow(
        "SELECT b.record_id FROM read_parquet(?) AS b ANTI JOIN now AS n "
        "ON b.record_id = n.record_id",
        {"now": signatures.select(["record_id"])},
        [path],
    )
    return found["record_id"].combine_chunks()


#: The prepared comparison columns of each person record of the last resolution, with the
#: record's signature and the release that prepared it: a record whose signature is unchanged is
#: not prepared again (names, nicknames and addresses are worked out value by value in Python:
#: 3 s at a million records). Personal data, in the workspace's database like the records.
PREPARED_TABLE = "_identity_prepared"
_SIGNATURE_COLUMNS = ("md5_hi", "md5_lo")


@dataclass(frozen=True)
class _Prepared:
    """Prepared comparison columns of every record, and the rows :data:`PREPARED_TABLE` lacks.

    ``records`` holds the rows read back first, then the ``fresh`` ones (in ``table`` order
    only when asked for). ``fresh`` carries the signatures and release beside the columns;
    ``whole`` says the table must be written anew (it was missing or of another layout).
    """

    records: pa.Table
    fresh: pa.Table
    whole: bool


def _prepare(engine: Engine, table: pa.Table, signatures: pa.Table, *, ordered: bool) -> _Prepared:
    """The prepared comparison columns of ``table``'s records: from :data:`PREPARED_TABLE` for
    the records whose signature it holds (prepared by this release), prepared for the others.
    ``ordered``: in ``table``'s order (training samples records by position; a reorder of a
    million rows costs 0.6 s, which an incremental run does without)."""
    empty = prepare_records(table.slice(0, 0), ROLES, id_column="record_id")
    columns = [*empty.column_names, *_SIGNATURE_COLUMNS, "prepared_by"]
    whole = (
        not engine.has_table(PREPARED_TABLE)
        or engine.table(PREPARED_TABLE).columns != tuple(columns)
        or engine.table(PREPARED_TABLE).schema()["md5_hi"] != dt.int64
    )
    if whole:
        reused = empty
    else:
        cache = engine.table(PREPARED_TABLE)
        sig = ibis.memtable(signatures)
        hit = cache.filter(cache.prepared_by == __version__).semi_join(
            sig,
            [
                cache.unique_id == sig.record_id,
                cache.md5_hi == sig.md5_hi,
                cache.md5_lo == sig.md5_lo,
            ],
        )
        reused = engine.to_pyarrow(hit.select(*empty.column_names)).cast(empty.schema)
    missing = pc.invert(pc.is_in(table["record_id"], value_set=reused["unique_id"]))
    fresh = prepare_records(table.filter(missing), ROLES, id_column="record_id")
    records = pa.concat_tables([reused, fresh.cast(empty.schema)])
    if ordered and reused.num_rows:
        records = records.take(pc.index_in(table["record_id"], value_set=records["unique_id"]))
    kept = signatures.filter(missing)
    fresh = fresh.replace_schema_metadata(None)
    for column in _SIGNATURE_COLUMNS:
        fresh = fresh.append_column(column, kept[column])
    fresh = fresh.append_column(
        "prepared_by", pa.repeat(pa.scalar(__version__, pa.string()), fresh.num_rows)
    )
    return _Prepared(records.replace_schema_metadata(empty.schema.metadata), fresh, whole)


def _keep_prepared(engine: Engine, prepared: _Prepared, signatures: pa.Table) -> None:
    """Bring :data:`PREPARED_TABLE` up to this run: the rows of records gone, changed or
    prepared by another release are removed, and the fresh rows added."""
    if prepared.whole:
        engine.materialise(PREPARED_TABLE, ibis.memtable(prepared.fresh))
        return
    cache = engine.table(PREPARED_TABLE)
    sig = ibis.memtable(signatures)
    changed = cache.anti_join(
        sig,
        [
            cache.unique_id == sig.record_id,
            cache.md5_hi == sig.md5_hi,
            cache.md5_lo == sig.md5_lo,
        ],
    )
    # The release apart: a constant in the join's condition makes DuckDB compare every pair.
    older = cache.filter(cache.prepared_by != __version__)
    stale = changed.select("unique_id").union(older.select("unique_id"))
    engine.delete_matching(PREPARED_TABLE, engine.to_pyarrow(stale.select("unique_id")))
    if prepared.fresh.num_rows:
        engine.insert(PREPARED_TABLE, prepared.fresh)


def model_link_finder(folder: Path, *, mode: Mode = "auto") -> LinkFinder:
    """A :data:`~insightloop.identity.resolve.LinkFinder` that keeps its model in ``folder``.

    Parameters
    ----------
    folder
        Where the model and its state live (the workspace's ``models/identity``).
    mode
        ``auto`` (incremental when possible), ``rescore`` or ``retrain`` (see the module notes).
    """

    def find(engine: Engine, records: pa.Table, config: IdentityConfig) -> ProbabilisticLinks:
        folder.mkdir(parents=True, exist_ok=True)
        table = record_table(records)
        now = datetime.now(UTC).replace(tzinfo=None).isoformat()
        state = _State.read(folder)
        signatures = _signatures(table)
        fingerprint = _fingerprint(config, table)
        usable = (
            mode != "retrain"
            and state is not None
            and state.fingerprint == fingerprint
            and (folder / MODEL_FILE).exists()
            and engine.count("customer_map") > 0
        )
        if table.num_rows < 2:
            return decide(pd.DataFrame(), table, {"records": table.num_rows, "mode": "none"})
        new = _new_records(folder, signatures)
        share = pc.sum(new).as_py() or 0
        if not usable or state is None:
            how = "train"
        elif mode == "rescore":
            how = "rescore"
        elif not config.incremental or share > config.incremental_max_share * table.num_rows:
            how = "train"
        else:
            how = "incremental"
        prepared = _prepare(engine, table, signatures, ordered=how == "train")
        if how == "train":
            found = _train(engine, table, prepared.records, config, folder)
        elif how == "rescore":
            found = _rescore(engine, table, prepared.records, folder)
        else:
            gone = _gone_records(folder, signatures)
            found = _incremental(engine, table, prepared.records, new, gone, folder)
        _keep_prepared(engine, prepared, signatures)
        _State(fingerprint, now).write(folder)
        pq.write_table(signatures, folder / _SIGNATURES_FILE)
        return found

    return find


def _tf_file(folder: Path, column: str) -> Path:
    return folder / f"identity-tf-{column}.parquet"


def _load_tf(model: MatchModel, folder: Path) -> None:
    tables = {
        column: pq.read_table(_tf_file(folder, column))
        for column in model.tf_columns
        if _tf_file(folder, column).exists()
    }
    model.freeze_term_frequencies(tables)


def _train(
    engine: Engine, table: pa.Table, prepared: pa.Table, config: IdentityConfig, folder: Path
) -> ProbabilisticLinks:
    with MatchModel.train(prepared, settings=match_settings(config), engine=engine) as model:
        # The name and postcode frequencies of training day weigh every later score too, so
        # that incremental runs and rebuilds score a pair alike.
        tables = MatchModel.term_frequencies(prepared, model.tf_columns)
        model.freeze_term_frequencies(tables)
        scored = model.predict().to_pandas()
        model.save(folder / MODEL_FILE)
        for column, tf in tables.items():
            pq.write_table(tf, _tf_file(folder, column))
        report = model.report
    return decide(scored, table, {"records": table.num_rows, "mode": "trained", **_brief(report)})


def _rescore(
    engine: Engine, table: pa.Table, prepared: pa.Table, folder: Path
) -> ProbabilisticLinks:
    with MatchModel.load(folder / MODEL_FILE, engine=engine) as model:
        _load_tf(model, folder)
        model.attach(prepared)
        scored = model.predict().to_pandas()
    return decide(scored, table, {"records": table.num_rows, "mode": "rescored"})


def _incremental(
    engine: Engine,
    table: pa.Table,
    prepared: pa.Table,
    new: pa.Array,
    gone: pa.Array | None,
    folder: Path,
) -> ProbabilisticLinks:
    """Score the ``new`` records (a mask over ``table``) against the others; ``prepared`` holds
    every record, in any order; ``gone``: ids of the last run's records that are no more
    (``None``: unknown, and every record is new, so no link of the last run is kept)."""
    is_new = pc.is_in(prepared["unique_id"], value_set=table["record_id"].filter(new))
    fresh = prepared.filter(is_new)
    scored = pd.DataFrame()
    if fresh.num_rows:
        existing = prepared.filter(pc.invert(is_new))
        with MatchModel.load(folder / MODEL_FILE, engine=engine) as model:
            _load_tf(model, folder)
            scored = model.predict_new(fresh, existing).to_pandas()
    reached = pa.array([], pa.string())
    if not scored.empty:
        ends = scored.loc[scored["decision"] == "link", ["left_id", "right_id"]]
        reached = pa.array(pd.unique(ends.to_numpy().ravel()), pa.string())
    summary = {"records": table.num_rows, "mode": "incremental", "new_records": fresh.num_rows}
    if gone is None:
        return decide(scored, table, summary, changed=fresh["unique_id"])
    dropped = pa.concat_arrays([fresh["unique_id"].combine_chunks(), gone])
    last = _last_links(engine, dropped, reached)
    parts = [p for p in (last.near, scored) if not p.empty]
    scored = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    found = decide(scored, table, summary, changed=fresh["unique_id"])
    return replace(found, kept=last.far)


def _brief(report: dict[str, object]) -> dict[str, object]:
    return {"blocking": report.get("blocking"), "comparisons": report.get("comparisons")}
