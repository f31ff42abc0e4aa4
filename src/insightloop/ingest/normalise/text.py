"""Text clean-up shared by the name and address normalisers: Unicode forms, spaces and casing.

Casing is repaired only where a source lost it: a word typed all in upper case (``ANNA``) or all
in lower case (``anna``) is re-cased; a word in mixed case (``McDonald``, ``MacLeod``, ``DiCaprio``)
is kept as the source spelled it, because the source knew better than any rule.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

__all__ = [
    "CJK",
    "collapse",
    "fixpoint",
    "has_letter",
    "join_cjk",
    "needs_recasing",
    "recase_word",
    "squash",
]

# Apostrophe look-alikes that sources mix freely in names such as O'Neil. Translated before NFKC,
# which would turn the acute accent into a space and a combining mark.
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2019\u2018\u02bc\u00b4`\u2032", "'"))

CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u3130-\u318f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f]"
)
"""One character of a CJK script (Han, Kana, Hangul, Bopomofo): these have no letter case."""

_CJK_GAP = re.compile(f"(?<={CJK.pattern}) (?={CJK.pattern})")
_PIECES = re.compile(r"([-'.])")


def collapse(text: str) -> str:
    """Strip ``text`` and collapse every run of Unicode white space to one space.

    Examples
    --------
    >>> collapse("  Anna \\t  Karin\\u00a0 ")
    'Anna Karin'
    """
    return " ".join(text.split())


def squash(text: str) -> str:
    """NFKC, one kind of apostrophe, and collapsed white space: the first step of every cleaner.

    Examples
    --------
    >>> squash("O\\u2019NEIL  \\uff21nna")
    "O'NEIL Anna"
    """
    return collapse(unicodedata.normalize("NFKC", text.translate(_APOSTROPHES)))


def join_cjk(text: str) -> str:
    """Remove single spaces between two CJK characters (``王 小明`` becomes ``王小明``).

    Examples
    --------
    >>> join_cjk("王 小明 Wang")
    '王小明 Wang'
    """
    return _CJK_GAP.sub("", text)


def has_letter(text: str) -> bool:
    """Whether ``text`` holds at least one letter of any script.

    Examples
    --------
    >>> has_letter("--"), has_letter("å"), has_letter("王")
    (False, True, True)
    """
    return any(ch.isalpha() for ch in text)


def needs_recasing(word: str) -> bool:
    """Whether ``word`` is all upper or all lower case (and has cased letters at all).

    Examples
    --------
    >>> needs_recasing("ANNA"), needs_recasing("anna"), needs_recasing("McDonald")
    (True, True, False)
    """
    return word.isupper() or word.islower()


def _capitalise(piece: str) -> str:
    lower = piece.lower()
    for i, ch in enumerate(lower):
        if ch.isalpha():
            if lower.startswith("mc", i) and len(lower) > i + 2 and lower[i + 2].isalpha():
                # Mc is always followed by a capital; Mac is not (Mack, Macy), so only Mc is fixed.
                return lower[:i] + "Mc" + lower[i + 2].title() + lower[i + 3 :]
            return lower[:i] + ch.title() + lower[i + 1 :]
    return lower


def recase_word(word: str) -> str:
    """Capitalise each part of ``word`` between hyphens, apostrophes and full stops.

    Examples
    --------
    >>> recase_word("anna-karin"), recase_word("O'NEIL"), recase_word("mcdonald")
    ('Anna-Karin', "O'Neil", 'McDonald')
    >>> recase_word("J.R.")
    'J.R.'
    """
    return "".join(_capitalise(piece) for piece in _PIECES.split(word))


def fixpoint(step: Callable[[str], str], text: str, *, rounds: int = 4) -> str:
    """Apply ``step`` until the text stops changing (at most ``rounds`` times).

    Unicode case mappings are not closed under NFKC for a few exotic characters; iterating makes
    the cleaners idempotent by construction instead of by a list of exceptions.

    Examples
    --------
    >>> fixpoint(lambda s: s[:-1] if s.endswith("!") else s, "hi!!!")
    'hi'
    """
    for _ in range(rounds):
        following = step(text)
        if following == text:
            break
        text = following
    return text
