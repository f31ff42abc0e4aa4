"""``explode``: one row per element of a JSON array column, such as an order's ``items``.

An order file can feed two entities: one source maps it to ``orders``, a second source with
``explode = "items"`` maps it to ``order_items``. Exploding turns a raw batch whose ``items``
column holds JSON text (``[{"sku": "A1", "qty": 2}, ...]``) into one row per element, with the
element's fields as text columns ``items.sku``, ``items.qty`` (nested objects as
``items.price.amount``), its 1-based position as ``items._position``, and every other column
of the order, ``_record`` and ``_line`` repeated. Rows whose value is empty or not an array
yield no element rows. The JSON is parsed by Arrow's JSON reader, in one pass per batch.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from insightloop.errors import ConfigError

__all__ = ["explode_json"]

_TEXT = pa.string()


def explode_json(batch: pa.Table, column: str) -> pa.Table:
    """One row per element of the JSON arrays in ``column``.

    Raises
    ------
    ConfigError
        When ``column`` is missing or holds malformed JSON.

    Examples
    --------
    >>> raw = pa.table({"order": ["o1", "o2"], "items": ['[{"sku": "A", "qty": 2}, {"sku": "B"}]',
    ...                 None], "_record": [1, 2], "_line": [1, 2]})
    >>> out = explode_json(raw, "items")
    >>> out.column_names
    ['order', '_record', '_line', 'items.sku', 'items.qty', 'items._position']
    >>> out.column("items.qty").to_pylist(), out.column("items._position").to_pylist()
    (['2', None], ['1', '2'])
    """
    if column not in batch.column_names:
        raise ConfigError(
            f"explode: the data has no column {column!r}",
            hint=f"Use one of: {', '.join(batch.column_names)}.",
        )
    if batch.num_rows == 0:
        return batch.drop_columns([column]).append_column(
            f"{column}._position", pa.array([], _TEXT)
        )
    text = batch.column(column).combine_chunks().cast(_TEXT)
    arrays = pc.fill_null(pc.starts_with(pc.utf8_trim_whitespace(text), "["), False)
    text = pc.if_else(arrays, text, pa.scalar("[]", _TEXT))
    lines = pc.binary_join_element_wise('{"v":', text, "}", "")
    document = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)]), lines), "\n")
    try:
        parsed = pa_json.read_json(io.BytesIO(document[0].as_py().encode("utf-8")))
    except pa.ArrowInvalid as error:
        raise ConfigError(
            f"explode: column {column!r} holds malformed JSON ({error})",
            hint="Fix the file, or map the column without explode.",
        ) from None
    values = parsed.column("v").combine_chunks() if parsed.num_rows else None
    if values is None or not pa.types.is_list(values.type):
        values = pa.array([[]] * batch.num_rows, pa.list_(pa.null()))
    parents = pc.list_parent_indices(values)
    rest = batch.drop_columns([column]).take(parents)
    out = {name: rest.column(name) for name in rest.column_names}
    elements = pc.list_flatten(values)
    if pa.types.is_struct(elements.type):
        out.update(_fields(elements, column))
    # Position in its array: the row's index among all elements minus its array's start.
    index = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), len(parents))), 1)
    starts = pc.take(values.offsets, parents).cast(pa.int64())
    out[f"{column}._position"] = pc.add(pc.subtract(index, starts), 1).cast(_TEXT)
    return pa.table(out)


def _fields(elements: pa.StructArray, prefix: str) -> dict[str, pa.Array]:
    """The struct's fields as text columns; nested objects become dotted names, arrays are left
    out (explode them with a second source)."""
    columns: dict[str, pa.Array] = {}
    for index, field in enumerate(elements.type):
        child = pc.struct_field(elements, [index])
        name = f"{prefix}.{field.name}"
        if pa.types.is_struct(field.type):
            columns.update(_fields(child, name))
        elif not pa.types.is_list(field.type) and not pa.types.is_null(field.type):
            columns[name] = child.cast(_TEXT)
        elif pa.types.is_null(field.type):
            columns[name] = pa.nulls(len(child), _TEXT)
    return columns
