"""SQLite files through the standard library, opened read-only, read with ``fetchmany``.

SQLite has no date or time types: a value comes back as it is stored (often ISO text) and
compares as stored. A watermark is therefore bound with the storage class of the column's
values (``typeof``), so text compares with text and numbers with numbers, in tables and in
queries alike.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator

from insightloop.ingest.databases.backend import (
    CONNECT_TIMEOUT_SECONDS,
    Column,
    Connection,
    DatabaseFailure,
    Row,
    error_name,
)
from insightloop.ingest.databases.failures import Failure, Problem
from insightloop.ingest.databases.sql import DIALECTS, Relation, Statement
from insightloop.ingest.databases.url import DatabaseUrl
from insightloop.ingest.databases.values import WatermarkKind

__all__ = ["SqliteConnection", "storage_class_statement"]

_STORAGE_KINDS: dict[str, WatermarkKind] = {"integer": "integer", "real": "float"}
_MESSAGES: tuple[tuple[str, Problem], ...] = (
    ("no such table", "missing_table"),
    ("no such column", "missing_column"),
    ("syntax error", "syntax"),
    ("incomplete input", "syntax"),
    ("unrecognized token", "syntax"),
    ("file is not a database", "not_a_database"),
    ("database is locked", "locked"),
    ("unable to open", "missing_file"),
)
_PRIMARY_KEY = "SELECT name FROM pragma_table_info(?, ?) WHERE pk > 0 ORDER BY pk"


def storage_class_statement(relation: Relation, column: str) -> Statement:
    """The storage class of the first non-null value of ``column``.

    Examples
    --------
    >>> storage_class_statement(Relation(("orders",)), "at").sql
    'SELECT typeof("at") FROM "orders" WHERE "at" IS NOT NULL LIMIT 1'
    """
    dialect = DIALECTS["sqlite"]
    name = dialect.identifier(column)
    return Statement(
        f"SELECT typeof({name}) FROM {relation.sql(dialect)} WHERE {name} IS NOT NULL LIMIT 1"
    )


class SqliteConnection(Connection):
    """A read-only ``sqlite3`` connection to a file."""

    dialect = DIALECTS["sqlite"]

    def __init__(self, url: DatabaseUrl, connection: sqlite3.Connection) -> None:
        super().__init__(url, (sqlite3.Error,))
        self._connection: sqlite3.Connection | None = connection

    @classmethod
    def connect(cls, url: DatabaseUrl) -> SqliteConnection:
        path = url.path
        if path is None or not path.is_file():
            raise DatabaseFailure(Failure("missing_file", f"looked for {path}"))
        try:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=CONNECT_TIMEOUT_SECONDS
            )
        except sqlite3.Error as error:
            raise DatabaseFailure(_classify(error)) from None
        return cls(url, connection)

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise DatabaseFailure(Failure("other", "the connection is closed"))
        return self._connection

    def classify(self, error: Exception) -> Failure:
        return _classify(error)

    def columns(self, statement: Statement) -> list[Column]:
        with self.guard():
            cursor = self._open.execute(statement.sql, statement.params)
            try:
                return [Column(str(d[0]), "text") for d in cursor.description or ()]
            finally:
                cursor.close()

    def watermark_kind(self, column: Column, relation: Relation) -> WatermarkKind:
        statement = storage_class_statement(relation, column.name)
        with self.guard():
            row = self._open.execute(statement.sql, statement.params).fetchone()
        return _STORAGE_KINDS.get(row[0], "text") if row else "text"

    def primary_key(self, parts: tuple[str, ...]) -> list[str]:
        schema = parts[-2] if len(parts) > 1 else "main"
        with self.guard():
            rows = self._open.execute(_PRIMARY_KEY, (parts[-1], schema)).fetchall()
        return [str(row[0]) for row in rows]

    def stream(self, statement: Statement, rows_per_batch: int) -> Generator[list[Row], None, None]:
        with self.guard():
            cursor = self._open.execute(statement.sql, statement.params)
            try:
                while rows := cursor.fetchmany(rows_per_batch):
                    yield rows
            finally:
                cursor.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _classify(error: Exception) -> Failure:
    text = str(error)
    name = error_name(error, getattr(error, "sqlite_errorname", None), "code")
    for fragment, problem in _MESSAGES:
        if fragment in text:
            return Failure(problem, name)
    return Failure("other", name)
