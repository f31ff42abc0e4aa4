"""The SQL of a database source: quoted names, bound values, wrapped queries."""

from __future__ import annotations

import pytest

from insightloop.ingest.databases.sql import (
    DIALECTS,
    Relation,
    clean_query,
    probe_statement,
    read_statement,
    split_table,
)
from insightloop.ingest.readers import ReadError


def test_names_are_quoted_per_dialect() -> None:
    relation = Relation(split_table('sales."odd.name"'))
    assert relation.parts == ("sales", "odd.name")
    assert probe_statement(DIALECTS["mysql"], relation).sql == (
        "SELECT * FROM `sales`.`odd.name` LIMIT 0"
    )
    assert read_statement(DIALECTS["duckdb"], relation, watermark='x"y', since=1, ordered=True) == (
        read_statement(DIALECTS["sqlite"], relation, watermark='x"y', since=1, ordered=True)
    )


def test_read_statements() -> None:
    table = Relation(("orders",))
    pg = DIALECTS["postgresql"]
    assert read_statement(pg, table).sql == 'SELECT * FROM "orders"'
    full = read_statement(pg, table, watermark="at", ordered=True)
    assert (full.sql, full.params) == ('SELECT * FROM "orders" ORDER BY "at" NULLS FIRST', ())
    since = read_statement(pg, table, watermark="at", since=5, ordered=True)
    assert since.sql == 'SELECT * FROM "orders" WHERE "at" >= %s ORDER BY "at" NULLS FIRST'
    assert since.params == (5,)
    unordered = read_statement(DIALECTS["sqlite"], table, watermark="at", since=None)
    assert unordered.sql == 'SELECT * FROM "orders"'


def test_percent_signs_are_doubled_only_for_pyformat_drivers() -> None:
    query = Relation(query="SELECT 'a%' AS \"b%\"")
    assert probe_statement(DIALECTS["mysql"], query).sql == (
        "SELECT * FROM (\nSELECT 'a%%' AS \"b%%\"\n) AS q LIMIT 0"
    )
    assert "'a%'" in probe_statement(DIALECTS["duckdb"], query).sql


@pytest.mark.parametrize("table", ["", "a..b", "a.b.c.d", '"unclosed', "a.", ".a"])
def test_bad_table_names(table: str) -> None:
    with pytest.raises(ReadError, match="is not a table name"):
        split_table(table)


def test_clean_query() -> None:
    assert clean_query("SELECT 1 ; ;\n") == "SELECT 1"
    with pytest.raises(ReadError, match="the query is empty"):
        clean_query(" ; ")
