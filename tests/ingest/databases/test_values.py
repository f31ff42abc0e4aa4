"""Values as text, and watermarks that round-trip through their text."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from insightloop.ingest.databases.values import (
    order_key,
    parse_watermark,
    render,
    row_hash,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None), ("å王", "å王"), (True, "true"), (False, "false"), (-7, "-7"),
        (Decimal("12.50"), "12.50"), (Decimal("1E+3"), "1000"), (0.1, "0.1"),
        (dt.date(2024, 5, 1), "2024-05-01"), (dt.datetime(2024, 5, 1, 12), "2024-05-01T12:00:00"),
        (dt.datetime(2024, 5, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
         "2024-04-30T23:30:00Z"),
        (dt.time(8, 15), "08:15:00"), (dt.timedelta(days=1, hours=2), "P1DT2H"),
        (dt.timedelta(0), "PT0S"), (dt.timedelta(seconds=-1.5), "-PT1.5S"),
        (b"\x00\xff", "00ff"), (memoryview(b"\x01"), "01"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        ({"a": [1, None, Decimal("2.5")]}, '{"a": [1, null, "2.5"]}'),
    ],
)  # fmt: skip
def test_render(value: object, text: str | None) -> None:
    assert render(value) == text


zoned = st.datetimes(
    min_value=dt.datetime(1900, 1, 2), max_value=dt.datetime(2999, 12, 30),
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30))]),
)  # fmt: skip


@given(zoned)
def test_zoned_timestamps_round_trip(value: dt.datetime) -> None:
    assert parse_watermark(render(value) or "", "timestamptz") == value


@given(st.datetimes())
def test_timestamps_round_trip(value: dt.datetime) -> None:
    assert parse_watermark(render(value) or "", "timestamp") == value


@given(st.one_of(st.integers(), st.dates(), st.decimals(allow_nan=False, allow_infinity=False)))
def test_other_kinds_round_trip(value: object) -> None:
    kind = (
        "date" if isinstance(value, dt.date) else "integer" if isinstance(value, int) else "decimal"
    )
    assert parse_watermark(render(value) or "", kind) == value


def test_watermark_offsets_and_bad_text() -> None:
    assert parse_watermark("2024-05-01T12:00:00", "timestamptz") == dt.datetime(
        2024, 5, 1, 12, tzinfo=dt.UTC
    )
    assert parse_watermark("2024-05-01T12:00:00+02:00", "timestamp") == dt.datetime(2024, 5, 1, 10)
    assert parse_watermark("2024-05-01T00:00:00", "date") == dt.date(2024, 5, 1)
    assert parse_watermark("x", "text") == "x"
    for kind in ("timestamptz", "timestamp", "date", "integer", "decimal", "float"):
        with pytest.raises(ValueError):  # noqa: PT011  (each parser has its own message)
            parse_watermark("not a value", kind)  # type: ignore[arg-type]


def test_row_hash_and_order_key() -> None:
    assert row_hash(["a", None]) != row_hash([None, "a"]) != row_hash(["a", "None"])
    assert sorted([b"x", "b", 2, 1.5], key=order_key) == [1.5, 2, "b", b"x"]
