"""Name keys: folding, pinyin, nicknames and order-insensitive full names."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insightloop.identity import names

# Latin with diacritics, Han, punctuation and white space: what person files contain.
_TEXT = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZåäöÅÄÖéüß-' .,")
        + list("王秀英李伟张芳欧阳司马")
    ),
    max_size=20,
)
_MAYBE = st.one_of(st.none(), _TEXT)


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("Björn", "bjorn"),
        ("SÖDERBERG", "soderberg"),
        ("  Anna-Lena  ", "anna lena"),
        ("王秀英", "wang xiuying"),
        ("欧阳娜娜", "ouyang nana"),
        ("Łukasz", "lukasz"),
        ("?!", None),
        (None, None),
    ],
)
def test_fold_name(raw: str | None, folded: str | None) -> None:
    assert names.fold_name(raw) == folded


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Bill", "William"),
        ("bob", "Robert"),
        ("Kalle", "Karl"),
        ("Lasse", "LARS"),
        ("Björn", "Bjorn"),
        ("Catherine", "Katherine"),
        ("Pelle", "Per"),
    ],
)
def test_nicknames_and_spellings_share_a_key(a: str, b: str) -> None:
    assert names.canonical_first_name(a) == names.canonical_first_name(b)


@pytest.mark.parametrize(("a", "b"), [("Maria", "Maja"), ("Johan", "Johanna"), ("Hanna", "Anna")])
def test_different_names_keep_different_keys(a: str, b: str) -> None:
    assert names.canonical_first_name(a) != names.canonical_first_name(b)


def test_han_names_split_family_first_and_compound_surnames() -> None:
    assert names.split_han_name("王秀英") == ("wang", "xiuying")
    assert names.split_han_name("司马光") == ("sima", "guang")
    assert names.split_full_name("王秀英") == ("xiuying", "wang")
    assert names.split_full_name("Xiuying Wang") == ("xiuying", "wang")


def test_full_name_key_is_order_insensitive_across_scripts() -> None:
    keys = names.full_name_key(pa.array(["Xiuying Wang", "王秀英", "WANG Xiuying", None]))
    assert keys.to_pylist() == ["wang xiuying"] * 3 + [None]


def test_vectorised_functions_compute_each_distinct_value_once() -> None:
    calls: list[str] = []

    def upper(value: str | None) -> str | None:
        calls.append(str(value))
        return value.upper() if value else value

    out = names.map_distinct(pa.chunked_array([["a", "b"], ["a", None, "b"]]), upper)
    assert out.to_pylist() == ["A", "B", "A", None, "B"]
    assert sorted(calls) == ["a", "b"]


@given(_MAYBE)
def test_fold_is_idempotent(value: str | None) -> None:
    once = names.fold_name(value)
    assert names.fold_name(once) == once


@given(_MAYBE)
def test_fold_is_case_insensitive_and_ascii(value: str | None) -> None:
    folded = names.fold_name(value)
    assert folded == names.fold_name(value.upper() if value is not None else None)
    assert folded is None or (folded.isascii() and folded == folded.lower() and folded.strip())


@given(_MAYBE)
def test_first_name_key_is_idempotent_and_case_insensitive(value: str | None) -> None:
    key = names.canonical_first_name(value)
    assert names.canonical_first_name(key) == key
    assert key == names.canonical_first_name(value.swapcase() if value is not None else None)


@given(_MAYBE, _MAYBE)
def test_full_name_key_ignores_word_order(first: str | None, last: str | None) -> None:
    f, la = pa.array([first], pa.string()), pa.array([last], pa.string())
    a = names.full_name_key(names.join_names(f, la))
    b = names.full_name_key(names.join_names(la, f))
    assert a.to_pylist() == b.to_pylist()


def test_none_stays_none() -> None:
    for function in (names.fold, names.first_name_key, names.full_name_key, names.compact_names):
        assert function(pa.array([None], pa.string())).to_pylist() == [None]


def test_a_shared_nickname_agrees_with_both_names() -> None:
    nick, alt = names.NICKNAMES, names.NICKNAME_ALTERNATIVES
    assert {nick["alex"], alt["alex"]} == {"alexander", "alexandra"}
    assert {nick["sam"], alt["sam"]} == {"samuel", "samantha"}
    assert "bill" not in alt


def test_every_nickname_of_the_demo_company_is_known() -> None:
    from insightloop.demo import names as demo_names

    for table in (demo_names._SV_FIRST, demo_names._EN_FIRST):
        for full, _, nick in table:
            if not nick:
                continue
            key = names.canonical_first_name(nick)
            alt = names.NICKNAME_ALTERNATIVES.get(names.compact(nick) or "", key)
            assert names.canonical_first_name(full) in {key, alt}, (full, nick)


_KNOWN = sorted(n for n in names.GIVEN_NAMES if len(n) >= 3 and n.isascii() and n.isalpha())


@st.composite
def _slipped(draw: st.DrawFn) -> tuple[str, str]:
    """A known given name and the same name with one keyboard slip."""
    name = draw(st.sampled_from(_KNOWN))
    i = draw(st.integers(0, len(name) - 1))
    letter = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    slips = [
        name[:i] + name[i + 1 :],  # dropped
        name[:i] + letter + name[i:],  # added
        name[:i] + letter + name[i + 1 :],  # replaced
    ]
    if i + 1 < len(name):
        slips.append(name[:i] + name[i + 1] + name[i] + name[i + 2 :])  # neighbours exchanged
    return name, draw(st.sampled_from(slips))


@given(_slipped())
def test_a_slip_of_a_known_name_leads_back_to_its_key(case: tuple[str, str]) -> None:
    name, slipped = case
    keys = names.slip_keys(slipped.title())
    if slipped in names.GIVEN_NAMES or len(slipped) < 3:
        assert keys is None  # a known or too short name is read as it is
    else:
        assert keys is not None
        assert f"|{names.canonical_first_name(name)}|" in keys


@pytest.mark.parametrize("value", ["William", "Per", "Jo", None, "Xqzvw", "王秀英"])
def test_known_short_and_unreadable_names_have_no_slip_keys(value: str | None) -> None:
    assert names.slip_keys(value) is None


def test_slip_keys_name_only_names_one_slip_away() -> None:
    assert names.slip_keys("Epr") == "|per|"
    assert names.slip_keys("Billl") == "|william|"
    keys = names.slip_keys("Jnn") or ""
    assert {"jennifer", "jan", "john"} <= set(keys.strip("|").split("|"))
    assert "maria" not in keys
