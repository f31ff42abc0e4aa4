"""The vectorised ISO 8601 path of normalise_timestamps agrees with the value-by-value parser."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.ingest.normalise import normalise_timestamp, normalise_timestamps

ZONES = ["UTC", "Europe/Stockholm", "America/New_York", "Asia/Shanghai"]


@st.composite
def iso_text(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2060, 1, 1)))
    sep = draw(st.sampled_from(["T", " "]))
    time = draw(st.sampled_from(["%H:%M", "%H:%M:%S", "%H:%M:%S.%f"]))
    text = moment.strftime(f"%Y-%m-%d{sep}{time}")
    zone = draw(st.sampled_from(["", "Z", "+01:00", "-05:00", "+0530", "+08"]))
    return text + zone


@settings(max_examples=60, deadline=None)
@given(st.lists(iso_text(), min_size=1, max_size=20), st.sampled_from(ZONES))
def test_iso_text_gives_the_same_moment_both_ways(texts: list[str], zone: str) -> None:
    batch = normalise_timestamps(pa.array(texts), time_zone=zone).to_pylist()
    for text, row in zip(texts, batch, strict=True):
        one = normalise_timestamp(text, time_zone=zone)
        assert (row["value"], row["reason"]) == (one.value, one.reason), text


def test_impossible_and_other_text_still_get_their_reasons() -> None:
    texts = ["2024-02-30T10:00:00Z", "2024-01-02T10:00:00Z", "02/01/2024 10:00", "soon", None]
    rows = normalise_timestamps(pa.array(texts), day_first=True).to_pylist()
    assert [r["reason"] for r in rows] == [
        "date_impossible", None, None, "date_unparseable", "date_empty",
    ]  # fmt: skip
    assert rows[2]["value"] == datetime(2024, 1, 2, 10, 0)


def test_moments_near_a_change_of_offset_agree_with_the_value_by_value_parser() -> None:
    # Stockholm's clocks went forward at 02:00 on 2024-03-31 and back at 03:00 on 2024-10-27:
    # text with an offset names its moment; local text near a change is the slow parser's.
    texts = [
        "2024-03-31T02:30:00",  # skipped by the clocks
        "2024-10-27T02:30:00",  # passed twice
        "2024-10-27T01:30:00",  # within three hours of the change
        "2024-03-31T02:30:00+01:00",
        "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:30:00Z",
        "2024-10-27 00:59:59.5-0500",
        "2024-06-01T12:00:00",
    ] * 40  # enough rows for the vectorised path
    for zone in ["Europe/Stockholm", "America/New_York", "UTC", "Etc/GMT"]:
        batch = normalise_timestamps(pa.array(texts), time_zone=zone).to_pylist()
        for text, row in zip(texts, batch, strict=True):
            one = normalise_timestamp(text, time_zone=zone)
            assert (row["value"], row["reason"]) == (one.value, one.reason), (zone, text)
