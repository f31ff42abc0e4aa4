"""``insightloop identity``: merge, unmerge, the review queue and the audit on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop import Workspace

# The entry point registers every command in its order (importing identity_cmds alone would put
# `identity` first, and the generated docs/cli.md would differ).
from insightloop.cli.main import app
from insightloop.identity.resolve import review_id
from tests.identity.test_decisions import KEYS, REVIEW, _customers, _fixture, _resolve

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def ws(tmp_path: Path) -> str:
    with Workspace.init(tmp_path / "ws") as workspace:
        workspace.add_config_section("identity", KEYS)
        _fixture(workspace.engine)
        _resolve(workspace.engine, "r1")
    return str(tmp_path / "ws")


def _ids(path: str) -> dict[str, str]:
    with Workspace.open(path, read_only=True) as workspace:
        return _customers(workspace.engine)


def test_merge_and_unmerge_apply_at_once_and_are_logged(ws: str) -> None:
    ids = _ids(ws)
    ada, alan = ids["crm|C1"], ids["crm|C2"]
    code, out = invoke("identity", "merge", ada, alan, "--reason", "same person",
                       "--actor", "ann", "-w", ws)  # fmt: skip
    assert code == 0, out
    assert f"Merged: {ada}, {alan} -> {ada}." in out or f"Merged: {alan}, {ada} -> {ada}." in out
    assert _ids(ws)["crm|C2"] == ada
    code, out = invoke("identity", "unmerge", ada, "--record", "crm:C2", "--reason",
                       "a colleague", "-w", ws, "--json")  # fmt: skip
    assert code == 0, out
    result = json.loads(out)
    assert result["kind"] == "unmerge"
    assert result["before_ids"] == [ada]
    assert _ids(ws)["crm|C2"] != ada
    code, out = invoke("identity", "decisions", "-w", ws)
    assert code == 0, out
    assert "Identity decisions (3)" in out  # the merge (revoked), what it kept, the unmerge
    assert out.count(result["decision_id"]) >= 2  # the unmerge, and the merge it revoked
    code, out = invoke("identity", "log", "-w", ws, "--json")
    assert code == 0, out
    assert [r["kind"] for r in json.loads(out)] == ["manual_unmerge", "manual_merge"]
    code, out = invoke("identity", "log", "-w", ws)
    assert code == 0
    assert "manual_unmerge" in out
    assert "same person" in out


def test_the_review_queue_shows_names_and_takes_decisions(ws: str) -> None:
    pair = review_id(*REVIEW[0])
    code, out = invoke("identity", "review", "-w", ws)
    assert code == 0, out
    assert pair in out
    assert "Alan Turing" in out
    assert "Grace Hopper" in out
    assert "first_name exact" in out
    code, out = invoke("identity", "accept", pair, "--actor", "cy", "-w", ws)
    assert code == 0, out
    assert "Accepted:" in out
    ids = _ids(ws)
    assert ids["crm|C2"] == ids["crm|C3"]
    code, out = invoke("identity", "accept", pair, "-w", ws)
    assert code == 1
    assert "already accepted by cy" in out
    assert f"identity reject {pair}" in out
    code, out = invoke("identity", "reject", pair, "--reason", "namesakes", "-w", ws, "--json")
    assert code == 0, out
    assert len(json.loads(out)["revoked"]) == 1
    code, out = invoke("identity", "review", "--status", "rejected", "-w", ws, "--json")
    assert code == 0, out
    assert [(p["review_id"], p["status"]) for p in json.loads(out)] == [(pair, "rejected")]


def test_mistakes_fail_with_a_hint_and_no_personal_data(ws: str) -> None:
    ada = _ids(ws)["crm|C1"]
    code, out = invoke("identity", "merge", ada, "--reason", "x", "-w", ws)
    assert code == 1
    assert "merged with itself" in out
    assert "Hint:" in out
    code, out = invoke("identity", "unmerge", ada, "--record", "id:email:guest@x.example",
                       "--reason", "x", "-w", ws)  # fmt: skip
    assert code == 1
    assert "not records of customer" in out
    assert "guest@" not in out
    code, out = invoke("identity", "accept", "0123456789ab", "-w", ws)
    assert code == 1
    assert "No review pair" in out
    assert "identity review --status all" in out
    code, out = invoke("identity", "merge", ada, "cus_x", "-w", ws)
    assert code == 2
    assert "--reason" in out


def test_empty_lists_say_so(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    for command, text in (("review", "No open pairs"), ("decisions", "No manual identity"),
                          ("log", "No merges or splits")):  # fmt: skip
        code, out = invoke("identity", command, "-w", str(tmp_path / "ws"))
        assert code == 0, out
        assert text in out, out


def test_rebuild_resolves_every_record_again(ws: str) -> None:
    # The fixture's links were given by hand; a rebuild matches the records for real (there is
    # no saved model yet, so it trains one) and reports what it did.
    code, out = invoke("identity", "rebuild", "-w", ws, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["records"] > 0
    assert report["customers"] == len(set(_ids(ws).values()))
    assert report["matching"]["mode"] == "trained"
    code, out = invoke("identity", "rebuild", "-w", ws)
    assert code == 0, out
    assert "Resolved" in out
