"""Incremental matching: new and changed person records against the others, with the saved model.

The first resolution of a workspace (and any later one asked to retrain) trains the automatic
Splink model on every person record and saves it in the workspace's ``models/identity/`` folder
with what it was trained under. A later resolution then

1. keeps the probabilistic links of the last run between records that did not change
   (``identity_links``, rule ``probabilistic``);
2. scores only the **new or changed** records (absent from the last run, or with other match
   fields: their digests are kept beside the model) against all the others and against each
   other, with the saved model (:meth:`MatchModel.predict_new`): the same blocking rules,
   comparisons, parameters and guards as a full match;
3. runs the cluster check (:mod:`insightloop.identity.consistency`) over all the links.

Term frequencies (how common a first name, family name or postcode is, which weighs an exact
agreement) are those of the training records, saved with the model and used by every later
score: a pair scored in an incremental run and in a rebuild gets the same probability.

Deterministic links, components, ids and the identifier map are recomputed in SQL every run:
they are cheap. A full match runs instead when there is no saved model, when the settings that
shape the model changed (the thresholds, or the comparisons and guards, which a new release may
change), or when more than ``incremental_max_share`` of the records are new.
``rescore`` scores every pair with the saved model without training: a full rebuild that gives
the same clusters as the incremental runs before it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from insightloop.identity.config import IdentityConfig
from insightloop.identity.probabilistic import (
    ROLES,
    decide,
    match_settings,
    record_table,
)
from insightloop.identity.resolve import LinkFinder, ProbabilisticLinks
from insightloop.identity.splink_comparisons import comparison_specs
from insightloop.identity.splink_guards import guard_sql
from insightloop.identity.splink_model import MatchModel
from insightloop.identity.splink_prepare import prepare_records
from insightloop.store import Engine

__all__ = ["MODEL_FILE", "Mode", "model_link_finder"]

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


def _previous_links(engine: Engine, changed: set[str], current: set[str]) -> pd.DataFrame:
    """The last run's probabilistic links between records that still exist and did not
    change."""
    links = engine.table("identity_links")
    links = links.filter(links.rule == "probabilistic")
    frame = engine.to_pyarrow(
        links.select(
            left_id=links.left_source + "|" + links.left_key,
            right_id=links.right_source + "|" + links.right_key,
            match_probability=links.score,
            evidence=links.evidence,
        )
    ).to_pandas()
    frame = frame.drop_duplicates(["left_id", "right_id"])
    keep = ~(frame["left_id"].isin(changed) | frame["right_id"].isin(changed))
    keep &= frame["left_id"].isin(current) & frame["right_id"].isin(current)
    frame = frame[keep]
    return frame.assign(match_weight=_weights(frame["match_probability"]), decision="link")


_SIGNATURES_FILE = "identity-records.parquet"
_SIGNATURE_KEYS = ("insightloop-sig1", "insightloop-sig2")  # SipHash keys: 16 bytes each


def _signatures(table: pa.Table) -> pa.Table:
    """``record_id`` and a 128-bit digest of the record's match fields (``sig_a``, ``sig_b``):
    what changes when the record does (a new CRM version, an account's newer order or traits).
    Digests only: no personal data is kept beside the model."""
    fields = [c for c in table.column_names if c not in ("record_id", "updated_at")]
    texts = [pc.fill_null(table[c].cast(pa.string()), "") for c in fields]
    joined = (
        pc.binary_join_element_wise(*texts, "\x1f").to_numpy(zero_copy_only=False)
        if texts
        else np.full(table.num_rows, "", dtype=object)
    )
    # Two 64-bit SipHashes under different keys, vectorised (a Python SHA-1 per record took
    # 5 s at a million records).
    a, b = (pd.util.hash_array(joined, hash_key=key) for key in _SIGNATURE_KEYS)
    return pa.table({"record_id": table["record_id"], "sig_a": a, "sig_b": b})


def _new_records(folder: Path, signatures: pa.Table) -> pa.Array:
    """Which records are new or changed since the signatures of the last run."""
    try:
        before = pq.read_table(folder / _SIGNATURES_FILE)
    except (OSError, pa.ArrowInvalid):
        before = None
    if before is None or before.column_names != signatures.column_names:
        return pa.array(np.ones(signatures.num_rows, dtype=bool))
    numbered = signatures.append_column("_row", pa.array(np.arange(signatures.num_rows)))
    same = numbered.join(before, keys=["record_id", "sig_a", "sig_b"], join_type="left semi")
    return pc.invert(pc.is_in(numbered["_row"], value_set=same["_row"]))


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
        if not usable or state is None:
            found = _train(engine, table, config, folder)
        elif mode == "rescore":
            found = _rescore(engine, table, config, folder)
        else:
            new = _new_records(folder, signatures)
            share = pc.sum(new).as_py() or 0
            if not config.incremental or share > config.incremental_max_share * table.num_rows:
                found = _train(engine, table, config, folder)
            else:
                found = _incremental(engine, table, new, config, folder)
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
    engine: Engine, table: pa.Table, config: IdentityConfig, folder: Path
) -> ProbabilisticLinks:
    prepared = prepare_records(table, ROLES, id_column="record_id")
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
    engine: Engine, table: pa.Table, config: IdentityConfig, folder: Path
) -> ProbabilisticLinks:
    prepared = prepare_records(table, ROLES, id_column="record_id")
    with MatchModel.load(folder / MODEL_FILE, engine=engine) as model:
        _load_tf(model, folder)
        model.attach(prepared)
        scored = model.predict().to_pandas()
    return decide(scored, table, {"records": table.num_rows, "mode": "rescored"})


def _incremental(
    engine: Engine, table: pa.Table, new: pa.Array, config: IdentityConfig, folder: Path
) -> ProbabilisticLinks:
    prepared = prepare_records(table, ROLES, id_column="record_id")
    fresh = prepared.filter(new)
    changed = set(fresh["unique_id"].to_pylist())
    previous = _previous_links(engine, changed, set(prepared["unique_id"].to_pylist()))
    parts = [previous]
    if fresh.num_rows:
        existing = prepared.filter(pc.invert(new))
        with MatchModel.load(folder / MODEL_FILE, engine=engine) as model:
            _load_tf(model, folder)
            parts.append(model.predict_new(fresh, existing).to_pandas())
    scored = (
        pd.concat([p for p in parts if not p.empty], ignore_index=True)
        if any(not p.empty for p in parts)
        else pd.DataFrame()
    )
    summary = {"records": table.num_rows, "mode": "incremental", "new_records": fresh.num_rows}
    return decide(scored, table, summary)


def _brief(report: dict[str, object]) -> dict[str, object]:
    return {"blocking": report.get("blocking"), "comparisons": report.get("comparisons")}
