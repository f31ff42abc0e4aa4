"""Database URLs: schemes, placeholders, file paths and redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from insightloop.ingest.databases import SCHEMES, parse_url
from insightloop.ingest.readers import ReadError

ENV = {"PW": "p@ss:/w%rd?#", "HOST": "db.internal", "PORT": "6543", "USER": "reader"}


@pytest.mark.parametrize(
    ("scheme", "backend"),
    [("postgresql", "postgresql"), ("postgres", "postgresql"), ("postgresql+psycopg", "postgresql"),
     ("mysql", "mysql"), ("mariadb", "mysql"), ("mysql+pymysql", "mysql")],
)  # fmt: skip
def test_server_schemes(scheme: str, backend: str) -> None:
    url = parse_url(f"{scheme}://${{USER}}:${{PW}}@${{HOST}}:${{PORT}}/sales", Path("."), ENV)
    assert (url.backend, url.user, url.password, url.host, url.port, url.database) == (
        backend, "reader", ENV["PW"], "db.internal", 6543, "sales",
    )  # fmt: skip
    assert url.redacted == f"{scheme}://reader@db.internal:6543/sales"
    assert SCHEMES[scheme] == backend


def test_literal_parts_are_percent_decoded_and_placeholders_are_not() -> None:
    url = parse_url("postgresql://a%40b:x%2Fy@h/d%20b?sslmode=require&x=${PW}", Path("."), ENV)
    assert (url.user, url.password, url.database) == ("a@b", "x/y", "d b")
    assert url.options == {"sslmode": "require", "x": ENV["PW"]}


def test_password_options_are_secrets_and_scrubbed() -> None:
    url = parse_url("postgresql://u:pw1@h/db?sslpassword=pw2", Path("."), {})
    assert url.secrets == ("pw1", "pw2")
    assert url.scrub("bad pw1 and pw2") == "bad *** and ***"
    assert "pw" not in url.redacted
    assert "pw" not in repr(url)


def test_hosts_ports_and_defaults() -> None:
    url = parse_url("postgresql://[::1]:5433/db", Path("."), {})
    assert (url.host, url.port, url.user, url.password) == ("::1", 5433, None, None)
    assert url.redacted == "postgresql://[::1]:5433/db"
    url = parse_url("mysql://root:@localhost", Path("."), {})
    assert (url.user, url.password, url.database, url.port) == ("root", "", None, None)
    with pytest.raises(ReadError, match="port 'x' of the URL is not a number"):
        parse_url("mysql://h:${P}/db", Path("."), {"P": "x"})


def test_file_urls(tmp_path: Path) -> None:
    relative = parse_url("sqlite:///data/shop.db", tmp_path, {})
    assert (relative.backend, relative.path) == ("sqlite", tmp_path / "data" / "shop.db")
    assert relative.redacted == "sqlite:///data/shop.db"
    absolute = parse_url("duckdb:////srv/${NAME}.duckdb", tmp_path, {"NAME": "x"})
    assert (absolute.backend, absolute.path) == ("duckdb", Path("/srv/x.duckdb"))
    assert absolute.redacted == "duckdb:////srv/x.duckdb"
    with pytest.raises(ReadError, match="has no file path"):
        parse_url("sqlite:///", tmp_path, {})


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("oracle://h/db", "unsupported URL scheme 'oracle'"),
        ("localhost/db", "the URL has no scheme"),
        ("postgresql://${MISSING}@h/db", "MISSING is not set"),
        ("postgresql://u:${1X}@h/db", "malformed placeholder"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(ReadError, match=message):
        parse_url(url, Path("."), {})
