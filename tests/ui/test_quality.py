"""The data-quality pages: scorecards over time, the load history and its account, the quarantine
browser with masked raw values, and retrying held rows.

Expected figures come from SQL run on the workspace's database in the test (never from the
pages' own queries). Retrying changes data, so those tests work on a copy of the workspace.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from insightloop import Workspace
from insightloop.auth import AuthStore
from insightloop.quality.contracts import RULE_CODES
from insightloop.quality.dashboard import quality_summary
from insightloop.ui.routes import quality as quality_routes
from tests.api.profile_fixtures import FAST
from tests.ui.conftest import _CSRF, make_app, shot

ROLES_WITHOUT_PII = ("analyst", "marketer", "viewer")
ROLES_WITH_PII = ("admin", "agent")


@contextmanager
def sql(root: Path) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
    """Run SQL on the workspace's database (closed before the test sends requests)."""
    with Workspace.open(root, read_only=True) as ws:
        yield lambda query: ws.engine.con.raw_sql(query).fetchall()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def reason_counts_on(html: str) -> dict[str, int]:
    return {code: number(n) for code, n in re.findall(r'data-reason="([^"]+)">([\d,]+)<', html)}


def grab(pattern: str, html: str) -> str:
    """The first group of ``pattern`` in ``html`` (which must match)."""
    match = re.search(pattern, html, re.S)
    assert match, f"{pattern!r} is not on the page"
    return match.group(1)


def held_ids_on(html: str) -> list[str]:
    return re.findall(r'<tr data-id="([0-9a-f]{32})">', html)


HELD_COUNTS = """
    SELECT code, count(*) FROM (
        SELECT unnest(reason_codes) AS code FROM quarantine WHERE NOT coalesce(resolved, false)
    ) GROUP BY code
"""
FINAL_BATCHES = """
    SELECT batch_id, source, status, rows_read, rows_loaded, rows_quarantined, duplicates_skipped
    FROM load_batches WHERE status <> 'started'
"""


# -- quality_summary ---------------------------------------------------------------------------


def test_quality_summary_equals_engine_counts(demo_root: Path) -> None:
    with sql(demo_root) as run:
        done = "status IN ('loaded', 'unchanged')"
        read, loaded, held, dups = run(
            f"SELECT sum(rows_read), sum(rows_loaded), sum(rows_quarantined), "
            f"sum(duplicates_skipped) FROM load_batches WHERE {done}"
        )[0]
        (unresolved,) = run("SELECT count(*) FROM quarantine WHERE NOT coalesce(resolved, false)")[
            0
        ]
        last = run(
            "SELECT source, entity, arg_max(status, started_at), max(started_at) FROM load_batches "
            "WHERE status <> 'started' GROUP BY ALL"
        )
        batches = run("SELECT count(DISTINCT batch_id) FROM load_batches")[0][0]
        with Workspace.open(demo_root, read_only=True) as ws:
            summary = quality_summary(ws.engine)
    assert (summary.rows_read, summary.rows_loaded) == (read, loaded)
    assert (summary.rows_quarantined, summary.duplicates_skipped) == (held, dups)
    assert read == loaded + held + dups
    assert summary.balanced
    assert summary.unresolved_quarantined == unresolved > 0  # the demo's dirty rows
    assert summary.batches == batches
    got = {(s.source, s.entity): s.last_status for s in summary.sources}
    assert got == {(s, e): status for s, e, status, _ in last}
    assert all(s.last_load_at is not None and s.balanced for s in summary.sources)
    assert summary.attention == ()
    assert json.loads(json.dumps(summary.to_dict()))["rows_read"] == read


# -- scorecards --------------------------------------------------------------------------------


def test_scorecards_show_every_source_and_its_flags(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    with sql(demo_root) as run:
        latest = run(
            """SELECT source, entity, metric, coalesce(field, ''), flagged FROM (
                 SELECT *, row_number() OVER (PARTITION BY source, entity, metric,
                   coalesce(field, '') ORDER BY measured_at DESC, batch_id DESC) AS n
                 FROM quality_metrics) WHERE n = 1"""
        )
    flagged: dict[str, int] = {}
    for source, _, _, _, is_flagged in latest:
        flagged[source] = flagged.get(source, 0) + int(is_flagged)
    assert sum(flagged.values()) > 0, "the demo has flagged measures"
    html = client_as("viewer").get("/quality").text
    cards = re.findall(r'<section class="source-card( has-flags)?"[^>]*data-source="([^"]+)"', html)
    assert {source for _, source in cards} == set(flagged)
    for has_flags, source in cards:
        assert bool(has_flags) == (flagged[source] > 0), source
    assert f"{sum(flagged.values())} flagged measure(s)" in html
    assert html.count('class="chart"') == len(cards)  # a chart over time per source
    worst = max(flagged, key=lambda s: flagged[s])
    assert cards[0][1] == worst  # sources with flags first
    one = client_as("viewer").get("/quality", params={"source": worst}).text
    assert re.findall(r'data-source="([^"]+)"', one) == [worst]
    assert f"{flagged[worst]} flagged" in one


def test_scorecard_shows_a_volume_anomaly(
    tmp_path: Path, demo_root: Path, passwords: dict[str, str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    with Workspace.open(root) as ws:
        (batch_id, source, _entity) = ws.engine.con.raw_sql(
            "SELECT batch_id, source, entity FROM quality_metrics WHERE metric = 'volume' "
            "AND source = 'crm_hq'"
        ).fetchall()[0]
        ws.engine.con.raw_sql(
            "UPDATE quality_metrics SET value = 0.3, flagged = true, detail = '{}' "
            f"WHERE metric = 'volume' AND batch_id = '{batch_id}'"
        )
    with signed_in(root, "viewer", passwords) as client:
        html = client.get("/quality", params={"source": source}).text
    assert "data-volume-anomaly" in html
    assert "0.30x" in html
    assert 'id="attention"' in html
    assert "volume anomaly: 0.30\u00d7 the usual rows" in text_of(html)


# -- the load history --------------------------------------------------------------------------


_ROW = re.compile(r'<tr data-batch="([^"]+)">(.*?)</tr>', re.S)
_CELL = re.compile(r'data-col="(\w+)">(.*?)</td>', re.S)


def batches_on(html: str) -> dict[str, dict[str, str]]:
    return {
        batch: {col: text_of(cell) for col, cell in _CELL.findall(row)}
        for batch, row in _ROW.findall(html)
    }


def test_load_history_equals_load_batches_and_reconciles(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    with sql(demo_root) as run:
        expected = {r[0]: r[1:] for r in run(FINAL_BATCHES)}
    html = client_as("analyst").get("/quality/loads").text
    shown = batches_on(html)
    assert set(shown) == set(expected)
    for batch, (_, status, read, loaded, held, dups) in expected.items():
        cells = shown[batch]
        got = tuple(number(cells[c]) for c in ("read", "loaded", "quarantined", "duplicates"))
        assert got == (read, loaded, held, dups), batch
        assert status == "loaded"
        assert read == loaded + held + dups
        assert cells["check"] == "✓"
    for i, key in enumerate(("read", "loaded", "quarantined", "duplicates"), start=2):
        total = sum(v[i] for v in expected.values())
        assert number(grab(rf'id="sum-{key}">([\d,]+)<', html)) == total
    assert "✓ balanced" in html


def test_load_history_pages_newest_first(
    demo_root: Path, client_as: Callable[[str], TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    with sql(demo_root) as run:
        order = [
            r[0]
            for r in run(
                "SELECT batch_id FROM load_batches WHERE status <> 'started' "
                "ORDER BY started_at DESC, batch_id DESC"
            )
        ]
    monkeypatch.setattr(quality_routes, "PAGE_SIZE", 4)
    client = client_as("viewer")
    first, second = (client.get("/quality/loads", params={"page": p}).text for p in (1, 2))
    assert list(batches_on(first)) == order[:4]
    assert list(batches_on(second)) == order[4:8]
    assert f"Page 2 of {(len(order) + 3) // 4}" in second
    assert 'rel="prev"' in second
    with sql(demo_root) as run:
        pos = {r[0] for r in run("SELECT batch_id FROM load_batches WHERE source = 'pos_lines'")}
    only = client.get("/quality/loads", params={"source": "pos_lines"}).text
    assert set(batches_on(only)) == pos
    for bad in ("0", "x", "-1"):
        r = client.get("/quality/loads", params={"page": bad})
        assert r.status_code == 422
        assert "page number" in r.text


# -- the quarantine ----------------------------------------------------------------------------


def test_quarantine_counts_per_reason_equal_the_table(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    with sql(demo_root) as run:
        held = dict(run(HELD_COUNTS))
        everything = dict(run("SELECT code, count(*) FROM (SELECT unnest(reason_codes) AS code "
                              "FROM quarantine) GROUP BY code"))  # fmt: skip
        pos = dict(run("SELECT code, count(*) FROM (SELECT unnest(reason_codes) AS code FROM "
                       "quarantine WHERE source = 'pos_lines') GROUP BY code"))  # fmt: skip
        (total,) = run("SELECT count(*) FROM quarantine WHERE NOT coalesce(resolved, false)")[0]
    assert held, "the demo has dirty rows in the quarantine"
    client = client_as("viewer")
    html = client.get("/quality/quarantine").text
    assert reason_counts_on(html) == held
    assert f"{total} row(s)" in html
    assert len(held_ids_on(html)) == min(total, 50)
    assert 'data-figure="' in html  # the bar chart of the counts
    assert reason_counts_on(client.get("/quality/quarantine?state=all").text) == everything
    assert reason_counts_on(client.get("/quality/quarantine?source=pos_lines").text) == pos
    code, rows = max(held.items(), key=lambda kv: kv[1])
    picked = client.get("/quality/quarantine", params={"reason": code}).text
    assert len(held_ids_on(picked)) == rows
    assert reason_counts_on(picked) == held  # the counts still offer every reason
    assert client.get("/quality/quarantine?state=later").status_code == 422
    assert "Retry the selected rows" not in html  # viewers cannot retry


def test_quarantine_filters_answer_htmx_with_the_results_only(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    with sql(demo_root) as run:
        rows = run("SELECT count(*) FROM quarantine WHERE source = 'web_orders' "
                   "AND NOT coalesce(resolved, false)")[0][0]  # fmt: skip
    headers = {"HX-Request": "true", "HX-Target": "quarantine-body"}
    part = client_as("analyst").get(
        "/quality/quarantine", params={"source": "web_orders"}, headers=headers
    )
    assert part.status_code == 200
    assert "<html" not in part.text
    assert 'id="quarantine-filters"' in part.text
    assert len(held_ids_on(part.text)) == rows
    assert "Retry the selected rows" in part.text  # analysts may retry


def test_quarantine_row_shows_every_reason_and_where_it_came_from(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    with sql(demo_root) as run:
        qid, codes, location = run(
            "SELECT quarantine_id, reason_codes, location FROM quarantine "
            "ORDER BY len(reason_codes) DESC, quarantine_id LIMIT 1"
        )[0]
    assert len(codes) > 1
    html = client_as("viewer").get(f"/quality/quarantine/{qid}").text
    reasons = grab(r'(id="row-reasons".*?</table>)', html)
    for code in codes:
        assert f"<code>{code}</code>" in reasons
        name, _, column = code.partition(":")
        if column:
            assert column.replace("+", ", ") in reasons
            assert RULE_CODES[name] in reasons
    file, line = location.rsplit(":", 1)
    where = text_of(grab(r'id="row-location">(.*?)</dl>', html))
    assert f"File {file} Line {line}" in where
    client = client_as("viewer")
    assert client.get("/quality/quarantine/" + "0" * 32).status_code == 404
    assert client.get("/quality/quarantine/not-an-id").status_code == 404


def _customer_row(root: Path) -> tuple[str, list[str]]:
    """A quarantined customer record and its personal values (e-mail and name)."""
    with sql(root) as run:
        for qid, raw in run("SELECT quarantine_id, raw FROM quarantine WHERE entity = 'customers' "
                            "ORDER BY quarantine_id"):  # fmt: skip
            values = [v for v in json.loads(raw).values() if isinstance(v, str)]
            emails = [v for v in values if "@" in v]
            names = [v for v in values if re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", v)]
            if emails and names:
                return qid, [emails[0], names[0]]
    raise AssertionError("the demo has quarantined customer records with an e-mail and a name")


def test_raw_values_are_masked_without_pii_read(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    qid, secrets = _customer_row(demo_root)
    audit = AuthStore.for_workspace(demo_root, hasher=FAST).audit
    for role in ROLES_WITHOUT_PII:
        html = client_as(role).get(f"/quality/quarantine/{qid}").text
        for secret in secrets:
            assert secret not in html, role
        assert 'id="masked-note"' in html
        assert '<td class="masked">***</td>' in html
        assert '<th scope="row">email</th>' in html  # the field names are shown
        assert not audit.query(action="quarantine.read", actor=f"ui-{role}")


def test_raw_values_are_shown_to_pii_roles_and_audited(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    qid, secrets = _customer_row(demo_root)
    audit = AuthStore.for_workspace(demo_root, hasher=FAST).audit
    for role in ROLES_WITH_PII:
        client = client_as(role)
        html = client.get(f"/quality/quarantine/{qid}").text
        for secret in secrets:
            assert secret in html, role
        assert 'id="unmasked-note"' in html
        entries = audit.query(action="quarantine.read", actor=f"ui-{role}", target=qid)
        assert entries
        assert entries[0].details["entity"] == "customers"
        listing = client.get("/quality/quarantine", params={"state": "all"}).text
        for secret in secrets:  # lists never carry raw values
            assert secret not in listing


# -- retry -------------------------------------------------------------------------------------


@contextmanager
def signed_in(root: Path, role: str, passwords: dict[str, str]) -> Iterator[TestClient]:
    """A client of an app on ``root`` (a copy of the demo workspace), signed in as ``role``."""
    with TestClient(make_app(root)) as client:
        r = client.post("/login", data={"username": f"ui-{role}", "password": passwords[role],
                                         "next": "/status"})  # fmt: skip
        match = _CSRF.search(r.text)
        assert match, r.text[:500]
        client.headers["X-CSRF-Token"] = match.group(1)
        yield client


def test_retry_is_refused_without_pipeline_run(
    demo_root: Path, client_as: Callable[[str], TestClient]
) -> None:
    with sql(demo_root) as run:
        before = run("SELECT quarantine_id, resolved, retried_at FROM quarantine ORDER BY 1")
    for role in ("marketer", "viewer", "agent"):
        r = client_as(role).post("/quality/quarantine/retry", data={"scope": "all"})
        assert r.status_code == 403, role
        assert "pipeline:run" in r.text
    analyst = client_as("analyst")
    del analyst.headers["X-CSRF-Token"]
    r = analyst.post("/quality/quarantine/retry", data={"scope": "all"})
    assert r.status_code == 403
    assert "Form expired" in r.text
    with sql(demo_root) as run:
        assert (
            run("SELECT quarantine_id, resolved, retried_at FROM quarantine ORDER BY 1") == before
        )


def test_retry_after_a_fix_loads_the_rows_it_now_accepts(
    tmp_path: Path, demo_root: Path, passwords: dict[str, str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    # The fix: negative line amounts are returns the POS writes as lines; accept them.
    config = root / "insightloop.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[sources.pos_lines.contract]\ndisable = ["range:line_amount"]\n',
        encoding="utf-8",
    )
    with sql(root) as run:
        rows = run("SELECT quarantine_id, reason_codes FROM quarantine WHERE source = 'pos_lines' "
                   "AND NOT coalesce(resolved, false)")  # fmt: skip
        (items_before,) = run("SELECT count(*) FROM order_items WHERE _source = 'pos_lines'")[0]
    fixed = {qid for qid, codes in rows if codes == ["out_of_range:line_amount"]}
    assert fixed
    assert len(fixed) < len(rows)
    with signed_in(root, "analyst", passwords) as client:
        r = client.post("/quality/quarantine/retry", data={"scope": "all", "source": "pos_lines"})
        assert r.status_code == 200, r.text[:1000]
        html = r.text
        loads = client.get("/quality/loads", params={"source": "pos_lines"}).text
        held = client.get("/quality/quarantine", params={"source": "pos_lines"}).text
    assert number(grab(r'id="retry-read">([\d,]+)<', html)) == len(rows)
    assert number(grab(r'id="retry-loaded">([\d,]+)<', html)) == len(fixed)
    still = len(rows) - len(fixed)
    assert number(grab(r'id="retry-held">([\d,]+)<', html)) == still
    with sql(root) as run:
        resolved = {r[0] for r in run("SELECT quarantine_id FROM quarantine WHERE resolved")}
        (items_after,) = run("SELECT count(*) FROM order_items WHERE _source = 'pos_lines'")[0]
        retry_batch = run("SELECT rows_read, rows_loaded, rows_quarantined FROM load_batches "
                          "WHERE location = 'quarantine-retry' AND status = 'loaded'")  # fmt: skip
    assert resolved == fixed
    assert items_after == items_before + len(fixed)
    assert retry_batch == [(len(rows), len(fixed), still)]
    assert "quarantine-retry" in loads
    assert "✗" not in loads
    assert len(held_ids_on(held)) == still
    entries = AuthStore.for_workspace(root, hasher=FAST).audit.query(action="quarantine.retry")
    assert entries[0].actor == "ui-analyst"
    assert entries[0].target == "pos_lines"
    assert entries[0].details["rows_loaded"] == len(fixed)


def test_retry_of_selected_rows_and_bad_selections(
    tmp_path: Path, demo_root: Path, passwords: dict[str, str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(demo_root, root)
    with sql(root) as run:
        qid, codes = run("SELECT quarantine_id, reason_codes FROM quarantine "
                         "WHERE source = 'surveys' LIMIT 1")[0]  # fmt: skip
    with signed_in(root, "admin", passwords) as client:
        html = client.post(
            "/quality/quarantine/retry", data={"scope": "selected", "ids": [qid]}
        ).text
        assert number(grab(r'id="retry-held">([\d,]+)<', html)) == 1
        assert "1 selected row(s)" in html
        assert codes[0] in html
        for data in ({"scope": "selected"}, {"scope": "selected", "ids": ["nope"]},
                     {"scope": "everything"}):  # fmt: skip
            r = client.post("/quality/quarantine/retry", data=data)
            assert r.status_code == 422, data
        with Workspace.open(root, read_only=True):  # another connection holds the database
            r = client.post("/quality/quarantine/retry", data={"scope": "all"})
        assert r.status_code == 503
        assert "busy" in r.text
    with sql(root) as run:
        assert run(f"SELECT resolved, retried_at IS NOT NULL FROM quarantine "
                   f"WHERE quarantine_id = '{qid}'") == [(False, True)]  # fmt: skip


# -- in the browser ----------------------------------------------------------------------------


def test_an_analyst_browses_the_quarantine_and_the_loads(
    demo_root: Path, page_as: Callable[[str], Any]
) -> None:
    with sql(demo_root) as run:
        held = dict(run(HELD_COUNTS))
    code = "date_impossible" if "date_impossible" in held else next(iter(held))
    page = page_as("analyst")
    page.goto("/quality")
    page.wait_for_selector(".source-card .chart .main-svg")
    shot(page, "quality-scorecards")
    page.get_by_role("link", name="Quarantine").first.click()
    page.wait_for_url("**/quality/quarantine")
    page.wait_for_selector("#reason-chart .main-svg")
    assert page.locator("#retry-selected").is_disabled()
    shot(page, "quality-quarantine")
    page.get_by_label("Reason code", exact=True).select_option(code)
    page.wait_for_url(f"**/quality/quarantine?*reason={code}*")
    page.wait_for_function(
        "n => document.querySelectorAll('#held-rows tbody tr').length === n", arg=held[code]
    )
    for reasons in page.locator("#held-rows tbody tr td:nth-child(6)").all_inner_texts():
        assert code in reasons
    page.locator('#held-rows tbody input[name="ids"]').first.check()
    assert page.locator("#retry-selected").is_enabled()
    shot(page, "quality-quarantine-filtered")
    page.locator("#held-rows tbody tr a").first.click()
    page.wait_for_url("**/quality/quarantine/*")
    assert code in page.locator("#row-reasons").inner_text()
    assert page.locator("#masked-note").is_visible()
    shot(page, "quality-quarantine-row")
    page.get_by_role("link", name="Load history").click()
    page.wait_for_url("**/quality/loads")
    assert page.locator("#total-check").inner_text() == "✓ balanced"
    shot(page, "quality-loads")
