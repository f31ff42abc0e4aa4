"""The SQL a database source runs, built by pure functions: quoting, probe, read.

Names go into SQL only as quoted identifiers, values only as bound parameters. A ``query``
source is wrapped as ``SELECT * FROM (<query>) AS q``, so it must be one ``SELECT`` (a trailing
semicolon is removed). Drivers with ``%s`` placeholders (psycopg, PyMySQL) read ``%`` as the
start of a placeholder, so every other ``%`` of the text is doubled and parameters are always
passed, even when there are none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from insightloop.ingest.readers.model import ReadError

__all__ = [
    "DIALECTS",
    "Dialect",
    "Relation",
    "Statement",
    "clean_query",
    "probe_statement",
    "read_statement",
    "split_table",
]

_PART = re.compile(r'"((?:[^"]|"")+)"|`((?:[^`]|``)+)`|([^."`]+)')


@dataclass(frozen=True)
class Dialect:
    """How one database family quotes names and marks parameters.

    Parameters
    ----------
    name
        The backend's name.
    quote
        The identifier quote: ``"`` (standard SQL) or a backtick (MySQL).
    placeholder
        The parameter marker: ``%s`` or ``?``.
    nulls_first
        What makes ``ORDER BY ... ASC`` put NULLs first ("" where that is the default).
    """

    name: str
    quote: str
    placeholder: str
    nulls_first: str

    def quote_name(self, name: str) -> str:
        """``name`` as a quoted identifier (for a parameter value such as ``::regclass``).

        Examples
        --------
        >>> DIALECTS["mysql"].quote_name("a`b"), DIALECTS["sqlite"].quote_name('a"b')
        ('`a``b`', '"a""b"')
        """
        return f"{self.quote}{name.replace(self.quote, self.quote * 2)}{self.quote}"

    def identifier(self, name: str) -> str:
        """``name`` quoted and ready for SQL text (``%`` doubled where needed).

        Examples
        --------
        >>> DIALECTS["postgresql"].identifier("share%"), DIALECTS["duckdb"].identifier("share%")
        ('"share%%"', '"share%"')
        """
        return self.text(self.quote_name(name))

    def text(self, sql: str) -> str:
        """``sql`` with ``%`` doubled where the driver reads ``%s`` placeholders."""
        return sql.replace("%", "%%") if self.placeholder == "%s" else sql


DIALECTS: dict[str, Dialect] = {
    "postgresql": Dialect("postgresql", '"', "%s", " NULLS FIRST"),
    # MySQL and MariaDB have no NULLS FIRST, and put NULLs first in ascending order anyway.
    "mysql": Dialect("mysql", "`", "%s", ""),
    "sqlite": Dialect("sqlite", '"', "?", " NULLS FIRST"),
    "duckdb": Dialect("duckdb", '"', "?", " NULLS FIRST"),
}


@dataclass(frozen=True)
class Statement:
    """SQL text and its bound parameters."""

    sql: str
    params: tuple[object, ...] = ()


@dataclass(frozen=True)
class Relation:
    """What a source reads: a table (``parts`` = schema and name) or a query."""

    parts: tuple[str, ...] = ()
    query: str | None = None

    @property
    def label(self) -> str:
        """``schema.table`` or ``query``, for locations and messages."""
        return ".".join(self.parts) if self.query is None else "query"

    def sql(self, dialect: Dialect) -> str:
        """The relation as a ``FROM`` item."""
        if self.query is not None:
            # Newlines keep a trailing ``-- comment`` of the query from swallowing ") AS q".
            return f"(\n{dialect.text(self.query)}\n) AS q"
        return ".".join(dialect.identifier(part) for part in self.parts)


def split_table(table: str) -> tuple[str, ...]:
    """Split ``schema.table`` into its parts; a part may be quoted to hold a dot.

    Examples
    --------
    >>> split_table("sales.orders"), split_table('"odd.name"'), split_table("orders")
    (('sales', 'orders'), ('odd.name',), ('orders',))
    """
    parts: list[str] = []
    position = 0
    text = table.strip()
    while True:
        match = _PART.match(text, position)
        if match is None:
            parts.append("")  # nothing after a dot, or no name at all
            break
        quoted_double, quoted_back, bare = match.groups()
        if quoted_double is not None:
            parts.append(quoted_double.replace('""', '"'))
        elif quoted_back is not None:
            parts.append(quoted_back.replace("``", "`"))
        else:
            parts.append(bare.strip())
        position = match.end()
        if position == len(text) or text[position] != ".":
            break
        position += 1
    if position != len(text) or not parts or len(parts) > 3 or not all(parts):
        raise ReadError(
            f"table {table!r} is not a table name",
            hint="Write table = 'orders' or 'schema.orders'; quote a part that holds a dot "
            "with double quotes.",
        )
    return tuple(parts)


def clean_query(query: str) -> str:
    """The query without surrounding blanks and trailing semicolons.

    Examples
    --------
    >>> clean_query("  SELECT 1;; \\n")
    'SELECT 1'
    """
    cleaned = query.strip()
    while cleaned.endswith(";"):
        cleaned = cleaned[:-1].rstrip()
    if not cleaned:
        raise ReadError("the query is empty", hint="Write query = 'SELECT ... FROM ...'.")
    return cleaned


def probe_statement(dialect: Dialect, relation: Relation) -> Statement:
    """Read no rows, only the column names and types.

    Examples
    --------
    >>> probe_statement(DIALECTS["postgresql"], Relation(("sales", "orders"))).sql
    'SELECT * FROM "sales"."orders" LIMIT 0'
    """
    return Statement(f"SELECT * FROM {relation.sql(dialect)} LIMIT 0")


def read_statement(
    dialect: Dialect,
    relation: Relation,
    *,
    watermark: str | None = None,
    since: object | None = None,
    ordered: bool = False,
) -> Statement:
    """Read the relation; from ``since`` on (inclusive) and ordered by ``watermark`` if asked.

    Examples
    --------
    >>> read_statement(DIALECTS["mysql"], Relation(query="SELECT * FROM t WHERE a LIKE 'x%'"),
    ...                watermark="at", since=5, ordered=True).sql
    "SELECT * FROM (\\nSELECT * FROM t WHERE a LIKE 'x%%'\\n) AS q WHERE `at` >= %s ORDER BY `at`"
    """
    sql = f"SELECT * FROM {relation.sql(dialect)}"
    params: tuple[object, ...] = ()
    if watermark is not None and since is not None:
        sql += f" WHERE {dialect.identifier(watermark)} >= {dialect.placeholder}"
        params = (since,)
    if watermark is not None and ordered:
        sql += f" ORDER BY {dialect.identifier(watermark)}{dialect.nulls_first}"
    return Statement(sql, params)
