"""``insightloop sources``, ``load`` and ``quarantine``: from a file to loaded rows and back."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from insightloop.cli.main import app

runner = CliRunner()
CSV = (
    "id,name,email,phone,country\n"
    "1,Ada Lovelace,ada@x.se,070-1234567,SE\n"
    "2,Bob Berg,bob@@x,070-7654321,SE\n"
    "2,Bob Berg,bob@@x,070-7654321,SE\n"
    "3,Cy Ek,cy@x.se,,SE\n"
)


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "160", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


def _workspace(tmp_path: Path) -> str:
    ws = str(tmp_path / "ws")
    assert invoke("init", ws)[0] == 0
    (tmp_path / "ws" / "landing" / "crm.csv").write_text(CSV, encoding="utf-8")
    return ws


def test_add_load_list_and_quarantine_from_the_command_line(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    code, out = invoke("sources", "suggest", str(tmp_path / "ws/landing/crm.csv"))
    assert code == 0
    assert 'entity = "customers"' in out
    code, out = invoke("sources", "add", "crm", "--path", "landing/crm.csv", "-w", ws)
    assert code == 0, out
    assert "source_key = id" in out
    assert "[sources.crm]" in (tmp_path / "ws/insightloop.toml").read_text(encoding="utf-8")
    code, out = invoke("load", "-w", ws)
    assert code == 0, out
    assert (
        "Rows read 4 = loaded 2 (of which updated 0) + quarantined 1 + duplicates skipped 1" in out
    )
    assert "balanced" in out
    code, out = invoke("sources", "list", "-w", ws, "--json")
    [row] = json.loads(out)
    assert (row["source"], row["rows_loaded"], row["rows_quarantined"]) == ("crm", 2, 1)
    code, out = invoke("quarantine", "list", "-w", ws, "--json")
    listed = json.loads(out)
    assert listed["total"] == 1
    assert listed["by_reason"] == [{"source": "crm", "code": "email_invalid_syntax", "rows": 1}]
    [held] = listed["rows"]
    assert held["location"] == "landing/crm.csv:3"
    assert "raw" not in held  # values only with `show`
    code, out = invoke("quarantine", "show", held["quarantine_id"][:8], "-w", ws, "--json")
    assert json.loads(out)["raw"]["email"] == "bob@@x"
    target = tmp_path / "held.csv"
    code, out = invoke("quarantine", "export", str(target), "-w", ws)
    assert code == 0
    with open(target, encoding="utf-8") as handle:
        [exported] = list(csv.DictReader(handle))
    assert exported["reason_codes"] == "email_invalid_syntax"
    code, out = invoke("quarantine", "retry", "-w", ws, "--json")
    assert json.loads(out)["totals"]["rows_quarantined"] == 1  # nothing changed, still held


def test_loading_an_undeclared_source_says_which_exist(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    invoke("sources", "add", "crm", "--path", "landing/crm.csv", "-w", ws)
    code, out = invoke("load", "cmr", "-w", ws)
    assert code == 1
    assert "No source named 'cmr'" in out
    assert "Declared sources: crm" in out


def test_adding_a_source_twice_is_refused(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    invoke("sources", "add", "crm", "--path", "landing/crm.csv", "-w", ws)
    code, out = invoke("sources", "add", "crm", "--path", "landing/crm.csv", "-w", ws)
    assert code == 1
    assert "already declared" in out


def test_a_failed_batch_exits_non_zero_and_says_why(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    invoke("sources", "add", "crm", "--path", "landing/crm.csv", "-w", ws)
    (tmp_path / "ws/landing/crm.csv").write_text("x,y\n1,2\n", encoding="utf-8")
    code, out = invoke("load", "-w", ws)
    assert code == 1
    assert "Failed crm (landing/crm.csv)" in out
    assert "the data has no column" in out


def test_the_scorecard_shows_each_measure_of_the_load(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    invoke("sources", "add", "crm", "--path", "landing/crm.csv", "-w", ws)
    invoke("load", "-w", ws)
    code, out = invoke("quality", "-w", ws, "--json")
    assert code == 0
    measures = {(m["metric"], m["field"]): m for m in json.loads(out)["measures"]}
    assert measures[("completeness", "phone")]["value"] == 0.75
    assert measures[("validity", "email")]["flagged"] is True
    code, out = invoke("quality", "-w", ws, "--flagged")
    assert code == 0
    assert "email" in out
