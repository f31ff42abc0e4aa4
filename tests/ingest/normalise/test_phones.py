"""Phone numbers: formats per region, reason codes, and properties checked against phonenumbers."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import is_rejection, normalise_phone
from insightloop.ingest.normalise.phone_shortcut import shortcut
from insightloop.ingest.normalise.phone_types import number_type

PROPERTY = settings(max_examples=200, deadline=None)
REGIONS = ("SE", "GB", "US", "CN", "IE", "DE", "IT", "AR", "BR", "JP", "AU", "RU", "CA", "FI")


@pytest.mark.parametrize(
    ("raw", "region", "e164", "kind"),
    [
        ("070-123 45 67", "SE", "+46701234567", "mobile"),
        ("0701234567", "SE", "+46701234567", "mobile"),
        ("+46 70 123 45 67", "SE", "+46701234567", "mobile"),
        ("0046 70 123 45 67", "SE", "+46701234567", "mobile"),
        ("+46 (0)70-123 45 67", "SE", "+46701234567", "mobile"),
        ("08-123 456 78", "SE", "+46812345678", "fixed_line"),
        ("070.123.45.67", "SE", "+46701234567", "mobile"),
        (
            "\uff10\uff17\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17",
            "SE",
            "+46701234567",
            "mobile",
        ),
        ("020 7946 0018", "GB", "+442079460018", "fixed_line"),
        ("+44 (0)20 7946 0018", "GB", "+442079460018", "fixed_line"),
        ("07911 123456", "GB", "+447911123456", "mobile"),
        ("(212) 555-0123", "US", "+12125550123", "fixed_line_or_mobile"),
        ("1-212-555-0123", "US", "+12125550123", "fixed_line_or_mobile"),
        ("011 46 70 123 45 67", "US", "+46701234567", "mobile"),
        ("1 800 555 0199", "US", "+18005550199", "other"),
        ("138 0013 8000", "CN", "+8613800138000", "mobile"),
        ("010-6552 9988", "CN", "+861065529988", "fixed_line"),
        ("+86 21 6288 1234", "CN", "+862162881234", "fixed_line"),
        ("087 765 4321", "IE", "+353877654321", "mobile"),
        ("(01) 687 4321", "IE", "+35316874321", "fixed_line"),
        ("+39 06 1234 5678", "SE", "+390612345678", "fixed_line"),
        ("+46701234567", None, "+46701234567", "mobile"),
    ],
)
def test_formats(raw: str, region: str | None, e164: str, kind: str) -> None:
    result = normalise_phone(raw, region)
    assert (result.value, result.reason, result.kind) == (e164, None, kind)


@pytest.mark.parametrize(
    ("raw", "extension"),
    [("070-123 45 67 ext. 12", "12"), ("070-123 45 67 x 12", "12"), ("0701234567#12", "12")],
)
def test_extensions_are_kept_apart(raw: str, extension: str) -> None:
    result = normalise_phone(raw, "SE")
    assert (result.value, result.extension) == ("+46701234567", extension)


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        (None, "SE", "phone_empty"),
        ("", "SE", "phone_empty"),
        (" - ", "SE", "phone_empty"),
        ("ring ej", "SE", "phone_unparseable"),
        ("0000000", "SE", "phone_junk"),
        ("070-000 00 00", "SE", "phone_junk"),
        ("123456789", "SE", "phone_junk"),
        ("1111111111", "US", "phone_junk"),
        ("0701234567", None, "phone_missing_country_code"),
        ("+999 1234567", "SE", "phone_invalid_country_code"),
        ("07", "SE", "phone_too_short"),
        ("070 123 45 67 89 01 23 45", "SE", "phone_too_long"),
        ("555-0123", "US", "phone_local_only"),
        ("070 12", "SE", "phone_too_short"),
        ("070 123", "SE", "phone_invalid"),
        ("+46 1", "SE", "phone_too_short"),
    ],
)
def test_rejections(raw: str | None, region: str | None, reason: str) -> None:
    result = normalise_phone(raw, region)
    assert (result.value, result.reason, result.kind) == (None, reason, None)


def test_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="XX"):
        normalise_phone("0701234567", "XX")
    assert normalise_phone("0701234567", "se").value == "+46701234567"


@PROPERTY
@given(st.text(), st.sampled_from((*REGIONS, None)))
def test_never_raises_and_is_idempotent(text: str, region: str | None) -> None:
    first = normalise_phone(text, region)
    assert (first.value is None) == is_rejection(first.reason)
    if first.value is not None:
        again = normalise_phone(first.value, region)
        assert (again.value, again.reason, again.kind) == (first.value, None, first.kind)


numbers = st.builds(
    lambda prefix, digits, sep: prefix + sep.join(digits[i : i + 3] for i in range(0, 99, 3)),
    st.sampled_from(("", "+", "0", "00", "011", "+46", "0046", "+1", "+86", "+44", "+353")),
    st.text("0123456789", min_size=1, max_size=14),
    st.sampled_from(("", " ", "-", ".", ") ")),
)


@PROPERTY
@given(numbers, st.sampled_from((*REGIONS, None)))
def test_e164_parses_back_to_the_same_number(text: str, region: str | None) -> None:
    result = normalise_phone(text, region)
    if result.value is not None:
        number = phonenumbers.parse(result.value, None)
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == (
            result.value
        )
        assert phonenumbers.is_valid_number(number)


@PROPERTY
@given(st.booleans(), st.text("0123456789", min_size=1, max_size=17), st.sampled_from(REGIONS))
def test_shortcut_agrees_with_phonenumbers_parse(plus: bool, digits: str, region: str) -> None:
    found = shortcut(plus, digits, region)
    if found is None:
        return
    parsed = phonenumbers.parse(("+" if plus else "") + digits, region)
    assert found == (parsed.country_code, phonenumbers.national_significant_number(parsed))


@PROPERTY
@given(
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.text("0123456789", min_size=2, max_size=13),
)
def test_number_type_agrees_with_phonenumbers(country_code: int, national: str) -> None:
    national = national.lstrip("0") or "1"
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    assert number_type(country_code, national) == phonenumbers.number_type(number)


@pytest.mark.parametrize("region", REGIONS)
def test_number_type_agrees_on_each_regions_example_numbers(region: str) -> None:
    for kind in range(11):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            national = phonenumbers.national_significant_number(example)
            code = example.country_code or 0
            assert number_type(code, national) == phonenumbers.number_type(example)
