"""Changing rows in place: delete or update the rows that match a set of keys, in a transaction.

DuckDB runs ``DELETE ... USING`` and ``UPDATE ... FROM`` against the keys registered as an Arrow
view, inside a real transaction. Spark's tables (Parquet in a Hive catalog) cannot change rows in
place, so there the table is rewritten: the new contents are computed with Ibis into a staging
table and written back with ``INSERT OVERWRITE``; Spark has no transactions, so callers that need
atomicity record what they started and undo it after a failure (see ``ingest.load``).
Identifiers go through sqlglot, values through query parameters: nothing is formatted into SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import ibis
import pyarrow as pa
import sqlglot.expressions as sge

from insightloop.errors import EngineError

if TYPE_CHECKING:
    from insightloop.store.engine import Engine

__all__ = ["delete_matching", "sync_rows", "transaction", "update_matching"]


def _quote(name: str) -> str:
    return sge.to_identifier(name, quoted=True).sql("duckdb")


@contextmanager
def transaction(engine: Engine) -> Iterator[None]:
    """Run the block in one transaction on DuckDB: all of its changes land, or none do."""
    if engine.backend != "duckdb":
        yield
        return
    duck = engine.con.con
    duck.begin()
    try:
        yield
    except BaseException:
        duck.rollback()
        raise
    duck.commit()


def _check_keys(engine: Engine, name: str, keys: pa.Table, columns: Sequence[str]) -> None:
    schema = engine.table(name).schema()
    missing = [c for c in (*keys.column_names, *columns) if c not in schema]
    if missing:
        raise EngineError(
            f"Cannot change rows of '{name}': it has no column(s) {', '.join(missing)}.",
            hint=f"Its columns are: {', '.join(schema.names)}.",
        )


def _duck_run(engine: Engine, sql: str, keys: pa.Table, params: list[Any], what: str) -> None:
    with engine.registered(keys) as view:
        try:
            engine.con.con.execute(sql.replace("{keys}", view), params)
        except Exception as exc:
            raise EngineError(
                f"The duckdb engine failed to {what}: {type(exc).__name__}", sql=sql
            ) from exc


def delete_matching(engine: Engine, name: str, keys: pa.Table) -> None:
    """Delete the rows of ``name`` whose values in ``keys``' columns equal a row of ``keys``.

    Examples
    --------
    >>> from insightloop.store.engine import Engine
    >>> engine = Engine.in_memory()
    >>> engine.create_table("t", ibis.schema({"k": "string", "v": "int64"}))
    >>> _ = engine.insert("t", pa.table({"k": ["a", "b", "c"], "v": [1, 2, 3]}))
    >>> delete_matching(engine, "t", pa.table({"k": ["a", "c"]}))
    >>> engine.records(engine.table("t"))
    [{'k': 'b', 'v': 2}]
    """
    engine._require_writable()
    if keys.num_rows == 0:
        return
    _check_keys(engine, name, keys, ())
    if engine.backend == "duckdb":
        on = " AND ".join(f"t.{_quote(c)} = k.{_quote(c)}" for c in keys.column_names)
        sql = f"DELETE FROM {_quote(name)} AS t USING {{keys}} AS k WHERE {on}"
        _duck_run(engine, sql, keys, [], f"delete rows of '{name}'")
        return
    table = engine.table(name)
    _rewrite(engine, name, table.anti_join(ibis.memtable(keys), list(keys.column_names)))


def update_matching(
    engine: Engine,
    name: str,
    keys: pa.Table,
    values: Mapping[str, Any],
    *,
    where: Mapping[str, Any] | None = None,
) -> None:
    """Set ``values`` (column -> one value) on the rows of ``name`` that match a row of ``keys``
    and whose columns equal ``where`` (column -> value).

    Examples
    --------
    >>> from insightloop.store.engine import Engine
    >>> engine = Engine.in_memory()
    >>> engine.create_table("t", ibis.schema({"k": "string", "cur": "boolean"}))
    >>> _ = engine.insert("t", pa.table({"k": ["a", "a", "b"], "cur": [False, True, True]}))
    >>> update_matching(engine, "t", pa.table({"k": ["a"]}), {"cur": False}, where={"cur": True})
    >>> engine.records(engine.table("t").order_by("k", "cur"))
    [{'k': 'a', 'cur': False}, {'k': 'a', 'cur': False}, {'k': 'b', 'cur': True}]
    """
    engine._require_writable()
    where = dict(where or {})
    if keys.num_rows == 0 or not values:
        return
    _check_keys(engine, name, keys, [*values, *where])
    if engine.backend == "duckdb":
        sets = ", ".join(f"{_quote(c)} = ?" for c in values)
        on = [f"{_quote(name)}.{_quote(c)} = k.{_quote(c)}" for c in keys.column_names]
        on += [f"{_quote(name)}.{_quote(c)} = ?" for c in where]
        sql = f"UPDATE {_quote(name)} SET {sets} FROM {{keys}} AS k WHERE {' AND '.join(on)}"
        params = [*values.values(), *where.values()]
        _duck_run(engine, sql, keys, params, f"update rows of '{name}'")
        return
    table = engine.table(name)
    schema = table.schema()
    cols = list(keys.column_names)
    marks = ibis.memtable(keys).select(*cols).distinct().mutate(_il_hit=ibis.literal(True))
    joined = table.left_join(marks, cols)
    hit = joined._il_hit.notnull()
    for column, value in where.items():
        hit &= joined[column] == ibis.literal(value, type=schema[column])
    expr = joined.select(
        **{
            c: ibis.ifelse(hit, ibis.literal(values[c], type=schema[c]), joined[c])
            if c in values
            else joined[c]
            for c in schema.names
        }
    )
    _rewrite(engine, name, expr)


def sync_rows(
    engine: Engine,
    name: str,
    rows: pa.Table,
    key: Sequence[str],
    *,
    ignore: Sequence[str] = (),
    partial: bool = False,
) -> int:
    """Make ``name`` hold ``rows`` (one row per ``key``), changing only the rows that differ.

    A row of ``name`` is kept when ``rows`` has one equal to it in every column but ``ignore``
    (a run id, say: an unchanged row keeps the run that wrote it), nulls equal to nulls; the
    others are deleted, and the rows of ``rows`` not kept are inserted. With ``partial``, rows
    of ``name`` whose key ``rows`` does not hold are left alone (``rows`` is an update of some
    keys, not the whole table). Returns the number of rows inserted.

    At a million rows of which a few thousand changed, this writes a few thousand rows where a
    delete and insert of everything rewrote the table (2 s for the person records). On Spark,
    whose tables cannot change in place, the table is rewritten with the rows kept, and the
    others inserted after.

    Examples
    --------
    >>> from insightloop.store.engine import Engine
    >>> engine = Engine.in_memory()
    >>> engine.create_table("t", ibis.schema({"k": "string", "v": "string", "run": "string"}))
    >>> _ = engine.insert("t", pa.table({"k": ["a", "b"], "v": ["1", None], "run": ["r1"] * 2}))
    >>> later = pa.table({"k": ["a", "b", "c"], "v": ["2", None, "3"], "run": ["r2"] * 3})
    >>> sync_rows(engine, "t", later, ["k"], ignore=["run"])
    2
    >>> engine.records(engine.table("t").order_by("k"))  # doctest: +NORMALIZE_WHITESPACE
    [{'k': 'a', 'v': '2', 'run': 'r2'}, {'k': 'b', 'v': None, 'run': 'r1'},
     {'k': 'c', 'v': '3', 'run': 'r2'}]
    """
    engine._require_writable()
    _check_keys(engine, name, rows, key)
    compared = [c for c in rows.column_names if c not in ignore]
    if engine.backend != "duckdb":
        table, given = engine.table(name), ibis.memtable(rows)
        added = engine.to_pyarrow(
            given.anti_join(table, [given[c].identical_to(table[c]) for c in compared])
        )
        kept = table.semi_join(given, [table[c].identical_to(given[c]) for c in compared])
        if partial:
            kept = kept.union(table.anti_join(given, list(key)))
        _rewrite(engine, name, kept)
        return engine.insert(name, added) if added.num_rows else 0
    equal = " AND ".join(f"t.{_quote(c)} IS NOT DISTINCT FROM r.{_quote(c)}" for c in compared)
    on_key = " AND ".join(f"t.{_quote(c)} = r.{_quote(c)}" for c in key)
    target = _quote(name)
    stale = f"NOT EXISTS (SELECT 1 FROM {{keys}} AS r WHERE {equal})"
    if partial:
        stale += f" AND EXISTS (SELECT 1 FROM {{keys}} AS r WHERE {on_key})"
    columns = ", ".join(_quote(c) for c in rows.column_names)
    order = ", ".join(f"r.{_quote(c)}" for c in key)
    with engine.registered(rows) as view:
        sqls = (
            f"DELETE FROM {target} AS t WHERE {stale}",
            f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {{keys}} AS r "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} AS t WHERE {equal}) ORDER BY {order}",
        )
        inserted = 0
        for sql in sqls:
            try:
                found = engine.con.con.execute(sql.replace("{keys}", view)).fetchone()
            except Exception as exc:
                raise EngineError(
                    f"The duckdb engine failed to update rows of '{name}': {type(exc).__name__}",
                    sql=sql,
                ) from exc
            inserted = int(found[0]) if found else 0
    return inserted


def _rewrite(engine: Engine, name: str, expr: Any) -> None:
    """Replace the rows of ``name`` with ``expr`` (computed from them) through a staging table."""
    staging = f"{name}__rewrite_{uuid.uuid4().hex[:8]}"
    with engine._wrapped(f"rewrite table '{name}'", expr):
        engine.con.create_table(staging, expr, overwrite=True)
    try:
        insert = sge.Insert(
            this=sge.to_table(name),
            expression=sge.select("*").from_(sge.to_table(staging)),
            overwrite=True,
        )
        engine._raw(insert.sql(dialect="spark"), f"rewrite table '{name}'")
    finally:
        engine.con.drop_table(staging, force=True)
