"""``apply_mapping`` output: the entity's schema, reasons, locations, for every entity."""

from __future__ import annotations

import pyarrow as pa
import pytest

from insightloop.ingest.sources import ENTITIES, SourceDeclaration, apply_mapping, entity_table
from insightloop.store.schema import table_spec


@pytest.mark.parametrize("entity", ENTITIES)
def test_output_columns_follow_the_schema_for_every_entity(entity: str) -> None:
    spec = table_spec(entity_table(entity))
    first = spec.columns[0].name
    source = SourceDeclaration.model_validate(
        {"name": "s", "kind": "file", "path": "x.csv", "entity": entity, "mapping": {first: "raw"}}
    )
    batch = pa.record_batch(
        {"raw": pa.array(["k1", None]), "_record": pa.array([1, 2]), "_line": pa.array([2, 3])}
    )
    out = apply_mapping(source, batch)
    names = list(spec.schema().names)
    assert out.column_names[: len(names)] == names
    assert out.column_names[-2:] == ["_record", "_line"]
    assert set(out.column_names[len(names) : -2]) <= {f"{first}__reason"}
    assert out.schema.field(first).type == spec.schema().to_pyarrow().field(first).type
    assert out.column("_source").to_pylist() == ["s", "s"]
    for column in names:
        if column not in (first, "_source"):
            assert out.column(column).null_count == 2, column
    assert out.schema.field("_loaded_at").type == pa.timestamp("us")


def test_reason_columns_follow_schema_order_and_only_for_converted_columns() -> None:
    source = SourceDeclaration.model_validate(
        {
            "name": "s",
            "kind": "file",
            "path": "x.csv",
            "entity": "orders",
            "mapping": {"total_amount": "sum", "order_id": "id", "ordered_at": "at"},
        }
    )
    batch = pa.table({"id": ["1"], "sum": ["9.50"], "at": ["2024-01-02 10:00:00"]})
    out = apply_mapping(source, batch)
    reasons = [c for c in out.column_names if c.endswith("__reason")]
    assert reasons == ["ordered_at__reason", "total_amount__reason"]
    assert "_record" not in out.column_names  # only kept when the batch has it
