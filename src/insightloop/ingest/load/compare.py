"""Which accepted rows are new, identical to the loaded version, or a changed version of it.

Rows are matched on the entity's key within their source. The comparison covers every canonical
column except lineage and validity (``_source``, ``_batch_id``, ``_loaded_at``, ``valid_from``,
``valid_to``, ``is_current``); two missing values are equal.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["CHANGED", "CHANGED_IN_BATCH", "NEW", "SAME", "UNTRACKED", "classify"]

NEW, SAME, CHANGED, CHANGED_IN_BATCH = 0, 1, 2, 3
#: Columns that say where and when a row was loaded, not what it holds.
UNTRACKED = frozenset(
    {"_source", "_batch_id", "_loaded_at", "valid_from", "valid_to", "is_current"}
)


def classify(
    incoming: pa.Table,
    existing: pa.Table,
    keys: list[str],
    compare: list[str],
    batch_id: str,
) -> np.ndarray:
    """One code per incoming row: NEW, SAME, CHANGED, or CHANGED_IN_BATCH (the key was loaded by
    this same batch with other values: a duplicate key across chunks of one file).

    Examples
    --------
    >>> inc = pa.table({"k": ["a", "b", "c"], "v": [1, 2, None]})
    >>> ex = pa.table({"k": ["a", "b", "c"], "v": [1, 5, None], "_batch_id": ["old", "old", "old"]})
    >>> classify(inc, ex, ["k"], ["v"], "new").tolist()
    [1, 2, 1]
    """
    n = incoming.num_rows
    codes = np.zeros(n, dtype=np.int8)
    if n == 0 or existing.num_rows == 0:
        return codes
    left = incoming.select([*keys, *compare]).append_column("__i", pa.array(np.arange(n)))
    old = {c: f"{c}__old" for c in compare}
    right_cols = [existing.column(c).cast(incoming.schema.field(c).type) for c in keys]
    right_cols += [existing.column(c).cast(incoming.schema.field(c).type) for c in compare]
    right = pa.table(
        [*right_cols, existing.column("_batch_id")],
        names=[*keys, *old.values(), "__batch"],
    )
    joined = left.join(right, keys=keys, join_type="inner", use_threads=False)
    if joined.num_rows == 0:
        return codes
    same = pa.array(np.ones(joined.num_rows, dtype=bool))
    for c in compare:
        a, b = joined.column(c), joined.column(old[c])
        equal = pc.fill_null(pc.equal(a, b), False)
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        same = pc.and_(same, pc.or_(equal, both_null))
    rows = joined.column("__i").to_numpy()
    same_np = np.asarray(same.to_numpy(zero_copy_only=False), dtype=bool)
    this_batch = np.asarray(
        pc.equal(joined.column("__batch"), batch_id).to_numpy(zero_copy_only=False), dtype=bool
    )
    changed = np.where(this_batch, CHANGED_IN_BATCH, CHANGED).astype(np.int8)
    result = np.where(same_np, np.int8(SAME), changed)
    codes[rows] = result
    codes[rows[same_np]] = SAME  # a row matching several loaded rows is SAME if one is equal
    return codes
