"""Vectorised pieces of a transform: where a value comes from, ``value_map`` and ``cast``.

Every function takes and returns whole Arrow arrays (``pyarrow.compute``); none loops over rows
in Python but the one reading dotted paths into JSON text (:func:`with_json_fields`), which
parses each JSON column once. Text is trimmed and an empty string counts as missing (null).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.ingest.sources.transforms import Transform

__all__ = [
    "CAST_REASONS",
    "ZONE_UNKNOWN",
    "cast_text",
    "json_path",
    "map_values",
    "origin_values",
    "trimmed",
    "with_json_fields",
]

#: Reason code of a timestamp whose per-row ``time_zone`` is not an IANA zone name.
ZONE_UNKNOWN = "time_zone_unknown"

#: Reason codes of the mapping's own steps (failed casts, unknown per-row time zones), written to
#: ``<column>__reason``; the normalisers' codes are in ``insightloop.ingest.normalise.REASONS``.
CAST_REASONS: dict[str, str] = {
    "cast_not_an_integer": "the value is not a whole number",
    "cast_not_a_number": "the value is not a number",
    "cast_not_a_boolean": "the value is not one of true/false, yes/no, 1/0, ja/nej, 是/否",
    ZONE_UNKNOWN: "the row's time zone (from the transform's time_zone) is not an IANA zone name",
}
_TEXT = pa.string()
_INT = r"^[+-]?\d{1,18}$"
_FLOAT = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_TRUE = ["true", "t", "yes", "y", "1", "ja", "j", "sant", "是", "真", "x"]
_FALSE = ["false", "f", "no", "n", "0", "nej", "falskt", "否", "假"]


def trimmed(values: pa.Array) -> pa.Array:
    """Text with surrounding white space removed; empty strings become null.

    Examples
    --------
    >>> trimmed(pa.array([" a ", "", None])).to_pylist()
    ['a', None, None]
    """
    text = pc.utf8_trim_whitespace(values.cast(_TEXT))
    empty = pc.equal(pc.binary_length(text), 0)
    if not pc.any(empty).as_py():
        return text
    return pc.if_else(empty, pa.scalar(None, _TEXT), text)


def origin_values(transform: Transform, batch: pa.Table) -> pa.Array:
    """The text a transform starts from, one value per row of ``batch``.

    Examples
    --------
    >>> batch = pa.table({"n": ["Ada  Lovelace", "Grace", None]})
    >>> origin_values(Transform(split="n", sep=" ", part=-1), batch).to_pylist()
    ['Lovelace', 'Grace', None]
    """
    rows = batch.num_rows
    if transform.constant is not None:
        return pa.repeat(pa.scalar(transform.constant, _TEXT), rows)
    if transform.concat is not None:
        parts = [trimmed(_column(batch, name)) for name in transform.concat]
        sep = " " if transform.sep is None else transform.sep
        return trimmed(pc.binary_join_element_wise(*parts, sep, null_handling="skip"))
    if transform.split is not None:
        return _split(
            trimmed(_column(batch, transform.split)), transform.sep or " ", transform.part
        )
    assert transform.column is not None
    return trimmed(_column(batch, transform.column))


def _column(batch: pa.Table, name: str) -> pa.Array:
    if name not in batch.column_names and json_path(name, batch.column_names):
        return with_json_fields(batch, [name]).column(name).combine_chunks()
    column = batch.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def json_path(name: str, columns: Sequence[str]) -> tuple[str, list[str]] | None:
    """``(column, keys)`` when ``name`` is a dotted path into a JSON column of ``columns``.

    Examples
    --------
    >>> json_path("shipping.address.city", ["shipping", "id"])
    ('shipping', ['address', 'city'])
    >>> json_path("city", ["shipping"]) is None
    True
    """
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:cut])
        if head in columns:
            return head, parts[cut:]
    return None


def with_json_fields(batch: pa.Table, names: Iterable[str]) -> pa.Table:
    """``batch`` with a text column for each of ``names`` that is a dotted path into one of its
    JSON columns (see :func:`json_path`), each JSON column parsed once for all its paths.

    Examples
    --------
    >>> batch = pa.table({"ship": ['{"city": "Lund", "no": 12}', None]})
    >>> out = with_json_fields(batch, ["ship.city", "ship.no", "ship"])
    >>> out.column_names, out.column("ship.city").to_pylist(), out.column("ship.no").to_pylist()
    (['ship', 'ship.city', 'ship.no'], ['Lund', None], ['12', None])
    """
    paths: dict[str, list[tuple[str, list[str]]]] = {}
    for name in dict.fromkeys(names):
        if name not in batch.column_names and (path := json_path(name, batch.column_names)):
            paths.setdefault(path[0], []).append((name, path[1]))
    for column, fields in paths.items():
        parsed = _parsed_json(_column(batch, column))
        for name, keys in fields:
            batch = batch.append_column(name, _json_field(parsed, keys))
    return batch


def _parsed_json(values: pa.Array) -> list[Any]:
    """Each value parsed as JSON (None where empty or not valid JSON)."""
    parsed: list[Any] = []
    for text in values.cast(_TEXT).to_pylist():
        node: Any = None
        if text:
            try:
                node = orjson.loads(text)
            except orjson.JSONDecodeError:
                node = None
        parsed.append(node)
    return parsed


def _json_field(parsed: list[Any], keys: list[str]) -> pa.Array:
    """The value at ``keys`` in each parsed JSON object as text (null where absent)."""
    out: list[str | None] = []
    for node in parsed:
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is None or isinstance(node, str):
            out.append(node)
        else:
            out.append(orjson.dumps(node).decode() if isinstance(node, dict | list) else str(node))
    return pa.array(out, _TEXT)


def _split(values: pa.Array, sep: str, part: int) -> pa.Array:
    """Part ``part`` of each value split by ``sep`` (runs of white space count as one)."""
    if sep.isspace():
        values = pc.replace_substring_regex(values, r"\s+", " ")
        sep = " "
    if part < 0:
        reversed_values = pc.utf8_reverse(values)
        return pc.utf8_reverse(_split(reversed_values, sep[::-1], -part - 1))
    pattern = rf"(?s)^(?:.*?{re.escape(sep)}){{{part}}}(?P<v>.*?)(?:{re.escape(sep)}|$)"
    found = pc.extract_regex(values, pattern)
    return trimmed(pc.struct_field(found, [0]))


def map_values(transform: Transform, values: pa.Array) -> pa.Array:
    """Apply ``value_map``: mapped values replaced, others kept, or ``default`` when strict or
    a default is given.

    Examples
    --------
    >>> t = Transform(column="s", value_map={"A": "active", "P": "passive"})
    >>> map_values(t, pa.array(["A", "x", None])).to_pylist()
    ['active', 'x', None]
    >>> t = Transform(column="s", value_map={"A": "active"}, default="other")
    >>> map_values(t, pa.array(["A", "x", None])).to_pylist()
    ['active', 'other', None]
    """
    if not transform.value_map:
        return values
    keys = pa.array(list(transform.value_map), _TEXT)
    targets = pa.array(list(transform.value_map.values()), _TEXT)
    positions = pc.index_in(values, value_set=keys)
    mapped = pc.take(targets, positions)
    found = pc.is_valid(positions)
    if transform.default is not None or transform.strict_map:
        fallback = pa.scalar(transform.default, _TEXT)
        other = pc.if_else(pc.is_null(values), pa.scalar(None, _TEXT), fallback)
    else:
        other = values
    return pc.if_else(found, mapped, other)


def cast_text(
    values: pa.Array, to: str, *, decimal_comma: bool | None = None
) -> tuple[pa.Array, pa.Array]:
    """Convert text to ``int``, ``float``, ``bool`` or ``string``: values that do not convert
    become null with a reason code from :data:`CAST_REASONS`.

    ``decimal_comma`` (the source's option): ``True`` reads ``1.234,5`` as 1234.5; otherwise a
    comma is a thousands separator only in ``1,234`` style values.

    Examples
    --------
    >>> value, reason = cast_text(pa.array(["12", " 7 ", "x", None]), "int")
    >>> value.to_pylist(), reason.to_pylist()
    ([12, 7, None, None], [None, None, 'cast_not_an_integer', None])
    >>> cast_text(pa.array(["1.234,5"]), "float", decimal_comma=True)[0].to_pylist()
    [1234.5]
    >>> cast_text(pa.array(["Ja", "nej", "是"]), "bool")[0].to_pylist()
    [True, False, True]
    """
    text = trimmed(values)
    if to == "string":
        return text, pa.nulls(len(text), _TEXT)
    if to == "int":
        ok = pc.match_substring_regex(text, _INT)
        value = pc.cast(pc.if_else(ok, text, pa.scalar(None, _TEXT)), pa.int64())
        return value, _reasons(text, ok, "cast_not_an_integer")
    if to == "float":
        text = pc.replace_substring(text, " ", "")
        if decimal_comma:
            text = pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
        else:
            thousands = pc.match_substring_regex(text, r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
            text = pc.if_else(thousands, pc.replace_substring(text, ",", ""), text)
        ok = pc.match_substring_regex(text, _FLOAT)
        value = pc.cast(pc.if_else(ok, text, pa.scalar(None, _TEXT)), pa.float64())
        return value, _reasons(text, ok, "cast_not_a_number")
    if to == "bool":
        lowered = pc.utf8_lower(text)
        true = pc.is_in(lowered, value_set=pa.array(_TRUE))
        false = pc.is_in(lowered, value_set=pa.array(_FALSE))
        ok = pc.or_(true, false)
        value = pc.if_else(ok, true, pa.scalar(None, pa.bool_()))
        return value, _reasons(text, ok, "cast_not_a_boolean")
    raise ValueError(f"cast_text cannot convert to {to!r}")


def _reasons(text: pa.Array, ok: pa.Array, code: str) -> pa.Array:
    failed = pc.and_(pc.is_valid(text), pc.invert(pc.fill_null(ok, False)))
    return pc.if_else(failed, pa.scalar(code, _TEXT), pa.scalar(None, _TEXT))
