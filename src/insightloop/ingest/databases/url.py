"""Database URLs: supported schemes, ``${ENV_NAME}`` placeholders, and redaction.

The URL is split *before* placeholders are expanded, so a password taken from the environment
may hold any character (``@``, ``/``, ``:``) without percent-encoding; literal parts of the URL
are percent-decoded as usual. :attr:`DatabaseUrl.redacted` is the URL without its password and
query string: the only form of the URL that may appear in a message or a location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from insightloop.ingest.readers.model import ReadError

__all__ = ["SCHEMES", "Backend", "DatabaseUrl", "expand_placeholders", "parse_url"]

Backend = Literal["postgresql", "mysql", "sqlite", "duckdb"]

#: URL scheme -> the backend that reads it.
SCHEMES: dict[str, Backend] = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "postgresql+psycopg": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mysql+pymysql": "mysql",
    "mariadb+pymysql": "mysql",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
_FILE_BACKENDS = ("sqlite", "duckdb")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed database URL, placeholders expanded.

    Parameters
    ----------
    backend
        ``postgresql``, ``mysql`` (also MariaDB), ``sqlite`` or ``duckdb``.
    redacted
        The URL without password and query string, safe to show.
    user, password, host, port, database
        Server connection settings (``None`` when not given; always ``None`` for files).
    path
        The database file (SQLite and DuckDB), resolved against ``base_dir``.
    options
        The query string as a dict, e.g. ``{"sslmode": "require"}``.
    """

    backend: Backend
    redacted: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int | None = None
    database: str | None = None
    path: Path | None = None
    options: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown: the password and password-like options."""
        values = [self.password or ""]
        values += [v for k, v in self.options.items() if "password" in k.lower()]
        return tuple(v for v in values if v)

    def scrub(self, text: str) -> str:
        """``text`` with every secret of this URL replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def expand_placeholders(
    text: str, environ: Mapping[str, str], *, decode: bool = True, what: str = "URL"
) -> str:
    """Replace ``${NAME}`` with the environment variable ``NAME``; percent-decode the rest.

    Raises
    ------
    ReadError
        When a variable is not set, or a ``${`` is not a well-formed placeholder.

    Examples
    --------
    >>> expand_placeholders("a%40b:${PW}", {"PW": "p@ss%"})
    'a@b:p@ss%'
    >>> expand_placeholders("${NOPE}", {})  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    insightloop.ingest.readers.model.ReadError: the URL uses ${NOPE}, but NOPE is not set
    """
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        literal = text[position : match.start()]
        parts.append(_literal(literal, decode, what))
        name = match.group(1)
        if name not in environ:
            raise ReadError(
                f"the {what} uses ${{{name}}}, but the environment variable {name} is not set",
                hint=f"Set {name} in the environment of the process that runs insightloop "
                f"(e.g. `export {name}=...`), or write the value into the URL.",
            )
        parts.append(environ[name])
        position = match.end()
    parts.append(_literal(text[position:], decode, what))
    return "".join(parts)


def _literal(text: str, decode: bool, what: str) -> str:
    if "${" in text:
        raise ReadError(
            f"the {what} has a malformed placeholder near {text[text.index('${') :][:20]!r}",
            hint="Write placeholders as ${NAME}, with letters, digits and _ in NAME.",
        )
    return unquote(text) if decode else text


def parse_url(url: str, base_dir: Path, environ: Mapping[str, str]) -> DatabaseUrl:
    """Parse a database URL; file paths are resolved against ``base_dir``.

    Raises
    ------
    ReadError
        For an unsupported scheme, an unset ``${VAR}``, a malformed port or a file URL with a
        host.

    Examples
    --------
    >>> url = parse_url(
    ...     "postgres://reader:${PW}@db.internal:5432/sales?sslmode=require",
    ...     Path("."), {"PW": "s3cret"})
    >>> url.backend, url.redacted, url.port, url.options
    ('postgresql', 'postgres://reader@db.internal:5432/sales', 5432, {'sslmode': 'require'})
    >>> parse_url("sqlite:///data/shop.db", Path("/ws"), {}).path
    PosixPath('/ws/data/shop.db')
    """
    match = _URL.match(url.strip())
    if not match:
        raise ReadError(
            "the URL has no scheme",
            hint="Write it as 'postgresql://user@host/db', 'sqlite:///file.db' or similar.",
        )
    scheme, rest = match.group(1).lower(), match.group(2)
    backend = SCHEMES.get(scheme)
    if backend is None:
        supported = ", ".join(f"{name}://" for name in SCHEMES)
        raise ReadError(f"unsupported URL scheme {scheme!r}", hint=f"Use one of {supported}.")
    hier, _, query = rest.partition("?")
    options = _options(query, environ)
    if backend in _FILE_BACKENDS:
        return _file_url(backend, scheme, hier, options, base_dir, environ)
    netloc, slash, database = hier.partition("/")
    userinfo, _, hostport = netloc.rpartition("@")
    user_text, colon, password_text = userinfo.partition(":")
    host_text, port_text = _split_host(hostport)
    user = expand_placeholders(user_text, environ) or None
    host = expand_placeholders(host_text, environ) or None
    port_value = expand_placeholders(port_text, environ)
    if port_value and not port_value.isdigit():
        raise ReadError(
            f"the port {port_value!r} of the URL is not a number",
            hint="Write the port as digits after the host, e.g. db.internal:5432.",
        )
    port = int(port_value) if port_value else None
    db = expand_placeholders(database.rstrip("/"), environ) or None
    shown_host = f"[{host}]" if host and ":" in host else (host or "")
    redacted = f"{scheme}://{f'{user}@' if user else ''}{shown_host}"
    redacted += f":{port}" if port is not None else ""
    redacted += f"/{db}" if db else ("/" if slash else "")
    return DatabaseUrl(
        backend=backend,
        redacted=redacted,
        user=user,
        password=expand_placeholders(password_text, environ) if colon else None,
        host=host,
        port=port,
        database=db,
        options=options,
    )


def _split_host(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        return host, port.removeprefix(":")
    host, colon, port = hostport.rpartition(":")
    return (host, port) if colon else (hostport, "")


def _options(query: str, environ: Mapping[str, str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        options[expand_placeholders(key, environ)] = expand_placeholders(value, environ)
    return options


def _file_url(
    backend: Backend,
    scheme: str,
    hier: str,
    options: dict[str, str],
    base_dir: Path,
    environ: Mapping[str, str],
) -> DatabaseUrl:
    example = f"{scheme}:///relative/file or {scheme}:////absolute/file"
    if not hier.startswith("/"):
        raise ReadError(
            f"a {scheme}:// URL names a file, not a host",
            hint=f"Write it as {example} (three slashes, then the path).",
        )
    written = hier[1:]
    path_text = expand_placeholders(written, environ)
    if not path_text:
        raise ReadError(f"the {scheme}:// URL has no file path", hint=f"Write it as {example}.")
    if options:
        raise ReadError(
            f"{scheme}:// URLs take no options (got {', '.join(sorted(options))})",
            hint="Remove the ?... part of the URL.",
        )
    path = Path(path_text)
    resolved = path if path.is_absolute() else Path(base_dir) / path
    return DatabaseUrl(backend=backend, redacted=f"{scheme}:///{path_text}", path=resolved)
