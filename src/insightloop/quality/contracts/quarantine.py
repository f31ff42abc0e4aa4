"""Rows for the ``quarantine`` table: every rejected row with every reason and its raw values.

The ``quarantine_id`` is a hash of the source, entity and location (file and line, or database
key), so that reloading the same input writes the same ids and an upsert does not duplicate rows.
Raw values go only into the ``raw`` column (JSON text); they never appear in a message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.quality.contracts.evaluate import ContractResult
from insightloop.quality.contracts.reasons import ContractError
from insightloop.store.schema import table_spec

__all__ = ["QUARANTINE_TABLE", "quarantine_id", "quarantine_rows", "quarantine_schema"]

QUARANTINE_TABLE = "quarantine"


def quarantine_schema() -> pa.Schema:
    """The pyarrow schema of the canonical ``quarantine`` table.

    Examples
    --------
    >>> quarantine_schema().field("reason_codes").type
    ListType(list<item: string>)
    """
    schema: pa.Schema = table_spec(QUARANTINE_TABLE).schema().to_pyarrow()
    return schema


def quarantine_id(source: str, entity: str, location: str) -> str:
    """The stable key of a quarantined row: the same input always gets the same id.

    Examples
    --------
    >>> quarantine_id("crm", "customers", "a.csv:3") == quarantine_id("crm", "customers", "a.csv:3")
    True
    >>> len(quarantine_id("crm", "customers", "a.csv:3"))
    32
    """
    digest = hashlib.sha256("\x1f".join((source, entity, location)).encode("utf-8"))
    return digest.hexdigest()[:32]


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return repr(type(value).__name__)


def quarantine_rows(
    result: ContractResult,
    raw: pa.Table,
    *,
    source: str,
    entity: str,
    batch_id: str,
    locations: Sequence[str] | pa.Array | pa.ChunkedArray,
    quarantined_at: datetime | None = None,
) -> pa.Table:
    """The ``quarantine`` rows of the rows ``result`` rejected.

    Parameters
    ----------
    result
        The verdict on the batch.
    raw
        The rows as received, aligned with the batch (row ``i`` of both is the same input row).
    source, entity, batch_id
        Lineage of the batch.
    locations
        Where each row came from (``file:line`` or a database key), aligned with the batch.
    quarantined_at
        The time to record (UTC, naive); default now.

    Examples
    --------
    >>> from insightloop.quality.contracts.defaults import default_contract
    >>> from insightloop.quality.contracts.evaluate import evaluate
    >>> batch = pa.table({"response_id": ["r1", None]})
    >>> result = evaluate(default_contract("feedback"), batch)
    >>> rows = quarantine_rows(result, batch, source="survey", entity="feedback", batch_id="b1",
    ...                        locations=["f.csv:2", "f.csv:3"])
    >>> rows.column("reason_codes").to_pylist(), rows.column("raw").to_pylist()
    ([['required_missing:response_id']], ['{"response_id": null}'])
    """
    n = result.rows_read
    if raw.num_rows != n or len(locations) != n:
        raise ContractError(
            f"Cannot quarantine batch {batch_id!r} of {entity!r}: the result has {n} rows, the "
            f"raw table {raw.num_rows} and the locations {len(locations)}.",
            hint="Pass the raw rows and locations of exactly the batch that was evaluated.",
        )
    mask = result.rejected
    where = pa.array(locations, pa.string()) if isinstance(locations, Sequence) else locations
    picked = pc.filter(where, mask).to_pylist()
    if any(loc is None for loc in picked):
        raise ContractError(
            f"Batch {batch_id!r} of {entity!r}: a rejected row has no location.",
            hint="Give every row its file and line, or its database key.",
        )
    reasons = [
        r + w
        for r, w in zip(
            result.reject_codes.filter(mask).to_pylist(),
            result.warn_codes.filter(mask).to_pylist(),
            strict=True,
        )
    ]
    raw_json = [
        json.dumps(row, ensure_ascii=False, default=_json_default)
        for row in raw.filter(mask).to_pylist()
    ]
    at = quarantined_at or datetime.now(UTC).replace(tzinfo=None)
    k = len(picked)
    schema = quarantine_schema()
    columns = {
        "quarantine_id": [quarantine_id(source, entity, loc) for loc in picked],
        "source": [source] * k,
        "entity": [entity] * k,
        "batch_id": [batch_id] * k,
        "location": picked,
        "reason_codes": reasons,
        "raw": raw_json,
        "quarantined_at": [at] * k,
        "retried_at": [None] * k,
        "resolved": [False] * k,
    }
    return pa.table([pa.array(columns[f.name], f.type) for f in schema], schema=schema)
