"""The ingestion invariant: every row read is loaded, quarantined or skipped, exactly once."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.quality.contracts import ContractError, LoadAccount, default_contract, evaluate

CONTRACT = default_contract("feedback")
REASONS = [None, None, None, "email_placeholder", "email_invalid_syntax"]


def test_check_refuses_lost_or_double_counted_rows() -> None:
    LoadAccount(4, 2, 1, 1).check()
    for bad in (LoadAccount(4, 2, 1, 0), LoadAccount(4, 3, 1, 1), LoadAccount(0, -1, 1, 0)):
        with pytest.raises(ContractError, match="accounted for"):
            bad.check()


def test_accounts_combine_across_batches() -> None:
    a = LoadAccount(3, 2, 1, 0, warnings={"w": 1}, rejections={"r": 1})
    b = LoadAccount(2, 1, 0, 1, warnings={"w": 2, "v": 1})
    total = LoadAccount.combine([a, b])
    assert total == a + b
    assert total.warnings == {"v": 1, "w": 3}
    assert (total.rows_read, total.accounted) == (5, 5)
    assert LoadAccount.combine([]) == LoadAccount()


rows = st.tuples(
    st.sampled_from(["r1", "r2", "r3", "r4", None, " "]),
    st.one_of(st.none(), st.integers(-2, 12)),
    st.one_of(st.none(), st.integers(0, 6)),
    st.sampled_from(REASONS),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(rows, max_size=30), st.lists(st.sampled_from(["r1", "r2", "r9"]), max_size=3))
def test_every_row_lands_in_exactly_one_bucket(
    data: list[tuple[str | None, int | None, int | None, str | None]], known: list[str]
) -> None:
    batch = pa.table(
        {
            "response_id": pa.array([r[0] for r in data], pa.string()),
            "nps": pa.array([r[1] for r in data], pa.int64()),
            "csat": pa.array([r[2] for r in data], pa.int64()),
            "email__reason": pa.array([r[3] for r in data], pa.string()),
        }
    )
    result = evaluate(CONTRACT, batch, known_keys=known)
    masks = zip(
        result.accepted.to_pylist(),
        result.rejected.to_pylist(),
        result.exact_duplicate.to_pylist(),
        strict=True,
    )
    assert all(sum(m) == 1 for m in masks)
    account = result.account()
    account.check()
    assert account.rows_read == len(data)
    # An exact duplicate always has an identical, earlier row; the first occurrence is never one.
    seen: set[tuple[object, ...]] = set()
    for row, dup in zip(data, result.exact_duplicate.to_pylist(), strict=True):
        assert dup == (row in seen)
        seen.add(row)
    # A rejected row has a reject code; an accepted one has none.
    for codes, rejected in zip(
        result.reject_codes.to_pylist(), result.rejected.to_pylist(), strict=True
    ):
        assert bool(codes) == rejected
