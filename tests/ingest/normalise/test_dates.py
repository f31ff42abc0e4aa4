"""Dates, birth dates and timestamps: formats, time zones, reason codes, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import (
    is_rejection,
    normalise_birth_date,
    normalise_date,
    normalise_timestamp,
)

PROPERTY = settings(max_examples=300, deadline=None)
ZONES = ("UTC", "Europe/Stockholm", "Europe/London", "America/New_York", "Asia/Shanghai")


@pytest.mark.parametrize(
    ("raw", "day_first", "expected"),
    [
        ("2023-04-05", None, date(2023, 4, 5)),
        ("2023/4/5", None, date(2023, 4, 5)),
        ("2023-04-05T23:30:00+02:00", None, date(2023, 4, 5)),
        ("05.04.2023", None, date(2023, 4, 5)),
        ("5.4.2023", False, date(2023, 4, 5)),
        ("05/04/2023", True, date(2023, 4, 5)),
        ("04/05/2023", False, date(2023, 4, 5)),
        ("13/04/2023", None, date(2023, 4, 13)),
        ("04/13/2023", None, date(2023, 4, 13)),
        ("04/04/2023", None, date(2023, 4, 4)),
        ("05-04-2023", True, date(2023, 4, 5)),
        ("20230405", None, date(2023, 4, 5)),
        ("5 Apr 2023", None, date(2023, 4, 5)),
        ("05-apr-2023", None, date(2023, 4, 5)),
        ("April 5, 2023", None, date(2023, 4, 5)),
        ("Sept 30 2023", None, date(2023, 9, 30)),
        ("45021", None, date(2023, 4, 5)),
        ("45021.75", None, date(2023, 4, 5)),
        ("1680690000", None, date(2023, 4, 5)),
        ("1680690000000", None, date(2023, 4, 5)),
        ("2024-02-29", None, date(2024, 2, 29)),
    ],
)
def test_dates(raw: str, day_first: bool | None, expected: date) -> None:
    assert normalise_date(raw, day_first=day_first).value == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "date_empty"),
        ("  ", "date_empty"),
        ("2023-02-30", "date_impossible"),
        ("2023-02-29", "date_impossible"),
        ("31/04/2023", "date_impossible"),
        ("2023-13-01", "date_impossible"),
        ("2023-04-05 25:00", "date_impossible"),
        ("03/04/2023", "date_ambiguous"),
        ("tomorrow", "date_unparseable"),
        ("1985", "date_unparseable"),
        ("05/04/23", "date_unparseable"),
    ],
)
def test_date_rejections(raw: str | None, reason: str) -> None:
    result = normalise_date(raw)
    assert (result.value, result.reason) == (None, reason)


def test_source_formats_come_first() -> None:
    assert normalise_date("05/04/23", formats=["%d/%m/%y"]).value == date(2023, 4, 5)
    assert normalise_date("2023-04-05", formats=["%d/%m/%y"]).value == date(2023, 4, 5)
    with pytest.raises(ConfigError):
        normalise_date("2023-04-05", formats=["no directives"])


@pytest.mark.parametrize(
    ("raw", "zone", "expected"),
    [
        ("2023-04-05 10:20", "Europe/Stockholm", datetime(2023, 4, 5, 8, 20)),
        ("2023-01-05 10:20", "Europe/Stockholm", datetime(2023, 1, 5, 9, 20)),
        ("2023-04-05 10:20", "Asia/Shanghai", datetime(2023, 4, 5, 2, 20)),
        ("2023-04-05 10:20", "America/New_York", datetime(2023, 4, 5, 14, 20)),
        ("2023-04-05T10:20:30Z", "Asia/Shanghai", datetime(2023, 4, 5, 10, 20, 30)),
        ("2023-04-05T10:20:30.123456789+0200", "UTC", datetime(2023, 4, 5, 8, 20, 30, 123456)),
        ("2023-04-05", "Europe/Stockholm", datetime(2023, 4, 4, 22, 0)),
        ("05/04/2023 3:15 PM", "UTC", datetime(2023, 4, 5, 15, 15)),
        ("05/04/2023 12:05 am", "UTC", datetime(2023, 4, 5, 0, 5)),
        ("1680690000", "Asia/Shanghai", datetime(2023, 4, 5, 10, 20)),
        ("1680690000123", "Asia/Shanghai", datetime(2023, 4, 5, 10, 20, 0, 123000)),
        ("45021.5", "UTC", datetime(2023, 4, 5, 12, 0)),
        ("20230405T102030Z", "Europe/Stockholm", datetime(2023, 4, 5, 10, 20, 30)),
    ],
)
def test_timestamps(raw: str, zone: str, expected: datetime) -> None:
    result = normalise_timestamp(raw, day_first=True, time_zone=zone)
    assert (result.value, result.reason) == (expected, None)


def test_typed_timestamps() -> None:
    aware = datetime(2023, 4, 5, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert normalise_timestamp(aware).value == datetime(2023, 4, 5, 8, 0)
    naive = datetime(2023, 4, 5, 8, 0)
    assert normalise_timestamp(naive, time_zone="Asia/Shanghai").value == naive
    day = date(2023, 4, 5)
    assert normalise_timestamp(day, time_zone="Europe/Stockholm").value == datetime(2023, 4, 4, 22)


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        normalise_timestamp("2023-04-05", time_zone="Mars/Olympus")


def test_birth_dates() -> None:
    today = date(2025, 1, 1)
    assert normalise_birth_date("1985-07-14", today=today).value == date(1985, 7, 14)
    assert normalise_birth_date("1900-01-01", today=today).value == date(1900, 1, 1)
    assert normalise_birth_date("1899-12-31", today=today).reason == "date_out_of_range"
    assert normalise_birth_date("2025-01-02", today=today).reason == "date_out_of_range"
    assert normalise_birth_date("14.07.1985", today=today).value == date(1985, 7, 14)
    assert normalise_birth_date("1985-02-30", today=today).reason == "date_impossible"


@PROPERTY
@given(st.text(), st.sampled_from((True, False, None)), st.sampled_from(ZONES))
def test_never_raises_and_is_idempotent(text: str, day_first: bool | None, zone: str) -> None:
    stamp = normalise_timestamp(text, day_first=day_first, time_zone=zone)
    assert (stamp.value is None) == is_rejection(stamp.reason)
    if stamp.value is not None:
        assert normalise_timestamp(stamp.value, day_first=day_first, time_zone=zone) == stamp
    day = normalise_date(text, day_first=day_first)
    assert (day.value is None) == is_rejection(day.reason)
    if day.value is not None:
        assert normalise_date(day.value, day_first=day_first) == day
    birth = normalise_birth_date(text, day_first=day_first, today=date(2025, 1, 1))
    if birth.value is not None:
        assert normalise_birth_date(birth.value, today=date(2025, 1, 1)) == birth


@PROPERTY
@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2200, 1, 1)),
    st.sampled_from(ZONES),
)
def test_iso_with_offset_round_trips(moment: datetime, zone: str) -> None:
    text = moment.replace(tzinfo=UTC).isoformat()
    assert normalise_timestamp(text, time_zone=zone).value == moment


@PROPERTY
@given(st.dates(min_value=date(1000, 1, 1)), st.booleans())
def test_written_dates_round_trip(day: date, day_first: bool) -> None:
    written = day.strftime("%d/%m/%Y" if day_first else "%m/%d/%Y")
    assert normalise_date(written, day_first=day_first).value == day
    assert normalise_date(day.strftime("%d.%m.%Y")).value == day
    assert normalise_date(day.isoformat()).value == day
