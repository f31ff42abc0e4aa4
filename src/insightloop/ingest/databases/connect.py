"""``open_database``: parse the URL, connect, probe the columns, and plan the read.

Everything is checked before the first row is read: the URL and its placeholders, the
connection and login, that the table exists (or the query runs), that the watermark is one of
its columns, and that the stored watermark parses as that column's type. Every failure is a
:class:`~insightloop.ingest.readers.ReadError` naming the source and the redacted URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from insightloop.ingest.databases.backend import Column, Connection, DatabaseFailure
from insightloop.ingest.databases.duckdb import DuckdbConnection
from insightloop.ingest.databases.failures import Target, connect_error, read_error
from insightloop.ingest.databases.mysql import MySqlConnection
from insightloop.ingest.databases.postgres import PostgresConnection
from insightloop.ingest.databases.reader import KEY_COLUMN, DatabaseReader, ReadPlan
from insightloop.ingest.databases.sql import (
    Relation,
    clean_query,
    probe_statement,
    read_statement,
    split_table,
)
from insightloop.ingest.databases.sqlite import SqliteConnection
from insightloop.ingest.databases.url import Backend, parse_url
from insightloop.ingest.databases.values import parse_watermark
from insightloop.ingest.readers.model import ReadError
from insightloop.ingest.readers.sniff import unique_names
from insightloop.ingest.sources.declaration import SourceDeclaration

__all__ = ["CONNECTIONS", "open_database"]

CONNECTIONS: dict[Backend, type[Connection]] = {
    "postgresql": PostgresConnection,
    "mysql": MySqlConnection,
    "sqlite": SqliteConnection,
    "duckdb": DuckdbConnection,
}


def open_database(
    source: SourceDeclaration, *, since: str | None, base_dir: Path
) -> DatabaseReader:
    """Open a ``database`` source for reading; use the result as a context manager.

    Parameters
    ----------
    source
        A source of ``kind = "database"`` with ``url`` and ``table`` or ``query``.
    since
        The ``watermark_to`` of the last complete read, or ``None`` for a full read. With
        ``incremental = true`` only rows whose watermark is ``>= since`` are read, ordered by
        the watermark; ``incremental = false`` reads everything every time.
    base_dir
        The workspace root: ``sqlite:///data/shop.db`` means ``base_dir / "data/shop.db"``.

    Raises
    ------
    ReadError
        When the URL, the connection, the table, the query or the watermark is wrong; see
        ``docs/databases.md``. The message never holds a password or a row value.

    Examples
    --------
    >>> import sqlite3, tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with sqlite3.connect(root / "shop.db") as db:
    ...     _ = db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, at TEXT, total REAL)")
    ...     _ = db.executemany("INSERT INTO orders VALUES (?, ?, ?)",
    ...                        [(1, "2024-05-01T10:00:00", 9.5), (2, "2024-05-02T08:00:00", 20.0)])
    >>> db.close()
    >>> source = SourceDeclaration(name="shop", kind="database", entity="orders",
    ...                            url="sqlite:///shop.db", table="orders", watermark="at")
    >>> with open_database(source, since="2024-05-02T08:00:00", base_dir=root) as reader:
    ...     rows = reader.read_all().to_pylist()
    >>> [(r["id"], r["total"], r["_record"], r["_line"], r["_key"]) for r in rows]
    [('2', '20.0', 1, None, 'id=2')]
    >>> reader.location, reader.watermark_to
    ('sqlite:///shop.db#orders', '2024-05-02T08:00:00')
    """
    name = source.name
    if source.kind != "database" or not source.url:
        raise ReadError(
            f"source {name!r} is a {source.kind} source, not a database source",
            hint="Read it with insightloop.ingest.readers.open_file.",
        )
    try:
        url = parse_url(source.url, Path(base_dir), os.environ)
        if source.table is not None:
            relation = Relation(split_table(source.table))
        else:
            relation = Relation(query=clean_query(source.query or ""))
    except ReadError as error:
        raise ReadError(f"source {name!r}: {error.message}", hint=error.hint) from None
    target = Target(name, url.redacted, relation, user=url.user, database=url.database)
    try:
        connection = CONNECTIONS[url.backend].connect(url)
    except DatabaseFailure as failure:
        raise connect_error(failure.failure, target) from None
    except ReadError as error:
        raise ReadError(f"source {name!r}: {error.message}", hint=error.hint) from None
    try:
        plan = _plan(connection, source, target, since)
    except DatabaseFailure as failure:
        connection.close()
        raise read_error(failure.failure, target) from None
    except BaseException:
        connection.close()
        raise
    return DatabaseReader(connection, plan)


def _plan(
    connection: Connection, source: SourceDeclaration, target: Target, since: str | None
) -> ReadPlan:
    dialect, relation = connection.dialect, target.relation
    columns = connection.columns(probe_statement(dialect, relation))
    database_names = [column.name for column in columns]
    names, notes = _output_names(database_names)
    watermark: Column | None = None
    watermark_index: int | None = None
    if source.watermark:
        watermark_index = _find_watermark(source.watermark, database_names, target)
        watermark = columns[watermark_index]
    key_indexes: tuple[int, ...] = ()
    if relation.query is None:
        key = connection.primary_key(relation.parts)
        if key and all(column in database_names for column in key):
            key_indexes = tuple(database_names.index(column) for column in key)
        else:
            notes.append(
                f"table {relation.label!r} has no primary key: _key is a hash of each row's "
                "values, so a changed row gets a new key"
            )
    bound: object = None
    if source.incremental and since is not None and watermark is not None:
        kind = connection.watermark_kind(watermark, relation)
        try:
            bound = parse_watermark(since, kind)
        except ValueError:
            raise ReadError(
                f"source {source.name!r}: the stored watermark does not read as a {kind} value, "
                f"the type of column {watermark.name!r} in {target.location}",
                hint="If the column's type changed, reset the source's watermark so that the "
                "next run reads everything once.",
            ) from None
    statement = read_statement(
        dialect,
        relation,
        watermark=watermark.name if watermark else None,
        since=bound,
        ordered=source.incremental,
    )
    return ReadPlan(
        target=target,
        statement=statement,
        columns=tuple(names),
        database_columns=tuple(database_names),
        key_indexes=key_indexes,
        watermark_index=watermark_index,
        ordered=source.incremental and watermark is not None,
        count_null_watermarks=source.incremental and since is None and watermark is not None,
        since=since,
        notes=tuple(notes),
    )


def _output_names(database_names: list[str]) -> tuple[list[str], list[str]]:
    names, renamed = unique_names(database_names)
    taken = {name.casefold() for name in names}
    for index, name in enumerate(names):
        if name.casefold() == KEY_COLUMN:
            suffix = 2
            while f"{name}_{suffix}".casefold() in taken:
                suffix += 1
            names[index] = f"{name}_{suffix}"
            taken.add(names[index].casefold())
            renamed.append((database_names[index], names[index]))
    return names, [f"column {old!r} renamed to {new!r}" for old, new in renamed]


def _find_watermark(watermark: str, names: list[str], target: Target) -> int:
    if watermark in names:
        return names.index(watermark)
    folded = [i for i, name in enumerate(names) if name.casefold() == watermark.casefold()]
    if len(folded) == 1:
        return folded[0]
    shown = ", ".join(names[:40]) + (f" and {len(names) - 40} more" if len(names) > 40 else "")
    raise ReadError(
        f"source {target.source!r}: the watermark column {watermark!r} is not a column of "
        f"{target.what} in {target.location}; its columns are: {shown}",
        hint="Set watermark = '<one of these columns>', a column whose value only grows (such "
        "as updated_at), or set incremental = false and remove watermark to read everything "
        "on every run.",
    )
