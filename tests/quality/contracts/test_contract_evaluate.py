"""Evaluating batches: every rule kind, severities, duplicates, known and reference keys."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insightloop.quality.contracts import (
    Contract,
    ContractError,
    default_contract,
    evaluate,
    parse_contract,
)
from insightloop.quality.contracts.evaluate import _is_in


def _contract(entity: str, *rules: dict[str, object]) -> Contract:
    return parse_contract(entity, list(rules))


def test_required_flags_nulls_and_blanks() -> None:
    batch = pa.table({"source_key": ["a", None, "  ", "\t", "b"]})
    result = evaluate(_contract("customers", {"kind": "required", "column": "source_key"}), batch)
    assert result.rejected.to_pylist() == [False, True, True, True, False]
    assert result.reject_codes[1].as_py() == ["required_missing:source_key"]


def test_required_on_a_non_text_column_flags_nulls_only() -> None:
    batch = pa.table({"nps": pa.array([0, None], pa.int64())})
    result = evaluate(_contract("feedback", {"kind": "required", "column": "nps"}), batch)
    assert result.rejected.to_pylist() == [False, True]


def test_format_turns_reason_columns_into_codes_with_severity_per_code() -> None:
    batch = pa.table(
        {
            "email": ["a@b.io", None, "noemail@x.io", None],
            "email__reason": [None, "email_invalid_syntax", "email_placeholder", None],
            "phone": [None, None, None, "+4930"],
            "phone__reason": ["phone_invalid", None, None, None],
        }
    )
    result = evaluate(_contract("customers", {"kind": "format"}), batch)
    assert result.reject_codes.to_pylist() == [["phone_invalid"], ["email_invalid_syntax"], [], []]
    assert result.warn_codes.to_pylist() == [[], [], ["email_placeholder"], []]
    assert result.accepted.to_pylist() == [False, False, True, True]
    assert result.warning_counts() == {"email_placeholder": 1}

    strict = _contract(
        "customers",
        {"kind": "format", "columns": ["email"], "severities": {"email_placeholder": "reject"}},
    )
    result = evaluate(strict, batch)
    assert result.reject_codes.to_pylist() == [
        [],
        ["email_invalid_syntax"],
        ["email_placeholder"],
        [],
    ]

    lenient = _contract("customers", {"kind": "format", "severity": "warn"})
    assert evaluate(lenient, batch).rejected.to_pylist() == [False] * 4


def test_allowed_values_with_and_without_case() -> None:
    batch = pa.table({"status": ["granted", "Withdrawn", "maybe", None]})
    rule = {"kind": "allowed_values", "column": "status", "values": ["granted", "withdrawn"]}
    result = evaluate(_contract("consents", rule), batch)
    assert result.rejected.to_pylist() == [False, True, True, False]
    assert result.reject_codes[2].as_py() == ["value_not_allowed:status"]
    result = evaluate(_contract("consents", {**rule, "ignore_case": True}), batch)
    assert result.rejected.to_pylist() == [False, False, True, False]


def test_range_on_numbers_decimals_dates_and_timestamps() -> None:
    batch = pa.table(
        {
            "nps": pa.array([0, 10, 11, -1, None], pa.int64()),
            "comment": ["x"] * 5,
        }
    )
    rule = {"kind": "range", "column": "nps", "min": 0, "max": 10}
    assert evaluate(_contract("feedback", rule), batch).rejected.to_pylist() == [
        False,
        False,
        True,
        True,
        False,
    ]
    money = pa.table(
        {
            "total_amount": pa.array(
                [Decimal("0"), Decimal("-0.01"), Decimal("5")], pa.decimal128(18, 4)
            )
        }
    )
    result = evaluate(
        _contract("orders", {"kind": "range", "column": "total_amount", "min": 0}), money
    )
    assert result.reject_codes.to_pylist() == [[], ["out_of_range:total_amount"], []]
    stamps = pa.table(
        {
            "ordered_at": pa.array(
                [datetime(1999, 12, 31, 23), datetime(2000, 1, 1)], pa.timestamp("us")
            )
        }
    )
    for bound in (date(2000, 1, 1), datetime(2000, 1, 1), "2000-01-01T00:00:00"):
        rule = {"kind": "range", "column": "ordered_at", "min": bound, "severity": "warn"}
        result = evaluate(_contract("orders", rule), stamps)
        assert result.warn_codes.to_pylist() == [["out_of_range:ordered_at"], []]
        assert result.accepted.to_pylist() == [True, True]
    births = pa.table({"birth_date": pa.array([date(1899, 1, 1), date(1980, 5, 5)], pa.date32())})
    rule = {"kind": "range", "column": "birth_date", "min": "1900-01-01"}
    assert evaluate(_contract("customers", rule), births).rejected.to_pylist() == [True, False]


def test_float_bound_on_an_integer_column() -> None:
    batch = pa.table({"nps": pa.array([0, 1], pa.int64())})
    rule = {"kind": "range", "column": "nps", "min": 0.5}
    assert evaluate(_contract("feedback", rule), batch).rejected.to_pylist() == [True, False]


def test_pattern_matches_the_whole_value() -> None:
    batch = pa.table({"currency": ["EUR", "eur", "EURO", None]})
    rule = {"kind": "pattern", "column": "currency", "regex": "[A-Z]{3}"}
    result = evaluate(_contract("orders", rule), batch)
    assert result.rejected.to_pylist() == [False, True, True, False]
    assert result.reject_codes[1].as_py() == ["pattern_mismatch:currency"]


def test_exact_duplicates_are_skipped_and_key_duplicates_rejected() -> None:
    batch = pa.table(
        {
            "order_id": ["o1", "o1", "o1", "o2", None, None],
            "total_amount": [1.0, 1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    contract = _contract("orders", {"kind": "unique_key", "columns": ["order_id"]})
    result = evaluate(contract, batch)
    assert result.exact_duplicate.to_pylist() == [False, True, False, False, False, False]
    assert result.reject_codes.to_pylist() == [[], [], ["duplicate_key:order_id"], [], [], []]
    assert result.accepted.to_pylist() == [True, False, False, True, True, True]
    assert (result.rows_accepted, result.rows_rejected, result.exact_duplicates) == (4, 1, 1)


def test_exact_duplicates_may_sit_at_other_locations() -> None:
    # A copied line of a file is read with its own record and line number (a database row
    # with its own key); what it says is the same, so it is skipped, not a key duplicate.
    batch = pa.table(
        {
            "order_id": ["o1", "o1", "o1"],
            "total_amount": [1.0, 1.0, 2.0],
            "_record": [1, 2, 3],
            "_line": [2, 3, 4],
            "_key": ["a", "b", "c"],
        }
    )
    contract = _contract("orders", {"kind": "unique_key", "columns": ["order_id"]})
    result = evaluate(contract, batch)
    assert result.exact_duplicate.to_pylist() == [False, True, False]
    assert result.reject_codes.to_pylist() == [[], [], ["duplicate_key:order_id"]]


def test_a_key_only_narrows_the_rows_compared_for_exact_duplicates() -> None:
    # Identical rows share their key, so only rows of a repeated key are compared in every
    # column; the answer must be the one of comparing every row (nulls in the key included).
    keys = ["o1", "o2", "o1", None, "o3", None, "o1", "o2", None]
    amounts = [1.0, 2.0, 1.0, 4.0, 5.0, 4.0, 9.0, 2.5, 7.0]
    batch = pa.table({"order_id": keys, "total_amount": amounts})
    keyed = _contract("orders", {"kind": "unique_key", "columns": ["order_id"]})
    unkeyed = _contract("orders", {"kind": "required", "column": "order_id"})
    expected = [False, False, True, False, False, True, False, False, False]
    assert evaluate(keyed, batch).exact_duplicate.to_pylist() == expected
    assert evaluate(unkeyed, batch).exact_duplicate.to_pylist() == expected


_ORDER_ROWS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", None]), st.sampled_from([1.0, 2.0, None])),
    max_size=30,
)


def _orders(rows: list[tuple[str | None, float | None]]) -> pa.Table:
    return pa.table(
        {"order_id": pa.array([r[0] for r in rows], pa.string()),
         "total_amount": pa.array([r[1] for r in rows], pa.float64())}
    )  # fmt: skip


@given(_ORDER_ROWS)
def test_exact_duplicates_with_and_without_a_key_agree(
    rows: list[tuple[str | None, float | None]],
) -> None:
    batch = _orders(rows)
    keyed = _contract("orders", {"kind": "unique_key", "columns": ["order_id"]})
    unkeyed = _contract("orders", {"kind": "required", "column": "order_id"})
    seen: set[tuple[str | None, float | None]] = set()
    expected = []
    for row in rows:
        expected.append(row in seen)
        seen.add(row)
    assert evaluate(keyed, batch).exact_duplicate.to_pylist() == expected
    assert evaluate(unkeyed, batch).exact_duplicate.to_pylist() == expected


@given(_ORDER_ROWS)
def test_duplicate_keys_are_the_later_rows_of_a_key_with_other_values(
    rows: list[tuple[str | None, float | None]],
) -> None:
    batch = _orders(rows)
    keyed = _contract("orders", {"kind": "unique_key", "columns": ["order_id"]})
    codes = evaluate(keyed, batch).reject_codes.to_pylist()
    seen: set[tuple[str | None, float | None]] = set()
    first_of_key: set[str] = set()
    for row, code in zip(rows, codes, strict=True):
        exact, key = row in seen, row[0]
        expected = not exact and key is not None and key in first_of_key
        assert code == (["duplicate_key:order_id"] if expected else []), (rows, row)
        seen.add(row)
        if key is not None and not exact:
            first_of_key.add(key)


def test_a_batch_of_distinct_keys_has_no_exact_duplicates() -> None:
    batch = pa.table({"order_id": ["o1", "o2", "o3"], "total_amount": [1.0, 1.0, 1.0]})
    contract = _contract("orders", {"kind": "unique_key", "columns": ["order_id", "total_amount"]})
    result = evaluate(contract, batch)
    assert result.exact_duplicate.to_pylist() == [False, False, False]
    assert result.accepted.to_pylist() == [True, True, True]


def test_a_junk_phone_warns_and_other_phone_problems_reject() -> None:
    batch = pa.table(
        {
            "source_key": ["c1", "c2", "c3"],
            "phone": [None, None, "+46701234567"],
            "phone__reason": ["phone_junk", "phone_invalid", None],
        }
    )
    result = evaluate(default_contract("customers"), batch)
    assert result.reject_codes.to_pylist() == [[], ["phone_invalid"], []]
    assert result.warn_codes.to_pylist() == [["phone_junk"], [], []]


def test_exact_duplicate_of_a_rejected_row_is_skipped_not_quarantined_twice() -> None:
    batch = pa.table({"source_key": [None, None]})
    result = evaluate(default_contract("customers"), batch)
    assert result.rejected.to_pylist() == [True, False]
    assert result.exact_duplicate.to_pylist() == [False, True]
    assert result.reject_codes.to_pylist() == [["required_missing:source_key"], []]


def test_composite_keys_and_known_keys() -> None:
    batch = pa.table(
        {
            "order_id": ["o1", "o1", "o2", "o3"],
            "line_number": pa.array([1, 2, 1, 1], pa.int64()),
            "sku": ["a", "b", "c", "d"],
        }
    )
    contract = _contract(
        "order_items", {"kind": "unique_key", "columns": ["order_id", "line_number"]}
    )
    known = [("o2", 1), ("o9", 1)]
    result = evaluate(contract, batch, known_keys=known)
    assert result.reject_codes.to_pylist() == [
        [],
        [],
        ["key_already_loaded:order_id+line_number"],
        [],
    ]
    table = pa.table({"order_id": ["o3"], "line_number": pa.array([1], pa.int32())})
    result = evaluate(contract, batch, known_keys=table)
    assert result.rejected.to_pylist() == [False, False, False, True]
    lenient = _contract(
        "order_items",
        {"kind": "unique_key", "columns": ["order_id", "line_number"], "check_known": False},
    )
    assert evaluate(lenient, batch, known_keys=known).rows_rejected == 0


def test_known_keys_table_must_have_the_key_columns() -> None:
    contract = default_contract("products")
    with pytest.raises(ContractError, match="lack column"):
        evaluate(contract, pa.table({"sku": ["a"]}), known_keys=pa.table({"id": ["a"]}))


def test_reference_keys_warn_by_default_and_can_reject() -> None:
    batch = pa.table({"order_id": ["o1", "o2", "o3"], "source_customer_key": ["c1", "c9", None]})
    contract = _contract(
        "orders", {"kind": "reference", "column": "source_customer_key", "references": "customers"}
    )
    result = evaluate(contract, batch, reference_keys={"customers": pa.array(["c1", "c2"])})
    assert result.warn_codes.to_pylist() == [[], ["reference_missing:source_customer_key"], []]
    assert result.accepted.to_pylist() == [True, True, True]
    assert result.account().warnings == {"reference_missing:source_customer_key": 1}
    strict = _contract(
        "orders",
        {
            "kind": "reference",
            "column": "source_customer_key",
            "references": "customers",
            "severity": "reject",
        },
    )
    result = evaluate(strict, batch, reference_keys={"customers": {"c1"}})
    assert result.rejected.to_pylist() == [False, True, False]


_KEY = st.one_of(st.none(), st.sampled_from([f"c{i}" for i in range(12)]))


@given(st.lists(_KEY, max_size=8), st.lists(_KEY, max_size=60))
def test_reference_keys_many_times_the_batch_are_found_as_a_plain_lookup_finds_them(
    values: list[str | None], known: list[str | None]
) -> None:
    # A value set over four times the batch is looked up the other way round (see _is_in).
    batch = pa.table({"order_id": [f"o{i}" for i in range(len(values))],
                      "source_customer_key": pa.array(values, pa.string())})  # fmt: skip
    contract = _contract(
        "orders", {"kind": "reference", "column": "source_customer_key", "references": "customers"}
    )
    keys = pa.array(known, pa.string())
    result = evaluate(contract, batch, reference_keys={"customers": keys})
    plain = pc.is_in(pa.array(values, pa.string()), value_set=keys).to_pylist()
    expected = [[] if v is None or found else ["reference_missing:source_customer_key"]
                for v, found in zip(values, plain, strict=True)]  # fmt: skip
    assert result.warn_codes.to_pylist() == expected
    assert _is_in(pa.array(values, pa.string()), keys).to_pylist() == plain


def test_rules_without_their_keys_or_optional_column_are_skipped_and_named() -> None:
    batch = pa.table(
        {"order_id": ["o1"], "ordered_at": [datetime(2024, 1, 1)], "source_customer_key": ["c1"]}
    )
    result = evaluate(default_contract("orders"), batch)
    assert "reference:source_customer_key" in result.skipped_rules
    assert "range:total_amount" in result.skipped_rules


def test_a_batch_without_a_required_column_fails_naming_every_column() -> None:
    batch = pa.table({"line_number": [1]})
    with pytest.raises(ContractError) as info:
        evaluate(default_contract("order_items"), batch)
    assert "'order_id'" in str(info.value)
    assert "'sku'" in str(info.value)


def test_default_feedback_contract_end_to_end() -> None:
    batch = pa.table(
        {
            "response_id": ["r1", "r2", "r3", "r3", "r3"],
            "nps": pa.array([10, 11, 5, 5, 6], pa.int64()),
            "csat": pa.array([0, 5, None, None, None], pa.int64()),
            "ces": pa.array([7, 8, None, None, None], pa.int64()),
        }
    )
    result = evaluate(default_contract("feedback"), batch)
    assert result.reject_codes.to_pylist() == [
        ["out_of_range:csat"],
        ["out_of_range:nps", "out_of_range:ces"],
        [],
        [],
        ["duplicate_key:response_id"],
    ]
    account = result.account()
    assert (account.rows_loaded, account.rows_quarantined, account.exact_duplicates_skipped) == (
        1,
        3,
        1,
    )
    account.check()


def test_empty_batch() -> None:
    result = evaluate(
        default_contract("events"),
        pa.table(
            {
                "message_id": pa.array([], pa.string()),
                "type": pa.array([], pa.string()),
                "timestamp": pa.array([], pa.timestamp("us")),
            }
        ),
    )
    assert result.rows_read == 0
    result.account().check()


def test_messages_never_contain_values() -> None:
    secret = "jane.doe@example.org"
    batch = pa.table({"email": [secret], "email__reason": ["email_placeholder"]})
    with pytest.raises(ContractError) as info:
        evaluate(default_contract("customers"), batch, known_keys=[secret])
    assert secret not in str(info.value)
    batch = pa.table({"source_key": [secret], "email": [secret]})
    with pytest.raises(ContractError) as info:
        evaluate(default_contract("customers"), batch, known_keys=pa.table({"x": [secret]}))
    assert secret not in str(info.value)
