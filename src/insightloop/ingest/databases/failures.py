"""What went wrong, as a :class:`~insightloop.ingest.readers.ReadError` that says what to do.

Each backend classifies its driver's exceptions into a :class:`Failure` (a :data:`Problem` and
a short detail that is safe to show: an error class, SQLSTATE or error number, "connection
refused"). The messages are written here, in one place. A driver's own message is never
repeated: it can quote row values (``invalid input syntax for type integer: "anna@x.se"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from insightloop.ingest.databases.sql import Relation
from insightloop.ingest.readers.model import ReadError

__all__ = [
    "Failure",
    "Problem",
    "Target",
    "connect_error",
    "missing_driver",
    "read_error",
    "stream_error",
]

Problem = Literal[
    "unreachable",
    "auth",
    "unknown_database",
    "missing_file",
    "locked",
    "not_a_database",
    "missing_table",
    "missing_column",
    "syntax",
    "duplicate_columns",
    "permission",
    "other",
]

_CONNECTING = (
    "unreachable",
    "auth",
    "unknown_database",
    "missing_file",
    "locked",
    "not_a_database",
)
_QUERY_SHOWN = 500
_NOT_REPEATED = "(the database's message is not repeated here because it can quote row values)"


@dataclass(frozen=True)
class Failure:
    """A classified driver error: the problem and a detail that is safe to show."""

    problem: Problem
    detail: str


@dataclass(frozen=True)
class Target:
    """Which source failed, where, and reading what; nothing secret."""

    source: str
    location: str
    relation: Relation
    user: str | None = None
    database: str | None = None

    @property
    def scheme(self) -> str:
        return self.location.partition("://")[0]

    @property
    def what(self) -> str:
        return f"table {self.relation.label!r}" if self.relation.query is None else "the query"

    def shown_query(self) -> str:
        query = self.relation.query or ""
        return query if len(query) <= _QUERY_SHOWN else query[:_QUERY_SHOWN] + " ..."


def missing_driver(scheme: str, package: str) -> ReadError:
    """The driver of a scheme is not installed."""
    return ReadError(
        f"reading {scheme}:// sources needs the Python package {package}, which is not installed",
        hint=f"Install it into insightloop's environment: pip install '{package}'.",
    )


def connect_error(failure: Failure, target: Target) -> ReadError:
    """The connection (or the opening of a database file) failed."""
    source, url = f"source {target.source!r}", target.location
    if failure.problem == "unreachable":
        return ReadError(
            f"{source}: cannot connect to {url} ({failure.detail})",
            hint="Check the host and port in the URL, that the database server is running, and "
            "that this machine may reach it (firewall, VPN, the server's listen address).",
        )
    if failure.problem == "auth":
        return ReadError(
            f"{source}: {url} refused the login of user {target.user!r} ({failure.detail})",
            hint="Check the user name and the password. Keep the password out of "
            f"insightloop.toml with a placeholder ({target.scheme}://user:${{DB_PASSWORD}}@host/db)"
            " and set DB_PASSWORD in the environment; check also that the user may connect "
            "from this machine (pg_hba.conf, MySQL's user@host).",
        )
    if failure.problem == "unknown_database":
        return ReadError(
            f"{source}: the server of {url} has no database {target.database!r}",
            hint="Check the database name after the last '/' of the URL; it is case-sensitive.",
        )
    if failure.problem == "permission":
        return ReadError(
            f"{source}: user {target.user!r} may not use the database of {url} ({failure.detail})",
            hint="Grant the user read access to the database (GRANT SELECT ON <db>.* TO ...).",
        )
    if failure.problem == "missing_file":
        return ReadError(
            f"{source}: the database file of {url} does not exist ({failure.detail})",
            hint="A path after three slashes (sqlite:///data/shop.db) is relative to the "
            "workspace root; write four slashes for an absolute path (sqlite:////srv/shop.db).",
        )
    if failure.problem == "locked":
        return ReadError(
            f"{source}: {url} is locked by another process ({failure.detail})",
            hint="A DuckDB file can be open for writing in one process only: stop the process "
            "that holds it, or point the source at a copy.",
        )
    if failure.problem == "not_a_database":
        return ReadError(
            f"{source}: {url} is not a database file of that kind ({failure.detail})",
            hint="Check the path, and that the scheme (sqlite:// or duckdb://) matches the file.",
        )
    return ReadError(
        f"{source}: cannot connect to {url} ({failure.detail})",
        hint="Check the URL and its ?options; connect with the database's own client (psql, "
        "mysql, sqlite3, duckdb) using the same settings to see the server's message.",
    )


def read_error(failure: Failure, target: Target) -> ReadError:
    """Running the source's table read or query failed before any row was read."""
    source, url = f"source {target.source!r}", target.location
    if failure.problem in _CONNECTING:
        return connect_error(failure, target)
    if failure.problem == "permission":
        return ReadError(
            f"{source}: user {target.user!r} may not read {target.what} in {url}",
            hint="Grant the user SELECT on the table (and USAGE on its schema in PostgreSQL).",
        )
    if target.relation.query is None:
        if failure.problem == "missing_table":
            return ReadError(
                f"{source}: table {target.relation.label!r} does not exist in {url}",
                hint="Check the name and its schema ('schema.table'): names are matched "
                "exactly, case included. Check also that the user may see the table.",
            )
        return ReadError(
            f"{source}: reading table {target.relation.label!r} from {url} failed "
            f"({failure.detail})",
            hint="Run SELECT * FROM the table in a SQL client connected as the same user to "
            f"see the database's message {_NOT_REPEATED}.",
        )
    what = {
        "syntax": "has a syntax error",
        "missing_table": "refers to a table that does not exist",
        "missing_column": "refers to a column that does not exist",
        "duplicate_columns": "returns several columns with the same name",
    }.get(failure.problem, "failed")
    fix = {
        "syntax": "Fix the query: it must be one SELECT, and it is run as "
        "SELECT * FROM (<query>) AS q.",
        "duplicate_columns": "Give every column of the query its own name with AS.",
    }.get(failure.problem, "Check the query.")
    return ReadError(
        f"{source}: the query {what} on {url} ({failure.detail})",
        hint=f"{fix} Run it in a SQL client to see the database's message {_NOT_REPEATED}. "
        f"The query: {target.shown_query()}",
    )


def stream_error(failure: Failure, target: Target, rows: int) -> ReadError:
    """Reading rows failed part way."""
    if failure.problem in ("unreachable", "auth"):
        return connect_error(failure, target)
    run = "the query" if target.relation.query is not None else "SELECT * FROM the table"
    shown = f" The query: {target.shown_query()}" if target.relation.query is not None else ""
    return ReadError(
        f"source {target.source!r}: reading {target.what} from {target.location} failed after "
        f"{rows:,} rows ({failure.detail})",
        hint="Nothing of this read counts as loaded. If the connection dropped, run again; "
        f"otherwise run {run} in a SQL client to see the database's message {_NOT_REPEATED}."
        + shown,
    )
