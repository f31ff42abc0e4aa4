"""The demo company loaded end to end: every file, the account balanced, and exactly the planted
dirty rows in the quarantine, checked against the generator's truth."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from insightloop import Workspace
from insightloop.ingest.load import LoadReport

# isort: off
# The CLI's entry module first: it registers every command in its order (docs/cli.md).
from insightloop.cli.main import app  # noqa: F401
from insightloop.cli.demo_cmds import declare_demo_sources

# isort: on
from tests.demo.companies import Company

REJECTING = {
    "missing_key", "invalid_email", "impossible_date", "negative_amount", "non_numeric_amount",
    "out_of_range",
}  # fmt: skip
_LOCATION = re.compile(r"(sources/.+?):(\d+)(?::\d+)?$")


@pytest.fixture(scope="module")
def loaded(
    company: Company, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Workspace, LoadReport]]:
    ws = Workspace.init(tmp_path_factory.mktemp("demo-load") / "ws")
    declare_demo_sources(ws, company.root)
    report = ws.load()
    yield ws, report
    ws.close()


def test_every_demo_file_loads_and_the_account_balances(
    company: Company, loaded: tuple[Workspace, LoadReport]
) -> None:
    ws, report = loaded
    assert report.failed == []
    assert report.balanced
    files = {b.location.split("company/", 1)[-1] for b in report.batches}
    expected = {f["path"] for f in company.manifest()["files"]}
    assert files == expected
    assert len(ws.sources()) == 15
    totals = report.totals()
    assert totals["rows_read"] == (
        totals["rows_loaded"] + totals["rows_quarantined"] + totals["duplicates_skipped"]
    )
    assert totals["rows_quarantined"] == ws.engine.count("quarantine")


def test_exactly_the_planted_dirty_rows_are_quarantined(
    company: Company, loaded: tuple[Workspace, LoadReport]
) -> None:
    ws, _ = loaded
    defects = company.truth("defects")
    rejecting = defects.filter(pc.is_in(defects.column("defect"), pa.array(sorted(REJECTING))))
    planted = {(r["file"], r["line"]) for r in rejecting.to_pylist()}
    t = ws.engine.table("quarantine")
    held: Counter[tuple[str, int]] = Counter()
    codes: dict[tuple[str, int], set[str]] = {}
    for row in ws.engine.records(t.select("location", "reason_codes")):
        found = _LOCATION.search(row["location"])
        assert found, row["location"]
        where = (found.group(1), int(found.group(2)))
        held[where] += 1
        codes.setdefault(where, set()).update(row["reason_codes"])
    assert set(held) == planted, (sorted(set(held) - planted)[:5], sorted(planted - set(held))[:5])
    expected_code = {
        "missing_key": "required_missing", "invalid_email": "email_",
        "impossible_date": "date_", "negative_amount": "out_of_range",
        "non_numeric_amount": "amount_not_a_number", "out_of_range": "out_of_range",
    }  # fmt: skip
    for r in rejecting.to_pylist():
        got = codes[(r["file"], r["line"])]
        assert any(c.startswith(expected_code[r["defect"]]) for c in got), (r, got)


def test_copies_are_skipped_and_unknown_skus_load_with_a_warning(
    company: Company, loaded: tuple[Workspace, LoadReport]
) -> None:
    _, report = loaded
    defects = Counter(company.truth("defects").column("defect").to_pylist())
    totals = report.totals()
    assert totals["duplicates_skipped"] >= defects["duplicate_row"]
    assert totals["warnings"].get("reference_missing:sku", 0) >= defects["unknown_sku"]


def test_the_demo_declare_command_is_idempotent(company: Company, tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "ws") as ws:
        assert len(declare_demo_sources(ws, company.root)) == 15
        assert declare_demo_sources(ws, company.root) == []
