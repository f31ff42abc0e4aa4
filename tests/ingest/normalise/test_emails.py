"""E-mail normalisation: examples, and properties against email-validator itself."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.ingest.normalise import REASONS, is_rejection, normalise_email
from insightloop.ingest.normalise.emails import FAST_EMAIL, _fast_ok

PROPERTY = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("anna.svensson@mejl.example", "anna.svensson@mejl.example"),
        ("  Anna.Svensson@Mejl.Example\t", "anna.svensson@mejl.example"),
        ("ANNA@GMAIL.COM", "anna@gmail.com"),
        ("<anna@x.se>", "anna@x.se"),
        ("Anna Svensson <Anna@X.se>", "anna@x.se"),
        ("mailto:anna@x.se", "anna@x.se"),
        ("MAILTO:Anna@X.se?subject=Hej", "anna@x.se"),
        ("åsa.öberg@telia.se", "åsa.öberg@telia.se"),
        ("A\u030asa@x.se", "åsa@x.se"),  # decomposed å is composed (NFC)
        ("x@XN--FSQU00A.XN--FIQS8S", "x@例子.中国"),
        ("王小明@例子.中国", "王小明@例子.中国"),
        ("first+tag@sub.domain.co.uk", "first+tag@sub.domain.co.uk"),
    ],
)
def test_valid_addresses(raw: str, expected: str) -> None:
    assert normalise_email(raw).value == expected
    assert normalise_email(raw).reason is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "email_empty"),
        ("", "email_empty"),
        ("   ", "email_empty"),
        ("<>", "email_empty"),
        ("mailto:", "email_empty"),
        ("anna at telia.se", "email_missing_at"),
        ("anna@@telia.se", "email_invalid_syntax"),
        ("anna..s@telia.se", "email_invalid_syntax"),
        ("anna@telia,se", "email_invalid_syntax"),
        ("anna@localhost", "email_invalid_syntax"),
        ("anna@x.test", "email_invalid_syntax"),
        ("anna svensson@telia.se", "email_invalid_syntax"),
        ("@telia.se", "email_invalid_syntax"),
    ],
)
def test_rejections(raw: str | None, reason: str) -> None:
    assert normalise_email(raw).value is None
    assert normalise_email(raw).reason == reason


@pytest.mark.parametrize(
    "raw", ["noemail@store.example", "NONE@x.se", "test@test.example", "kalle@test.com"]
)
def test_placeholders_are_warned_not_rejected(raw: str) -> None:
    result = normalise_email(raw)
    assert result.value == raw.lower()
    assert result.reason == "email_placeholder"
    assert REASONS["email_placeholder"].severity == "warn"


@PROPERTY
@given(st.text())
def test_never_raises_and_is_idempotent(text: str) -> None:
    first = normalise_email(text)
    assert (first.value is None) == is_rejection(first.reason)
    if first.value is not None:
        assert normalise_email(first.value) == first


@PROPERTY
@given(st.from_regex(FAST_EMAIL, fullmatch=True))
def test_fast_path_admits_only_what_email_validator_admits(address: str) -> None:
    if not _fast_ok(address):
        return
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:  # pragma: no cover - the failure message is the point
        pytest.fail(f"fast path accepted {address!r}, email-validator says: {error}")
    assert checked.normalized.lower() == address


@PROPERTY
@given(st.from_regex(r"[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9.-]{1,20}\.[A-Za-z]{2,6}", fullmatch=True))
def test_fast_and_validator_paths_agree_on_ascii(address: str) -> None:
    lower = address.lower()
    try:
        expected: str | None = validate_email(lower, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    assert normalise_email(address).value == expected
