"""Where Splink runs: a DuckDB or Spark database API made from an insightloop engine, or its own.

DuckDB
    With an :class:`~insightloop.store.engine.Engine`, Splink works on a cursor of the engine's
    DuckDB database with an attached in-memory catalogue as its default: the workspace's settings
    (threads, memory limit) apply, and Splink's many intermediate tables never land in the
    workspace file. Without an engine, a private in-memory DuckDB is used.
Spark
    Splink's ``SparkAPI`` on the engine's Spark session. Jaro-Winkler is a Scala UDF in a jar that
    ships with Splink; a session started without it gets the jar added and the functions
    registered here (``ADD JAR`` then ``registerJavaFunction``).

Splink logs at INFO by default and its messages go to the ``splink`` logger; the backend keeps that
logger at ERROR while it runs, and Splink's SQL (never personal data) stays out of our logs.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from insightloop.errors import ConfigError, EngineError

if TYPE_CHECKING:
    from insightloop.store.engine import Engine

__all__ = ["PRIVATE_MEMORY_LIMIT", "SplinkBackend", "memory_limit_for", "quiet_splink"]

# The least memory limit of matching (see memory_limit_for): DuckDB takes 80% of RAM by default,
# and Splink keeps many intermediate tables; with a limit it spills them to disk instead (a
# million records then peak under 3 GB). Matching on a workspace's DuckDB sets the limit while
# it runs, unless the workspace configured one (``engine.memory_limit``).
PRIVATE_MEMORY_LIMIT = "1536MB"


def memory_limit_for(records: int) -> str:
    """DuckDB's memory limit while matching ``records`` records: 1.5 KiB a record, at least
    :data:`PRIVATE_MEMORY_LIMIT` (a million records stay under 3 GB in all; some of Splink's
    operators cannot spill, so the limit grows with the work).

    Examples
    --------
    >>> memory_limit_for(1_000), memory_limit_for(4_000_000)
    ('1536MB', '5860MB')
    """
    return f"{max(1536, -(-records * 3 // 2048))}MB"


Dialect = Literal["duckdb", "spark"]


@contextmanager
def quiet_splink() -> Iterator[None]:
    """Keep Splink's logger at ERROR for the duration.

    Splink logs progress at INFO and advice at WARNING ("consider increasing max_pairs", "level
    not observed"): the automatic configuration takes those decisions itself and reports them.
    """
    splink_logger = logging.getLogger("splink")
    before = splink_logger.level
    if splink_logger.getEffectiveLevel() < logging.ERROR:
        splink_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        splink_logger.setLevel(before)


class SplinkBackend:
    """A Splink database API and the helpers the model needs around it.

    Examples
    --------
    >>> backend = SplinkBackend.create()
    >>> backend.to_arrow("SELECT 1 AS one").to_pylist()
    [{'one': 1}]
    >>> backend.close()
    """

    def __init__(self, db_api: Any, dialect: Dialect, cleanup: list[Any]) -> None:
        self.db_api = db_api
        self.dialect: Dialect = dialect
        self._cleanup = cleanup
        self._names: set[str] = set()

    @classmethod
    def create(
        cls, engine: Engine | None = None, *, memory_limit: str | None = PRIVATE_MEMORY_LIMIT
    ) -> SplinkBackend:
        """A backend on ``engine`` (DuckDB or Spark), or on a private in-memory DuckDB."""
        if engine is not None and engine.backend == "spark":
            return cls._spark(engine)
        return cls._duckdb(engine, memory_limit=memory_limit)

    @classmethod
    def _duckdb(cls, engine: Engine | None, *, memory_limit: str | None) -> SplinkBackend:
        import duckdb
        from splink.backends.duckdb import DuckDBAPI

        cleanup: list[Any] = []
        if engine is None:
            spill = tempfile.mkdtemp(prefix="insightloop-match-")
            config: dict[str, str | bool | int | float | list[str]] = {
                "temp_directory": spill,
                # Row order of Splink's intermediate tables does not matter; keeping it costs
                # memory in large joins.
                "preserve_insertion_order": False,
            }
            if memory_limit:
                config["memory_limit"] = memory_limit
            con = duckdb.connect(":memory:", config=config)
            cleanup.append(lambda: shutil.rmtree(spill, ignore_errors=True))
            cleanup.append(con.close)
        else:
            con = engine.con.con.cursor()
            catalog = f"il_match_{uuid.uuid4().hex[:12]}"
            con.execute(f"ATTACH ':memory:' AS {catalog}")
            con.execute(f"USE {catalog}")

            main = engine.con.con

            def detach(con: Any = con, catalog: str = catalog) -> None:
                con.close()
                main.execute(f"DETACH DATABASE IF EXISTS {catalog}")

            cleanup.append(detach)
            if engine.memory_limit is None and memory_limit:
                # Splink's intermediate tables live in the workspace's DuckDB, whose default
                # limit (80% of RAM) lets its buffers grow to the machine: while matching runs
                # they spill beyond the private limit instead, unless the workspace chose one.
                main.execute(f"SET memory_limit = '{memory_limit}'")
                main.execute("SET preserve_insertion_order = false")
                cleanup.insert(0, lambda: main.execute("RESET memory_limit"))
                cleanup.insert(0, lambda: main.execute("RESET preserve_insertion_order"))
        # A progress bar on stdout would interleave with the CLI's own.
        con.execute("SET enable_progress_bar = false")
        backend = cls(DuckDBAPI(connection=con), "duckdb", cleanup)
        if engine is None:
            # A model that is never closed still leaves no spill folder behind.
            weakref.finalize(backend, shutil.rmtree, spill, ignore_errors=True)
        return backend

    @classmethod
    def _spark(cls, engine: Engine) -> SplinkBackend:
        from splink.backends.spark import SparkAPI

        session = engine.con._session
        _ensure_similarity_udfs(session)
        before = _temp_views(session)
        api = SparkAPI(
            spark_session=session,
            break_lineage_method="persist",
            register_udfs_automatically=False,
        )

        def drop_views() -> None:
            # Splink registers its intermediate results as temporary views of the session;
            # drop the ones made here so the engine's catalogue looks as it did.
            for name in _temp_views(session) - before:
                session.catalog.dropTempView(name)

        return cls(api, "spark", [drop_views])

    # -- tables ---------------------------------------------------------------------------

    def register(self, table: pa.Table, name: str) -> Any:
        """Register an Arrow table with Splink under ``name`` (unique per backend)."""
        base, n = name, 1
        while name in self._names:
            n += 1
            name = f"{base}_{n}"
        self._names.add(name)
        return self.db_api.register(table, table_name=name, dataset_display_name=base)

    def to_arrow(self, sql: str) -> pa.Table:
        """Run one query (built by us, never from user text) and fetch the result."""
        try:
            if self.dialect == "duckdb":
                return self.db_api.duckdb_con.execute(sql).fetch_arrow_table()
            frame = self.db_api.spark.sql(sql)
            return (
                frame.toArrow()
                if hasattr(frame, "toArrow")
                else pa.Table.from_pandas(frame.toPandas(), preserve_index=False)
            )
        except Exception as exc:
            raise EngineError(
                f"The {self.dialect} engine failed to run a matching query: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                sql=sql,
                hint="This is likely a bug in insightloop; please report it with the SQL above.",
            ) from exc

    def close(self) -> None:
        """Drop what Splink created and release the connection (the engine stays open)."""
        # Best effort: the catalogue goes away below anyway, and closing must not mask the
        # caller's error.
        with suppress(Exception):
            self.db_api.delete_tables_created_by_splink_from_db()
        for step in reversed(self._cleanup):
            with suppress(Exception):
                step()
        self._cleanup.clear()


def _temp_views(session: Any) -> set[str]:
    return {t.name for t in session.catalog.listTables() if t.isTemporary}


def _ensure_similarity_udfs(session: Any) -> None:
    """Register Splink's Scala similarity functions, adding their jar to the session if needed."""
    from splink.backends.spark import similarity_jar_location
    from splink.internals.spark.jar_location import get_scala_udfs

    def register() -> None:
        for udf in get_scala_udfs():
            session.udf.registerJavaFunction(*udf)

    try:
        register()
        return
    except Exception:  # noqa: BLE001 - the jar is not on the classpath yet: add it below
        pass
    jar = similarity_jar_location()
    try:
        session.sql(f"ADD JAR '{jar}'")
        register()
    except Exception as exc:
        raise ConfigError(
            "Splink's similarity functions (Jaro-Winkler) could not be loaded into Spark.",
            hint=f"Start Spark with spark.jars={jar} (the jar ships with Splink).",
        ) from exc
