"""PostgreSQL through psycopg 3: a read-only transaction and a server-side (named) cursor.

The URL's ``?options`` are libpq connection parameters (``sslmode``, ``sslrootcert``,
``connect_timeout``, ``options``, ...) and pass through as they are. ``connect_timeout``
defaults to :data:`~.backend.CONNECT_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostgresConnection"]

# Type OIDs of pg_type: how a watermark of that type is bound.
_KINDS: dict[int, WatermarkKind] = {
    1184: "timestamptz", 1114: "timestamp", 1082: "date", 20: "integer", 21: "integer",
    23: "integer", 26: "integer", 1700: "decimal", 700: "float", 701: "float",
}  # fmt: skip
_STATES: dict[str, Problem] = {
    "42P01": "missing_table", "3F000": "missing_table", "42703": "missing_column",
    "42601": "syntax", "42501": "permission", "3D000": "unknown_database", "28P01": "auth",
    "28000": "auth",
}  # fmt: skip
# libpq reports connection failures as text only (no SQLSTATE): (fragment, problem, detail).
_CONNECT_TEXTS: tuple[tuple[str, Problem, str], ...] = (
    ("password authentication failed", "auth", "password authentication failed"),
    ("no password supplied", "auth", "the server wants a password"),
    ("role ", "auth", "no such user"),
    ("no pg_hba.conf entry", "auth", "not allowed to connect from this host"),
    ("authentication", "auth", "authentication failed"),
    ('database "', "unknown_database", "no such database"),
    ("Connection refused", "unreachable", "connection refused"),
    ("timeout expired", "unreachable", "timed out"),
    ("resolve host", "unreachable", "host name not found"),
    ("translate host name", "unreachable", "host name not found"),
    ("No route to host", "unreachable", "no route to host"),
    ("Network is unreachable", "unreachable", "network unreachable"),
)
_PRIMARY_KEY = """
SELECT a.attname
FROM pg_index AS i
JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = %s::regclass AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""


class PostgresConnection(Connection):
    """A psycopg 3 connection in a read-only transaction."""

    dialect = DIALECTS["postgresql"]

    def __init__(self, url: DatabaseUrl, connection: psycopg.Connection[Row], error: type) -> None:
        super().__init__(url, (error,))
        self._connection = connection

    @classmethod
    def connect(cls, url: DatabaseUrl) -> PostgresConnection:
        try:
            import psycopg
        except ImportError:
            raise missing_driver("postgresql", "psycopg[binary]>=3.2") from None
        settings: dict[str, Any] = {
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "insightloop",
            **url.options,
        }
        for key, value in (
            ("host", url.host),
            ("port", url.port),
            ("user", url.user),
            ("password", url.password),
            ("dbname", url.database),
        ):
            if value is not None:
                settings[key] = value
        try:
            connection = psycopg.connect(**settings)
        except psycopg.Error as error:
            raise DatabaseFailure(_classify(error, url)) from None
        connection.read_only = True
        return cls(url, connection, psycopg.Error)

    def classify(self, error: Exception) -> Failure:
        return _classify(error, self.url)

    def columns(self, statement: Statement) -> list[Column]:
        with self.guard(), self._connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
            description = cursor.description or []
            return [Column(d.name, _KINDS.get(d.type_code, "text")) for d in description]

    def primary_key(self, parts: tuple[str, ...]) -> list[str]:
        name = ".".join(self.dialect.quote_name(part) for part in parts)
        with self.guard(), self._connection.cursor() as cursor:
            cursor.execute(_PRIMARY_KEY, (name,))
            return [str(row[0]) for row in cursor.fetchall()]

    def stream(self, statement: Statement, rows_per_batch: int) -> Generator[list[Row], None, None]:
        # A named cursor lives on the server: fetchmany brings rows_per_batch rows at a time.
        with self.guard(), self._connection.cursor(name="insightloop_read") as cursor:
            cursor.itersize = rows_per_batch
            cursor.execute(statement.sql, statement.params)
            while rows := cursor.fetchmany(rows_per_batch):
                yield rows

    def close(self) -> None:
        self._connection.close()


def _classify(error: Exception, url: DatabaseUrl) -> Failure:
    state = getattr(error, "sqlstate", None)
    if state in _STATES:
        return Failure(_STATES[state], error_name(error, state))
    if state and state.startswith("08"):
        return Failure("unreachable", error_name(error, state))
    if state:
        return Failure("other", error_name(error, state))
    text = str(error)
    for fragment, problem, detail in _CONNECT_TEXTS:
        if fragment in text:
            return Failure(problem, detail)
    line = text.strip().removeprefix("connection is bad: ")
    if line.startswith("invalid ") and "\n" not in line:
        # libpq rejecting a ?option of the URL: the text names the option and its value.
        return Failure("other", url.scrub(line))
    return Failure("other", error_name(error))
