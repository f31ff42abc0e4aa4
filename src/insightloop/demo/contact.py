"""Contact details as each system records them: true values, and the mess systems add.

True e-mail addresses are unique per person and version (a person may change address once), and
all live under the reserved ``.example`` top-level domain, so no generated address can reach a
real mailbox. Messy variants (nicknames, typos, upper case, ASCII spellings, pinyin) are drawn per
record, so two records of one person rarely agree exactly.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo import geo
from insightloop.demo.fmt import concat, int_str, scramble, take
from insightloop.demo.names import FIRST, LAST
from insightloop.demo.population import Persons

__all__ = [
    "JUNK_EMAILS",
    "JUNK_PHONES",
    "email_at",
    "email_of",
    "full_name",
    "landline_of",
    "mobile_of",
    "name_parts",
    "pick",
    "typo",
]

JUNK_EMAILS = ("noemail@store.example", "test@test.example")
JUNK_PHONES = ("0000000", "0700000000")
_DOMAINS = {
    "sv": ("mejl.example", "telia.example", "post.example", "bredband.example"),
    "en": ("mail.example", "inbox.example", "webmail.example", "postbox.example"),
    "zh": ("qq.example", "163.example", "126.example", "mail.example"),
}
_DOMAIN_POOL = pa.array([d for lang in ("sv", "en", "zh") for d in _DOMAINS[lang]])
_TYPO_WIDTH = 40


def _ascii_lower(values: pa.Array) -> pa.Array:
    out = pc.utf8_lower(values)
    for char in ("'", " ", "-"):
        out = pc.replace_substring(out, char, "")
    return out


def email_of(persons: Persons, idx: np.ndarray, version: np.ndarray, tag_modulus: int) -> pa.Array:
    """The true address of persons ``idx`` in ``version`` 0 (original) or 1 (after a change).

    The numeric tag is a bijection of the person's global index and version, so addresses never
    collide between persons even when their names do.
    """
    gidx = persons.gidx[idx]
    code = gidx * 2 + version
    tag = int_str(scramble(code, tag_modulus, 17))
    mixer = scramble(code, 10_000, 29)
    style = mixer % 5
    language = persons.language[idx]
    offset = np.select([language == "sv", language == "en"], [0, 4], 8)
    domain = take(_DOMAIN_POOL, offset + (mixer // 5) % 4)
    first = _ascii_lower(take(FIRST.ascii, persons.first[idx]))
    last = _ascii_lower(take(LAST.ascii, persons.last[idx]))
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    forms = (
        concat(first, ".", last, tag),
        concat(initial, last, tag),
        concat(first, "_", last, tag),
        concat(last, ".", first, tag),
        concat(first, last, tag),
    )
    local = forms[0]
    for k in range(1, len(forms)):
        local = pc.if_else(pa.array(style == k), forms[k], local)
    # Many Chinese mailboxes are numeric (QQ numbers).
    numeric = (language == "zh") & (style >= 3)
    local = pc.if_else(pa.array(numeric), concat("8", tag), local)
    return concat(local, "@", domain)


def email_at(persons: Persons, idx: np.ndarray, day: np.ndarray, tag_modulus: int) -> pa.Array:
    """The address person ``idx`` used on ``day`` (the new one after their change date)."""
    version = (day >= persons.email_change[idx]).astype(np.int64)
    return email_of(persons, idx, version, tag_modulus)


def name_parts(
    rng: np.random.Generator,
    persons: Persons,
    idx: np.ndarray,
    *,
    nickname: float | np.ndarray = 0.0,
    ascii_: float | np.ndarray = 0.0,
    typo_rate: float | np.ndarray = 0.0,
    upper: float | np.ndarray = 0.0,
) -> tuple[pa.Array, pa.Array]:
    """(first, last) as one system recorded them, with the given rates of mess.

    ``ascii_`` writes Swedish and English names without diacritics and Chinese names in pinyin.
    """
    n = len(idx)
    first_pos = persons.first[idx]
    use_nick = (rng.random(n) < nickname) & FIRST.has_nickname[first_pos]
    first = take(FIRST.text, first_pos)
    first = pc.if_else(pa.array(use_nick), take(FIRST.nickname, first_pos), first)
    last = take(LAST.text, persons.last[idx])
    use_ascii = pa.array(rng.random(n) < ascii_)
    first = pc.if_else(use_ascii, take(FIRST.ascii, first_pos), first)
    last = pc.if_else(use_ascii, take(LAST.ascii, persons.last[idx]), last)
    which = rng.random(n)
    first = typo(rng, first, which < typo_rate / 2)
    last = typo(rng, last, (which >= typo_rate / 2) & (which < typo_rate))
    shout = pa.array(rng.random(n) < upper)
    return pc.if_else(shout, pc.utf8_upper(first), first), pc.if_else(
        shout, pc.utf8_upper(last), last
    )


def full_name(
    first: pa.Array, last: pa.Array, language: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """One-field names: ``First Last``; Chinese in Han characters without a space, and pinyin
    names in either order (``Wang Xiuying`` / ``Xiuying Wang``)."""
    western = concat(first, " ", last)
    han = pc.match_substring_regex(first, r"^[\x{4e00}-\x{9fff}]")
    chinese_order = pc.if_else(han, concat(last, first), concat(last, " ", first))
    pinyin_swapped = pc.and_(pc.invert(han), pa.array(rng.random(len(language)) < 0.5))
    chinese = pc.if_else(pinyin_swapped, western, chinese_order)
    return pc.if_else(pa.array(language == "zh"), chinese, western)


def typo(rng: np.random.Generator, values: pa.Array, mask: np.ndarray) -> pa.Array:
    """Introduce one keyboard slip (drop, double, swap or replace a letter) where ``mask``."""
    rows = np.flatnonzero(mask & (np.asarray(pc.fill_null(pc.utf8_length(values), 0)) >= 3))
    if len(rows) == 0:
        return values
    text = np.array(values.take(pa.array(rows)).to_pylist(), dtype=f"<U{_TYPO_WIDTH}")
    codes = text.view(np.uint32).reshape(len(rows), _TYPO_WIDTH).copy()
    length = (codes > 0).sum(axis=1)
    pos = 1 + (rng.random(len(rows)) * (length - 2)).astype(np.int64)
    op = rng.integers(0, 4, len(rows))
    cols = np.arange(_TYPO_WIDTH)
    shifted_left = np.concatenate([codes[:, 1:], np.zeros((len(rows), 1), np.uint32)], axis=1)
    shifted_right = np.concatenate([codes[:, :1], codes[:, :-1]], axis=1)
    after = cols[None, :] > pos[:, None]
    at = cols[None, :] == pos[:, None]
    drop = np.where(cols[None, :] >= pos[:, None], shifted_left, codes)
    double = np.where(after, shifted_right, codes)
    swap = codes.copy()
    r = np.arange(len(rows))
    swap[r, pos], swap[r, pos - 1] = codes[r, pos - 1], codes[r, pos]
    replace = np.where(at, codes[r, (pos + 1) % length][:, None], codes)
    out = np.select(
        [op[:, None] == 0, op[:, None] == 1, op[:, None] == 2], [drop, double, swap], replace
    )
    result = pa.array(out.view(f"<U{_TYPO_WIDTH}").ravel())
    index = np.full(len(values), -1, dtype=np.int64)
    index[rows] = np.arange(len(rows))
    changed = pa.array(index >= 0)
    return pc.if_else(changed, result.take(pa.array(np.maximum(index, 0))), values)


def mobile_of(persons: Persons, idx: np.ndarray, style: np.ndarray) -> pa.Array:
    """Person's mobile number rendered in ``style`` (0-4, see :data:`geo.MOBILE_STYLES`)."""
    return geo.mobile_number(persons.country[idx], persons.mobile[idx], style)


def landline_of(persons: Persons, idx: np.ndarray, style: np.ndarray) -> pa.Array:
    """Household landline (null where the household has none)."""
    values = geo.landline(persons.city[idx], persons.household[idx], style)
    return pc.if_else(pa.array(persons.has_landline[idx]), values, pa.nulls(len(idx), pa.string()))


def pick(n: int, choices: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Choose per row among alternatives given as (mask, full-length values); first match wins."""
    out = pa.nulls(n, pa.string())
    for mask, values in reversed(choices):
        out = pc.if_else(pa.array(mask), values, out)
    return out
