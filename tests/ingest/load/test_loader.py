"""Loading declared sources: every row loaded, quarantined or skipped; nothing loaded twice;
changed reference records keep their history; a failed file leaves nothing behind."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from insightloop import Workspace
from insightloop.errors import ConfigError, PipelineError
from insightloop.ingest.load import LoadOptions, load_sources
from insightloop.ingest.load.keys import LoadedKeys
from insightloop.ingest.load.loader import LOAD_MEMORY_LIMIT_MB
from tests.decorator import mark_with_all_backends

CUSTOMERS = {
    "kind": "file",
    "path": "landing/crm/*.csv",
    "entity": "customers",
    "options": {"region": "SE"},
    "mapping": {"source_key": "id", "name_raw": "name", "email": "email", "phone": "phone"},
}
CONTACTS = {
    "kind": "folder",
    "path": "landing/contacts",
    "pattern": "*.csv",
    "entity": "interactions",
    "mapping": {"interaction_id": "id", "channel": "ch", "started_at": "at"},
}
CSV = (
    "id,name,email,phone\n"
    "1,Ada Lovelace,ada@x.se,070-1234567\n"
    "2,Bob Berg,bob@@x,\n"  # invalid e-mail: quarantined
    "2,Bob Berg,bob@@x,\n"  # exact copy: skipped
    ",No Key,n@x.se,\n"  # missing key: quarantined
    "3,Cy Ek,cy@x.se,\n"
)


def _write(ws: Workspace, relative: str, text: str) -> Path:
    path = ws.path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _rows(ws: Workspace, table: str, *columns: str) -> list[tuple[Any, ...]]:
    t = ws.engine.table(table)
    return [tuple(r.values()) for r in ws.engine.records(t.select(*columns).order_by(*columns))]


@mark_with_all_backends
def test_a_file_is_loaded_quarantined_and_accounted_for(workspace: Workspace) -> None:
    workspace.add_source("crm", CUSTOMERS)
    _write(workspace, "landing/crm/a.csv", CSV)
    report = workspace.load()
    [batch] = report.batches
    assert (batch.status, batch.rows_read, batch.rows_loaded) == ("loaded", 5, 2)
    assert (batch.rows_quarantined, batch.duplicates_skipped) == (2, 1)
    assert report.balanced
    assert batch.rejections == {"email_invalid_syntax": 1, "required_missing:source_key": 1}
    assert _rows(workspace, "src_customers", "source_key", "first_name", "email", "phone") == [
        ("1", "Ada", "ada@x.se", "+46701234567"),
        ("3", "Cy", "cy@x.se", None),
    ]
    quarantined = _rows(workspace, "quarantine", "location", "reason_codes", "raw", "batch_id")
    assert [(q[0], q[1]) for q in quarantined] == [
        ("landing/crm/a.csv:3", ["email_invalid_syntax"]),
        ("landing/crm/a.csv:5", ["required_missing:source_key"]),
    ]
    assert json.loads(quarantined[0][2]) == {"id": "2", "name": "Bob Berg", "email": "bob@@x",
                                             "phone": ""}  # fmt: skip
    assert {q[3] for q in quarantined} == {batch.batch_id}
    lineage = _rows(workspace, "src_customers", "_source", "_batch_id", "is_current")
    assert lineage == [("crm", batch.batch_id, True)] * 2


@mark_with_all_backends
def test_a_changed_customer_keeps_its_previous_version(workspace: Workspace) -> None:
    workspace.add_source("crm", CUSTOMERS)
    _write(workspace, "landing/crm/a.csv", CSV)
    first = workspace.load().batches[0]
    _write(workspace, "landing/crm/a.csv", CSV.replace("ada@x.se", "ada@new.se"))
    second = workspace.load().batches[0]
    assert (second.rows_read, second.rows_loaded, second.rows_updated) == (5, 1, 1)
    assert (second.unchanged_rows, second.duplicates_in_batch, second.rows_quarantined) == (1, 1, 2)
    versions = _rows(workspace, "src_customers", "source_key", "email", "is_current", "_batch_id")
    assert versions == [
        ("1", "ada@new.se", True, second.batch_id),
        ("1", "ada@x.se", False, first.batch_id),
        ("3", "cy@x.se", True, first.batch_id),
    ]
    t = workspace.engine.table("src_customers")
    old = workspace.engine.records(t.filter(~t.is_current).select("valid_to"))[0]["valid_to"]
    new = workspace.engine.records(
        t.filter(t.is_current & (t.source_key == "1")).select("valid_from")
    )[0]["valid_from"]
    assert old == new
    # The same quarantined input is replaced, not duplicated.
    assert workspace.engine.count("quarantine") == 2


def test_reloading_the_same_file_changes_nothing(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source("crm", CUSTOMERS)
    _write(ws, "landing/crm/a.csv", CSV)
    ws.load()
    before = {t: ws.engine.count(t) for t in ("src_customers", "quarantine")}
    again = ws.load().batches[0]
    assert again.status == "unchanged"
    assert (again.rows_read, again.rows_loaded) == (0, 0)
    assert {t: ws.engine.count(t) for t in before} == before


def test_a_copy_of_a_loaded_file_under_another_name_is_not_loaded_twice(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    ws.add_source("crm", CUSTOMERS)
    _write(ws, "landing/crm/a.csv", CSV)
    ws.load()
    _write(ws, "landing/crm/b.csv", CSV)
    _write(ws, "landing/crm/c.csv", CSV.replace("3,Cy Ek", "4,Di Lo"))
    report = ws.load()
    assert [(b.location, b.status) for b in report.batches] == [
        ("landing/crm/a.csv", "unchanged"),
        ("landing/crm/b.csv", "unchanged"),
        ("landing/crm/c.csv", "loaded"),
    ]
    c = report.batches[2]
    assert (c.rows_loaded, c.unchanged_rows) == (1, 1)
    assert _rows(ws, "src_customers", "source_key") == [("1",), ("3",), ("4",)]


def test_a_folder_source_picks_up_new_files(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source("interactions", CONTACTS)
    (ws.path / "landing/contacts").mkdir(parents=True)
    assert ws.load().batches == []
    _write(ws, "landing/contacts/day1.csv", "id,ch,at\ni1,phone,2024-01-02 10:00\n")
    assert ws.load().totals()["rows_loaded"] == 1
    _write(ws, "landing/contacts/day2.csv", "id,ch,at\ni2,chat,2024-01-03 11:00\n")
    report = ws.load()
    assert [b.status for b in report.batches] == ["unchanged", "loaded"]
    assert _rows(ws, "interactions", "interaction_id", "channel") == [
        ("i1", "phone"),
        ("i2", "chat"),
    ]


def test_a_changed_transaction_replaces_its_earlier_version(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source(
        "shop",
        {
            "kind": "file",
            "path": "landing/orders.jsonl",
            "entity": "orders",
            "mapping": {"order_id": "id", "ordered_at": "at", "total_amount": "total",
                        "currency": "cur", "status": "status"},
        },
    )  # fmt: skip
    line = (
        '{"id": "o1", "at": "2024-01-02T10:00:00Z", "total": 10.5, "cur": "SEK", "status": "%s"}\n'
    )
    _write(ws, "landing/orders.jsonl", line % "placed")
    ws.load()
    _write(ws, "landing/orders.jsonl", line % "placed" + (line % "x").replace("o1", "o2"))
    ws.load()
    _write(ws, "landing/orders.jsonl", line % "delivered" + (line % "x").replace("o1", "o2"))
    report = ws.load().batches[0]
    assert (report.rows_loaded, report.rows_updated, report.unchanged_rows) == (1, 1, 1)
    assert _rows(ws, "orders", "order_id", "status") == [("o1", "delivered"), ("o2", "x")]


def test_order_items_are_exploded_from_the_order_file(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source(
        "shop_items",
        {
            "kind": "file",
            "path": "landing/orders.jsonl",
            "entity": "order_items",
            "explode": "items",
            "mapping": {"order_id": "id", "line_number": "items._position",
                        "sku": "items.sku", "quantity": "items.qty"},
            "contract": {"disable": ["reference:order_id", "reference:sku"]},
        },
    )  # fmt: skip
    _write(
        ws,
        "landing/orders.jsonl",
        '{"id": "o1", "items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": -1}]}\n'
        '{"id": "o2", "items": [{"sku": "C", "qty": 1}]}\n',
    )
    batch = ws.load().batches[0]
    assert (batch.rows_read, batch.rows_loaded, batch.rows_quarantined) == (3, 2, 1)
    assert _rows(ws, "order_items", "order_id", "line_number", "sku") == [
        ("o1", 1, "A"),
        ("o2", 1, "C"),
    ]
    assert _rows(ws, "quarantine", "location", "reason_codes") == [
        ("landing/orders.jsonl:1:2", ["out_of_range:quantity"])
    ]


@mark_with_all_backends
def test_a_file_that_fails_half_way_leaves_nothing_and_the_others_load(
    workspace: Workspace,
) -> None:
    workspace.add_source("crm", {**CUSTOMERS, "read": {"encoding": "utf-8"}})
    _write(workspace, "landing/crm/a.csv", CSV)
    # b.csv breaks on its last line, after two chunks of two rows were written.
    rows = "".join(f"{i},Eve Ek,eve{i}@x.se,\n" for i in range(10, 14))
    path = _write(workspace, "landing/crm/b.csv", "id,name,email,phone\n" + rows)
    path.write_bytes(path.read_bytes() + b"14,\xff\xfe,x@x.se,\n")
    workspace.add_source(
        "crm2", {**CUSTOMERS, "path": "landing/crm2.csv", "mapping": {"source_key": "missing"}}
    )
    _write(workspace, "landing/crm2.csv", CSV)
    report = load_sources(
        workspace.engine,
        workspace.settings,
        workspace.path,
        run_id="r1",
        options=LoadOptions(rows_per_batch=2),
    )
    by_location = {b.location: b for b in report.batches}
    assert by_location["landing/crm/a.csv"].status == "loaded"
    half = by_location["landing/crm/b.csv"]
    assert half.status == "failed"
    assert "line 6 holds bytes that are not valid utf-8" in (half.error or "")
    assert (half.rows_loaded, half.rows_quarantined) == (0, 0)
    failed = by_location["landing/crm2.csv"]
    assert failed.status == "failed"
    assert "no column 'missing'" in (failed.error or "")
    assert _rows(workspace, "src_customers", "source_key") == [("1",), ("3",)]
    # With chunks of two rows, the copy of the rejected line 3 falls into the next chunk, where it
    # is not recognised as a copy (copies are found within a chunk and among loaded rows).
    assert {q[0] for q in _rows(workspace, "quarantine", "location")} == {
        "landing/crm/a.csv:3",
        "landing/crm/a.csv:4",
        "landing/crm/a.csv:5",
    }
    with pytest.raises(PipelineError, match="2 batch"):
        report.raise_for_failures()
    # The failed file is not marked as loaded: once repaired, it loads.
    path.write_text("id,name,email,phone\n" + rows, encoding="utf-8")
    again = {b.location: b for b in workspace.load(["crm"]).batches}
    assert again["landing/crm/b.csv"].rows_loaded == 4


def test_an_interrupted_batch_is_undone_at_the_next_load(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source("crm", CUSTOMERS)
    _write(ws, "landing/crm/a.csv", CSV)
    ws.load()
    # A crash between the "started" record and the end: simulate its leftovers.
    started = datetime(2030, 1, 1)
    ws.engine.insert("load_batches", [{"batch_id": "b-crash", "source": "crm",
                     "entity": "customers", "location": "landing/crm/x.csv",
                     "status": "started", "started_at": started}])  # fmt: skip
    ws.engine.update_matching(
        "src_customers", pa.table({"source_key": ["1"]}), {"is_current": False, "valid_to": started}
    )
    ws.engine.insert("src_customers", [{"_source": "crm", "source_key": "1", "_batch_id": "b-crash",
                     "is_current": True, "valid_from": started}])  # fmt: skip
    ws.load()
    assert _rows(ws, "src_customers", "source_key", "is_current", "valid_to") == [
        ("1", True, None),
        ("3", True, None),
    ]
    t = ws.engine.table("load_batches")
    rows = ws.engine.records(t.filter(t.batch_id == "b-crash").select("status", "error"))
    assert sorted(r["status"] for r in rows) == ["failed", "started"]
    assert any("interrupted" in (r["error"] or "") for r in rows)


def test_an_undeclared_source_name_is_a_clear_error(duckdb_workspace: Workspace) -> None:
    duckdb_workspace.add_source("crm", CUSTOMERS)
    with pytest.raises(ConfigError, match="No source named 'cmr'") as info:
        duckdb_workspace.load(["cmr"])
    assert "crm" in (info.value.hint or "")


def test_a_missing_file_is_a_failed_batch_that_says_what_to_fix(
    duckdb_workspace: Workspace,
) -> None:
    duckdb_workspace.add_source("crm", {**CUSTOMERS, "path": "landing/none.csv"})
    [batch] = duckdb_workspace.load().batches
    assert batch.status == "failed"
    assert "landing/none.csv does not exist" in (batch.error or "")


def test_the_pipeline_loads_and_records_the_account(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source("crm", CUSTOMERS)
    _write(ws, "landing/crm/a.csv", CSV)
    record = ws.run()
    load = next(s for s in record.step_records if s.step == "load")
    assert load.status == "succeeded"
    assert load.summary["rows_read"] == 5
    assert load.summary["balanced"] is True
    assert load.summary["sources"]["crm"]["rows_quarantined"] == 2


@mark_with_all_backends
def test_quarantined_rows_load_on_retry_once_the_mapping_is_fixed(workspace: Workspace) -> None:
    ws = workspace
    mapping = {"source_key": "id", "name_raw": "name", "email": "email"}
    ws.add_source("crm", {**CUSTOMERS, "mapping": mapping})
    _write(ws, "landing/crm/a.csv", "id,alt,name,email\n1,,Ada Ek,a@x.se\n,7,Bo Ek,b@x.se\n")
    ws.load()
    assert _rows(ws, "quarantine", "location", "resolved") == [("landing/crm/a.csv:3", False)]
    nothing = ws.retry_quarantine()
    assert nothing.batches[0].rows_quarantined == 1  # same mapping, same verdict
    fixed = {
        **CUSTOMERS,
        "mapping": {**CUSTOMERS["mapping"], "source_key": {"concat": ["id", "alt"]}},
    }
    fixed["mapping"].pop("phone")
    ws.settings = ws.settings.model_copy(update={"sources": {"crm": fixed}})
    report = ws.retry_quarantine()
    [batch] = report.batches
    assert (batch.location, batch.rows_read, batch.rows_loaded) == ("quarantine-retry", 1, 1)
    assert _rows(ws, "src_customers", "source_key", "first_name") == [("1", "Ada"), ("7", "Bo")]
    t = ws.engine.table("quarantine")
    [row] = ws.engine.records(t.select("resolved", "retried_at"))
    assert row["resolved"] is True
    assert row["retried_at"] is not None
    assert ws.retry_quarantine().batches == []  # nothing unresolved is left


def test_keys_repeated_across_chunks_of_one_file_are_caught(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source("crm", {**CUSTOMERS, "mapping": {"source_key": "id", "email": "email"}})
    rows = "1,a@x.se\n2,b@x.se\n1,a@x.se\n2,other@x.se\n3,c@x.se\n"
    _write(ws, "landing/crm/a.csv", "id,email\n" + rows)
    report = load_sources(
        ws.engine, ws.settings, ws.path, run_id="r1", options=LoadOptions(rows_per_batch=2)
    )
    [batch] = report.batches
    assert (batch.rows_loaded, batch.unchanged_rows, batch.rows_quarantined) == (3, 1, 1)
    assert batch.rejections == {"duplicate_key:source_key": 1}
    assert _rows(ws, "quarantine", "location") == [("landing/crm/a.csv:5",)]
    assert _rows(ws, "src_customers", "source_key", "email") == [
        ("1", "a@x.se"), ("2", "b@x.se"), ("3", "c@x.se"),
    ]  # fmt: skip


def test_a_daily_file_with_half_the_usual_rows_is_flagged(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    ws.add_source(
        "contacts",
        {"kind": "folder", "path": "landing/daily", "pattern": "*.csv", "entity": "interactions",
         "mapping": {"interaction_id": "id", "started_at": "at"}},
    )  # fmt: skip
    (ws.path / "landing/daily").mkdir(parents=True)
    for day, rows in enumerate((100, 104, 96, 100, 50), start=1):
        lines = "".join(f"d{day}-{i},2024-01-0{day} 10:00\n" for i in range(rows))
        _write(ws, f"landing/daily/day{day}.csv", "id,at\n" + lines)
        ws.load()
    t = ws.engine.table("quality_metrics")
    volume = ws.engine.records(
        t.filter(t.metric == "volume").order_by("measured_at").select("value", "flagged")
    )
    assert [v["flagged"] for v in volume] == [False, False, False, False, True]
    assert volume[-1]["value"] == pytest.approx(50 / 100)


def test_one_load_reads_the_loaded_keys_once_and_still_finds_every_match(
    duckdb_workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = duckdb_workspace
    ws.add_source("interactions", CONTACTS)
    reads: list[str] = []
    original = LoadedKeys._read

    def counted(self: LoadedKeys) -> Any:
        reads.append(self.source)
        return original(self)

    monkeypatch.setattr(LoadedKeys, "_read", counted)
    header = "id,ch,at\n"
    _write(ws, "landing/contacts/day1.csv", header + "i1,phone,2024-01-02\ni2,chat,2024-01-02\n")
    ws.load()
    assert reads == []  # the source had no rows: nothing to read
    _write(ws, "landing/contacts/day2.csv", header + "i3,phone,2024-01-03\ni1,phone,2024-01-02\n")
    _write(ws, "landing/contacts/day3.csv", header + "i2,email,2024-01-02\ni4,chat,2024-01-04\n")
    batches = ws.load().batches
    assert reads == ["interactions"]  # once for both new files
    got = [(b.status, b.rows_loaded, b.rows_updated, b.unchanged_rows) for b in batches]
    assert got == [("unchanged", 0, 0, 0), ("loaded", 1, 0, 1), ("loaded", 2, 1, 0)]
    assert _rows(ws, "interactions", "interaction_id", "channel") == [
        ("i1", "phone"), ("i2", "email"), ("i3", "phone"), ("i4", "chat"),
    ]  # fmt: skip


def _memory_limit(ws: Workspace) -> str:
    return str(ws.engine.con.con.execute("SELECT current_setting('memory_limit')").fetchone()[0])


def test_a_load_caps_duckdbs_memory_while_it_runs_unless_the_workspace_set_it(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    ws.add_source("interactions", CONTACTS)
    _write(ws, "landing/contacts/day1.csv", "id,ch,at\ni1,phone,2024-01-02\n")
    before = _memory_limit(ws)
    during: list[str] = []
    ws.load(progress=lambda _: during.append(_memory_limit(ws)))
    assert during == [f"{LOAD_MEMORY_LIMIT_MB / 1024:.1f} GiB"]
    assert _memory_limit(ws) == before != during[0]  # DuckDB's default again after the load

    ws.engine.memory_limit = "5GB"  # as `engine.memory_limit` in the settings sets it
    ws.engine.con.con.execute("SET memory_limit = '5GB'")
    _write(ws, "landing/contacts/day2.csv", "id,ch,at\ni2,chat,2024-01-03\n")
    during.clear()
    ws.load(progress=lambda _: during.append(_memory_limit(ws)))
    assert during == ["4.6 GiB", "4.6 GiB"]  # the workspace's own limit stands (two files)
    assert _memory_limit(ws) == "4.6 GiB"


def test_files_are_hashed_ahead_and_a_copy_under_another_name_is_still_skipped(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    ws.add_source("interactions", CONTACTS)
    for day in range(1, 6):
        _write(ws, f"landing/contacts/day{day}.csv", f"id,ch,at\ni{day},phone,2024-01-0{day}\n")
    _write(ws, "landing/contacts/day6.csv", "id,ch,at\ni6,chat,2024-01-06\n")
    _write(ws, "landing/contacts/day7.csv", "id,ch,at\ni6,chat,2024-01-06\n")  # copy of day6
    batches = ws.load().batches
    assert [b.status for b in batches] == ["loaded"] * 6 + ["unchanged"]
    assert _rows(ws, "interactions", "interaction_id") == [(f"i{day}",) for day in range(1, 7)]
