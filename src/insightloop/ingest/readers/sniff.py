"""Sniffing a CSV dialect from a sample: delimiter, quote, header, decimal commas.

* **Delimiter**: each of ``,`` ``;`` tab ``|`` splits the first records of the sample (quotes
  respected); the one giving the same field count (> 1) on most records wins, ties in that order.
* **Header**: the first record is a header unless one of its fields looks like data (a number,
  a date, an e-mail address) or all are empty.
* **Decimal comma**: a semicolon- or tab-separated file whose fields look like ``12,50``.
* **Column names** are made unique, ignoring case: ``email``, ``email_2``; empty names become
  ``column_<n>``; ``_record`` and ``_line`` get a suffix too.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from insightloop.ingest.readers.encoding import utf8_chunks
from insightloop.ingest.readers.model import MAX_COLUMNS, ReadError, ReadOptions

__all__ = ["CsvDialect", "sniff_csv", "sniff_text", "unique_names"]

SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
_DATA_LIKE = re.compile(r"[\d\s.,:/+-]+|.*@.*")
_DECIMAL_COMMA = re.compile(r"-?\d{1,3}(?:[ .]\d{3})*,\d+|-?\d+,\d+")
RESERVED = frozenset({"_record", "_line"})


@dataclass(frozen=True)
class CsvDialect:
    """What :func:`sniff_csv` found (or the options forced).

    Parameters
    ----------
    delimiter, quote
        One character each; the quote doubles as its own escape (``""``).
    header
        Whether the first record holds column names.
    decimal_comma_likely
        Fields look like ``12,50`` in a file not separated by commas.
    fields
        Number of fields of the first record.
    names
        The first record's fields as column names (unique), or ``column_1`` ... without header.
    renamed
        Column names changed to make them unique or non-empty, as ``(original, new)``.
    """

    delimiter: str
    quote: str
    header: bool
    decimal_comma_likely: bool
    fields: int
    names: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str], ...] = field(default=())


def unique_names(names: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Make column names unique (ignoring case, as SQL does) and non-empty, deterministically.

    Examples
    --------
    >>> names, renamed = unique_names(["email", "Email", "email", "", "_line"])
    >>> names
    ['email', 'Email_2', 'email_3', 'column_4', '_line_2']
    >>> renamed[:2]
    [('Email', 'Email_2'), ('email', 'email_3')]
    """
    seen: set[str] = {name.casefold() for name in RESERVED}
    out: list[str] = []
    renamed: list[tuple[str, str]] = []
    for index, name in enumerate(names, start=1):
        candidate = name if name.strip() else f"column_{index}"
        base, suffix = candidate, 2
        while candidate.casefold() in seen:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(candidate.casefold())
        out.append(candidate)
        if candidate != name:
            renamed.append((name, candidate))
    return out, renamed


def _records(text: str, delimiter: str, quote: str, limit: int = 50) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if row:
                rows.append(row)
            if len(rows) >= limit:
                break
    except csv.Error:
        pass
    return rows


def sniff_text(text: str, options: ReadOptions | None = None, name: str = "<sample>") -> CsvDialect:
    """Sniff the dialect of ``text``, the beginning of a CSV file, honouring forced ``options``.

    Examples
    --------
    >>> d = sniff_text("namn;belopp\\nÅsa;12,50\\nBo;3,00\\n")
    >>> d.delimiter, d.header, d.decimal_comma_likely, d.names
    (';', True, True, ('namn', 'belopp'))
    """
    options = options or ReadOptions()
    text = text.removeprefix("\ufeff")
    quote = options.quote or '"'
    first_line = text.split("\n", 1)[0]
    candidates = (options.delimiter,) if options.delimiter else DELIMITERS
    if any(first_line.count(d) >= MAX_COLUMNS for d in candidates):
        raise ReadError(
            f"{name}: the first line has more than {MAX_COLUMNS:,} fields",
            hint="This is not a table insightloop can load; check the delimiter and the file.",
        )
    if options.delimiter:
        delimiter = options.delimiter
    else:
        complete = text if "\n" not in text else text[: text.rfind("\n") + 1]
        best, delimiter = 0.0, ","
        for candidate in DELIMITERS:
            counts = Counter(len(row) for row in _records(complete or text, candidate, quote))
            if not counts:
                continue
            fields, hits = counts.most_common(1)[0]
            score = hits / sum(counts.values()) * (fields > 1) + (fields > 1) * 1e-3 * fields
            if score > best:
                best, delimiter = score, candidate
    rows = _records(text, delimiter, quote)
    first = rows[0] if rows else []
    header = options.header
    if header is None:
        named = [f for f in first if f.strip()]
        header = bool(named) and not any(_DATA_LIKE.fullmatch(f) for f in named)
    decimal = delimiter != "," and any(
        _DECIMAL_COMMA.fullmatch(value.strip()) for row in rows[1:] for value in row
    )
    if header:
        names, renamed = unique_names(first)
    else:
        names, renamed = [f"column_{i}" for i in range(1, len(first) + 1)], []
    return CsvDialect(delimiter, quote, header, decimal, len(first), tuple(names), tuple(renamed))


def sniff_csv(path: str | Path, encoding: str, options: ReadOptions | None = None) -> CsvDialect:
    """Sniff the dialect of the CSV file at ``path`` from its first 256 KiB.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = file.write_text("id|name\\n1|Åsa\\n", encoding="utf-8")
    >>> sniff_csv(file, "utf-8").delimiter
    '|'
    """
    chunk = next(iter(utf8_chunks(str(path), encoding, SNIFF_BYTES)), b"")
    return sniff_text(chunk.decode("utf-8", errors="ignore"), options, str(path))
