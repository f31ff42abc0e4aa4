"""Person names: casing, particles, CJK, splitting, and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insightloop.errors import ConfigError
from insightloop.ingest.normalise import NameParts, is_rejection, normalise_name, split_name

PROPERTY = settings(max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("raw", "part", "expected"),
    [
        ("ANNA-KARIN o'neil", "full", "Anna-Karin O'Neil"),
        ("  anna   svensson ", "full", "Anna Svensson"),
        ("åsa ÖBERG", "full", "Åsa Öberg"),
        ("ÄNGLA ÅSTRÖM", "full", "Ängla Åström"),
        ("o\u2019neil", "family", "O'Neil"),
        ("JAN VAN DER BERG", "full", "Jan van der Berg"),
        ("van der berg", "family", "van der Berg"),
        ("Van Morrison", "full", "Van Morrison"),
        ("van morrison", "full", "Van Morrison"),
        ("ludwig VON beethoven", "full", "Ludwig von Beethoven"),
        ("MCDONALD", "family", "McDonald"),
        ("McDonald", "family", "McDonald"),
        ("MacLeod", "family", "MacLeod"),
        ("MACLEOD", "family", "Macleod"),
        ("DiCaprio", "family", "DiCaprio"),
        ("J.R.R. TOLKIEN", "full", "J.R.R. Tolkien"),
        ("\uff21\uff4e\uff4e\uff41", "given", "Anna"),
        ("王小明", "full", "王小明"),
        ("王 小明", "full", "王小明"),
        ("欧阳 娜娜", "full", "欧阳娜娜"),
        ("김민준", "full", "김민준"),
        ("Wang Xiaoming", "full", "Wang Xiaoming"),
        ("WANG XIAOMING", "full", "Wang Xiaoming"),
    ],
)
def test_normalise_name(raw: str, part: str, expected: str) -> None:
    assert normalise_name(raw, part).value == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "name_empty"),
        ("  ", "name_empty"),
        ("---", "name_no_letters"),
        ("123", "name_no_letters"),
    ],
)
def test_rejections(raw: str | None, reason: str) -> None:
    assert normalise_name(raw).reason == reason
    assert normalise_name(raw).value is None


@pytest.mark.parametrize("raw", ["TEST", "unknown", "N/A", "Okänd"])
def test_placeholders_are_warned(raw: str) -> None:
    result = normalise_name(raw)
    assert result.value is not None
    assert result.reason == "name_placeholder"


def test_unknown_part_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="middle"):
        normalise_name("Anna", "middle")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "given", "family"),
    [
        ("Anna Svensson", "Anna", "Svensson"),
        ("ANNA-KARIN SVENSSON", "Anna-Karin", "Svensson"),
        ("Anna Maria Lindqvist", "Anna Maria", "Lindqvist"),
        ("Jan van der Berg", "Jan", "van der Berg"),
        ("Svensson, Anna", "Anna", "Svensson"),
        ("öberg, åsa", "Åsa", "Öberg"),
        ("Madonna", "Madonna", None),
        ("王小明", "小明", "王"),
        ("王 小明", "小明", "王"),
        ("李娜", "娜", "李"),
        ("欧阳娜娜", "娜娜", "欧阳"),
        ("司马 光", "光", "司马"),
        ("김민준", "민준", "김"),
    ],
)
def test_split_name(raw: str, given: str | None, family: str | None) -> None:
    assert split_name(raw) == NameParts(given, family, None)


def test_split_name_rejections() -> None:
    assert split_name(None) == NameParts(None, None, "name_empty")
    assert split_name("!!") == NameParts(None, None, "name_no_letters")


@PROPERTY
@given(st.text(), st.sampled_from(("full", "given", "family")))
def test_never_raises_and_is_idempotent(text: str, part: str) -> None:
    first = normalise_name(text, part)  # type: ignore[arg-type]
    assert (first.value is None) == is_rejection(first.reason)
    if first.value is not None:
        assert normalise_name(first.value, part) == first  # type: ignore[arg-type]


names = st.lists(
    st.text(st.characters(codec="utf-8", categories=("L", "Zs", "Pd")), min_size=1, max_size=8),
    min_size=1,
    max_size=4,
).map(" ".join)


@PROPERTY
@given(names)
def test_split_parts_are_normalised_names(text: str) -> None:
    parts = split_name(text)
    for part in (parts.given, parts.family):
        if part is not None:
            assert normalise_name(part, "family").value is not None
