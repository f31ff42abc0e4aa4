"""The command line: every command, its errors (message, hint, exit code) and --json output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop.cli.main import app
from insightloop.store import latest_version
from insightloop.workspace import Workspace

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "120", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command_with_a_description() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for command in ("init", "migrate", "run", "runs", "status", "serve", "config", "demo"):
        assert command in out
    code, out, _ = invoke("demo", "--help")
    assert "generate" in out
    assert "up" in out


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0
    assert out.startswith("insightloop ")


def test_init_run_status_and_runs(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    code, out, _ = invoke("init", ws)
    assert code == 0, out
    assert "Created workspace" in out
    code, out, _ = invoke("run", "--workspace", ws)
    assert code == 0, out
    assert "table_stats" in out
    assert "succeeded" in out
    code, out, _ = invoke("status", "--workspace", ws, "--json")
    assert code == 0
    status = json.loads(out)
    assert status["schema_current"] is True
    assert status["last_run"]["status"] == "succeeded"
    assert {t["name"] for t in status["tables"]} >= {"orders", "customers", "quarantine"}
    code, out, _ = invoke("status", "--workspace", ws)
    assert f"version {latest_version()} of {latest_version()} (up to date)" in out
    assert "Last run:" in out
    code, out, _ = invoke("runs", "--workspace", ws, "--json")
    assert len(json.loads(out)) == 1
    code, out, _ = invoke("run", "--workspace", ws, "--json", "table_stats")
    assert json.loads(out)["steps"] == ["table_stats"]


def test_the_workspace_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Workspace.init(tmp_path / "ws").close()
    result = runner.invoke(
        app, ["status", "--json"], env={"INSIGHTLOOP_WORKSPACE": str(tmp_path / "ws")}
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["path"] == str(tmp_path / "ws")


def test_not_a_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    code, out, err = invoke("status", "--workspace", str(tmp_path))
    assert code == 1
    assert "is not an insightloop workspace" in err
    assert f"insightloop init {tmp_path}" in err
    assert "Traceback" not in out + err


def test_init_refuses_an_existing_workspace_and_unknown_backends(tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    assert invoke("init", ws)[0] == 0
    code, _, err = invoke("init", ws)
    assert code == 1
    assert "already an insightloop workspace" in err
    code, _, err = invoke("init", str(tmp_path / "other"), "--backend", "oracle")
    assert code == 1
    assert "--backend duckdb" in err


def test_unknown_steps_fail_with_the_list_of_steps(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    code, _, err = invoke("run", "--workspace", str(tmp_path / "ws"), "laod")
    assert code == 1
    assert "Unknown pipeline step(s): laod" in err
    assert "table_stats" in err
    code, out, _ = invoke("run", "--list")
    assert code == 0
    assert "table_stats" in out


def test_config_show_and_config_errors(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws").close()
    ws = str(tmp_path / "ws")
    code, out, _ = invoke("config", "show", "--workspace", ws, "--json")
    assert code == 0
    assert json.loads(out)["engine"]["backend"] == "duckdb"
    (tmp_path / "ws" / "insightloop.toml").write_text('[engine]\nbackend = "sprak"\n')
    code, _, err = invoke("config", "show", "--workspace", ws)
    assert code == 1
    assert "engine.backend = 'sprak'" in err


def test_unexpected_errors_show_no_details(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.init(tmp_path / "ws").close()

    def broken(self: Workspace) -> None:
        raise ValueError("ada@example.com")

    monkeypatch.setattr(Workspace, "status", broken)
    monkeypatch.delenv("INSIGHTLOOP_DEBUG", raising=False)
    code, out, err = invoke("status", "--workspace", str(tmp_path / "ws"))
    assert code == 2
    assert "ValueError" in err
    assert "ada@example.com" not in out + err
