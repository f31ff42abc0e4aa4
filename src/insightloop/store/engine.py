"""The engine: the one place where Ibis expressions are executed.

Analytics build Ibis expressions in pure functions; the engine runs them, materialises results and
wraps any backend failure in an :class:`~insightloop.errors.EngineError` that carries the SQL that
failed (the way Splink's database API does). DuckDB is the embedded default; Spark runs the same
expressions through Ibis's PySpark backend.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.operations as ops
import pandas as pd
import pyarrow as pa
import sqlglot.expressions as sge

from insightloop.config import EngineSettings
from insightloop.errors import EngineError, WorkspaceError
from insightloop.store.layout import WorkspaceLayout

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

__all__ = ["BackendName", "Engine", "quoted"]

BackendName = Literal["duckdb", "spark"]

_IBIS_TEMP_PREFIX = "ibis_"
_LOCK_PATTERN = re.compile(r"Could not set lock|Conflicting lock", re.IGNORECASE)


class Engine:
    """A connection to the workspace's database through Ibis.

    Use :meth:`connect`; the constructor wraps an existing Ibis backend (tests use it).

    Examples
    --------
    >>> engine = Engine.in_memory()
    >>> engine.create_table("t", ibis.schema({"a": "int64"}))
    >>> engine.insert("t", pd.DataFrame({"a": [1, 2]}))
    2
    >>> engine.count("t")
    2
    """

    def __init__(self, con: BaseBackend, backend: BackendName, *, read_only: bool = False) -> None:
        self.con = con
        self.backend: BackendName = backend
        self.read_only = read_only
        # A read-only DuckDB file cannot change while it is open (no process can write it then:
        # DuckDB's file lock), so its table names and opened tables are kept: each look-up is a
        # catalogue query of several milliseconds, and a dashboard page makes dozens.
        self._frozen = read_only and backend == "duckdb"
        self._names: list[str] | None = None
        self._opened: dict[str, ir.Table] = {}
        #: The DuckDB memory limit the workspace configured (``engine.memory_limit``); None for
        #: DuckDB's default (80% of RAM), which heavy steps may lower while they run.
        self.memory_limit: str | None = None

    # -- connecting -------------------------------------------------------------------------

    @classmethod
    def connect(
        cls, settings: EngineSettings, layout: WorkspaceLayout, *, read_only: bool = False
    ) -> Engine:
        """Open the workspace's database on the configured backend."""
        if settings.backend == "spark":
            return cls._connect_spark(settings, layout, read_only=read_only)
        return cls._connect_duckdb(settings, layout, read_only=read_only)

    @classmethod
    def in_memory(cls) -> Engine:
        """A throw-away DuckDB engine (examples and unit tests)."""
        return cls(ibis.duckdb.connect(), "duckdb")

    @classmethod
    def _connect_duckdb(
        cls, settings: EngineSettings, layout: WorkspaceLayout, *, read_only: bool
    ) -> Engine:
        config: dict[str, Any] = {}
        if settings.threads is not None:
            config["threads"] = settings.threads
        if settings.memory_limit is not None:
            config["memory_limit"] = settings.memory_limit
        if read_only and not layout.database_file.exists():
            raise WorkspaceError(
                f"The workspace database {layout.database_file} does not exist.",
                hint="Run `insightloop init` on the workspace, or `insightloop run` to create it.",
            )
        try:
            con = ibis.duckdb.connect(
                database=str(layout.database_file), read_only=read_only, **config
            )
        except Exception as exc:  # noqa: BLE001 - duckdb raises several types; all are wrapped
            if _LOCK_PATTERN.search(str(exc)):
                raise WorkspaceError(
                    f"The workspace database {layout.database_file} is in use by another process.",
                    hint="Wait for the running `insightloop run` to finish, or stop the process "
                    "that holds it (DuckDB allows one writing process at a time).",
                ) from None
            raise EngineError(
                f"DuckDB could not open {layout.database_file}: {exc}",
                hint="Check that the file is an insightloop DuckDB database and is readable.",
            ) from None
        engine = cls(con, "duckdb", read_only=read_only)
        engine.memory_limit = settings.memory_limit
        return engine

    @classmethod
    def _connect_spark(
        cls, settings: EngineSettings, layout: WorkspaceLayout, *, read_only: bool
    ) -> Engine:
        from insightloop.store.spark import get_spark_session

        session = get_spark_session(
            layout.spark_dir,
            master=settings.spark_master,
            driver_memory=settings.spark_driver_memory,
            shuffle_partitions=settings.spark_shuffle_partitions,
        )
        database = settings.spark_database
        location = (layout.spark_dir / f"{database}.db").resolve()
        # Identifier and location go through sqlglot's builders, never string formatting.
        create = sge.Create(
            kind="SCHEMA",
            this=sge.Table(db=sge.to_identifier(database, quoted=True)),
            exists=True,
            properties=sge.Properties(
                expressions=[sge.LocationProperty(this=sge.Literal.string(str(location)))]
            ),
        )
        session.sql(create.sql(dialect="spark"))
        session.catalog.setCurrentDatabase(database)
        return cls(ibis.pyspark.connect(session), "spark", read_only=read_only)

    def close(self) -> None:
        """Release the connection (a shared Spark session stays up for the process)."""
        if self.backend == "duckdb":
            self.con.disconnect()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ----------------------------------------------------------------------------

    def to_sql(self, expr: ir.Expr) -> str:
        """The SQL this backend runs for ``expr`` (for error messages and debugging)."""
        try:
            return str(ibis.to_sql(expr, dialect=self.con.name))
        except Exception:  # noqa: BLE001 - only used to decorate another error
            return "<expression could not be compiled to SQL>"

    @contextmanager
    def _wrapped(self, what: str, expr: ir.Expr | None = None) -> Iterator[None]:
        try:
            yield
        except (EngineError, WorkspaceError):
            raise
        except Exception as exc:
            sql = self.to_sql(expr) if expr is not None else None
            raise EngineError(
                f"The {self.backend} engine failed to {what}: {type(exc).__name__}: "
                f"{_first_line(exc)}",
                sql=sql,
                hint="This is likely a bug in insightloop; please report it with the SQL above.",
            ) from exc

    def execute(self, expr: ir.Expr) -> Any:
        """Run ``expr`` and return a pandas object (DataFrame, Series or scalar)."""
        with self._wrapped("run a query", expr):
            found = expr.execute()
        self._release_memtables(expr)
        return found

    def to_pyarrow(self, expr: ir.Table) -> pa.Table:
        """Run a table expression and return its rows as an Arrow table."""
        with self._wrapped("run a query", expr):
            found = expr.to_pyarrow()
        self._release_memtables(expr)
        return found

    def records(self, expr: ir.Table) -> list[dict[str, Any]]:
        """Run a (small) table expression and return its rows as dicts."""
        return self.to_pyarrow(expr).to_pylist()

    # -- tables -----------------------------------------------------------------------------

    def tables(self) -> list[str]:
        if self._names is not None:
            return list(self._names)
        with self._wrapped("list tables"):
            names = self.con.list_tables()
        # Ibis registers in-memory tables (used by insert) as temporary views named ibis_*.
        found = sorted(n for n in names if not n.startswith(_IBIS_TEMP_PREFIX))
        if self._frozen:
            self._names = found
        return list(found)

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def table(self, name: str) -> ir.Table:
        """The Ibis table ``name``; raises an EngineError naming the table when it is missing."""
        if name in self._opened:
            return self._opened[name]
        try:
            table = self.con.table(name)
        except Exception as exc:
            # Listing the catalog costs a metastore round trip on Spark: only do it on failure.
            if not self.has_table(name):
                raise EngineError(
                    f"Table '{name}' does not exist in this workspace.",
                    hint="Run `insightloop migrate` (or `insightloop run`) to create the schema.",
                ) from None
            raise EngineError(
                f"The {self.backend} engine failed to open table '{name}': {_first_line(exc)}"
            ) from exc
        if self._frozen:
            self._opened[name] = table
        return table

    def create_table(
        self, name: str, schema: ibis.Schema, *, existing: set[str] | None = None
    ) -> None:
        """Create an empty table unless it exists (migrations rely on this being idempotent).

        ``existing`` is the set of tables known to exist, to spare a catalog lookup per table
        (each costs a metastore round trip on Spark).
        """
        self._require_writable()
        if name in (existing if existing is not None else set(self.tables())):
            return
        if self.backend == "spark":
            # Plain DDL: Ibis creates Spark tables by writing an empty DataFrame, ten times slower.
            self._spark_create_table(name, schema)
            return
        with self._wrapped(f"create table '{name}'"):
            self.con.create_table(name, schema=schema)

    def _spark_create_table(self, name: str, schema: ibis.Schema) -> None:
        from ibis.backends.sql.datatypes import PySparkType

        columns = [
            sge.ColumnDef(this=sge.to_identifier(col, quoted=True), kind=PySparkType.from_ibis(t))
            for col, t in schema.items()
        ]
        create = sge.Create(
            kind="TABLE",
            exists=True,
            this=sge.Schema(this=sge.to_table(name), expressions=columns),
            properties=sge.Properties(
                expressions=[sge.FileFormatProperty(this=sge.Var(this="PARQUET"))]
            ),
        )
        self._raw(create.sql(dialect="spark"), f"create table '{name}'")

    def _raw(self, sql: str, what: str) -> None:
        """Run one statement built with sqlglot (never from user text)."""
        try:
            self.con.raw_sql(sql)
        except Exception as exc:
            raise EngineError(
                f"The {self.backend} engine failed to {what}: {_first_line(exc)}", sql=sql
            ) from exc

    def add_column(self, table: str, column: str, dtype: str) -> None:
        """Add a column to an existing table unless it is there (used by migrations)."""
        self._require_writable()
        if column in self.table(table).schema():
            return
        from ibis.backends.sql.datatypes import DuckDBType, PySparkType

        mapper = PySparkType if self.backend == "spark" else DuckDBType
        alter = sge.Alter(
            this=sge.to_table(table),
            kind="TABLE",
            actions=[
                sge.ColumnDef(
                    this=sge.to_identifier(column, quoted=True),
                    kind=mapper.from_ibis(ibis.dtype(dtype)),
                )
            ],
        )
        sql = alter.sql(dialect="spark" if self.backend == "spark" else "duckdb")
        self._raw(sql, f"add column '{column}' to '{table}'")

    def materialise(self, name: str, expr: ir.Table, *, temp: bool = False) -> None:
        """Replace table ``name`` with the result of ``expr``.

        ``temp``: a work table of this connection, dropped by the caller (at the latest when
        the engine closes). DuckDB then keeps it out of the database file (memory first,
        its temporary directory beyond the memory limit): writing a work table of 2.7 million
        identifiers to the file took 1.55 s, a temporary one 0.9 s. Other engines write a
        table as usual. A table of the database file by the same name (a work table an earlier
        release left behind) is dropped: the temporary one would hide it for good.
        """
        self._require_writable()
        temp = temp and self.backend == "duckdb"
        with self._wrapped(f"materialise table '{name}'", expr):
            if temp:
                duck = self.con.con
                [(database,)] = duck.execute("SELECT current_database()").fetchall()
                duck.execute(f"DROP TABLE IF EXISTS {quoted(database)}.main.{quoted(name)}")
            self.con.create_table(name, expr, overwrite=True, temp=temp)
        self._release_memtables(expr)

    def _release_memtables(self, expr: ir.Expr) -> None:
        """Let DuckDB drop the in-memory tables ``expr`` registered.

        Ibis registers each in-memory table with the connection on first use and unregisters it
        only when the process exits; the connection keeps its Arrow data alive until then. A
        load writes every batch through one, so a long load held every batch it had written
        (some 250 MB per half a million events). Released here after the statement that used
        them (insert, materialise, queries); a later query of the same expression registers them
        again.
        """
        if self.backend != "duckdb":
            return
        registered = getattr(self.con, "_memtables", None)
        for op in expr.op().find(ops.InMemoryTable):
            self.con.con.unregister(op.name)
            if registered is not None:
                registered.discard(op)

    def drop_table(self, name: str) -> None:
        """Drop table ``name`` if it exists (staging tables; never a canonical one)."""
        self._require_writable()
        with self._wrapped(f"drop table '{name}'"):
            self.con.drop_table(name, force=True)

    def insert(self, name: str, rows: pd.DataFrame | pa.Table | Sequence[Mapping[str, Any]]) -> int:
        """Append rows to table ``name``; missing columns are null. Returns the number of rows.

        Raises
        ------
        EngineError
            When a row names a column the table does not have (a typo must not drop data).
        """
        self._require_writable()
        target = self.table(name).schema()
        if isinstance(rows, pd.DataFrame):
            rows = pa.Table.from_pandas(rows, preserve_index=False)
        columns = rows.column_names if isinstance(rows, pa.Table) else {k for r in rows for k in r}
        unknown = sorted(set(columns) - set(target.names))
        if unknown:
            raise EngineError(
                f"Cannot insert into '{name}': it has no column(s) {', '.join(unknown)}.",
                hint=f"Its columns are: {', '.join(target.names)}.",
            )
        if not isinstance(rows, pa.Table):
            # Infer first, then cast: a float amount becomes the column's decimal, as it would
            # in SQL, instead of being refused by a strict Arrow constructor.
            # Every key of every row: from_pylist would keep only the first row's keys.
            listed = list(rows)
            names = list(dict.fromkeys(k for r in listed for k in r))
            rows = pa.table({k: pa.array([r.get(k) for r in listed]) for k in names})
        columns = {}
        for col, dtype in zip(target.names, target.to_pyarrow().types, strict=True):
            values = rows[col] if col in rows.column_names else pa.nulls(rows.num_rows)
            try:
                columns[col] = values.cast(dtype)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                # Name the column, never the value: it may be personal data.
                raise EngineError(
                    f"Cannot insert into '{name}': a value of column '{col}' is not a "
                    f"valid {dtype}.",
                    hint="Convert the values to the column types of docs/data-model.md.",
                ) from None
        table = pa.table(columns)
        if table.num_rows == 0:
            return 0
        if self.backend == "spark":
            self._spark_insert(name, table)
            return table.num_rows
        if self.backend == "duckdb":
            self._duckdb_insert(name, table)
            return table.num_rows
        data = ibis.memtable(table)
        with self._wrapped(f"insert into '{name}'", data):
            self.con.insert(name, data)
        self._release_memtables(data)
        return table.num_rows

    @contextmanager
    def registered(self, table: pa.Table) -> Iterator[str]:
        """DuckDB only: ``table`` as a view of the connection for the block, by its quoted
        name (DuckDB scans the Arrow data in place, no copy and no cast)."""
        view = f"_insightloop_rows_{uuid.uuid4().hex}"
        duck = self.con.con
        duck.register(view, table)
        try:
            yield quoted(view)
        finally:
            duck.unregister(view)

    def _duckdb_insert(self, name: str, table: pa.Table) -> None:
        # The Arrow table is already in the target's column order and types: DuckDB scans it
        # directly. (Ibis's insert of a memtable adds a cast per column, about 40% slower.)
        with self._wrapped(f"insert into '{name}'"), self.registered(table) as view:
            self.con.con.execute(f"INSERT INTO {quoted(name)} SELECT * FROM {view}")

    def _spark_insert(self, name: str, table: pa.Table) -> None:
        # Ibis 12 registers Spark memtables through pandas and maps decimals with Decimal(),
        # which fails on nulls; PySpark 4 takes Arrow directly. Columns are in table order, which
        # insertInto matches by position.
        session = self.con._session
        with self._wrapped(f"insert into '{name}'"):
            session.createDataFrame(table).write.insertInto(name)

    def transaction(self) -> AbstractContextManager[None]:
        """A block whose changes all land or none do (DuckDB; see :mod:`store.changes`)."""
        from insightloop.store.changes import transaction

        return transaction(self)

    def delete_matching(self, name: str, keys: pa.Table) -> None:
        """Delete the rows of ``name`` that match a row of ``keys`` on its columns."""
        from insightloop.store.changes import delete_matching

        delete_matching(self, name, keys)

    def update_matching(
        self,
        name: str,
        keys: pa.Table,
        values: Mapping[str, Any],
        *,
        where: Mapping[str, Any] | None = None,
    ) -> None:
        """Set ``values`` on the rows of ``name`` matching ``keys`` (and ``where``)."""
        from insightloop.store.changes import update_matching

        update_matching(self, name, keys, values, where=where)

    def count(self, name: str) -> int:
        return int(self.execute(self.table(name).count()))

    def _require_writable(self) -> None:
        if self.read_only:
            raise EngineError(
                "This engine was opened read-only and cannot change the workspace.",
                hint="Open the workspace without read_only to write to it.",
            )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def quoted(name: str) -> str:
    """``name`` as a quoted SQL identifier (``my table`` becomes ``"my table"``)."""
    return '"' + name.replace('"', '""') + '"'
