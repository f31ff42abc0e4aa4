"""One test, every database: real PostgreSQL and MariaDB servers, SQLite and DuckDB files.

The ``db`` fixture runs a test once per backend. Servers are expected at 127.0.0.1 (PostgreSQL
5432 with trust authentication, MariaDB 3306 as root without password, database ``test``);
a test whose server is not there is skipped locally and fails under CI (``CI=true``), where
the servers are part of the environment. Every test creates its own tables, with a random
suffix, and drops them afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import duckdb
import pyarrow as pa
import pytest

from insightloop.ingest.databases import DatabaseReader, open_database
from insightloop.ingest.sources import SourceDeclaration

#: Put into URLs wherever the server ignores it (trust authentication), to check that no
#: message ever shows it.
PASSWORD = "s3cret-pw"
PG_URL = f"postgresql://postgres:{PASSWORD}@127.0.0.1:5432/test"
MARIADB_URL = "mysql://root@127.0.0.1:3306/test"
BACKENDS = ("postgresql", "mariadb", "sqlite", "duckdb")

_TYPES = {
    "postgresql": {
        "int": "integer", "bigint": "bigint", "text": "text", "decimal": "numeric(10,2)",
        "bool": "boolean", "date": "date", "ts": "timestamp", "tstz": "timestamptz",
        "bytes": "bytea", "float": "double precision",
    },
    "mariadb": {
        "int": "INT", "bigint": "BIGINT", "text": "VARCHAR(200)", "decimal": "DECIMAL(10,2)",
        "bool": "BOOLEAN", "date": "DATE", "ts": "DATETIME(6)", "tstz": "TIMESTAMP(6) NULL",
        "bytes": "VARBINARY(16)", "float": "DOUBLE",
    },
    "sqlite": {
        "int": "INTEGER", "bigint": "INTEGER", "text": "TEXT", "decimal": "NUMERIC",
        "bool": "BOOLEAN", "date": "DATE", "ts": "TIMESTAMP", "tstz": "TIMESTAMPTZ",
        "bytes": "BLOB", "float": "REAL",
    },
    "duckdb": {
        "int": "INTEGER", "bigint": "BIGINT", "text": "VARCHAR", "decimal": "DECIMAL(10,2)",
        "bool": "BOOLEAN", "date": "DATE", "ts": "TIMESTAMP", "tstz": "TIMESTAMPTZ",
        "bytes": "BLOB", "float": "DOUBLE",
    },
}  # fmt: skip


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI, where every database server must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the database servers are part of the CI environment)")
    pytest.skip(reason)


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    """Neither the message nor the hint of ``error`` shows a secret."""
    for secret in (PASSWORD, *secrets):
        assert secret not in str(error), f"{secret!r} leaked into: {error}"


class Database(ABC):
    """A database the tests write into, and the URL a source reads it with."""

    name: str
    url: str
    placeholder = "%s"

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.types = _TYPES[self.name]
        self._tables: list[str] = []

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement and commit."""

    @abstractmethod
    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement per row and commit."""

    @abstractmethod
    def generate_sql(self, table: str, rows: int) -> str:
        """Insert ids 1..rows, ``at`` one second apart from 2024-01-01, and a label."""

    def adapt(self, value: Any) -> Any:
        """A Python value as this driver takes it."""
        return value

    def quote(self, name: str) -> str:
        return f'"{name}"'

    def table(self, columns: str, prefix: str = "t") -> str:
        """Create a table with a unique name; ``{int}`` etc. in ``columns`` become SQL types."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self.run(f"CREATE TABLE {name} ({columns.format(**self.types)}){self.table_options}")
        self._tables.append(name)
        return name

    table_options = ""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join([self.placeholder] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self.run_many(sql, [[self.adapt(value) for value in row] for row in rows])

    def source(self, **fields: Any) -> SourceDeclaration:
        settings: dict[str, Any] = {"url": self.url, "incremental": False, **fields}
        return SourceDeclaration(name="shop", kind="database", entity="orders", **settings)

    def open(self, since: str | None = None, **fields: Any) -> DatabaseReader:
        return open_database(self.source(**fields), since=since, base_dir=self.base_dir)

    def read(
        self, since: str | None = None, rows_per_batch: int = 100_000, **fields: Any
    ) -> tuple[list[dict[str, Any]], DatabaseReader]:
        """Read a source to the end, checking the shape of every batch."""
        with self.open(since, **fields) as reader:
            rows: list[dict[str, Any]] = []
            for batch in reader.batches(rows_per_batch):
                assert batch.schema.names == [*reader.columns, "_record", "_line", "_key"]
                assert all(t == pa.string() for t in batch.schema.types[:-3])
                assert batch.num_rows <= rows_per_batch
                rows += batch.to_pylist()
        assert reader.complete
        assert reader.rows_read == len(rows)
        assert [row["_record"] for row in rows] == list(range(1, len(rows) + 1))
        assert all(row["_line"] is None for row in rows)
        return rows, reader

    def drop_tables(self) -> None:
        for table in reversed(self._tables):
            self.run(f"DROP TABLE IF EXISTS {table}")


class Postgres(Database):
    name = "postgresql"
    url = PG_URL

    def __init__(self, base_dir: Path, admin: Any) -> None:
        super().__init__(base_dir)
        self._admin = admin

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._admin.execute(sql, params)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._admin.cursor() as cursor:
            cursor.executemany(sql, rows)

    def generate_sql(self, table: str, rows: int) -> str:
        return (
            f"INSERT INTO {table} (id, stamp, label) SELECT g, TIMESTAMP '2024-01-01' + g * "
            f"INTERVAL '1 second', 'row ' || g FROM generate_series(1, {rows}) AS g"
        )


class MariaDb(Database):
    name = "mariadb"
    url = MARIADB_URL
    table_options = " DEFAULT CHARSET=utf8mb4"

    def __init__(self, base_dir: Path, admin: Any) -> None:
        super().__init__(base_dir)
        self._admin = admin

    def quote(self, name: str) -> str:
        return f"`{name}`"

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self._admin.cursor() as cursor:
            cursor.execute(sql, params or None)

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._admin.cursor() as cursor:
            cursor.executemany(sql, rows)

    def adapt(self, value: Any) -> Any:
        # The session runs in UTC; PyMySQL writes a datetime's fields and ignores its zone.
        if isinstance(value, dt.datetime) and value.utcoffset() is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def generate_sql(self, table: str, rows: int) -> str:
        return (
            f"INSERT INTO {table} (id, stamp, label) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL "
            f"SELECT n + 1 FROM s WHERE n < {rows}) SELECT n, TIMESTAMP '2024-01-01 00:00:00' "
            "+ INTERVAL n SECOND, CONCAT('row ', n) FROM s"
        )


class Sqlite(Database):
    name = "sqlite"
    url = "sqlite:///shop.sqlite"
    placeholder = "?"

    @property
    def path(self) -> Path:
        return self.base_dir / "shop.sqlite"

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        connection = sqlite3.connect(self.path)
        try:
            with connection:
                connection.execute(sql, params)
        finally:
            connection.close()

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        connection = sqlite3.connect(self.path)
        try:
            with connection:
                connection.executemany(sql, rows)
        finally:
            connection.close()

    def adapt(self, value: Any) -> Any:
        # SQLite has no date types: store ISO text, zoned timestamps in UTC with a Z.
        if isinstance(value, dt.datetime):
            if value.utcoffset() is not None:
                return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"
            return value.isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value) if isinstance(value, Decimal) else value

    def generate_sql(self, table: str, rows: int) -> str:
        return (
            f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) "
            f"INSERT INTO {table} (id, stamp, label) SELECT n, strftime('%Y-%m-%dT%H:%M:%S', "
            "'2024-01-01', '+' || n || ' seconds'), 'row ' || n FROM s"
        )


class DuckDb(Database):
    name = "duckdb"
    url = "duckdb:///shop.duckdb"
    placeholder = "?"

    @property
    def path(self) -> Path:
        return self.base_dir / "shop.duckdb"

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.run_many(sql, [params])

    def run_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        # Closed after every statement: DuckDB refuses a read-only connection to a file this
        # process holds open for writing.
        connection = duckdb.connect(str(self.path))
        try:
            for row in rows:
                connection.execute(sql, list(row))
        finally:
            connection.close()

    def generate_sql(self, table: str, rows: int) -> str:
        return (
            f"INSERT INTO {table} (id, stamp, label) SELECT i, TIMESTAMP '2024-01-01' + i * "
            f"INTERVAL 1 SECOND, 'row ' || i FROM range(1, {rows + 1}) AS r(i)"
        )


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Any]:
    """A connection to the test PostgreSQL server, to create and drop tables."""
    import psycopg

    try:
        connection = psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as error:
        unavailable(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({type(error).__name__})")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def mariadb_admin() -> Iterator[Any]:
    """A connection to the test MariaDB server, to create and drop tables."""
    import pymysql

    try:
        connection = pymysql.connect(
            host="127.0.0.1", port=3306, user="root", password="", database="test",
            charset="utf8mb4", autocommit=True, connect_timeout=5,
            init_command="SET time_zone = '+00:00'",
        )  # fmt: skip
    except pymysql.err.Error as error:
        unavailable(f"MariaDB at 127.0.0.1:3306 is not reachable ({type(error).__name__})")
    with connection.cursor() as cursor:
        # MariaDB stops recursive CTEs after 1,000 rows by default.
        cursor.execute("SET SESSION max_recursive_iterations = 1000000")
    yield connection
    connection.close()


def make_database(name: str, request: pytest.FixtureRequest, base_dir: Path) -> Database:
    if name == "postgresql":
        return Postgres(base_dir, request.getfixturevalue("postgres_admin"))
    if name == "mariadb":
        return MariaDb(base_dir, request.getfixturevalue("mariadb_admin"))
    database: Database = Sqlite(base_dir) if name == "sqlite" else DuckDb(base_dir)
    database.run("SELECT 1")  # creates the file
    return database


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The test's database, once per backend (narrow with ``indirect`` parametrisation)."""
    database = make_database(request.param, request, tmp_path)
    yield database
    database.drop_tables()
