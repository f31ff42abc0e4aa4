"""Incremental matching: which records a run scores again (insightloop.identity.incremental)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from insightloop import Workspace
from insightloop.__about__ import __version__
from insightloop.config import load_settings
from insightloop.identity.incremental import (
    _SIGNATURES_FILE,
    PREPARED_TABLE,
    _gone_records,
    _last_links,
    _new_records,
    _signatures,
)
from insightloop.store import Engine
from tests.decorator import mark_with_all_backends
from tests.identity.test_decisions import KEYS, _fixture


def _matching(ws: Workspace) -> dict[str, Any]:
    record = ws.run(["resolve"])
    assert record.status == "succeeded", record.error
    return dict(record.step_records[0].summary["matching"])


@mark_with_all_backends
def test_only_new_and_changed_records_are_scored_again(workspace: Workspace) -> None:
    ws = workspace
    ws.add_config_section("identity", {**KEYS, "incremental_max_share": 1.0})
    _fixture(ws.engine)
    assert _matching(ws)["mode"] == "trained"
    assert (ws.layout.models_dir / "identity" / "identity-model.json").exists()
    # Nothing changed: nothing is scored, the links of the last run stand.
    again = _matching(ws)
    assert (again["mode"], again["new_records"]) == ("incremental", 0)
    # One record changes (a new phone), one arrives.
    ws.engine.update_matching(
        "src_customers", pa.table({"source_key": ["C2"]}), {"phone": "+442222"}
    )
    ws.engine.insert(
        "src_customers",
        [{"_source": "crm", "source_key": "C9", "first_name": "Edsger", "last_name": "Dijkstra",
          "is_current": True}],
    )  # fmt: skip
    later = _matching(ws)
    assert (later["mode"], later["new_records"]) == ("incremental", 2)


def test_changed_thresholds_train_a_new_model(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_config_section("identity", {**KEYS, "review_threshold": 0.8})
    _fixture(ws.engine)
    assert _matching(ws)["mode"] == "trained"
    text = ws.layout.config_file.read_text(encoding="utf-8")
    ws.layout.config_file.write_text(
        text.replace("[identity]\n", "[identity]\nlink_threshold = 0.97\n", 1), encoding="utf-8"
    )
    ws.settings = load_settings(ws.layout.config_file)
    assert _matching(ws)["mode"] == "trained"


def test_a_model_saved_with_other_comparisons_is_trained_again(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    ws.add_config_section("identity", KEYS)
    _fixture(ws.engine)
    assert _matching(ws)["mode"] == "trained"
    assert _matching(ws)["mode"] == "incremental"
    # What an earlier release saved: a fingerprint of the thresholds alone, so of comparisons
    # other than this release's.
    state = ws.layout.models_dir / "identity" / "identity-model.state.json"
    saved = json.loads(state.read_text(encoding="utf-8"))
    shaping = json.dumps({"link": 0.95, "review": 0.8}, sort_keys=True).encode()
    saved["fingerprint"] = hashlib.sha1(shaping).hexdigest()[:16]
    state.write_text(json.dumps(saved), encoding="utf-8")
    assert _matching(ws)["mode"] == "trained"


def test_signatures_tell_new_and_changed_records_from_unchanged(tmp_path: Path) -> None:
    records = pa.table(
        {"record_id": ["a", "b", "c"], "email": ["x@e.example", None, "z@e.example"]}
    )
    pq.write_table(_signatures(records), tmp_path / _SIGNATURES_FILE)
    later = pa.table(
        {"record_id": ["a", "b", "c", "d"], "email": ["x@e.example", "", "y@e.example", None]}
    )
    # b: null and empty are the same text; c changed; d is new.
    assert _new_records(tmp_path, _signatures(later)).to_pylist() == [False, False, True, True]
    # Signatures of another format (an earlier release's) count every record as new.
    pq.write_table(
        pa.table({"record_id": ["a"], "signature": ["0" * 40]}), tmp_path / _SIGNATURES_FILE
    )
    assert _new_records(tmp_path, _signatures(later)).to_pylist() == [True] * 4


def _prepared(ws: Workspace) -> dict[str, tuple[str | None, str]]:
    t = ws.engine.table(PREPARED_TABLE)
    rows = ws.engine.records(t.select("unique_id", "first_name", "prepared_by"))
    return {r["unique_id"]: (r["first_name"], r["prepared_by"]) for r in rows}


def test_records_are_prepared_again_only_when_they_or_the_release_change(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    ws.add_config_section("identity", {**KEYS, "incremental_max_share": 1.0})
    _fixture(ws.engine)
    assert _matching(ws)["mode"] == "trained"
    first = _prepared(ws)
    assert first["crm|C1"] == ("ada", __version__)
    assert {version for _, version in first.values()} == {__version__}
    # Marks that only a fresh preparation removes: C3's row says "kept", C1's claims an older
    # release, and C2 changes (a new phone).
    sql = f"UPDATE {PREPARED_TABLE} SET first_name = ? WHERE unique_id = ?"
    ws.engine.con.con.execute(sql, ["kept", "crm|C3"])
    ws.engine.con.con.execute(sql, ["old", "crm|C1"])
    ws.engine.con.con.execute(
        f"UPDATE {PREPARED_TABLE} SET prepared_by = '0.0' WHERE unique_id = 'crm|C1'"
    )
    ws.engine.con.con.execute(
        f"UPDATE {PREPARED_TABLE} SET first_name = 'old' WHERE unique_id = 'crm|C2'"
    )
    ws.engine.con.raw_sql("UPDATE src_customers SET phone = '+442222' WHERE source_key = 'C2'")
    assert _matching(ws)["mode"] == "incremental"
    later = _prepared(ws)
    assert later["crm|C3"] == ("kept", __version__)  # unchanged: read back, not prepared
    assert later["crm|C1"] == ("ada", __version__)  # prepared by another release: again
    assert later["crm|C2"] == ("alan", __version__)  # changed: again
    assert later.keys() == first.keys()


def _link(left: str, right: str, rule: str = "probabilistic") -> dict[str, Any]:
    (ls, lk), (rs, rk) = left.split("|"), right.split("|")
    return {"left_source": ls, "left_key": lk, "right_source": rs, "right_key": rk,
            "rule": rule, "score": 0.99, "evidence": "{}", "run_id": "r1"}  # fmt: skip


def _pairs_of(engine: Engine, expr: Any) -> set[tuple[str, str]]:
    rows = engine.records(expr)
    return {(f"{r['left_source']}|{r['left_key']}", f"{r['right_source']}|{r['right_key']}")
            for r in rows}  # fmt: skip


@mark_with_all_backends
def test_last_links_near_a_new_link_are_checked_again_and_the_others_stay(
    workspace: Workspace,
) -> None:
    engine = workspace.engine
    customers = {"K1": ["a1", "a2", "a3"], "K2": ["b1", "b2"], "K3": ["c1", "c2"],
                 "K4": ["d1", "d2"]}  # fmt: skip
    engine.insert(
        "customer_map",
        [{"source": "crm", "source_key": key, "customer_id": cid, "run_id": "r1"}
         for cid, keys in customers.items() for key in keys],
    )  # fmt: skip
    engine.insert(
        "identity_links",
        [
            _link("crm|a1", "crm|a2"), _link("crm|a2", "crm|a3"), _link("crm|b1", "crm|b2"),
            _link("crm|c1", "crm|c2"), _link("crm|d1", "crm|d2"),
            # Across two customers (a manual unmerge split them): reached from either end.
            _link("crm|b2", "crm|d1"),
            # Not probabilistic: the rules find it again, it is not the matcher's to keep.
            _link("crm|a1", "crm|a3", rule="email"),
        ],
    )  # fmt: skip
    # c2 changed (its links were scored again); new links reach a3 and d2.
    last = _last_links(engine, pa.array(["crm|c2"]), pa.array(["crm|a3", "crm|d2", "web|n1"]))
    near = set(zip(last.near["left_id"], last.near["right_id"], strict=True))
    assert near == {("crm|a1", "crm|a2"), ("crm|a2", "crm|a3"), ("crm|d1", "crm|d2"),
                    ("crm|b2", "crm|d1")}  # fmt: skip
    assert set(last.near["decision"]) == {"link"}
    assert (last.near["match_weight"] > 0).all()
    assert _pairs_of(engine, last.far) == {("crm|b1", "crm|b2")}
    # Nothing new reached: every link stays in the engine, but those of dropped records.
    last = _last_links(engine, pa.array(["crm|a2"]), pa.array([], pa.string()))
    assert last.near.empty
    assert _pairs_of(engine, last.far) == {
        ("crm|b1", "crm|b2"), ("crm|c1", "crm|c2"), ("crm|d1", "crm|d2"), ("crm|b2", "crm|d1")
    }  # fmt: skip


def test_records_gone_since_the_last_run_are_told_from_its_signatures(tmp_path: Path) -> None:
    before = pa.table({"record_id": ["a", "b", "c"], "email": ["x@e.example", None, None]})
    assert _gone_records(tmp_path, _signatures(before)) is None  # no last run: all is new
    pq.write_table(_signatures(before), tmp_path / _SIGNATURES_FILE)
    # b was deleted (or lost everything to match on); c changed, d is new: neither is gone.
    later = pa.table({"record_id": ["a", "c", "d"], "email": ["x@e.example", "z@e.example", None]})
    assert _gone_records(tmp_path, _signatures(later)).to_pylist() == ["b"]
    pq.write_table(
        pa.table({"record_id": ["a"], "signature": ["0" * 40]}), tmp_path / _SIGNATURES_FILE
    )
    assert _gone_records(tmp_path, _signatures(later)) is None  # another release's format
