"""MySQL and MariaDB through PyMySQL: an unbuffered ``SSCursor`` streams the rows.

The session runs in UTC (``SET time_zone = '+00:00'``), so ``TIMESTAMP`` columns, which MySQL
stores in UTC, come back in UTC and are written with a ``Z`` like other zoned timestamps;
``DATETIME`` has no zone and is written without one. MySQL has no boolean type: ``BOOLEAN`` is
``TINYINT(1)`` and reads as ``1`` / ``0``. The URL's ``?options`` may be those in
:data:`OPTIONS`.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Generator
from types import ModuleType
from typing import Any

from insightloop.ingest.databases.backend import (
    CONNECT_TIMEOUT_SECONDS,
    Column,
    Connection,
    DatabaseFailure,
    Row,
    error_name,
)
from insightloop.ingest.databases.failures import Failure, Problem, missing_driver
from insightloop.ingest.databases.sql import DIALECTS, Statement
from insightloop.ingest.databases.url import DatabaseUrl
from insightloop.ingest.databases.values import WatermarkKind
from insightloop.ingest.readers.model import ReadError

__all__ = ["OPTIONS", "MySqlConnection"]

#: The ``?options`` a mysql:// URL may carry, with the type PyMySQL wants.
OPTIONS: dict[str, type] = {
    "connect_timeout": int, "read_timeout": int, "write_timeout": int, "ssl_ca": str,
    "ssl_cert": str, "ssl_key": str, "ssl_verify_cert": bool, "ssl_verify_identity": bool,
    "ssl_disabled": bool,
}  # fmt: skip
# pymysql.constants.FIELD_TYPE codes: how a watermark of that type is bound.
_KINDS: dict[int, WatermarkKind] = {
    7: "timestamptz", 12: "timestamp", 10: "date", 14: "date", 1: "integer", 2: "integer",
    3: "integer", 8: "integer", 9: "integer", 13: "integer", 0: "decimal", 246: "decimal",
    4: "float", 5: "float",
}  # fmt: skip
_TIMESTAMP = 7
_CODES: dict[int, Problem] = {
    1045: "auth", 1044: "permission", 1049: "unknown_database", 1146: "missing_table",
    1054: "missing_column", 1064: "syntax", 1060: "duplicate_columns", 1142: "permission",
    1143: "permission", 2002: "unreachable", 2003: "unreachable", 2005: "unreachable",
    2006: "unreachable", 2013: "unreachable",
}  # fmt: skip
_PRIMARY_KEY = """
SELECT column_name FROM information_schema.key_column_usage
WHERE table_schema = COALESCE(%s, DATABASE()) AND table_name = %s
  AND constraint_name = 'PRIMARY'
ORDER BY ordinal_position
"""


def _load() -> ModuleType:
    # Imported by name: PyMySQL ships no type information, and a missing driver must become
    # a ReadError with the install command rather than an ImportError at import time.
    try:
        return importlib.import_module("pymysql")
    except ImportError:
        raise missing_driver("mysql", "PyMySQL>=1.1") from None


def _utc(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        stamp = parse(value)
        # Zero dates ('0000-00-00 00:00:00') stay text.
        return stamp.replace(tzinfo=dt.UTC) if isinstance(stamp, dt.datetime) else stamp

    return convert


def _option(key: str, value: str) -> object:
    if key not in OPTIONS:
        raise ReadError(
            f"mysql:// URLs take no option {key!r}",
            hint=f"Use only {', '.join(OPTIONS)} after the '?' of the URL.",
        )
    kind = OPTIONS[key]
    if kind is bool:
        return value.strip().lower() in ("1", "true", "yes", "on")
    if kind is int:
        if not value.strip().isdigit():
            raise ReadError(
                f"option {key} of the URL must be a whole number", hint=f"Write {key}=10."
            )
        return int(value)
    return value


class MySqlConnection(Connection):
    """A PyMySQL connection (MySQL or MariaDB) in UTC, reading ``utf8mb4``."""

    dialect = DIALECTS["mysql"]

    def __init__(self, url: DatabaseUrl, connection: Any, driver: ModuleType) -> None:
        super().__init__(url, (driver.err.Error,))
        self._connection = connection
        self._driver = driver

    @classmethod
    def connect(cls, url: DatabaseUrl) -> MySqlConnection:
        driver = _load()
        conversions = dict(driver.converters.conversions)
        conversions[_TIMESTAMP] = _utc(driver.converters.convert_datetime)
        settings: dict[str, Any] = {
            "host": url.host or "localhost",
            "port": url.port or 3306,
            "user": url.user or "",
            "password": url.password or "",
            "database": url.database,
            "charset": "utf8mb4",
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "init_command": "SET time_zone = '+00:00'",
            "conv": conversions,
            "autocommit": True,
        }
        settings.update({key: _option(key, value) for key, value in url.options.items()})
        try:
            connection = driver.connect(**settings)
        except driver.err.Error as error:
            raise DatabaseFailure(_classify(error)) from None
        return cls(url, connection, driver)

    def classify(self, error: Exception) -> Failure:
        return _classify(error)

    def columns(self, statement: Statement) -> list[Column]:
        with self.guard(), self._connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
            return [Column(str(d[0]), _KINDS.get(d[1], "text")) for d in cursor.description]

    def primary_key(self, parts: tuple[str, ...]) -> list[str]:
        schema = parts[-2] if len(parts) > 1 else None
        with self.guard(), self._connection.cursor() as cursor:
            cursor.execute(_PRIMARY_KEY, (schema, parts[-1]))
            return [str(row[0]) for row in cursor.fetchall()]

    def stream(self, statement: Statement, rows_per_batch: int) -> Generator[list[Row], None, None]:
        cursor = self._connection.cursor(self._driver.cursors.SSCursor)
        finished = False
        try:
            with self.guard():
                cursor.execute(statement.sql, statement.params)
                while rows := cursor.fetchmany(rows_per_batch):
                    yield list(rows)
            finished = True
        finally:
            if finished:
                cursor.close()
            else:
                self._abandon(cursor)

    def _abandon(self, cursor: Any) -> None:
        # Closing an unbuffered cursor reads the rest of the result from the server (perhaps
        # millions of rows). Close the socket instead, and tell PyMySQL's cursor and result
        # that nothing is pending: their __del__ would try to drain the closed connection.
        result = getattr(cursor, "_result", None)
        if result is not None:
            result.unbuffered_active = False
        cursor.connection = None
        self.close()

    def close(self) -> None:
        if self._connection.open:
            self._connection.close()


def _classify(error: Exception) -> Failure:
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    problem = _CODES.get(code, "other") if code is not None else "other"
    if code == 1045:
        return Failure(problem, "access denied")
    if problem != "unreachable":
        return Failure(problem, error_name(error, code, "error"))
    text = str(error)
    if "Connection refused" in text:
        return Failure(problem, "connection refused")
    if "Name or service not known" in text or "getaddrinfo" in text or "nodename" in text:
        return Failure(problem, "host name not found")
    if "timed out" in text:
        return Failure(problem, "timed out")
    return Failure(problem, error_name(error, code, "error"))
