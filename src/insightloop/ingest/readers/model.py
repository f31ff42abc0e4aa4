"""The vocabulary of the readers: options, limits, rejected records and :class:`ReadError`.

A *record* is one logical row of a file: a CSV record may span several physical lines when a
quoted field holds a newline; a JSON Lines record is one line. Every record a reader sees is
either yielded or kept as a :class:`RejectedRecord` with a reason code from :data:`REJECT_REASONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from insightloop.errors import InsightloopError

__all__ = [
    "FORMATS",
    "MAX_COLUMNS",
    "MAX_RECORD_BYTES",
    "REJECT_REASONS",
    "Format",
    "ReadError",
    "ReadOptions",
    "RejectedRecord",
]

Format = Literal["csv", "jsonl", "json", "parquet", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "json", "parquet", "xlsx")

#: More columns than this is refused up front: such a "table" is almost always a wrong delimiter
#: or a file that is not a table at all, and it would cost memory per record.
MAX_COLUMNS = 10_000
#: A record longer than this (bytes of UTF-8) is rejected with ``record_too_long``.
MAX_RECORD_BYTES = 8 * 1024 * 1024
#: A rejected record keeps at most this many characters of its raw text.
MAX_RAW_CHARS = 4_096

REJECT_REASONS: dict[str, str] = {
    "too_many_fields": "the record has more fields than the header (short records are padded)",
    "unterminated_quote": "a quoted field is still open at the end of the file",
    "record_too_long": f"the record is longer than {MAX_RECORD_BYTES // (1024 * 1024)} MiB",
    "invalid_json": "the line is not valid JSON",
    "not_an_object": "the line is valid JSON but not an object ({...})",
}


class ReadError(InsightloopError):
    """A file cannot be read: missing, unreadable, not the declared format, or malformed.

    The message names the file and, where known, the line and encoding; it never quotes the
    file's content, which may be personal data.

    Examples
    --------
    >>> err = ReadError("customers.csv: line 3 is not valid cp1252", hint="Set encoding=...")
    >>> err.code
    'read_error'
    """

    code = "read_error"


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file; every field left as ``None`` is detected.

    Parameters
    ----------
    format
        ``csv``, ``jsonl``, ``json`` (an array of objects), ``parquet`` or ``xlsx``; by default
        taken from the file extension, then from the first bytes.
    encoding
        A Python codec name (``utf-8``, ``utf-8-sig``, ``utf-16``, ``cp1252``, ``latin-1``,
        ``gb18030``, ``gbk``, ...); text formats only.
    delimiter, quote
        One character each; CSV only. ``quote`` is also the escape character (``""``).
    header
        Whether the first CSV record holds the column names.
    sheet
        The worksheet of an ``.xlsx`` file; by default the first one.

    Examples
    --------
    >>> ReadOptions(delimiter=";", encoding="cp1252").delimiter
    ';'
    """

    format: Format | None = None
    encoding: str | None = None
    delimiter: str | None = None
    quote: str | None = None
    header: bool | None = None
    sheet: str | None = None


@dataclass(frozen=True)
class RejectedRecord:
    """A record that could not be split into fields, with where it is and why.

    Parameters
    ----------
    file
        The path as given.
    record
        1-based record number in the file (the same numbering as the ``_record`` column).
    line
        Physical line where the record starts (the header is line 1).
    reason
        A code from :data:`REJECT_REASONS`.
    raw
        The record's text (at most 4,096 characters) for the quarantine; personal data, so it
        is never put into an error message or a log line.
    """

    file: str
    record: int
    line: int
    reason: str
    raw: str
