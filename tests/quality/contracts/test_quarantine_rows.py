"""Quarantine records match the canonical table, with stable ids and no values in messages."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from insightloop.quality.contracts import (
    ContractError,
    default_contract,
    evaluate,
    quarantine_id,
    quarantine_rows,
    quarantine_schema,
)
from insightloop.store.schema import table_spec

AT = datetime(2026, 1, 2, 3, 4, 5)


def _batch() -> tuple[pa.Table, pa.Table]:
    batch = pa.table(
        {
            "order_id": ["o1", None, "o3", "o3", "o1"],
            "ordered_at": [AT] * 5,
            "total_amount": pa.array(
                [Decimal("1"), Decimal("2"), Decimal("-3"), Decimal("-3"), Decimal("9")],
                pa.decimal128(18, 4),
            ),
        }
    )
    raw = pa.table(
        {
            "Order No": ["o1", "", "o3", "o3", "o1"],
            "Date": ["2026-01-02"] * 5,
            "Total": ["1", "2", "-3", "-3", "9,00"],
        }
    )
    return batch, raw


def _rows(source: str = "shop") -> pa.Table:
    batch, raw = _batch()
    result = evaluate(default_contract("orders"), batch)
    return quarantine_rows(
        result,
        raw,
        source=source,
        entity="orders",
        batch_id="b1",
        locations=[f"orders.csv:{i + 2}" for i in range(5)],
        quarantined_at=AT,
    )


def test_rows_have_the_schema_of_the_quarantine_table() -> None:
    rows = _rows()
    expected = table_spec("quarantine").schema()
    assert rows.schema == expected.to_pyarrow()
    assert rows.schema == quarantine_schema()
    assert list(rows.column_names) == list(expected.names)


def test_rows_carry_every_reason_and_the_raw_values() -> None:
    rows = _rows()
    assert rows.column("location").to_pylist() == ["orders.csv:3", "orders.csv:4", "orders.csv:6"]
    assert rows.column("reason_codes").to_pylist() == [
        ["required_missing:order_id"],
        ["out_of_range:total_amount"],
        ["duplicate_key:order_id"],
    ]
    assert json.loads(rows.column("raw")[2].as_py()) == {
        "Order No": "o1",
        "Date": "2026-01-02",
        "Total": "9,00",
    }
    assert rows.column("quarantined_at").to_pylist() == [AT] * 3
    assert rows.column("resolved").to_pylist() == [False] * 3
    assert rows.column("retried_at").null_count == 3
    assert set(rows.column("batch_id").to_pylist()) == {"b1"}


def test_ids_are_deterministic_and_distinct() -> None:
    first, again, other = _rows(), _rows(), _rows(source="pos")
    assert first.column("quarantine_id").to_pylist() == again.column("quarantine_id").to_pylist()
    ids = first.column("quarantine_id").to_pylist()
    assert len(set(ids)) == len(ids)
    assert not set(ids) & set(other.column("quarantine_id").to_pylist())
    assert ids[0] == quarantine_id("shop", "orders", "orders.csv:3")


def test_warnings_of_a_rejected_row_are_listed_after_its_rejections() -> None:
    batch = pa.table(
        {"source_key": [None], "email": ["x@y.z"], "email__reason": ["email_placeholder"]}
    )
    result = evaluate(default_contract("customers"), batch)
    rows = quarantine_rows(
        result, batch, source="crm", entity="customers", batch_id="b", locations=["k=1"]
    )
    assert rows.column("reason_codes").to_pylist() == [
        ["required_missing:source_key", "email_placeholder"]
    ]


def test_misaligned_inputs_fail_without_values_in_the_message() -> None:
    batch, raw = _batch()
    result = evaluate(default_contract("orders"), batch)
    with pytest.raises(ContractError) as info:
        quarantine_rows(
            result, raw.slice(1), source="s", entity="orders", batch_id="b", locations=["x"] * 5
        )
    assert "o3" not in str(info.value)
    with pytest.raises(ContractError, match="no location"):
        quarantine_rows(
            result,
            raw,
            source="s",
            entity="orders",
            batch_id="b",
            locations=pa.array([None] * 5, pa.string()),
        )


def test_no_rejected_rows_gives_an_empty_typed_table() -> None:
    batch = pa.table({"sku": ["a"]})
    result = evaluate(default_contract("products"), batch)
    rows = quarantine_rows(
        result, batch, source="s", entity="products", batch_id="b", locations=["1"]
    )
    assert rows.num_rows == 0
    assert rows.schema == quarantine_schema()
