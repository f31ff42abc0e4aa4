"""Reading source files for batch ingestion: CSV, JSON Lines, JSON arrays, Parquet and Excel
``.xlsx``, as raw text with a location for every record, in bounded memory.

:func:`open_file` detects the format, encoding and CSV dialect and returns a
:class:`FileReader`, whose ``batches()`` yields Arrow record batches of ``string`` columns plus
``_record`` and ``_line``. Every record of the file is either yielded or kept in
``reader.rejected`` as a :class:`RejectedRecord` with a reason code from
:data:`REJECT_REASONS`; everything else that is wrong raises :class:`ReadError`. DuckDB does the
parsing. See ``docs/reading-files.md``.
"""

from __future__ import annotations

from insightloop.ingest.readers.base import LOCATION_COLUMNS, FileReader
from insightloop.ingest.readers.encoding import EncodingGuess, detect_encoding, guess_encoding
from insightloop.ingest.readers.model import (
    FORMATS,
    MAX_COLUMNS,
    MAX_RECORD_BYTES,
    REJECT_REASONS,
    ReadError,
    ReadOptions,
    RejectedRecord,
)
from insightloop.ingest.readers.reader import detect_format, open_file
from insightloop.ingest.readers.sniff import CsvDialect, sniff_csv, unique_names

__all__ = [
    "FORMATS",
    "LOCATION_COLUMNS",
    "MAX_COLUMNS",
    "MAX_RECORD_BYTES",
    "REJECT_REASONS",
    "CsvDialect",
    "EncodingGuess",
    "FileReader",
    "ReadError",
    "ReadOptions",
    "RejectedRecord",
    "detect_encoding",
    "detect_format",
    "guess_encoding",
    "open_file",
    "sniff_csv",
    "unique_names",
]
