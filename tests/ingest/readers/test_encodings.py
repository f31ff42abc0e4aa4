"""The same Unicode text in every supported encoding reads back exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from insightloop.ingest.readers import ReadError, detect_encoding
from tests.ingest.readers.conftest import Read

ROWS = [
    ["id", "name", "city"],
    ["1", "Åsa Öberg", "Göteborg"],
    ["2", "åäöÅÄÖé", "Malmö café"],
    ["3", "John Smith", "London"],
]
CHINESE = [["id", "名字"], ["1", "顾客名字"], ["2", "张伟"], ["3", "北京市朝阳区"]]


def _write(path: Path, rows: list[list[str]], encoding: str) -> Path:
    path.write_bytes("".join(",".join(r) + "\n" for r in rows).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")],
)
def test_western_text_round_trips(tmp_path: Path, read: Read, encoding: str, detected: str) -> None:
    path = _write(tmp_path / "people.csv", ROWS, encoding)
    assert detect_encoding(path).encoding == detected
    rows, reader = read(path)
    assert reader.columns == ROWS[0]
    assert [[r[c] for c in ROWS[0]] for r in rows] == ROWS[1:]
    assert [r["_line"] for r in rows] == [2, 3, 4]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "gb18030", "gbk"])
def test_chinese_text_round_trips(tmp_path: Path, read: Read, encoding: str) -> None:
    path = _write(tmp_path / "kunder.csv", CHINESE, encoding)
    if encoding in {"gb18030", "gbk"}:
        assert detect_encoding(path).encoding == "gb18030"
    rows, reader = read(path)
    assert reader.columns == CHINESE[0]
    assert [[r[c] for c in CHINESE[0]] for r in rows] == CHINESE[1:]


def test_utf16_without_bom_is_detected(tmp_path: Path, read: Read) -> None:
    path = _write(tmp_path / "le.csv", ROWS, "utf-16-le")
    assert detect_encoding(path).encoding == "utf-16-le"
    rows, _ = read(path)
    assert rows[1]["name"] == "åäöÅÄÖé"


def test_declared_encoding_is_used(tmp_path: Path, read: Read) -> None:
    path = _write(tmp_path / "latin.csv", ROWS, "latin-1")
    rows, reader = read(path, encoding="latin-1")
    assert reader.encoding == "latin-1"
    assert rows[0]["name"] == "Åsa Öberg"


def test_wrong_declared_encoding_names_the_line(tmp_path: Path, read: Read) -> None:
    path = _write(tmp_path / "people.csv", ROWS, "cp1252")
    with pytest.raises(ReadError, match=r"line 2 holds bytes that are not valid utf-8") as err:
        read(path, encoding="utf-8")
    assert "Åsa" not in str(err.value)
    assert err.value.hint


def test_invalid_utf8_late_in_the_file_fails_with_its_line(tmp_path: Path, read: Read) -> None:
    body = "id,name\n" + "".join(f"{i},Åsa\n" for i in range(150_000))
    path = tmp_path / "late.csv"
    path.write_bytes(body.encode() + b"150000,\xff\xfe\n")
    with pytest.raises(ReadError, match=r"line 150002 .* not valid utf-8"):
        read(path)


def test_mostly_utf8_with_a_bad_byte_is_still_utf8(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes("id,name\n1,Åsa Öberg\n2,Malmö åäö\n".encode() + b"3,\xe9\n")
    with pytest.raises(ReadError, match=r"line 4 .* not valid utf-8"):
        read(path)
