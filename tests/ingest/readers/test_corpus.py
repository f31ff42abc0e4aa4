"""A corpus of broken files: each gives a clear ReadError or rejected records, never a
DuckDB traceback, a silent drop or a half-read file presented as complete."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from insightloop.ingest.readers import ReadError, open_file
from tests.ingest.readers.conftest import Read


def _fails(path: Path, pattern: str, **options: str) -> ReadError:
    with pytest.raises(ReadError, match=pattern) as err, open_file(path) as reader:
        list(reader.batches())
    assert err.value.hint, "every error says what to do"
    assert "secret" not in str(err.value), "error messages never quote the content"
    return err.value


def test_missing_path(tmp_path: Path) -> None:
    _fails(tmp_path / "nope.csv", "does not exist")


def test_directory_given_as_file(tmp_path: Path) -> None:
    _fails(tmp_path, "is a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read files without read permission")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.csv"
    path.write_text("a\n1\n")
    path.chmod(0)
    _fails(path, "permission denied")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    _fails(path, r"is empty \(0 bytes\)")


def test_png_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "logo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    _fails(path, "looks like a PNG image")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes(range(256)) * 40 + os.urandom(4000))
    _fails(path, "NUL bytes")


def test_header_only(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "header.csv"
    path.write_text("email,name\n")
    rows, reader = read(path)
    assert rows == []
    assert reader.columns == ["email", "name"]
    assert reader.rows_read == 0


def test_duplicate_headers_are_made_unique_and_reported(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("email,Email,email,,email_2\na,b,c,d,e\n")
    rows, reader = read(path)
    assert reader.columns == ["email", "Email_2", "email_3", "column_4", "email_2_2"]
    assert [rows[0][c] for c in reader.columns] == ["a", "b", "c", "d", "e"]
    assert "column 'email' renamed to 'email_3'" in reader.notes


def test_truncated_file_cut_mid_quote(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "cut.csv"
    path.write_text('id,note\n1,ok\n2,"secret that was cut\nin the mid')
    rows, reader = read(path)
    assert [r["id"] for r in rows] == ["1"]
    assert [(r.record, r.line, r.reason) for r in reader.rejected] == [(2, 3, "unterminated_quote")]


def test_unbalanced_quote_mid_file_rejects_the_rest_as_one_record(
    tmp_path: Path, read: Read
) -> None:
    path = tmp_path / "unbalanced.csv"
    path.write_text('id,note\n1,ok\n2,"secret\n3,fine\n4,fine\n')
    rows, reader = read(path)
    assert [r["id"] for r in rows] == ["1"]
    assert [(r.line, r.reason) for r in reader.rejected] == [(3, "unterminated_quote")]
    assert reader.rejected[0].raw.count("\n") == 3  # the swallowed lines are kept, not lost


def test_mixed_date_formats_are_just_text(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "dates.csv"
    path.write_text("id;born\n1;2024-05-01\n2;01/05/2024\n3;1 maj 2024\n4;\n")
    rows, _ = read(path)
    assert [r["born"] for r in rows] == ["2024-05-01", "01/05/2024", "1 maj 2024", ""]


def test_a_million_columns_fails_fast(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
    started = time.perf_counter()
    _fails(path, "more than 10,000 fields")
    assert time.perf_counter() - started < 2


def test_ragged_rows(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1\n2,2\n3,3,3\n4,4,4,secret\n5,5,5,5,5\n")
    rows, reader = read(path)
    assert [(r["a"], r["b"], r["c"]) for r in rows] == [
        ("1", None, None), ("2", "2", None), ("3", "3", "3"),
    ]  # fmt: skip
    assert [(r.line, r.reason) for r in reader.rejected] == [
        (5, "too_many_fields"),
        (6, "too_many_fields"),
    ]


def test_schema_change_between_two_loads_shows_in_columns(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id,email\n1,a@b.se\n")
    _, first = read(path)
    path.write_text("id,email,phone\n1,a@b.se,070\n")
    _, second = read(path)
    assert first.columns != second.columns
    assert set(second.columns) - set(first.columns) == {"phone"}


def test_duckdb_error_after_the_first_batches_is_a_read_error(tmp_path: Path) -> None:
    # DuckDB stops on the mixed line ends only after batches were streamed; Arrow's batch
    # reader raises its error as OSError, with a message that must not reach the caller.
    path = tmp_path / "late.csv"
    body = "".join(f"{i},secret{i}\n" for i in range(200_000))
    path.write_text("id,name\n" + body + "x,secret\r\ny,z\r\n")
    with (
        pytest.raises(ReadError, match="could not be read as CSV") as err,
        open_file(path) as reader,
    ):
        for _ in reader.batches(10_000):
            pass
    assert "secret" not in str(err.value)
    assert reader.rows_yielded > 0, "the error came after some batches"


def test_jsonl_with_one_broken_line(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": 1}\n{"id": 2, "secret": \n[1, 2]\n\n{"id": 4, "late": {"x": [1]}}\n')
    rows, reader = read(path)
    assert [(r["id"], r["late"], r["_record"], r["_line"]) for r in rows] == [
        ("1", None, 1, 1), ("4", '{"x":[1]}', 4, 5),
    ]  # fmt: skip
    assert [(r.record, r.line, r.reason) for r in reader.rejected] == [
        (2, 2, "invalid_json"), (3, 3, "not_an_object"),
    ]  # fmt: skip


def test_truncated_json_array(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text('[{"id": 1}, {"id": 2, "secret": "cut')
    err = _fails(path, "could not be read as JSON")
    assert "secret" not in err.message


def test_json_array_reads_every_element(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "orders.json"
    path.write_text('[{"id": 1, "n": 1.50}, {"id": 2, "tags": ["a"]}, 3]')
    rows, reader = read(path)
    assert [(r["id"], r["n"], r["tags"], r["_record"]) for r in rows] == [
        ("1", "1.5", None, 1), ("2", None, '["a"]', 2),
    ]  # fmt: skip
    assert [(r.record, r.reason) for r in reader.rejected] == [(3, "not_an_object")]
