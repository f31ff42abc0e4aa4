"""The vectorised shortcuts answer exactly as the value-by-value normalisers do."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.ingest.normalise import (
    normalise_amount,
    normalise_amounts,
    normalise_birth_date,
    normalise_birth_dates,
    normalise_date,
    normalise_dates,
    normalise_email,
    normalise_emails,
    normalise_timestamp,
    normalise_timestamps,
)
from insightloop.ingest.normalise.vectorised import MIN_ROWS, formatted_dates

_TODAY = date(2026, 12, 7)

_ADDRESSES = st.one_of(
    st.from_regex(
        r"[A-Za-z0-9._%+-]{1,12}@[A-Za-z0-9-]{1,10}(\.[A-Za-z0-9-]{1,8}){0,2}"
        r"\.(se|com|local|test|invalid|example|onion|xn--fiqs8s|c)",
        fullmatch=True,
    ),
    st.sampled_from(
        [
            "Anna.Svensson@Mejl.Example",
            " anna@x.se ",
            "Anna <anna@x.se>",
            "mailto:ANNA@X.SE?subject=hi",
            "noemail@store.example",
            "test@test.com",
            "ada@noemail.co.uk",
            "unknown@shop.se",
            "a@localhost",
            "a@b.localhost",
            "a@xn--fsqu00a.xn--fiqs8s",
            "a--b@x.se",
            "a@x--y.se",
            "anna at x.se",
            "ånna@x.se",
            "Ånna@Exämple.se",
            "a..b@x.se",
            ".a@x.se",
            "a@x.se.",
            "a" * 65 + "@x.se",
            "a@" + "b" * 250 + ".se",
            "",
            "   ",
        ]
    ),
    st.text(max_size=24),
)


def _repeated(values: list[str | None]) -> list[str | None]:
    """Enough rows for the shortcut to be taken."""
    return values * (MIN_ROWS // max(len(values), 1) + 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), _ADDRESSES), min_size=1, max_size=30))
def test_emails_answer_as_one_by_one(values: list[str | None]) -> None:
    column = _repeated(values)
    table = normalise_emails(column)
    expected = [normalise_email(v) for v in column]
    assert table.column("value").to_pylist() == [e.value for e in expected]
    assert table.column("reason").to_pylist() == [e.reason for e in expected]


def _written(day: date, pattern: str) -> str:
    """``day`` in ``pattern`` with a four-digit year, also before the year 1000."""
    return day.strftime(pattern.replace("%Y", f"{day.year:04d}"))


_DATE_TEXT = st.one_of(
    st.dates(min_value=date(1, 1, 1), max_value=date(2200, 12, 31)).map(
        lambda d: _written(d, "%d/%m/%Y")
    ),
    st.sampled_from(
        [
            "31/02/1985",
            "29/02/2000",
            "29/02/1900",
            "00/01/1985",
            "15/13/1985",
            "5/4/1985",
            "05/04/85",
            "1985-04-05",
            "05/04/1985 ",
            "05 / 04 / 1985",
            "05/04/1985 10:20",
            "45021",
            "Apr 5, 2023",
            "",
            "31/12/1899",
            "01/01/1900",
            "07/12/2026",
            "08/12/2026",
        ]
    ),
    st.text(alphabet="0123456789/ -.", max_size=12),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), _DATE_TEXT), min_size=1, max_size=30))
def test_dates_in_the_declared_format_answer_as_one_by_one(values: list[str | None]) -> None:
    column = _repeated(values)
    formats = ["%d/%m/%Y", "%Y-%m-%d"]
    table = normalise_dates(column, formats=formats, day_first=True)
    expected = [normalise_date(v, formats=formats, day_first=True) for v in column]
    assert table.column("value").to_pylist() == [e.value for e in expected]
    assert table.column("reason").to_pylist() == [e.reason for e in expected]
    births = normalise_birth_dates(column, formats=formats, day_first=True, today=_TODAY)
    expected = [
        normalise_birth_date(v, formats=formats, day_first=True, today=_TODAY) for v in column
    ]
    assert births.column("value").to_pylist() == [e.value for e in expected]
    assert births.column("reason").to_pylist() == [e.reason for e in expected]


def test_a_pattern_with_other_directives_has_no_shortcut() -> None:
    import pyarrow as pa

    assert formatted_dates(pa.array(["5 Apr 1985"]), "%d %b %Y") is None
    assert formatted_dates(pa.array(["05/04/85"]), "%d/%m/%y") is None
    found = formatted_dates(pa.array(["1985-04-05 10:20:30", "1985-04-05"]), "%Y-%m-%d %H:%M:%S")
    assert found is not None
    assert found.to_pylist() == [date(1985, 4, 5), None]


_MOMENT_TEXT = st.one_of(
    st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(2200, 1, 1)).map(
        lambda m: _written(m, "%Y/%m/%d %H:%M")
    ),
    st.sampled_from(
        [
            "2024/03/31 02:30",  # no such time in Stockholm (the clocks jump 02:00 to 03:00)
            "2024/10/27 02:30",  # twice in Stockholm
            "2024/03/10 02:30",  # no such time in New York
            "2024/11/03 01:30",  # twice in New York
            "2023/02/30 10:20",
            "2023/4/5 10:20",
            "2023-04-05T10:20:00",
            "2024-10-27 02:30",  # the same, as ISO text
            "2024-03-31T02:30:00",
            "1899-06-01 12:00",  # local mean time in 1899
            "2023-04-05 10:20+02:00",
            "05/04/2023 10:20",
            "",
        ]
    ),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.one_of(st.none(), _MOMENT_TEXT), min_size=1, max_size=30),
    st.sampled_from(["UTC", "Europe/Stockholm", "America/New_York", "Asia/Shanghai"]),
)
def test_moments_in_the_declared_format_answer_as_one_by_one(
    values: list[str | None], zone: str
) -> None:
    column = _repeated(values)
    formats = ["%Y/%m/%d %H:%M"]
    table = normalise_timestamps(column, formats=formats, day_first=True, time_zone=zone)
    expected = [
        normalise_timestamp(v, formats=formats, day_first=True, time_zone=zone) for v in column
    ]
    assert table.column("value").to_pylist() == [e.value for e in expected]
    assert table.column("reason").to_pylist() == [e.reason for e in expected]


_AMOUNTS = st.one_of(
    st.from_regex(r"[+-]?\d{1,20}([.,]\d{0,6})?", fullmatch=True),
    st.sampled_from(
        ["1,234", "1.234", "0,500", "-0.00", "0123", "99,90", "1 234,50 kr", "(12.00)", "€12",
         "12-", "99:-", "1.234,50", " 12.50", "12.50 ", "", "\u22125", "\uff11\uff12.\uff15"]
    ),
    st.text(alphabet="0123456789.,- kr€$", max_size=12),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.none(), _AMOUNTS), min_size=1, max_size=30),
    st.sampled_from([None, True, False]),
    st.sampled_from([None, "SEK", "usd"]),
)
def test_amounts_answer_as_one_by_one(
    values: list[str | None], decimal_comma: bool | None, currency: str | None
) -> None:
    column = _repeated(values)
    table = normalise_amounts(column, decimal_comma=decimal_comma, currency=currency).to_pylist()
    for value, row in zip(column, table, strict=True):
        one = normalise_amount(value, decimal_comma=decimal_comma, currency=currency)
        assert (row["value"], row["currency"], row["reason"]) == (
            one.value,
            one.currency,
            one.reason,
        )
