"""``insightloop segments``: rule segments on the command line, on the hand-checked shop.

As of 2024-06-30 (tests/analytics/shop.py): Ada is the one customer of the top value tier and
the one with orders in the last 30 days; Ben and Cy are in the rest tier.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from insightloop import Workspace
from insightloop.analytics.measures import build_measures
from insightloop.auth import AuthStore

# The CLI's entry module: it registers every command in its order (docs/cli.md).
from insightloop.cli.main import app
from tests.analytics.shop import AS_OF, CONFIG, IDENTITY, load_shop

runner = CliRunner()

TOP = "{attribute: value_tier, op: eq, value: top}"
RECENT = '{"behaviour": "orders", "within_days": 30}'  # JSON is YAML too
TIERED = "{attribute: value_tier, op: in, value: [top, rest]}"


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(
        app, ["segments", *args], env={"COLUMNS": "200", "NO_COLOR": "1"}, input=stdin
    )
    return result.exit_code, result.stdout + result.stderr


def new_workspace(path: Path) -> Path:
    with Workspace.init(path) as ws:
        # segment_sources reads the workspace's own settings: declare what the shop needs.
        ws.add_config_section("identity", {"customer_keys": {"pos": "loyalty_number"}})
        ws.add_config_section("analytics", {"exchange_rates": {"SEK": 0.1}})
    return path


@pytest.fixture(scope="module")
def shop_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = new_workspace(tmp_path_factory.mktemp("segments") / "ws")
    with Workspace.open(path) as workspace:
        load_shop(workspace.engine)
        build_measures(workspace.engine, IDENTITY, CONFIG, now=datetime(2024, 7, 10), as_of=AS_OF)
    return path


@pytest.fixture
def ws(shop_workspace: Path, tmp_path: Path) -> str:
    """A fresh copy of the shop workspace with its measures (building one takes seconds)."""
    return str(shutil.copytree(shop_workspace, tmp_path / "ws"))


def refresh(ws: str) -> None:
    code, out = invoke("refresh", "-w", ws)
    assert code == 0, out


def cells(out: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in out.splitlines():
        found = [cell.strip() for cell in line.split("│")[1:-1]]
        if found and found[0] == first:
            return found
    raise AssertionError(f"no row {first!r} in:\n{out}")


def audit_actions(ws: str) -> list[tuple[str, str | None]]:
    entries = AuthStore.for_workspace(Path(ws)).audit.query(action="segment.*")
    return [(e.action, e.target) for e in reversed(entries)]


def test_add_refresh_list_show_members_and_delete(ws: str) -> None:
    code, out = invoke("add", "top-tier", "--rule", TOP, "-w", ws)
    assert code == 0, out
    assert "Saved segment 'top-tier' (version 1)." in out
    assert "It selects 1 customer as of 2024-06-30." in out

    code, out = invoke("list", "-w", ws)
    assert code == 0, out
    assert cells(out, "top-tier")[:3] == ["top-tier", "1", "0"]  # version, members

    code, out = invoke("refresh", "-w", ws)
    assert code == 0, out
    assert "Refreshed as of 2024-06-30" in out
    assert cells(out, "top-tier") == ["top-tier", "1", "0"]  # entered, exited

    code, out = invoke("members", "top-tier", "-w", ws, "--json")
    assert code == 0, out
    members = json.loads(out)
    assert [m["customer_id"] for m in members] == ["C-ADA"]
    assert set(members[0]) == {"customer_id", "entered_at"}  # no personal data by default

    code, out = invoke("show", "top-tier", "-w", ws, "--json")
    assert code == 0, out
    shown = json.loads(out)
    assert (shown["version"], shown["size"]) == (1, 1)
    assert shown["definition"] == {"attribute": "value_tier", "op": "eq", "value": "top"}
    assert [(h["entered"], h["exited"]) for h in shown["history"]] == [(1, 0)]

    code, out = invoke("show", "top-tier", "-w", ws)
    assert code == 0, out
    assert "Segment top-tier  version 1" in out
    assert "1 member now." in out
    assert "attribute: value_tier\nop: eq\nvalue: top" in out
    assert "Membership history" in out

    code, out = invoke("delete", "top-tier", "-w", ws)
    assert code == 0, out
    code, out = invoke("list", "-w", ws, "--json")
    assert json.loads(out) == []
    assert audit_actions(ws) == [("segment.create", "top-tier"), ("segment.delete", "top-tier")]


def test_replace_makes_a_new_version_and_history_keeps_who_entered(ws: str) -> None:
    assert invoke("add", "tiered", "--rule", TOP, "-w", ws)[0] == 0
    refresh(ws)

    code, out = invoke("add", "tiered", "--rule", TIERED, "-w", ws)
    assert code == 1
    assert "A segment named 'tiered' exists (version 1)." in out
    assert "--replace" in out

    code, out = invoke("add", "tiered", "--replace", "--rule", TIERED, "-w", ws, "--json")
    assert code == 0, out
    saved = json.loads(out)
    assert (saved["version"], saved["changed"], saved["preview_count"]) == (2, True, 3)

    # The same definition again changes nothing.
    code, out = invoke("add", "tiered", "--replace", "--rule", TIERED, "-w", ws)
    assert code == 0, out
    assert "Segment 'tiered' is unchanged (version 2)." in out

    refresh(ws)
    code, out = invoke("show", "tiered", "-w", ws, "--json")
    shown = json.loads(out)
    assert shown["size"] == 3
    # Every refresh ran today: one day, three entered, nobody exited.
    assert [(h["entered"], h["exited"]) for h in shown["history"]] == [(3, 0)]
    assert audit_actions(ws) == [("segment.create", "tiered"), ("segment.update", "tiered")]


def test_replace_of_an_unknown_segment_names_the_closest(ws: str) -> None:
    assert invoke("add", "lapsed-vip", "--rule", TOP, "-w", ws)[0] == 0
    code, out = invoke("add", "lapsed-vpi", "--replace", "--rule", TOP, "-w", ws)
    assert code == 1
    assert "There is no saved segment named 'lapsed-vpi'." in out
    assert "Did you mean 'lapsed-vip'?" in out
    code, out = invoke("show", "lapsed-vpi", "-w", ws)
    assert code == 1
    assert "Did you mean 'lapsed-vip'?" in out


def test_a_bad_definition_shows_every_problem_with_path_and_hint(ws: str) -> None:
    rule = (
        "all: [{attribute: valu_tier, op: eq, value: top},"
        " {behaviour: orders, where: [{column: chanel, value: web}]},"
        " {attribute: orders, op: gt, value: ten}]"
    )
    code, out = invoke("add", "broken", "--rule", rule, "-w", ws)
    assert code == 1
    assert "Invalid segment definition (3 problems):" in out
    assert "all[0]: unknown attribute 'valu_tier'" in out
    assert "Hint: Did you mean 'value_tier'?" in out
    assert "all[1].where[0]: unknown column 'chanel' of orders" in out
    assert "Hint: Did you mean 'channel'?" in out
    assert "all[2]: value 'ten' for attribute 'orders' is not a number" in out
    assert json.loads(invoke("list", "-w", ws, "--json")[1]) == []  # nothing saved

    # A shape problem is found when the text is parsed, before the workspace is opened.
    code, out = invoke("preview", "--rule", "{behaviour: orders, within_days: -5}", "-w", ws)
    assert code == 1
    assert "within_days: within_days must be greater than 0, not -5" in out
    code, out = invoke("preview", "--rule", "all: [unclosed", "-w", ws)
    assert code == 1
    assert "the text is not valid YAML or JSON" in out
    # A window beyond any date: refused when the definition is read, not saved.
    code, out = invoke("add", "forever", "--rule", "{behaviour: orders, within_days: 10000000000}",
                       "-w", ws)  # fmt: skip
    assert code == 1
    assert "within_days: Input should be less than or equal to 36600" in out
    assert json.loads(invoke("list", "-w", ws, "--json")[1]) == []


def test_preview_counts_without_saving_from_a_file_or_stdin(ws: str, tmp_path: Path) -> None:
    definition = tmp_path / "recent.yaml"
    definition.write_text("behaviour: orders\nwithin_days: 30\n", encoding="utf-8")
    code, out = invoke("preview", "--file", str(definition), "-w", ws)
    assert code == 0, out
    assert "1 customer as of 2024-06-30 (nothing saved)." in out
    code, out = invoke("preview", "--file", "-", "-w", ws, "--json", stdin=TIERED)
    assert code == 0, out
    assert json.loads(out) == {"count": 3, "as_of": "2024-06-30T23:59:59.999999+00:00"}
    assert json.loads(invoke("list", "-w", ws, "--json")[1]) == []


@pytest.mark.parametrize("args", [(), ("--rule", TOP, "--file", "x.yaml")], ids=["none", "both"])
def test_the_definition_comes_from_one_place(ws: str, args: tuple[str, ...]) -> None:
    code, out = invoke("preview", *args, "-w", ws)
    assert code == 1
    assert "--file or with --rule" in out


def test_without_measures_it_says_what_to_run(tmp_path: Path) -> None:
    path = str(new_workspace(tmp_path / "empty"))
    code, out = invoke("add", "top-tier", "--rule", TOP, "-w", path)
    assert code == 1
    assert "The measures have not been computed in this workspace yet" in out
    assert "insightloop run measures" in out
    code, out = invoke("refresh", "-w", path)
    assert code == 0, out
    assert "Nothing refreshed: no saved segments" in out


def test_members_with_contacts_are_audited_and_exported(ws: str, tmp_path: Path) -> None:
    assert invoke("add", "tiered", "--rule", TIERED, "-w", ws)[0] == 0
    refresh(ws)

    code, out = invoke("members", "tiered", "-w", ws, "--limit", "2")
    assert code == 0, out
    assert "The first 2 of 3 are shown" in out
    assert "Ada" not in out
    assert not [a for a in audit_actions(ws) if a[0] == "segment.read_contacts"]

    code, out = invoke("members", "tiered", "--with-contacts", "-w", ws)
    assert code == 0, out
    assert all(name in out for name in ("Ada", "Ben", "Cy"))
    entries = AuthStore.for_workspace(Path(ws)).audit.query(action="segment.read_contacts")
    assert sorted(e.target for e in entries if e.target) == ["C-ADA", "C-BEN", "C-CY"]
    assert all(e.actor.startswith("cli") for e in entries)
    assert entries[0].details == {"segment": "tiered", "results": 3, "to": "screen"}

    export = tmp_path / "members.csv"
    code, out = invoke("members", "tiered", "--csv", str(export), "-w", ws)
    assert code == 0, out
    assert "Wrote 3 of 3 members of 'tiered'" in out
    with open(export, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["customer_id"] for r in rows] == sorted(r["customer_id"] for r in rows)
    assert set(rows[0]) == {"customer_id", "entered_at"}

    contacts = tmp_path / "contacts.csv"
    code, out = invoke("members", "tiered", "--csv", str(contacts), "--with-contacts", "-w", ws)
    assert code == 0, out
    with open(contacts, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["customer_id"]: r["first_name"] for r in rows} == {
        "C-ADA": "Ada",
        "C-BEN": "Ben",
        "C-CY": "Cy",
    }
    assert contacts.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    entries = AuthStore.for_workspace(Path(ws)).audit.query(action="segment.read_contacts")
    assert len(entries) == 6
    assert entries[0].details["to"] == "csv"


def test_overlaps_show_shared_members_and_jaccard(ws: str) -> None:
    assert invoke("add", "top-tier", "--rule", TOP, "-w", ws)[0] == 0
    assert invoke("add", "tiered", "--rule", TIERED, "-w", ws)[0] == 0
    assert invoke("add", "recent", "--rule", RECENT, "-w", ws)[0] == 0
    refresh(ws)
    code, out = invoke("overlaps", "-w", ws, "--json")
    assert code == 0, out
    # Each pair once, in either order.
    pairs = {
        frozenset((p["a"], p["b"])): (p["both"], round(p["jaccard"], 3)) for p in json.loads(out)
    }
    assert pairs == {
        frozenset(("recent", "tiered")): (1, 0.333),
        frozenset(("recent", "top-tier")): (1, 1.0),
        frozenset(("tiered", "top-tier")): (1, 0.333),
    }
    code, out = invoke("overlaps", "-w", ws)
    assert code == 0, out
    assert "Jaccard" in out
    assert "0.333" in out


def test_a_segment_in_use_cannot_be_deleted(ws: str) -> None:
    assert invoke("add", "top-tier", "--rule", TOP, "-w", ws)[0] == 0
    assert invoke("add", "top-recent", "--rule", "all: [{segment: top-tier}, " + RECENT + "]",
                  "-w", ws)[0] == 0  # fmt: skip
    code, out = invoke("delete", "top-tier", "-w", ws)
    assert code == 1
    assert "Segment 'top-tier' is used by top-recent." in out
    assert [a for a in audit_actions(ws) if a[0] == "segment.delete"] == []
