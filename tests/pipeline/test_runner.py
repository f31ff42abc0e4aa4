"""The pipeline runs its steps in order, records every run, and gives the same result on every
backend on a small fixture."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from insightloop import Workspace
from insightloop.errors import ConfigError, PipelineError
from insightloop.pipeline import STEPS, Step, StepContext, StepResult, run_pipeline
from tests.decorator import mark_with_all_backends

# A small fixture with known sizes: what the table_stats step must find.
FIXTURE_ROWS = {
    "src_customers": [
        {"source": "crm", "source_key": "c1", "first_name": "Ada", "country": "GB"},
        {"source_key": "c2", "first_name": "Kalle", "country": "SE"},
        {"source_key": "c3", "first_name": "李", "country": "CN"},
    ],
    "orders": [
        {"order_id": "o1", "source_customer_key": "c1", "total_amount": 12.5},
        {"order_id": "o2", "source_customer_key": "c2", "total_amount": 99.0},
    ],
    "events": [{"message_id": "m1", "type": "track", "event": "Product Viewed"}],
}


def _load_fixture(ws: Workspace) -> None:
    for table, rows in FIXTURE_ROWS.items():
        cleaned = [{k: v for k, v in r.items() if k != "source"} for r in rows]
        ws.engine.insert(table, cleaned)


@mark_with_all_backends
def test_every_step_gives_the_known_result_on_the_fixture(workspace: Workspace) -> None:
    _load_fixture(workspace)
    record = workspace.run()
    assert record.status == "succeeded"
    assert [s.step for s in record.step_records] == [s.name for s in STEPS]
    counts = record.step_records[-1].summary["tables"]
    for table, rows in FIXTURE_ROWS.items():
        assert counts[table] == len(rows)
    assert counts["customers"] == 0
    # The snapshot is kept in the workspace, per run, for volume checks.
    stats = workspace.engine.table("table_stats")
    kept = workspace.engine.records(
        stats.filter(stats.run_id == record.run_id).select("table_name", "row_count")
    )
    assert {r["table_name"]: r["row_count"] for r in kept} == counts


@mark_with_all_backends
def test_runs_are_recorded_and_the_last_one_is_reported(workspace: Workspace) -> None:
    first = workspace.run()
    second = workspace.run(["table_stats"])
    runs = workspace.runs()
    assert [r.run_id for r in runs] == [second.run_id, first.run_id]
    assert all(r.status == "succeeded" for r in runs)
    assert runs[0].step_records[0].step == "table_stats"
    status = workspace.status()
    assert status.last_run is not None
    assert status.last_run.run_id == second.run_id
    assert status.schema_current
    # Running again on unchanged data gives the same result: steps are idempotent.
    assert first.step_records[-1].summary == second.step_records[0].summary


def _failing(ctx: StepContext) -> StepResult:
    raise ValueError("customer ada@example.com has a bad birth date")  # text with personal data


def _user_error(ctx: StepContext) -> StepResult:
    raise ConfigError("source 'crm' has no path", hint="set sources.crm.path")


def _ok(ctx: StepContext) -> StepResult:
    ctx.progress(1.0)
    return StepResult(rows_written=1)


def test_a_failed_step_fails_the_run_skips_the_rest_and_leaks_nothing(
    duckdb_workspace: Workspace,
) -> None:
    ws = duckdb_workspace
    steps = (
        Step("first", "ok", _ok),
        Step("boom", "fails", _failing),
        Step("after", "skipped", _ok),
    )
    record = run_pipeline(ws.engine, ws.settings, ws.layout, steps=steps)
    assert record.status == "failed"
    assert [s.status for s in record.step_records] == ["succeeded", "failed", "skipped"]
    assert "ValueError" in (record.error or "")
    assert "ada@example.com" not in json.dumps(record.to_dict())
    stored = ws.runs()[0]
    assert stored.status == "failed"
    assert "ada@example.com" not in (stored.error or "")
    assert [s.status for s in stored.step_records] == ["succeeded", "failed", "skipped"]


def test_user_errors_are_recorded_with_their_hint(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    steps = (Step("cfg", "fails", _user_error),)
    record = run_pipeline(ws.engine, ws.settings, ws.layout, steps=steps)
    assert record.step_records[0].error == "source 'crm' has no path\n  Hint: set sources.crm.path"


def test_without_stop_on_error_later_steps_still_run(duckdb_workspace: Workspace) -> None:
    ws = duckdb_workspace
    settings = ws.settings.model_copy(
        update={"pipeline": ws.settings.pipeline.model_copy(update={"stop_on_error": False})}
    )
    steps = (Step("boom", "fails", _failing), Step("after", "ok", _ok))
    record = run_pipeline(ws.engine, settings, ws.layout, steps=steps)
    assert [s.status for s in record.step_records] == ["failed", "succeeded"]
    assert record.status == "failed"


def test_unknown_steps_are_named_before_anything_runs(duckdb_workspace: Workspace) -> None:
    with pytest.raises(PipelineError, match="laod") as info:
        duckdb_workspace.run(["laod"])
    assert "table_stats" in (info.value.hint or "")
    assert duckdb_workspace.runs() == []


def test_an_interrupted_run_is_reported_as_such(duckdb_workspace: Workspace) -> None:
    from insightloop.pipeline.records import RunRecord, write_run

    ws = duckdb_workspace
    crashed = RunRecord(
        "run-20200101T000000-dead00", datetime(2020, 1, 1), "running", ["table_stats"], "duckdb"
    )
    write_run(ws.engine, crashed)  # the process died here: no final row
    ws.run()
    runs = ws.runs()
    assert runs[1].run_id == crashed.run_id
    assert runs[1].status == "interrupted"
