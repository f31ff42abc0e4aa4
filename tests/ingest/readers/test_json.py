"""JSON Lines: values as DuckDB's JSON functions render them, exact locations, every record
yielded or rejected, whichever of the reader's two ways of reading the values is taken."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insightloop.ingest.readers.json_reader as json_reader
import insightloop.ingest.readers.layout as layout
from insightloop.ingest.readers import ReadError, ReadOptions, open_file
from insightloop.ingest.readers.json_reader import JsonReader
from insightloop.ingest.readers.layout import LayoutScanner, LineScanner
from tests.ingest.readers.conftest import Read, read_rows

# Every kind of value, written in unusual ways; each line is an object, so the file can be read
# with read_json (the fast way) as well as line by line.
TRICKY = [
    '{"s": "plain", "n": 1.50, "b": true, "z": null, "o": {"a" : [1, 2.50, {"b": null}]}}',
    '  {"s": "quote \\" backslash \\\\ slash \\/ tab \\t nl \\n", "n": 1.0E-7}  ',
    '{"s": "\\u00e9\\u4eac \\ud83d\\ude00 åäö 北京", "n": 12345678901234567890, "b": false}',
    '{"s": "", "n": -0.0, "o": [], "": "empty key", "a/b~c": "pointer", "$.s": "dollar"}',
    '{"n": 1e400, "o": {}, "s": "control \\u0001", "a.b": "dot", "x y": [ "a" , 1 ]}',
    "{}",
    '{"n": 123456789012345678901234567890, "s": 5, "late": "only here"}',
]
EXPECTED = {
    "s": [
        "plain",
        'quote " backslash \\ slash / tab \t nl \n',
        "é京 😀 åäö 北京",
        "",
        "control \x01",
        None,
        "5",
    ],
    "n": ["1.5", "1e-7", "12345678901234567890", "-0.0", "1e400", None,
          "123456789012345678901234567890"],
    "o": ['{"a":[1,2.5,{"b":null}]}', None, None, "[]", "{}", None, None],
    "column_6": [None, None, None, "empty key", None, None, None],  # the key ""
    "a/b~c": [None, None, None, "pointer", None, None, None],
    "$.s": [None, None, None, "dollar", None, None, None],
    "x y": [None, None, None, None, '["a",1]', None, None],
}  # fmt: skip


def _read(
    path: Path, fast: bool, rows_per_batch: int = 100_000
) -> tuple[list[dict[str, Any]], JsonReader]:
    """Read ``path`` with read_json allowed (``fast``) or forced line by line."""
    with JsonReader(str(path), "jsonl", "utf-8") as reader:
        if not fast:
            reader._objects = False
        batches = list(reader.batches(rows_per_batch))
    rows = [row for batch in batches for row in batch.to_pylist()]
    assert reader.rows_read == reader.rows_yielded + len(reader.rejected)
    return rows, reader


def _write(path: Path, lines: list[str], newline: str = "\n") -> Path:
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_values_are_rendered_like_json_extract_string(tmp_path: Path, newline: str) -> None:
    path = _write(tmp_path / "tricky.jsonl", ["", *TRICKY[:3], "", "", *TRICKY[3:]], newline)
    fast_rows, fast = _read(path, fast=True, rows_per_batch=3)
    line_rows, line = _read(path, fast=False, rows_per_batch=3)
    assert fast._objects, "every line is an object: read_json read them all"
    assert fast_rows == line_rows
    assert fast.columns == line.columns
    assert fast.columns == ["s", "n", "b", "z", "o", "column_6", "$.s", "a.b", "a/b~c", "late",
                            "x y"]  # fmt: skip
    for key, values in EXPECTED.items():
        assert [row[key] for row in fast_rows] == values, key
    assert [row["_line"] for row in fast_rows] == [2, 3, 4, 7, 8, 9, 10]
    assert [row["_record"] for row in fast_rows] == list(range(1, 8))
    assert fast.blank_lines == 3


def test_nan_and_infinity_are_read_as_written(tmp_path: Path) -> None:
    # DuckDB's JSON parser accepts them (Python's json module writes them too).
    path = _write(tmp_path / "nan.jsonl", ['{"a": NaN, "b": Infinity, "c": -Infinity}', "{}"])
    for fast in (True, False):
        rows, reader = _read(path, fast=fast)
        assert reader._objects == fast
        assert [(r["a"], r["b"], r["c"]) for r in rows] == [
            ("NaN", "Infinity", "-Infinity"), (None, None, None),
        ]  # fmt: skip


def test_keys_are_literal_on_the_line_by_line_path(tmp_path: Path, read: Read) -> None:
    # An invalid line keeps read_json out; JSON Pointers keep "", "$.a" and "a.b" literal.
    path = _write(tmp_path / "keys.jsonl", ['{"a": 1, "": 2, "$.a": 3, "a.b": 4}', "{broken"])
    rows, reader = read(path)
    assert not reader._objects
    assert [rows[0][c] for c in reader.columns] == ["1", "2", "3", "4"]


def test_a_duplicate_key_stops_read_json_and_the_lines_carry_on(tmp_path: Path) -> None:
    lines = [json.dumps({"id": i, "v": f"x{i}"}) for i in range(5_000)]
    lines[4_500] = '{"id": 4500, "v": "first", "v": "second"}'
    path = _write(tmp_path / "dup.jsonl", lines)
    rows, reader = _read(path, fast=True, rows_per_batch=1_000)
    assert not reader._objects, "read_json refused the duplicate key"
    assert [row["id"] for row in rows] == [str(i) for i in range(5_000)]
    assert [row["_line"] for row in rows] == list(range(1, 5_001))
    assert rows[4_500]["v"] == "first", "the first of duplicate keys, as json_extract_string"


def test_read_json_failing_after_some_batches_resumes_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps({"id": i, "v": i * 1.5}) for i in range(10_000)]
    path = _write(tmp_path / "events.jsonl", ["", *lines[:6_000], "", *lines[6_000:]])
    stops = f"SELECT * FROM ({json_reader._OBJECTS}) WHERE id::INT < 8000 OR error('stop')"
    monkeypatch.setattr(json_reader, "_OBJECTS", stops)
    monkeypatch.setattr(json_reader, "_STREAM_BUFFER", (1024, 1024))  # DuckDB does not read ahead
    with JsonReader(str(path), "jsonl", "utf-8") as reader:
        batches = reader.batches(1_000)
        rows = next(batches).to_pylist()
        assert reader._objects, "the first batch came from read_json"
        rows += [row for batch in batches for row in batch.to_pylist()]
    assert not reader._objects, "then read_json stopped"
    assert reader.rows_read == reader.rows_yielded == 10_000
    assert [row["id"] for row in rows] == [str(i) for i in range(10_000)]
    assert [row["v"] for row in rows[:3]] == ["0.0", "1.5", "3.0"]
    assert [row["_line"] for row in rows] == [*range(2, 6_002), *range(6_003, 10_003)]


def test_keys_differing_only_in_case_are_both_kept(tmp_path: Path, read: Read) -> None:
    path = _write(tmp_path / "case.jsonl", ['{"id": 1, "ID": 2}', '{"id": 3}'])
    rows, reader = read(path)
    assert reader.columns == ["id", "ID_2"]
    assert [(row["id"], row["ID_2"]) for row in rows] == [("1", "2"), ("3", None)]


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n')
    rows, reader = read(path)
    assert reader.encoding == "utf-8-sig"
    assert [(row["a"], row["_line"]) for row in rows] == [("1", 1), ("2", 2)]


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "gb18030"])
def test_other_encodings_are_transcoded(tmp_path: Path, read: Read, encoding: str) -> None:
    city = "北京" if encoding == "gb18030" else "Göteborg"
    text = "".join(f'{{"id": {i}, "city": "{city}"}}\n' for i in range(3)) + "\n[1]\n"
    path = tmp_path / "people.jsonl"
    path.write_bytes(text.encode(encoding))
    rows, reader = read(path, encoding=encoding)
    assert [(row["city"], row["_line"]) for row in rows] == [(city, 1), (city, 2), (city, 3)]
    assert [(r.line, r.reason) for r in reader.rejected] == [(5, "not_an_object")]


def test_invalid_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": "ok"}\n' * 3 + b'{"a": "\xff"}\n')
    with pytest.raises(ReadError, match=r"line 4 holds bytes that are not valid utf-8"):
        read_rows(path, encoding="utf-8")


def test_blank_and_whitespace_lines(tmp_path: Path, read: Read) -> None:
    path = _write(tmp_path / "blank.jsonl", ["", '{"a": 1}', "   ", "\t", '{"a": 2}', "", ""])
    rows, reader = read(path)
    assert [(row["a"], row["_record"], row["_line"]) for row in rows] == [("1", 1, 2), ("2", 4, 5)]
    assert [(r.record, r.line, r.reason, r.raw) for r in reader.rejected] == [
        (2, 3, "invalid_json", "   "), (3, 4, "invalid_json", "\t"),
    ]  # fmt: skip
    assert reader.blank_lines == 3


def test_first_object_after_many_invalid_lines_gives_the_column_order(
    tmp_path: Path, read: Read
) -> None:
    lines = ["not json"] * 1_500 + ['{"z": 1, "a": 2}', '{"m": 3}']
    rows, reader = read(_write(tmp_path / "late.jsonl", lines))
    assert reader.columns == ["z", "a", "m"]
    assert len(reader.rejected) == 1_500
    assert [row["_line"] for row in rows] == [1_501, 1_502]


def test_invalid_lines_after_the_sampled_lines_are_rejected(tmp_path: Path, read: Read) -> None:
    lines = [json.dumps({"i": i}) for i in range(3_000)]
    for i in range(1_200, 3_000, 7):
        lines[i] = lines[i][:-2]  # cut
    rows, reader = read(_write(tmp_path / "cut.jsonl", lines), rows_per_batch=500)
    bad = list(range(1_200, 3_000, 7))
    assert [r.line for r in reader.rejected] == [i + 1 for i in bad]
    assert {r.reason for r in reader.rejected} == {"invalid_json"}
    assert [row["i"] for row in rows] == [str(i) for i in range(3_000) if i not in set(bad)]


def test_a_key_only_on_the_last_line_of_a_large_file_is_a_column(
    tmp_path: Path, read: Read
) -> None:
    lines = [json.dumps({"id": i}) for i in range(20_000)] + ['{"id": 20000, "rare": true}']
    rows, reader = read(_write(tmp_path / "rare.jsonl", lines))
    assert reader.columns == ["id", "rare"]
    assert rows[-1]["rare"] == "true"
    assert rows[0]["rare"] is None


def test_too_many_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_reader, "MAX_COLUMNS", 5)
    path = _write(tmp_path / "wide.jsonl", [json.dumps({f"k{i}": i}) for i in range(6)])
    with pytest.raises(ReadError, match="more than 5 distinct keys"):
        open_file(path, ReadOptions())


def test_a_line_over_the_limit_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "MAX_RECORD_BYTES", 20)
    path = _write(tmp_path / "long.jsonl", ['{"a": 1}', '{"a": "a long line of text"}'])
    with pytest.raises(ReadError, match="line 2 is longer than the line limit"):
        open_file(path, ReadOptions())


def test_utf8_check_across_chunk_boundaries() -> None:
    text = "aå北😀z".encode()
    for cut in range(len(text) + 1):
        check = json_reader._Utf8Check()
        assert check.feed(text[:cut]), cut
        assert check.feed(text[cut:]), cut
        assert check.finish(), cut
    check = json_reader._Utf8Check()
    assert check.feed(text[:-2]), "a character cut at the end is carried over"
    assert not check.finish(), "and is an error when the file ends there"
    assert not json_reader._Utf8Check().feed(b"ok \xc3\x28 ok")


def _layout_of(scanner: LayoutScanner, chunks: list[bytes]) -> tuple[Any, ...]:
    for chunk in chunks:
        scanner.feed(chunk)
    result = scanner.finish()
    located = result.locate(0, result.records - len(result.rejects), header=False)
    rejects = [(r.index, r.line, r.start, r.end, r.reason) for r in result.rejects]
    return result.records, result.blank_lines, rejects, [a.tolist() for a in located]


@pytest.mark.parametrize("seed", range(40))
def test_line_scanner_matches_the_general_scanner(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random lines (blank, CR-only, long, short) cut into random chunks: the fast path for
    regular chunks gives the same layout as the general scan without quotes."""
    monkeypatch.setattr(layout, "MAX_RECORD_BYTES", 30)
    rng = random.Random(seed)
    kinds = ["", "\r", "x", "{}", "a" * 29 + "\r", "b" * 31, "c" * 10, '{"k": 1}']
    weights = [1, 1, 1, 2, 1, 1, 20, 20] if seed % 2 else [0, 0, 0, 1, 0, 0, 10, 10]
    lines = rng.choices(kinds, weights, k=rng.randrange(0, 200))
    data = "\n".join(lines).encode() + (b"\n" if rng.random() < 0.5 else b"")
    cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randrange(1, 12))))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    general = LayoutScanner("\x01", "\x02", fields=1 << 62)
    assert _layout_of(LineScanner(), chunks) == _layout_of(general, chunks)


@pytest.mark.parametrize("fast", [True, False])
def test_a_line_just_under_the_limit_is_read(tmp_path: Path, fast: bool) -> None:
    big = json.dumps({"id": 2, "blob": "x" * (layout.MAX_RECORD_BYTES - 30)})
    assert len(big) <= layout.MAX_RECORD_BYTES
    lines = [json.dumps({"id": i}) for i in range(50_000)]
    path = _write(tmp_path / "big.jsonl", ['{"id": 1}', big, *lines])
    rows, reader = _read(path, fast=fast)
    assert reader._objects == fast
    assert [len(row["blob"] or "") for row in rows[:3]] == [0, layout.MAX_RECORD_BYTES - 30, 0]
    assert [row["_line"] for row in rows[-2:]] == [50_001, 50_002]


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from(list('a"\\/\n\t\x01é北😀 {}[],:')), max_size=6)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    objects=st.lists(
        st.dictionaries(st.sampled_from(["id", "a", "B", "a.b", "", "x/y"]), _VALUES, max_size=4),
        min_size=1,
        max_size=8,
    ),
    spaced=st.booleans(),
)
def test_read_json_and_the_line_query_agree(
    tmp_path: Path, objects: list[dict[str, Any]], spaced: bool
) -> None:
    separators = (", ", ": ") if spaced else (",", ":")
    path = _write(
        tmp_path / "random.jsonl", [json.dumps(o, separators=separators) for o in objects]
    )
    fast_rows, fast = _read(path, fast=True)
    line_rows, line = _read(path, fast=False)
    assert fast._objects or not fast.columns
    assert fast_rows == line_rows
    assert fast.columns == line.columns
    for row, obj in zip(line_rows, objects, strict=True):
        for key, value in obj.items():
            if isinstance(value, str):
                assert row[fast.columns[line._keys.index(key)]] == value
