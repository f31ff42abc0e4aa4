"""Person names: clean spelling and casing, and a split of a full name into given and family name.

Rules, all deterministic:

- Unicode NFKC (full-width letters become ASCII), one apostrophe (U+2019 becomes ``'``),
  white space collapsed and stripped; spaces between two CJK characters removed (``王 小明``).
- A word typed all in upper or all in lower case is re-cased per part between hyphens, apostrophes
  and full stops (``ANNA-KARIN o'neil`` becomes ``Anna-Karin O'Neil``); ``Mc`` takes a capital
  after it (``MCDONALD`` becomes ``McDonald``), ``Mac`` does not (``Mack``, ``Macy``). A word in
  mixed case (``McDonald``, ``MacLeod``, ``DiCaprio``) is kept as the source spelled it.
- Name particles (``van``, ``der``, ``de``, ``von``, ``af``, ...) typed in one case are written in
  lower case, except as the first word of a full or given name (``Van Morrison``).
- CJK text has no case and is left as it is.

Limits: one deterministic rule cannot know every culture. Japanese names written in kanji are
split after the first character like Chinese ones (many Japanese family names have two); Western
suffixes (``Jr``, ``III``) stay in the family name; a single word is taken as the given name.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from insightloop.errors import ConfigError
from insightloop.ingest.normalise.reasons import Normalised
from insightloop.ingest.normalise.text import (
    CJK,
    fixpoint,
    has_letter,
    join_cjk,
    needs_recasing,
    recase_word,
    squash,
)

__all__ = ["NamePart", "NameParts", "normalise_name", "split_name"]

NamePart = Literal["full", "given", "family"]

PARTICLES = frozenset(
    {"af", "av", "da", "das", "de", "del", "della", "den", "der", "di", "do", "dos", "du", "la"}
    | {"le", "ten", "ter", "van", "von", "zu"}
)
"""Lower-case words that start a family name (Dutch, German, Swedish, Romance languages)."""

PLACEHOLDERS = frozenset(
    {"asdf", "customer", "kund", "n/a", "na", "no name", "noname", "none", "null", "okänd"}
    | {"test", "unknown", "xxx"}
)
"""Names front desks type when the customer gave none (warned, not rejected)."""

# Two-character Chinese and Korean family names; every other CJK family name is one character.
COMPOUND_FAMILY_NAMES = frozenset(
    {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文"}
    | {"司徒", "夏侯", "轩辕", "令狐", "钟离", "端木", "歐陽", "諸葛", "南宫"}
    | {"남궁", "황보", "제갈", "선우", "독고"}
)

_PARTS: tuple[NamePart, ...] = ("full", "given", "family")


@dataclass(frozen=True, slots=True)
class NameParts:
    """A full name split in two; ``None`` where a part is unknown, with the reason if rejected."""

    given: str | None
    family: str | None
    reason: str | None = None


def _recase(text: str, part: NamePart) -> str:
    words = text.split(" ")
    out: list[str] = []
    for position, word in enumerate(words):
        if not needs_recasing(word):
            out.append(word)
        elif (
            word.lower() in PARTICLES
            and position < len(words) - 1
            and (position > 0 or part == "family")
        ):
            out.append(word.lower())
        else:
            out.append(recase_word(word))
    return squash(" ".join(out))


def _clean(text: str, part: NamePart) -> str:
    return fixpoint(lambda s: join_cjk(_recase(squash(s), part)), text)


@lru_cache(maxsize=65_536)
def _normalise(text: str, part: NamePart) -> Normalised[str]:
    cleaned = _clean(text, part)
    if not cleaned:
        return Normalised(None, "name_empty")
    if not has_letter(cleaned):
        return Normalised(None, "name_no_letters")
    return Normalised(cleaned, "name_placeholder" if cleaned.lower() in PLACEHOLDERS else None)


def _check_part(part: str) -> NamePart:
    for known in _PARTS:
        if part == known:
            return known
    raise ConfigError(f"Unknown name part {part!r}.", hint="Use 'full', 'given' or 'family'.")


def normalise_name(text: str | None, part: NamePart = "full") -> Normalised[str]:
    """Normalise a person's name (full, given or family) for storage and matching.

    Parameters
    ----------
    text
        The name as received.
    part
        What the field holds: ``"full"`` (default), ``"given"`` or ``"family"``. A family name
        may start with a particle (``van der Berg``); a full or given name may not.

    Returns
    -------
    Normalised[str]
        The name, or ``None`` with ``name_empty`` or ``name_no_letters``; a placeholder such as
        ``unknown`` keeps its value with the warning ``name_placeholder``.

    Examples
    --------
    >>> normalise_name("  ANNA-KARIN   o'neil ").value
    "Anna-Karin O'Neil"
    >>> normalise_name("JAN VAN DER BERG").value, normalise_name("VAN DER BERG", "family").value
    ('Jan van der Berg', 'van der Berg')
    >>> normalise_name("MacLeod").value, normalise_name("åsa ÖBERG").value
    ('MacLeod', 'Åsa Öberg')
    >>> normalise_name("王 小明").value
    '王小明'
    """
    checked = _check_part(part)
    if text is None:
        return Normalised(None, "name_empty")
    return _normalise(text, checked)


def _split_cjk(words: list[str]) -> tuple[str, str | None]:
    if len(words) > 1:
        return words[0], "".join(words[1:])
    word = words[0]
    width = 2 if len(word) > 2 and word[:2] in COMPOUND_FAMILY_NAMES else 1
    return word[:width], word[width:] or None


@lru_cache(maxsize=65_536)
def _split(text: str) -> NameParts:
    squashed = squash(text)
    if "," in squashed:
        family_text, _, given_text = squashed.partition(",")
        family = normalise_name(family_text, "family").value
        given = normalise_name(given_text, "given").value
        if family and given:
            return NameParts(given, family)
        squashed = squashed.replace(",", " ")
    whole = _normalise(squashed, "full")
    if whole.value is None:
        return NameParts(None, None, whole.reason)
    words = squash(squashed).split(" ")
    if CJK.match(squashed) and not any(ch.isascii() and ch.isalpha() for ch in squashed):
        family_cjk, given_cjk = _split_cjk(words)
        return NameParts(_letters(given_cjk), _letters(family_cjk), whole.reason)
    words = whole.value.split(" ")
    if len(words) == 1:
        return NameParts(_letters(words[0]), None, whole.reason)
    start = next(
        (i for i in range(1, len(words) - 1) if words[i].lower() in PARTICLES), len(words) - 1
    )
    given, family = " ".join(words[:start]), " ".join(words[start:])
    return NameParts(_letters(given), _letters(family), whole.reason)


def _letters(part: str | None) -> str | None:
    return part if part and has_letter(part) else None


def split_name(text: str | None) -> NameParts:
    """Split a full name into given and family name, each normalised like :func:`normalise_name`.

    Western order is assumed (``Anna Maria Svensson``), unless a comma says otherwise
    (``Svensson, Anna``). The family name starts at the first particle after the first word
    (``Jan van der Berg``), else it is the last word. A CJK name puts the family name first: the
    first word when there are spaces, else its first character (two for the compound family names
    in :data:`COMPOUND_FAMILY_NAMES`).

    Examples
    --------
    >>> split_name("ANNA-KARIN SVENSSON")
    NameParts(given='Anna-Karin', family='Svensson', reason=None)
    >>> split_name("jan van der berg")
    NameParts(given='Jan', family='van der Berg', reason=None)
    >>> split_name("Öberg, Åsa")
    NameParts(given='Åsa', family='Öberg', reason=None)
    >>> split_name("王小明"), split_name("欧阳娜娜").family
    (NameParts(given='小明', family='王', reason=None), '欧阳')
    """
    if text is None:
        return NameParts(None, None, "name_empty")
    return _split(text)
