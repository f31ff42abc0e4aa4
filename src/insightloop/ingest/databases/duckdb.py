"""DuckDB files, opened read-only with the ``duckdb`` module and read with ``fetchmany``.

A DuckDB file can be open for writing in one process only; while another process writes it,
opening it fails with a "locked" :class:`~insightloop.ingest.readers.ReadError`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from insightloop.ingest.databases.backend import (
    Column,
    Connection,
    DatabaseFailure,
    Row,
    error_name,
)
from insightloop.ingest.databases.failures import Failure, missing_driver
from insightloop.ingest.databases.sql import DIALECTS, Statement
from insightloop.ingest.databases.url import DatabaseUrl
from insightloop.ingest.databases.values import WatermarkKind

if TYPE_CHECKING:
    import duckdb

__all__ = ["DuckdbConnection", "watermark_kind_of"]

_INTEGERS = frozenset(
    ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
     "UBIGINT", "UHUGEINT")
)  # fmt: skip
_PRIMARY_KEY = """
SELECT constraint_column_names FROM duckdb_constraints()
WHERE constraint_type = 'PRIMARY KEY' AND table_name = ?
  AND schema_name = COALESCE(?, current_schema())
"""


def watermark_kind_of(type_name: str) -> WatermarkKind:
    """How a watermark of the DuckDB type ``type_name`` is bound.

    Examples
    --------
    >>> [watermark_kind_of(t) for t in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "BIGINT",
    ...                                 "DECIMAL(10,2)", "VARCHAR")]
    ['timestamptz', 'timestamp', 'integer', 'decimal', 'text']
    """
    name = type_name.upper()
    if name.startswith("TIMESTAMP WITH TIME ZONE") or name == "TIMESTAMPTZ":
        return "timestamptz"
    if name.startswith("TIMESTAMP"):
        return "timestamp"
    if name == "DATE":
        return "date"
    if name in _INTEGERS:
        return "integer"
    if name.startswith("DECIMAL"):
        return "decimal"
    return "float" if name in ("FLOAT", "DOUBLE", "REAL") else "text"


class DuckdbConnection(Connection):
    """A read-only DuckDB connection to a file."""

    dialect = DIALECTS["duckdb"]

    def __init__(self, url: DatabaseUrl, connection: duckdb.DuckDBPyConnection) -> None:
        import duckdb

        super().__init__(url, (duckdb.Error,))
        self._connection = connection
        self._closed = False

    @classmethod
    def connect(cls, url: DatabaseUrl) -> DuckdbConnection:
        try:
            import duckdb
        except ImportError:
            raise missing_driver("duckdb", "duckdb>=1.4,<2") from None
        path = url.path
        if path is None or not path.is_file():
            raise DatabaseFailure(Failure("missing_file", f"looked for {path}"))
        try:
            connection = duckdb.connect(str(path), read_only=True)
        except duckdb.Error as error:
            raise DatabaseFailure(_classify(error)) from None
        return cls(url, connection)

    def classify(self, error: Exception) -> Failure:
        return _classify(error)

    def columns(self, statement: Statement) -> list[Column]:
        with self.guard():
            description = self._connection.execute(statement.sql, statement.params).description
        return [Column(str(d[0]), watermark_kind_of(str(d[1]))) for d in description or ()]

    def primary_key(self, parts: tuple[str, ...]) -> list[str]:
        schema = parts[-2] if len(parts) > 1 else None
        with self.guard():
            row = self._connection.execute(_PRIMARY_KEY, (parts[-1], schema)).fetchone()
        return [str(name) for name in row[0]] if row else []

    def stream(self, statement: Statement, rows_per_batch: int) -> Generator[list[Row], None, None]:
        with self.guard():
            result = self._connection.execute(statement.sql, statement.params)
            while rows := result.fetchmany(rows_per_batch):
                yield rows

    def close(self) -> None:
        if not self._closed:
            self._connection.close()
            self._closed = True


def _classify(error: Exception) -> Failure:
    kind, text = type(error).__name__, str(error)
    name = error_name(error)
    if kind == "CatalogException" and any(
        f"{thing} with name" in text for thing in ("Table", "Schema", "Catalog")
    ):
        return Failure("missing_table", name)
    if kind == "BinderException" and "not found" in text:
        return Failure("missing_column", name)
    if kind == "ParserException":
        return Failure("syntax", name)
    if "lock" in text.lower() and kind in ("IOException", "ConnectionException"):
        return Failure("locked", name)
    if "not a valid DuckDB database file" in text:
        return Failure("not_a_database", name)
    return Failure("other", name)
