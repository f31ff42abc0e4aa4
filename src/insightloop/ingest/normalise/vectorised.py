"""Exact vectorised shortcuts for the common values of a column.

The value-by-value normalisers decide every case; most values of a real column are plain (a date
in the source's declared format, a lower-case ASCII address) and can be answered for the whole
column at once. Each function here answers only the values it can prove the value-by-value path
would answer the same way and leaves null for the rest, which the caller hands to that path.
Property tests hold each shortcut to its value-by-value normaliser.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from email_validator import SPECIAL_USE_DOMAIN_NAMES

from insightloop.ingest.normalise.emails import FAST_EMAIL, PLACEHOLDER_LOCAL_PARTS

__all__ = ["MIN_ROWS", "formatted_dates", "formatted_moments", "plain_emails", "scratch"]

MIN_ROWS = 256
"""Below this many rows a shortcut costs more than it saves; callers skip it."""

_TEXT = pa.string()
# The directives a fixed-width pattern can stand for exactly: what strptime reads for them when
# the text has exactly this many digits.
_DIRECTIVES = {"d": r"\d{2}", "m": r"\d{2}", "Y": r"\d{4}", "H": r"\d{2}", "M": r"\d{2}"}
_DIRECTIVES["S"] = r"\d{2}"


def _fixed_width(pattern: str) -> str | None:
    """A regular expression for the text ``pattern`` reads with two-digit days and months and
    four-digit years, or ``None`` when the pattern has another directive."""
    out, i = ["^"], 0
    while i < len(pattern):
        char = pattern[i]
        if char != "%":
            out.append(re.escape(char))
            i += 1
            continue
        directive = pattern[i + 1 : i + 2]
        if directive == "%":
            out.append("%")
        elif directive in _DIRECTIVES:
            out.append(_DIRECTIVES[directive])
        else:
            return None
        i += 2
    return "".join(out) + "$"


def formatted_dates(array: pa.Array, pattern: str) -> pa.Array | None:
    """The dates of the values written exactly in ``pattern`` (the source's first format), as
    ``date32``; null for any other value. ``None`` when ``pattern`` has a directive other than
    ``%d %m %Y %H %M %S``.

    DuckDB's ``strptime`` reads the values that match the pattern with fixed widths; it refuses
    impossible dates (``31/02/1985``), which stay null for the value-by-value parser to name.

    Examples
    --------
    >>> formatted_dates(pa.array(["05/04/1985", "31/02/1985", "5/4/1985", None]), "%d/%m/%Y")
    ... # doctest: +ELLIPSIS
    <pyarrow.lib.Date32Array object at ...>
    [
      1985-04-05,
      null,
      null,
      null
    ]
    """
    return _strptime(array, pattern, "CAST(try_strptime(v, $pattern) AS DATE)")


def formatted_moments(array: pa.Array, pattern: str) -> pa.Array | None:
    """The values written exactly in ``pattern`` rewritten as ISO 8601 text without an offset
    (``1985-04-05 10:20:00``), for the ISO reader to place in the source's time zone; null for
    any other value. ``None`` when ``pattern`` has a directive other than ``%d %m %Y %H %M %S``.

    Examples
    --------
    >>> formatted_moments(pa.array(["2023/04/05 10:20", "2023/02/30 10:20"]), "%Y/%m/%d %H:%M")
    ... # doctest: +ELLIPSIS
    <pyarrow.lib.StringArray object at ...>
    [
      "2023-04-05 10:20:00",
      null
    ]
    """
    sql = "strftime(try_strptime(v, $pattern), '%Y-%m-%d %H:%M:%S')"
    return _strptime(array, pattern, sql)


def _strptime(array: pa.Array, pattern: str, select: str) -> pa.Array | None:
    regex = _fixed_width(pattern)
    if regex is None:
        return None
    candidates = pc.if_else(pc.match_substring_regex(array, regex), array, pa.scalar(None, _TEXT))
    with scratch(candidates) as con:
        found = con.execute(f"SELECT {select} FROM candidates", {"pattern": pattern})
        return found.to_arrow_table().column(0).combine_chunks()


_LOCAL = threading.local()


@contextmanager
def scratch(candidates: pa.Array) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection of this thread with ``candidates`` as the table
    ``candidates`` (column ``v``); opening one costs about 13 ms, so each thread keeps its own."""
    con: duckdb.DuckDBPyConnection | None = getattr(_LOCAL, "connection", None)
    if con is None:
        con = _LOCAL.connection = duckdb.connect()
    con.register("candidates", pa.table({"v": candidates}))
    try:
        yield con
    finally:
        con.unregister("candidates")


_FAST_EMAIL = f"^(?:{FAST_EMAIL.pattern})$"


def plain_emails(array: pa.Array) -> tuple[pa.Array, pa.Array]:
    """``(value, placeholder)`` of the plain addresses of ``array``: ASCII, without display name
    or ``mailto:``, of a shape email-validator accepts unchanged once lower-cased. ``value`` is
    the lower-cased address and null for any other text; ``placeholder`` says whether a value is
    a placeholder (``noemail@...``, ``test@test.com``).

    Examples
    --------
    >>> value, placeholder = plain_emails(pa.array(["Ada@X.SE", "noemail@shop.example", "a b"]))
    >>> value.to_pylist(), placeholder.to_pylist()
    (['ada@x.se', 'noemail@shop.example', None], [False, True, None])
    """
    lower = pc.ascii_lower(array)
    ok = pc.and_(pc.string_is_ascii(array), pc.match_substring_regex(lower, _FAST_EMAIL))
    ok = pc.and_(ok, pc.less_equal(pc.binary_length(lower), 254))
    parts = pc.extract_regex(lower, r"^(?P<local>[^@]*)@(?P<domain>.*)$")
    local = pc.struct_field(parts, "local")
    domain = pc.struct_field(parts, "domain")
    ok = pc.and_(ok, pc.less_equal(pc.binary_length(local), 64))
    ok = pc.and_(ok, pc.less_equal(pc.binary_length(domain), 253))
    # "--" may be punycode (xn--), which email-validator decodes: those take the long road.
    ok = pc.and_(ok, pc.invert(pc.match_substring(domain, "--")))
    for name in SPECIAL_USE_DOMAIN_NAMES:
        special = pc.or_(pc.equal(domain, name), pc.ends_with(domain, "." + name))
        ok = pc.and_(ok, pc.invert(special))
    ok = pc.fill_null(ok, False)
    first_label = pc.extract_regex(domain, r"^(?P<label>[^.]*)")
    label = pc.struct_field(first_label, "label")
    placeholder = pc.or_(
        pc.is_in(local, value_set=pa.array(sorted(PLACEHOLDER_LOCAL_PARTS), _TEXT)),
        pc.is_in(label, value_set=pa.array(["noemail", "test"], _TEXT)),
    )
    value = pc.if_else(ok, lower, pa.scalar(None, _TEXT))
    return value, pc.if_else(ok, placeholder, pa.scalar(None, pa.bool_()))
