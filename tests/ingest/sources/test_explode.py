"""``explode``: an order file mapped to order_items, one row per element of ``items``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from insightloop.errors import ConfigError
from insightloop.ingest.readers import open_file
from insightloop.ingest.sources import SourceDeclaration, apply_mapping
from insightloop.ingest.sources.explode import explode_json


def test_explode_repeats_the_parent_and_numbers_the_elements() -> None:
    raw = pa.table(
        {
            "id": ["o1", "o2", "o3", "o4"],
            "items": [
                '[{"sku": "A", "qty": 2, "price": {"amount": 9.5}}, {"sku": "Ö", "qty": 1}]',
                "[]",
                None,
                '[{"sku": "C", "qty": 3, "tags": ["x"]}]',
            ],
            "_record": [1, 2, 3, 4],
            "_line": [1, 2, 3, 4],
        }
    )
    out = explode_json(raw, "items")
    assert out.column("id").to_pylist() == ["o1", "o1", "o4"]
    assert out.column("_record").to_pylist() == [1, 1, 4]
    assert out.column("items.sku").to_pylist() == ["A", "Ö", "C"]
    assert out.column("items.price.amount").to_pylist() == ["9.5", None, None]
    assert out.column("items._position").to_pylist() == ["1", "2", "1"]
    assert "items.tags" not in out.column_names


def test_explode_errors() -> None:
    with pytest.raises(ConfigError, match="no column 'lines'"):
        explode_json(pa.table({"items": ["[]"]}), "lines")
    with pytest.raises(ConfigError, match="malformed JSON"):
        explode_json(pa.table({"items": ["[{]"]}), "items")
    empty = explode_json(pa.table({"items": pa.array([], pa.string())}), "items")
    assert empty.column_names == ["items._position"]


def test_one_order_file_feeds_orders_and_order_items(demo_sources: Path) -> None:
    path = demo_sources / "ecommerce/orders.jsonl"
    common = {"name": "web", "kind": "file", "path": str(path)}
    orders = SourceDeclaration.model_validate(
        {
            **common,
            "entity": "orders",
            "mapping": {
                "order_id": "order_id",
                "ordered_at": "ordered_at",
                "total_amount": "total",
            },
        }
    )
    items = SourceDeclaration.model_validate(
        {
            **common,
            "entity": "order_items",
            "explode": "items",
            "mapping": {
                "order_id": "order_id",
                "line_number": "items._position",
                "sku": "items.sku",
                "quantity": "items.qty",
                "unit_price": "items.unit_price",
            },
        }
    )
    with open_file(path) as reader:
        batch = next(iter(reader.batches(200)))
    head = apply_mapping(orders, batch)
    lines = apply_mapping(items, batch)
    assert head.num_rows == 200
    assert lines.num_rows >= 200
    assert lines.column("line_number__reason").null_count == lines.num_rows
    assert lines.column("quantity").null_count == 0
    assert lines.column("unit_price").type == pa.decimal128(18, 4)
    assert all(isinstance(v, Decimal) for v in lines.column("unit_price").to_pylist())
    assert set(lines.column("_record").to_pylist()) <= set(head.column("_record").to_pylist())
