"""The column-wide phone path answers exactly as normalise_phone does, number by number."""

from __future__ import annotations

import phonenumbers
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from insightloop.ingest.normalise import normalise_phone, normalise_phones
from insightloop.ingest.normalise.phone_columns import plain_phones
from insightloop.ingest.normalise.vectorised import MIN_ROWS

REGIONS = ["SE", "GB", "US", "IE", "CN", "DE", "FR", "NO", "FI", "DK", "IT", "AU", "JP", "BR"]
_TYPES = [
    PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE, PhoneNumberType.VOIP,
]  # fmt: skip
_FORMATS = [PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.E164]


def _examples() -> list[str]:
    out = []
    for region in REGIONS:
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out += [phonenumbers.format_number(number, f) for f in _FORMATS]
    return out


_EXAMPLES = _examples()
# Written before random digits: prefixes, calling codes without "+", both.
_PREFIXES = ["", "0", "00", "+", "011", "+46", "0046", "+44 (0)", "1", "11", "44", "46", "4600"]


@st.composite
def phone_text(draw: st.DrawFn) -> str:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        text = draw(st.sampled_from(_EXAMPLES))
    elif choice == 4:
        # An international example written without its "+" (1-713-... in the US), sometimes
        # with a national prefix after the calling code.
        text = draw(st.sampled_from([e for e in _EXAMPLES if e.startswith("+")]))[1:]
        if draw(st.booleans()):
            code, _, rest = text.partition(" ")
            text = f"{code} {draw(st.sampled_from(['0', '1', '00', '']))}{rest}"
    elif choice == 1:
        # An example with its last digits changed: valid or not, of the same shape.
        text = draw(st.sampled_from(_EXAMPLES))
        tail = draw(st.text(alphabet="0123456789", min_size=1, max_size=4))
        text = text[: -len(tail)] + tail
    elif choice == 2:
        prefix = draw(st.sampled_from(_PREFIXES))
        text = prefix + draw(st.text(alphabet="0123456789", min_size=1, max_size=13))
    else:
        text = draw(
            st.sampled_from(
                ["0000000", "070-000 00 00", "0123456789", "9876543210", "+46 70 123 45 67",
                 "070-123 45 67 ext. 12", "(212) 555-0123", "", "  ", "+", "070/123.45 67",
                 "\u0660\u0667\u0660", "+46\u00a070 123 45 67", "0046 8 123 456 78"]
            )
        )  # fmt: skip
    if draw(st.booleans()):
        text = text.replace(" ", draw(st.sampled_from(["-", ".", "", "  ", "/"])))
    return text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), phone_text()), min_size=1, max_size=40), st.sampled_from(REGIONS)
)
def test_a_column_of_numbers_answers_as_one_by_one(values: list[str | None], region: str) -> None:
    column = values * (MIN_ROWS // len(values) + 1)
    table = normalise_phones(column, region=region)
    expected = [normalise_phone(v, region) for v in column]
    for name in ("value", "reason", "kind", "extension"):
        assert table.column(name).to_pylist() == [getattr(e, name) for e in expected], name


def test_the_shortcut_answers_the_plain_numbers_of_its_region() -> None:
    texts = pa.array(["070-123 45 67", "+46 8 123 456 78", "0046701234567", "+1 212 555 0123"])
    found = plain_phones(texts, "SE")
    assert found is not None
    assert found[0].to_pylist() == ["+46701234567", "+46812345678", "+46701234567", None]
    assert plain_phones(texts, "NO") is None  # Norway shares +47 with Svalbard by leading digits
    found = plain_phones(pa.array(["138 1234 5678", "010-6552 9988"]), "CN")
    assert found is not None  # a national prefix with a carrier code goes value by value
    assert found[0].to_pylist() == ["+8613812345678", None]
    # Digits that begin with the calling code, without "+": the code comes off where
    # phonenumbers takes it off (the whole is no number of the region, or too long).
    texts = pa.array(["1-713-555-0123", "17135550123", "2125550123", "1 1 713 555 0123"])
    found = plain_phones(texts, "US")
    assert found is not None
    assert found[0].to_pylist() == ["+17135550123", "+17135550123", "+12125550123", "+17135550123"]
    assert [normalise_phone(t, "US").value for t in texts.to_pylist()] == found[0].to_pylist()
