"""``insightloop profile show``: the 360-degree view on the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import insightloop.cli.profile_cmds  # noqa: F401 - registers `profile` on the app
from insightloop import Workspace
from insightloop.cli.app import app
from insightloop.profile import build_golden_records
from tests.profile.people import CONFIG, load_people

runner = CliRunner()

# The key types of tests/profile/people.py, as a workspace declares them.
IDENTITY = """
[identity.customer_keys]
loyalty_members = "loyalty_number"
pos_receipts = "loyalty_number"
web_orders = "user_id"
"""


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "ws"
    with Workspace.init(path) as workspace:
        load_people(workspace.engine)
        build_golden_records(workspace.engine, CONFIG, run_id="run-1")
    with open(path / "insightloop.toml", "a", encoding="utf-8") as handle:
        handle.write(IDENTITY)
    return str(path)


def test_show_prints_the_whole_view(ws: str) -> None:
    code, out = invoke("profile", "show", "Anna@Example.se", "-w", ws)
    assert code == 0, out
    assert "Customer C-ANNA  Anna Svensson" in out
    for title in ("Golden record", "Identifiers (6)", "Source records (4)", "Consents",
                  "Timeline (8, newest first)"):  # fmt: skip
        assert title in out
    assert "crm_hq CRM-1" in out
    assert "most_recent" in out
    assert "withdrawn" in out
    timeline = out[out.index("Timeline (8") :]
    lines = [line for line in timeline.splitlines() if "2024-0" in line]
    whats = [line.split("│")[4].strip() for line in lines]
    assert whats[0].startswith("Post-purchase survey: NPS 9")
    assert "Store order R-1 at store S-01: 1 item, 120.00 SEK" in whats[-1]


def test_show_as_json_with_a_kind_and_a_limit(ws: str) -> None:
    code, out = invoke("profile", "show", "L-100", "-w", ws, "--json", "--kind", "order",
                       "--limit", "1")  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert data["customer_id"] == "C-ANNA"
    assert data["golden"]["email"] == "anna@example.se"
    assert data["provenance"]["email"]["source"] == "crm_hq"
    assert [(e["kind"], e["key"]) for e in data["timeline"]] == [("order", "W-1")]
    assert {c["channel"]: c["status"] for c in data["consents"]}["email"] == "withdrawn"


def test_show_with_a_type(ws: str) -> None:
    code, out = invoke("profile", "show", "12345", "--type", "user_id", "-w", ws, "--json")
    assert code == 0, out
    assert json.loads(out)["customer_id"] == "C-BO"


def test_an_unknown_identifier_fails_with_a_hint(ws: str) -> None:
    code, out = invoke("profile", "show", "nobody@example.se", "-w", ws)
    assert code == 1
    assert "Error: No customer has this identifier" in out
    assert "Hint:" in out
    assert "--type" in out


def test_an_ambiguous_identifier_says_which_types_to_choose(ws: str) -> None:
    code, out = invoke("profile", "show", "12345", "-w", ws)
    assert code == 1
    assert "belongs to 2 customers, as customer_key, user_id" in out
    assert "--type customer_key or --type user_id" in out


def test_an_unknown_kind_fails(ws: str) -> None:
    code, out = invoke("profile", "show", "C-ANNA", "-w", ws, "--kind", "tweets")
    assert code == 1
    assert "Unknown timeline kind(s): tweets" in out
