"""Delimiters, quoting, exact locations, and a property test against Python's csv module."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insightloop.ingest.readers import sniff_csv
from tests.ingest.readers.conftest import Read, read_rows


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path: Path, read: Read, delimiter: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(f'id{delimiter}name\n1{delimiter}"a{delimiter}b"\n2{delimiter}c\n')
    rows, reader = read(path)
    assert reader.dialect is not None
    assert reader.dialect.delimiter == delimiter
    assert [r["name"] for r in rows] == [f"a{delimiter}b", "c"]


def test_quoted_newlines_and_blank_lines_give_exact_lines(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        'id,note\n1,"two\nlines"\n2,plain\n\n3,"three\n\nlines"\n4,x,extra\n5,last',
    )
    rows, reader = read(path)
    assert [(r["id"], r["_record"], r["_line"]) for r in rows] == [
        ("1", 1, 2), ("2", 2, 4), ("3", 3, 6), ("5", 5, 10),
    ]  # fmt: skip
    assert rows[0]["note"] == "two\nlines"
    assert rows[2]["note"] == "three\n\nlines"
    assert [(r.record, r.line, r.reason, r.raw) for r in reader.rejected] == [
        (4, 9, "too_many_fields", "4,x,extra")
    ]
    assert reader.blank_lines == 1


def test_crlf_line_ends(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b'id;note\r\n1;"a\r\nb"\r\n\r\n2;c\r\n')
    rows, _ = read(path)
    assert [(r["note"], r["_line"]) for r in rows] == [("a\r\nb", 2), ("c", 5)]


def test_short_rows_are_padded_and_empty_fields_stay_empty(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text('a,b,c\n1,"",\n2\n')
    rows, reader = read(path)
    assert [(r["a"], r["b"], r["c"]) for r in rows] == [("1", "", ""), ("2", None, None)]
    assert not reader.rejected


def test_values_are_never_coerced(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,zip,amount,when\n007,01234,1.50,2024-05-01\n08,1e3,NaN,01/05/2024\n")
    rows, _ = read(path)
    assert [r["zip"] for r in rows] == ["01234", "1e3"]
    assert rows[0]["id"] == "007"
    assert [r["when"] for r in rows] == ["2024-05-01", "01/05/2024"]


def test_decimal_comma_and_header_sniffing(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("namn;belopp\nÅsa;12,50\n")
    dialect = sniff_csv(path, "utf-8")
    assert (dialect.delimiter, dialect.header, dialect.decimal_comma_likely) == (";", True, True)
    path.write_text("1,a@b.se\n2,c@d.se\n")
    headless = sniff_csv(path, "utf-8")
    assert not headless.header
    assert headless.names == ("column_1", "column_2")


def test_headerless_read_counts_from_line_one(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1,a@b.se\n2,c@d.se\n")
    rows, _ = read(path, header=False)
    assert [(r["column_1"], r["_record"], r["_line"]) for r in rows] == [("1", 1, 1), ("2", 2, 2)]


def test_small_batches_keep_locations(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "id,v\n" + "".join(f'{i},"x\ny"\n' if i % 7 == 0 else f"{i},z\n" for i in range(100))
    )
    rows, _ = read(path, rows_per_batch=9)
    expected, line = [], 2
    for i in range(100):
        expected.append(line)
        line += 2 if i % 7 == 0 else 1
    assert [r["_line"] for r in rows] == expected


_TEXT = st.text(alphabet=st.sampled_from(list('ab ,;"\n\r\tåé顾|')), max_size=8)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=st.integers(1, 4).flatmap(
        lambda width: st.lists(
            st.lists(_TEXT, min_size=width, max_size=width), min_size=1, max_size=6
        )
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_python_csv_round_trips(tmp_path: Path, table: list[list[str]], delimiter: str) -> None:
    width = len(table[0])
    header = [f"col{i}" for i in range(width)]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows([header, *table])
    path = tmp_path / "prop.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    rows, reader = read_rows(path, delimiter=delimiter, header=True)
    assert not reader.rejected
    assert [[r[c] for c in header] for r in rows] == table
    lines = [
        1 + sum(1 + sum(v.count("\n") for v in row) for row in table[:i]) + 1
        for i in range(len(table))
    ]
    assert [r["_line"] for r in rows] == lines
