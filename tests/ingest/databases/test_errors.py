"""Every way a database source fails is a ReadError that says what to do, without secrets."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest

from insightloop.ingest.databases import open_database
from insightloop.ingest.readers import ReadError
from insightloop.ingest.sources import SourceDeclaration
from tests.helpers import duckdb_held_by_another_process
from tests.ingest.databases.conftest import PASSWORD, Database, assert_no_secret


def source(url: str, **fields: object) -> SourceDeclaration:
    settings = {"table": "orders", "incremental": False, **fields}
    return SourceDeclaration(name="erp", kind="database", entity="orders", url=url, **settings)


def fail(url: str, tmp_path: Path, **fields: object) -> ReadError:
    """Open the source, expecting a ReadError; check that no secret shows."""
    with pytest.raises(ReadError) as caught:
        open_database(source(url, **fields), since=None, base_dir=tmp_path)
    assert_no_secret(caught.value)
    return caught.value


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://reader:{PASSWORD}@127.0.0.1:1/sales", "postgresql://reader@127.0.0.1:1"),
        (f"mariadb://reader:{PASSWORD}@127.0.0.1:1/sales", "mariadb://reader@127.0.0.1:1"),
    ],
)
def test_unreachable_server(url: str, shown: str, tmp_path: Path) -> None:
    started = time.monotonic()
    error = fail(url, tmp_path)
    assert time.monotonic() - started < 10
    assert error.message == f"source 'erp': cannot connect to {shown}/sales (connection refused)"
    assert error.hint is not None
    assert "host and port" in error.hint


@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_login_refused(db: Database, tmp_path: Path) -> None:
    user = "insightloop_no_such_user"
    url = db.url.replace("postgres:", f"{user}:").replace("root@", f"{user}:{PASSWORD}@")
    error = fail(url, tmp_path)
    assert f"refused the login of user {user!r}" in error.message
    assert error.hint is not None
    assert "${DB_PASSWORD}" in error.hint


@pytest.mark.parametrize("db", ["postgresql", "mariadb"], indirect=True)
def test_unknown_database(db: Database, tmp_path: Path) -> None:
    error = fail(db.url.replace("/test", "/no_such_db_xyz"), tmp_path)
    assert "has no database 'no_such_db_xyz'" in error.message


def test_missing_table(db: Database) -> None:
    error = fail(db.url, db.base_dir, table="no_such_table_xyz")
    assert error.message.startswith("source 'erp': table 'no_such_table_xyz' does not exist in ")
    assert error.hint is not None
    assert "schema" in error.hint


def test_missing_watermark_column(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, changed {ts}")
    error = fail(db.url, db.base_dir, table=table, watermark="updated_at", incremental=True)
    assert "the watermark column 'updated_at' is not a column of table" in error.message
    assert error.message.endswith("its columns are: id, changed")


def test_query_with_a_syntax_error(db: Database) -> None:
    query = "SELEC id FROM orders"
    error = fail(db.url, db.base_dir, table=None, query=query)
    assert error.message.startswith("source 'erp': the query has a syntax error on ")
    assert error.hint is not None
    assert error.hint.endswith(f"The query: {query}")


@pytest.mark.parametrize("db", ["postgresql", "duckdb"], indirect=True)
def test_a_failing_query_does_not_echo_the_database_message(db: Database) -> None:
    # Both databases name the value that failed to convert in their own message.
    query = "SELECT CAST(label AS INTEGER) AS n FROM {table}"
    table = db.table("label {text}")
    db.insert(table, ["label"], [["anna@example.com"]])
    with pytest.raises(ReadError) as caught, db.open(query=query.format(table=table)) as reader:
        reader.read_all()
    assert "anna@example.com" not in str(caught.value)
    assert caught.value.message.startswith("source 'shop': reading the query from ")
    assert "failed after 0 rows" in caught.value.message


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_connection_lost_part_way(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY, stamp {ts}, label {text}")
    db.run(db.generate_sql(table, 5_000))
    name = f"il_test_{uuid.uuid4().hex[:8]}"
    db.url += f"?application_name={name}"  # ?options pass through: find this reader's session
    with db.open(table=table) as reader:
        batches = reader.batches(rows_per_batch=1_000)
        next(batches)
        db.run(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE application_name = %s",
            [name],
        )
        with pytest.raises(ReadError, match="failed after 1,000 rows") as caught:
            next(batches)
    assert not reader.complete
    assert_no_secret(caught.value)


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)
def test_query_with_duplicate_column_names(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY")
    error = fail(db.url, db.base_dir, table=None, query=f"SELECT id, id FROM {table}")
    assert "returns several columns with the same name" in error.message


def test_unsupported_scheme(tmp_path: Path) -> None:
    error = fail(f"oracle://scott:{PASSWORD}@db/orcl", tmp_path)
    assert error.message == "source 'erp': unsupported URL scheme 'oracle'"
    assert error.hint is not None
    assert "postgresql://" in error.hint
    assert "duckdb://" in error.hint


def test_undefined_placeholder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IL_TEST_UNSET", raising=False)
    error = fail("postgresql://reader:${IL_TEST_UNSET}@127.0.0.1/test", tmp_path)
    assert "IL_TEST_UNSET is not set" in error.message
    error = fail("postgresql://reader:${IL_TEST_UNSET@127.0.0.1/test", tmp_path)
    assert "malformed placeholder" in error.message


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_password_from_the_environment(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    table = db.table("id {int} PRIMARY KEY")
    monkeypatch.setenv("IL_TEST_PASSWORD", "p@ss:/w%rd")
    monkeypatch.setenv("IL_TEST_HOST", "127.0.0.1")
    db.url = "postgresql://postgres:${IL_TEST_PASSWORD}@${IL_TEST_HOST}:5432/test"
    _rows, reader = db.read(table=table)
    assert reader.location == f"postgresql://postgres@127.0.0.1:5432/test#{table}"


@pytest.mark.parametrize(
    ("scheme", "module", "package"),
    [("postgresql", "psycopg", "psycopg[binary]"), ("mysql", "pymysql", "PyMySQL")],
)
def test_missing_driver(
    scheme: str, module: str, package: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import <module>` fail
    error = fail(f"{scheme}://reader:{PASSWORD}@127.0.0.1/test", tmp_path)
    assert f"needs the Python package {package}" in error.message
    assert error.hint is not None
    assert f"pip install '{package}" in error.hint


def test_unknown_options(tmp_path: Path, postgres_admin: object) -> None:
    error = fail("postgresql://postgres@127.0.0.1:5432/test?bogus=1", tmp_path)
    assert "bogus" in error.message
    error = fail("mysql://root@127.0.0.1:3306/test?bogus=1", tmp_path)
    assert "mysql:// URLs take no option 'bogus'" in error.message
    error = fail("sqlite:///x.db?mode=rw", tmp_path)
    assert "take no options (got mode)" in error.message


@pytest.mark.parametrize("scheme", ["sqlite", "duckdb"])
def test_missing_and_broken_files(scheme: str, tmp_path: Path) -> None:
    error = fail(f"{scheme}:///data/missing.db", tmp_path)
    assert "does not exist" in error.message
    assert str(tmp_path / "data/missing.db") in error.message
    (tmp_path / "notes.db").write_text("not a database " * 500, encoding="utf-8")
    error = fail(f"{scheme}:///notes.db", tmp_path)
    assert "is not a database file" in error.message
    error = fail(f"{scheme}://host/notes.db", tmp_path)
    assert "names a file, not a host" in error.message


@pytest.mark.parametrize("db", ["duckdb"], indirect=True)
def test_duckdb_file_locked_by_a_writer(db: Database) -> None:
    table = db.table("id {int} PRIMARY KEY")
    with duckdb_held_by_another_process(db.base_dir / "shop.duckdb"):
        error = fail(db.url, db.base_dir, table=table)
    assert "is locked by another process" in error.message


def test_not_a_database_source(tmp_path: Path) -> None:
    declaration = SourceDeclaration(name="crm", kind="file", entity="customers", path="a.csv")
    with pytest.raises(ReadError, match="is a file source, not a database source"):
        open_database(declaration, since=None, base_dir=tmp_path)
