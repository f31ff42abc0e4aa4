"""``open_file``: check the path, detect the format and encoding, and pick the reader.

The format comes from :attr:`ReadOptions.format`, else the extension (``.csv`` ``.tsv``
``.txt`` ``.psv`` ``.jsonl`` ``.ndjson`` ``.json`` ``.parquet`` ``.xlsx``), else the first
bytes. A ``.json`` file whose first character is not ``[`` is read as JSON Lines. A file whose
first bytes are those of an image, archive, PDF or other binary format is refused with its kind
named, whatever its extension.
"""

from __future__ import annotations

import os
from pathlib import Path

from insightloop.ingest.readers.base import FileReader
from insightloop.ingest.readers.csv_reader import CsvReader
from insightloop.ingest.readers.encoding import guess_encoding
from insightloop.ingest.readers.json_reader import JsonReader
from insightloop.ingest.readers.model import FORMATS, Format, ReadError, ReadOptions
from insightloop.ingest.readers.tabular import ParquetReader, XlsxReader

__all__ = ["detect_format", "open_file"]

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".psv": "csv", ".jsonl": "jsonl",
    ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}  # fmt: skip
_MAGIC: dict[bytes, str] = {
    b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
    b"%PDF": "a PDF document", b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old .xls workbook",
    b"7z\xbc\xaf": "a 7-zip archive", b"BZh": "a bzip2 archive", b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a zip archive (or an .xlsx workbook)",
}  # fmt: skip


def _check_path(path: Path) -> None:
    if not path.exists():
        raise ReadError(f"{path}: does not exist", hint="Check the path and the working directory.")
    if path.is_dir():
        raise ReadError(
            f"{path}: is a directory, not a file",
            hint="Give one file, or declare the source as a folder or glob such as 'dir/*.csv'.",
        )
    if not os.access(path, os.R_OK):
        raise ReadError(
            f"{path}: cannot be read (permission denied)",
            hint="Give the loader's user read permission on the file.",
        )


def detect_format(path: str | Path, head: bytes) -> Format:
    """The format of a file from its extension, else from its first bytes ``head``.

    Examples
    --------
    >>> detect_format("orders.json", b'{"id": 1}\\n'), detect_format("x.dat", b"PAR1...")
    ('jsonl', 'parquet')
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    found = _EXTENSIONS.get(Path(path).suffix.lower())
    if found == "json":
        return "json" if text.startswith(b"[") else "jsonl"
    if found:
        return found
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if text.startswith(b"{"):
        return "jsonl"
    return "json" if text.startswith(b"[") else "csv"


def open_file(path: str | Path, options: ReadOptions | None = None) -> FileReader:
    """Open one file for reading as raw text; use the result as a context manager.

    Raises
    ------
    ReadError
        When the file is missing, a directory, unreadable, empty, binary, in another encoding
        than the one given, or too wide; see ``docs/reading-files.md``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
    >>> _ = file.write_text("email;email\\nå@x.se;b@y.se\\n", encoding="utf-8")
    >>> with open_file(file) as reader:
    ...     batches = list(reader.batches())
    >>> reader.columns, reader.dialect.delimiter, reader.notes
    (['email', 'email_2'], ';', ["column 'email' renamed to 'email_2'"])
    """
    options = options or ReadOptions()
    file = Path(path)
    _check_path(file)
    try:
        with open(file, "rb") as handle:
            head = handle.read(1 << 20)
            complete = not handle.read(1)
    except OSError as error:
        raise ReadError(f"{file}: cannot be opened ({type(error).__name__})") from None
    if not head:
        raise ReadError(
            f"{file}: is empty (0 bytes)",
            hint="Check that the export finished; an empty file has no header.",
        )
    fmt = options.format or detect_format(file, head)
    if fmt not in FORMATS:
        raise ReadError(f"{file}: unknown format {fmt!r}", hint=f"Use one of {list(FORMATS)}.")
    if fmt == "parquet":
        return ParquetReader(str(file))
    if fmt == "xlsx":
        return XlsxReader(str(file), options.sheet, options.header)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise ReadError(
                f"{file}: looks like {kind}, not {fmt} text",
                hint="Point the source at the exported text file.",
            )
    guess = guess_encoding(head, complete)
    encoding = options.encoding or guess.encoding
    if options.encoding is None and not guess.encoding.startswith("utf-16") and b"\x00" in head:
        raise ReadError(
            f"{file}: holds NUL bytes, so it is binary data, not {fmt} text",
            hint="Point the source at the exported text file, or set the encoding if it is text.",
        )
    try:
        if fmt == "csv":
            return CsvReader(str(file), encoding, options)
        return JsonReader(str(file), fmt, encoding)
    except LookupError:
        raise ReadError(
            f"{file}: unknown encoding {encoding!r}",
            hint="Use a Python codec name such as 'utf-8', 'cp1252' or 'gb18030'.",
        ) from None
