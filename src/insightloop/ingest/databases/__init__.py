"""Reading database sources: PostgreSQL, MySQL/MariaDB, SQLite and DuckDB, incrementally.

:func:`open_database` takes a ``kind = "database"`` source (a connection URL with optional
``${ENV_NAME}`` placeholders, a ``table`` or a ``query``, and a ``watermark`` column) and
returns a :class:`DatabaseReader`, whose ``batches()`` streams the rows (server-side cursors,
never the whole result at once) as Arrow batches of ``string`` columns plus ``_record``,
``_line`` and ``_key``. An incremental read takes the rows whose watermark is ``>= since``
and reports the highest watermark read as ``watermark_to``. Anything wrong raises
:class:`~insightloop.ingest.readers.ReadError` without passwords or row values. Drivers
(psycopg, PyMySQL, duckdb) load only when a source needs them. See ``docs/databases.md``.
"""

from __future__ import annotations

from insightloop.ingest.databases.backend import CONNECT_TIMEOUT_SECONDS
from insightloop.ingest.databases.connect import open_database
from insightloop.ingest.databases.reader import (
    DATABASE_LOCATION_COLUMNS,
    KEY_COLUMN,
    DatabaseReader,
)
from insightloop.ingest.databases.url import SCHEMES, DatabaseUrl, parse_url
from insightloop.ingest.databases.values import render

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "DATABASE_LOCATION_COLUMNS",
    "KEY_COLUMN",
    "SCHEMES",
    "DatabaseReader",
    "DatabaseUrl",
    "open_database",
    "parse_url",
    "render",
]
