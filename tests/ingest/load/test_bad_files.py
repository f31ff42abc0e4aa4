"""The bad-file corpus through the loader, on every backend: each broken input gives a failed
batch with a clear reason or quarantined rows — never a traceback, a silent drop or a half load."""

from __future__ import annotations

import os
from typing import Any

from insightloop import Workspace
from tests.decorator import mark_with_all_backends

MAPPING = {"source_key": "id", "email": "email"}

# name -> (file content, extra declaration, expected status, expected text in error or reasons)
CORPUS: dict[str, tuple[bytes, dict[str, Any], str, str]] = {
    "wrong_encoding": (
        "id,email\n1,a@x.se\n2,björn@x.se\n".encode("cp1252"),
        {"read": {"encoding": "utf-8"}}, "failed", "not valid utf-8",
    ),
    "truncated": (b'id,email\n1,a@x.se\n2,"b@x.se\n', {}, "loaded", "unterminated_quote"),
    "binary_junk": (bytes(range(256)) * 8 + os.urandom(512), {}, "failed", "NUL bytes"),
    "png_named_csv": (b"\x89PNG\r\n\x1a\n" + os.urandom(256), {}, "failed", "PNG image"),
    "empty": (b"", {}, "failed", "is empty"),
    "header_only": (b"id,email\n", {}, "loaded", ""),
    "duplicate_headers": (
        b"id,email,email\n1,a@x.se,b@x.se\n", {}, "loaded", "renamed to 'email_2'",
    ),
    "unbalanced_quote": (
        b'id,email\n1,a@x.se\n2,"b@x.se\n3,c@x.se\n', {}, "loaded", "unterminated_quote",
    ),
    "mixed_dates": (
        b"id,email,created\n1,a@x.se,2024-01-02\n2,b@x.se,02/01/2024 10:00\n3,c@x.se,2024-13-45\n",
        {"mapping": {**MAPPING, "created_at": "created"}}, "loaded", "date",
    ),
    "million_columns": (b"id" + b",c" * 1_000_000 + b"\n1" + b",x" * 1_000_000 + b"\n", {},
                        "failed", "columns"),
    "ragged": (b"id,email\n1,a@x.se,extra\n2\n", {}, "loaded", "too_many_fields"),
}  # fmt: skip


def _declare(ws: Workspace) -> None:
    folder = ws.path / "landing"
    for name, (content, extra, _, _) in CORPUS.items():
        (folder / f"{name}.csv").write_bytes(content)
        ws.add_source(
            name,
            {"kind": "file", "path": f"landing/{name}.csv", "entity": "customers",
             "mapping": MAPPING, **extra},
        )  # fmt: skip
    # A file that changes schema between loads: the second file lacks the mapped column.
    (folder / "daily").mkdir()
    (folder / "daily" / "day1.csv").write_bytes(b"id,email\n10,d1@x.se\n")
    (folder / "daily" / "day2.csv").write_bytes(b"id,mail\n11,d2@x.se\n")
    ws.add_source(
        "schema_change",
        {"kind": "folder", "path": "landing/daily", "pattern": "*.csv", "entity": "customers",
         "mapping": MAPPING},
    )  # fmt: skip
    ws.add_source(
        "unreachable_db",
        {"kind": "database", "url": "postgresql://u:pw@127.0.0.1:1/x", "table": "t",
         "watermark": "w", "entity": "customers", "mapping": MAPPING},
    )  # fmt: skip


@mark_with_all_backends
def test_every_bad_input_fails_cleanly_or_is_quarantined(workspace: Workspace) -> None:
    _declare(workspace)
    report = workspace.load()
    by = {(b.source, b.location.rsplit("/", 1)[-1]): b for b in report.batches}
    for name, (_, _, status, text) in CORPUS.items():
        batch = by[(name, f"{name}.csv")]
        assert batch.status == status, (name, batch.error)
        said = (batch.error or "") + " ".join(batch.rejections) + " ".join(batch.notes)
        assert text in said, (name, said)
        assert batch.balanced, name
        if status == "failed":
            assert "(" in (batch.error or ""), f"{name}: the error says what to do"
    assert by[("schema_change", "day1.csv")].status == "loaded"
    day2 = by[("schema_change", "day2.csv")]
    assert day2.status == "failed"
    assert "no column 'email'" in (day2.error or "")
    [db] = [b for b in report.batches if b.source == "unreachable_db"]
    assert db.status == "failed"
    assert "pw" not in (db.error or "").replace("postgresql://u@", "")
    # Nothing of a failed batch was kept; every loaded row belongs to a loaded batch.
    t = workspace.engine.table("src_customers")
    kept = {r["_batch_id"] for r in workspace.engine.records(t.select("_batch_id").distinct())}
    loaded = {b.batch_id for b in report.batches if b.status == "loaded" and b.rows_loaded}
    assert kept == loaded
    q = workspace.engine.table("quarantine")
    held = {r["batch_id"] for r in workspace.engine.records(q.select("batch_id").distinct())}
    assert held <= {b.batch_id for b in report.batches if b.status == "loaded"}
    totals = report.totals()
    assert totals["rows_loaded"] == workspace.engine.count("src_customers")
    assert totals["rows_quarantined"] == workspace.engine.count("quarantine")
