"""Name keys for matching: ASCII folding, pinyin, nicknames and order-insensitive full names.

Every function here is pure and vectorised: it takes an Arrow string array (or chunked array),
computes each *distinct* value once in Python and maps the results back with ``take``, so a million
records with fifty thousand distinct first names cost fifty thousand Python calls, not a million.
``None`` (null) stays null, and a value that folds to nothing (punctuation only) becomes null.

Folding
    Han characters become pinyin without tones (pypinyin, which reads polyphonic characters in
    context); every other script becomes ASCII (anyascii: Björn -> bjorn, Łukasz -> lukasz); the
    result is lower case with punctuation and runs of white space reduced to single spaces.
Han full names
    A Han name written without a space is family name first: 王秀英 is family 王 (wang), given
    秀英 (xiuying). Two-character compound surnames (欧阳, 司马, ...) are recognised.
Nicknames
    A hand-written table maps common English and Swedish diminutives and spelling variants to one
    canonical given name (Bill -> william, Kalle -> karl, Catherine -> katherine). Ambiguous
    diminutives map to their most common full name only (Chris -> christopher), so two different
    full names never share a key.

Examples
--------
>>> import pyarrow as pa
>>> fold(pa.array(["Björn", "SÖDERBERG", "王秀英", None, "--"])).to_pylist()
['bjorn', 'soderberg', 'wang xiuying', None, None]
>>> first_name_key(pa.array(["Bill", "WILLIAM", "Kalle", "Anna-Lena"])).to_pylist()
['william', 'william', 'karl', 'annalena']
>>> full_name_key(pa.array(["Xiuying Wang", "王秀英", "Wang  Xiuying"])).to_pylist()
['wang xiuying', 'wang xiuying', 'wang xiuying']
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
from anyascii import anyascii
from pypinyin import lazy_pinyin

__all__ = [
    "CHINESE_FAMILY_NAMES",
    "COMPOUND_SURNAMES",
    "GIVEN_NAMES",
    "NICKNAMES",
    "NICKNAME_ALTERNATIVES",
    "canonical_first_name",
    "compact",
    "first_name_key",
    "fold",
    "fold_name",
    "full_name_key",
    "is_pinyin",
    "map_distinct",
    "order_given_family",
    "slip_keys",
    "split_full_name",
    "split_han_name",
]

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_HAN_ONLY = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}$")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

# Two-character Chinese family names; every other Han family name is one character.
COMPOUND_SURNAMES = frozenset(
    ["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
     "司徒", "令狐", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "万俟", "闻人", "呼延"]
)  # fmt: skip

# canonical given name -> diminutives and spelling variants (all folded: ASCII, lower case).
_NICKNAME_GROUPS: dict[str, tuple[str, ...]] = {
    # English, men
    "william": ("bill", "billy", "will", "willy", "willie", "wills"),
    "robert": ("bob", "bobby", "rob", "robbie", "robby", "bert"),
    "richard": ("dick", "rick", "ricky", "rich", "richie", "ritchie"),
    "james": ("jim", "jimmy", "jamie", "jimbo"),
    "john": ("jack", "johnny", "jon", "jonny"),
    "michael": ("mike", "mikey", "mick", "micky", "mickey", "mikael", "micke", "mikkel"),
    "thomas": ("tom", "tommy", "tompa", "tomas"),
    "david": ("dave", "davey", "davie"),
    "daniel": ("dan", "danny"),
    "joseph": ("joe", "joey", "jos"),
    "christopher": ("chris", "kit", "kristoffer", "christoffer"),
    "matthew": ("matt", "matty", "mathew"),
    "nicholas": ("nick", "nicky", "nicolas", "nikolas"),
    "steven": ("steve", "stevie", "stephen"),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "anthony": ("tony", "antony"),
    "andrew": ("andy", "drew"),
    "alexander": ("alex", "alec", "sasha", "alexandre"),
    "samuel": ("sam", "sammy"),
    "benjamin": ("ben", "benny", "benji"),
    "peter": ("pete",),
    "gregory": ("greg",),
    "lawrence": ("larry", "laurence"),
    "gerald": ("gerry", "jerry"),
    "frederick": ("fred", "freddie", "freddy", "fredrik", "freddan", "frederik"),
    "henry": ("harry", "hank", "hal"),
    "charles": ("charlie", "chuck", "chas"),
    "kenneth": ("ken", "kenny"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donnie"),
    "timothy": ("tim", "timmy"),
    "philip": ("phil", "phillip", "filip"),
    "walter": ("walt", "wally"),
    "raymond": ("ray",),
    "patrick": ("pat", "paddy"),
    "nathan": ("nate", "nat"),
    "jonathan": ("jono",),
    "zachary": ("zach", "zack"),
    "jacob": ("jake",),
    "joshua": ("josh",),
    "oliver": ("ollie", "olly"),
    "leonard": ("leo", "len", "lenny"),
    "douglas": ("doug",),
    "stanley": ("stan",),
    "vincent": ("vince", "vinny"),
    # English, women
    "elizabeth": (
        "liz",
        "lizzie",
        "lizzy",
        "beth",
        "betty",
        "bette",
        "betsy",
        "eliza",
        "elisabeth",
        "elisabet",
        "lisbeth",
        "lisa",
    ),
    "katherine": (
        "kate",
        "katie",
        "kathy",
        "cathy",
        "kitty",
        "kat",
        "catherine",
        "kathryn",
        "katharine",
        "katarina",
        "katrin",
        "kattis",
        "cajsa",
    ),
    "margaret": ("maggie", "meg", "peggy", "madge", "margareta", "maggan"),
    "jennifer": ("jen", "jenny", "jenni"),
    "susan": ("sue", "susie", "suzy", "suzanne"),
    "deborah": ("debbie", "deb", "debra"),
    "rebecca": ("becky", "becca"),
    "abigail": ("abby", "abbie"),
    "victoria": ("vicky", "vickie", "tori"),
    "sandra": ("sandy",),
    "amanda": ("mandy",),
    "pamela": ("pam",),
    "jessica": ("jess", "jessie"),
    "anna": ("ann", "anne", "annie", "anja"),
    "mary": ("molly", "polly", "mamie"),
    "sarah": ("sara", "sally", "sadie"),
    "patricia": ("patty", "pattie", "trish", "tricia"),
    "cynthia": ("cindy",),
    "dorothy": ("dot", "dottie", "dolly"),
    "eleanor": ("ellie", "nell", "nellie", "elinor"),
    "christina": ("tina", "kristina", "christine", "kicki", "stina"),
    "alexandra": ("alex", "alexa", "lexi", "sasha"),
    "samantha": ("sam", "sammie", "sammy"),
    "olivia": ("liv", "livvy", "livia"),
    "charlotte": ("lottie", "lotta", "lotte", "charlie"),
    "emily": ("em", "emmy", "emmie"),
    "jose": ("pepe",),
    "jacqueline": ("jackie",),
    "josephine": ("josie", "jo"),
    "florence": ("flo", "flossie"),
    "gabrielle": ("gabby", "gabi"),
    "natalie": ("natalia",),
    "sophia": ("sophie", "sofia", "sofie", "sonja"),
    # Swedish (men)
    "karl": ("kalle", "carl", "calle"),
    "lars": ("lasse", "lalle"),
    "per": ("pelle", "peo"),
    "olof": ("olle", "ola", "olov"),
    "nils": ("nisse",),
    "jan": ("janne",),
    "bo": ("bosse",),
    "joakim": ("jocke", "joachim"),
    "gustav": ("gurra", "gustaf", "gus", "gösta", "gosta"),
    "goran": ("gote", "gorre"),
    "jorgen": ("jogge", "jurgen"),
    "oskar": ("ogge", "oscar"),
    "kjell": ("kjelle",),
    "sigurd": ("sigge",),
    "alf": ("affe",),
    "magnus": ("mange",),
    "hakan": ("hacke",),
    "ingemar": ("ingo",),
    "mattias": ("mackan", "matthias", "matias"),
    "markus": ("macke", "marcus"),
    "sebastian": ("sebbe",),
    "henrik": ("henke",),
    "johan": ("jojje",),
    "tobias": ("tobbe",),
    "anders": ("ante",),
    "andre": ("andree",),
    # Swedish (women)
    "birgitta": ("gittan", "birgit", "britta", "brita"),
    "ingrid": ("inga",),
    "karin": ("kajsa",),
    "maria": ("mia", "marie"),
    "linnea": ("linn", "linnee"),
    "ulrika": ("ulla",),
    "gunilla": ("gunnel",),
    "helena": ("lena", "helen", "helene"),
    "johanna": ("hanne",),
    "renee": ("rene",),
}

NICKNAMES: dict[str, str] = {}
for _canonical, _variants in _NICKNAME_GROUPS.items():
    for _variant in _variants:
        # The first group that names a variant keeps it: a key has one canonical name.
        NICKNAMES.setdefault(_variant, _canonical)
    NICKNAMES.setdefault(_canonical, _canonical)

#: A nickname shared by two names (Alex: Alexander or Alexandra) has its second name here; the
#: comparisons take either as a nickname agreement.
NICKNAME_ALTERNATIVES: dict[str, str] = {}
for _canonical, _variants in _NICKNAME_GROUPS.items():
    for _variant in _variants:
        if NICKNAMES[_variant] != _canonical:
            NICKNAME_ALTERNATIVES.setdefault(_variant, _canonical)
del _canonical, _variants, _variant

# Common given names beyond the nickname table, folded. Two *different* names from this list are
# two names, not a typo of one another (Maria/Marta, Anna/Hanna, Wei/Lei): the guards use it.
_COMMON_GIVEN = """
aaron adam adrian agnes aida alan albin alex alfred alice alicia alma alva amanda amelia amir amy
andre angela anita ann anne annika annie anton arvid astrid august axel barbara ben bengt berit
bertil bo britt brian bruce calle camilla carina caroline carl carla cecilia charlotte chloe
claes clara claire dag diana doris ebba edith elias elin eliza ella ellen elsa else elvira emil
emelie emilia emily emma eric erik erika esther eva evelina felix filip frans frida fredrika
gabriel gerd greta gun gunnar hampus hanna hannah hannes harald hedda helen hilda hugo ida ines
inger ingrid irene iris isak isabella ivan jack jakob jan jane jenny jens jesper jessica joel
jonas jonna josef julia julian kaj karin karina kasper kerstin kevin kim klara kristin lea leah
lena leo leon levi liam lina linda linn linnea lisa liv louise lovisa lucas lucy ludvig luna
lydia madeleine maja majken malin malte marcus maria marie marta martin mary matilda max maya
melvin mia mika mila milo mira moa molly my nadia nathalie nelly nils noah noel nora nova olivia
olle oscar otto paula paulina pauline petra philip rebecka rikard rita robin rosa ruben rut ruth
sam sandra sara selma sebastian signe simon siri sixten sonja stella stig susanne svea ted tea
tekla theo thea tilda tilde tim tina tobias tom tora tove ulla ulf valter vera viggo viktor
vilma wilma ylva yvonne
an bao bin bo chao chen cheng chun dan fang fei feng gang guang hai hao hong hua hui jian jiang
jie jin jing jun kai lan lei li lian liang lin ling lu mei min ming na nan ning peng ping qi
qian qiang qing rong rui shan shu tao ting wei wen xia xiang xiao xin xiu yan yang yi ying yong
yu yuan yun ze zhen zhi zhong
"""
GIVEN_NAMES = (
    frozenset(_COMMON_GIVEN.split()) | frozenset(NICKNAMES) | frozenset(NICKNAMES.values())
)


# The most common Chinese family names in pinyin (without tones), and the pinyin syllables: a
# name written family-name first in the given-name field is put back in order (see
# order_given_family).
CHINESE_FAMILY_NAMES = frozenset(
    """wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng
    liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du ye
    cheng su wei lv lu ding ren shen yao cui zhong tan fan jin shi liao jia xia fu fang bai zou
    meng xiong qin qiu yin xue yan duan lei hou long tao gu mao hao gong shao wan qian dai mo kong
    xiang chang kang niu hong ouyang sima zhuge shangguan dongfang huangfu murong""".split()  # noqa: SIM905 - a word list reads better as text
)
_INITIALS = ("", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh",
             "ch", "sh", "r", "z", "c", "s", "y", "w")  # fmt: skip
_FINALS = ("a", "o", "e", "i", "u", "v", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong",
           "er", "ia", "ie", "iao", "iu", "ian", "in", "iang", "ing", "iong", "ua", "uo", "uai",
           "ui", "uan", "un", "uang", "ue", "ve")  # fmt: skip
_SYLLABLES = frozenset(i + f for i in _INITIALS for f in _FINALS)


@lru_cache(maxsize=65536)
def _splits_into_syllables(rest: str, parts: int) -> bool:
    if not rest:
        return True
    if parts == 3:
        return False
    return any(
        rest[:n] in _SYLLABLES and _splits_into_syllables(rest[n:], parts + 1) for n in range(1, 7)
    )


def is_pinyin(word: str) -> bool:
    """Whether ``word`` splits into one to three pinyin syllables (xiuying, na; not berg).

    Examples
    --------
    >>> is_pinyin("xiuying"), is_pinyin("na"), is_pinyin("berg"), is_pinyin("anna")
    (True, True, False, True)
    """

    return bool(word) and _splits_into_syllables(word, 0)


def order_given_family(first: str | None, last: str | None) -> tuple[str | None, str | None]:
    """Put a pinyin name written family name first back as (given, family).

    Only when the first field is a common Chinese family name and the last is not, but is pinyin:
    "Wang Xiuying" -> (xiuying, wang); "Wei Wang" and "Lin Berg" stay as they are.

    Examples
    --------
    >>> order_given_family("wang", "xiuying"), order_given_family("lin", "berg")
    (('xiuying', 'wang'), ('lin', 'berg'))
    """
    if (
        first in CHINESE_FAMILY_NAMES
        and last is not None
        and last not in CHINESE_FAMILY_NAMES
        and is_pinyin(last)
    ):
        return last, first
    return first, last


# -- scalar functions (one value) ------------------------------------------------------------


def _to_ascii(text: str) -> str:
    """Han runs to pinyin syllables (space separated), everything else through anyascii."""
    if not _HAN.search(text):
        return anyascii(text)
    parts: list[str] = []
    position = 0
    for run in _HAN.finditer(text):
        parts.append(anyascii(text[position : run.start()]))
        parts.append(" " + " ".join(lazy_pinyin(run.group())) + " ")
        position = run.end()
    parts.append(anyascii(text[position:]))
    return "".join(parts)


@lru_cache(maxsize=65536)
def fold_name(text: str | None) -> str | None:
    """One value folded to lower-case ASCII words (see the module docstring).

    Han full names without a space are put family name first and the given name's syllables are
    joined, so 王秀英 and "Wang Xiuying" fold alike.

    Examples
    --------
    >>> fold_name("  Söderberg-Åkesson ")
    'soderberg akesson'
    >>> fold_name("王秀英"), fold_name("欧阳娜娜"), fold_name(None), fold_name("?!")
    ('wang xiuying', 'ouyang nana', None, None)
    """
    if text is None:
        return None
    han = split_han_name(text)
    if han is not None:
        return f"{han[0]} {han[1]}" if han[1] else han[0]
    folded = _NOT_ALNUM.sub(" ", _to_ascii(text).lower()).strip()
    return folded or None


def split_han_name(text: str | None) -> tuple[str, str] | None:
    """``(family, given)`` in pinyin for a Han-only name of two or more characters, else None.

    Examples
    --------
    >>> split_han_name("王秀英"), split_han_name("司马光"), split_han_name("Wang")
    (('wang', 'xiuying'), ('sima', 'guang'), None)
    """
    if text is None:
        return None
    text = text.strip()
    if not _HAN_ONLY.match(text):
        return None
    cut = 2 if text[:2] in COMPOUND_SURNAMES and len(text) > 2 else 1
    return "".join(lazy_pinyin(text[:cut])), "".join(lazy_pinyin(text[cut:]))


def compact(text: str | None) -> str | None:
    """A folded name without separators, for comparing one name part: "Anna-Lena" -> annalena.

    Examples
    --------
    >>> compact("Lillie-Hinrichs"), compact("王秀英")
    ('lilliehinrichs', 'wangxiuying')
    """
    folded = fold_name(text)
    return folded.replace(" ", "") if folded else None


def canonical_first_name(text: str | None) -> str | None:
    """The nickname-table key of a given name (the compact folded name when not in the table).

    Examples
    --------
    >>> canonical_first_name("Bill"), canonical_first_name("Lasse"), canonical_first_name("Zoë")
    ('william', 'lars', 'zoe')
    """
    name = compact(text)
    if name is None:
        return None
    return NICKNAMES.get(name, name)


def split_full_name(text: str | None) -> tuple[str | None, str | None]:
    """``(first, last)`` folded from a whole name in one field.

    A Han name without a space is family name first; otherwise the first word is the given name
    and the rest the family name ("Anna van der Berg" -> anna, vanderberg). One word is taken as
    the family name. Order errors are left to the comparison's swapped-name level.

    Examples
    --------
    >>> split_full_name("王秀英"), split_full_name("Anna van der Berg"), split_full_name("Smith")
    (('xiuying', 'wang'), ('anna', 'vanderberg'), (None, 'smith'))
    """
    if text is None:
        return None, None
    han = split_han_name(text)
    if han is not None:
        return (han[1] or None), han[0]
    folded = fold_name(text)
    if folded is None:
        return None, None
    words = folded.split(" ")
    if len(words) == 1:
        return None, words[0]
    return words[0], "".join(words[1:])


def _full_key(text: str | None) -> str | None:
    folded = fold_name(text)
    return " ".join(sorted(folded.split(" "))) if folded else None


# -- keyboard slips of known names ---------------------------------------------------------------

#: Names shorter than this are too short to read a slip in (``al`` is one slip from ten names).
_SLIP_MIN = 3


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@lru_cache(maxsize=1)
def _slip_index() -> dict[str, frozenset[str]]:
    """Each known given name and each of its one-letter deletions -> the names it comes from."""
    index: dict[str, set[str]] = {}
    for name in GIVEN_NAMES:
        if len(name) >= _SLIP_MIN:
            for variant in {name} | _deletions(name):
                index.setdefault(variant, set()).add(name)
    return {k: frozenset(v) for k, v in index.items()}


def _one_slip(a: str, b: str) -> bool:
    """One letter dropped, added, replaced, or two neighbours exchanged (``a != b``)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) != len(b):
        short, long_ = (a, b) if len(a) < len(b) else (b, a)
        return short in _deletions(long_)
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) == 1:
        return True
    i = diff[0] if len(diff) == 2 else -1
    return i >= 0 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]


def slip_keys(name: str | None) -> str | None:
    """The nickname-table keys of the known given names one keyboard slip from an unknown one.

    A first name that is no known given name may be a known one mistyped: "Billl" (Bill, so
    william), "Epr" (Per), "Jnn" (Jen, Jan, Jon, Ann...). The keys are written ``|key|key|`` so
    that SQL can look one up with ``instr``; a known name, a name shorter than three letters or
    one that is no slip of any known name gives None. Matching compares the keys with the other
    record's key: "Jnn" agrees with Jennifer (through Jen), and with Jan, but not with Maria.

    Examples
    --------
    >>> slip_keys("Billl"), slip_keys("Epr"), slip_keys("Bill"), slip_keys("Zqxv")
    ('|william|', '|per|', None, None)
    >>> "|jennifer|" in slip_keys("jnn")
    True
    """
    word = compact(name)
    if word is None or len(word) < _SLIP_MIN or word in GIVEN_NAMES:
        return None
    index = _slip_index()
    candidates: set[str] = set()
    for variant in {word} | _deletions(word):
        candidates |= index.get(variant, frozenset())
    keys = sorted({NICKNAMES.get(c, c) for c in candidates if _one_slip(word, c)})
    return "|" + "|".join(keys) + "|" if keys else None


# -- vectorised functions (Arrow arrays) ------------------------------------------------------


def map_distinct(
    values: pa.Array | pa.ChunkedArray, function: Callable[[str | None], str | None]
) -> pa.Array:
    """Apply a scalar string function to each distinct value once and map the results back.

    Examples
    --------
    >>> map_distinct(pa.array(["a", "b", "a", None]), str.upper).to_pylist()
    ['A', 'B', 'A', None]
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(values.type) and not pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    encoded = values.dictionary_encode()
    mapped = pa.array(
        [None if v is None else function(v) for v in encoded.dictionary.to_pylist()],
        pa.string(),
    )
    return mapped.take(encoded.indices)


def fold(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`fold_name` over an Arrow array."""
    return map_distinct(values, fold_name)


def first_name_key(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`canonical_first_name` over an Arrow array."""
    return map_distinct(values, canonical_first_name)


def full_name_key(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Order-insensitive key of whole names: folded words, sorted ("Xiuying Wang" = 王秀英)."""
    return map_distinct(values, _full_key)


def compact_names(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """:func:`compact` over an Arrow array."""
    return map_distinct(values, compact)


def join_names(first: pa.Array, last: pa.Array) -> pa.Array:
    """First and last name joined with a space, skipping nulls (null when both are null).

    Examples
    --------
    >>> join_names(pa.array(["ann", None, None]), pa.array(["lee", "wu", None])).to_pylist()
    ['ann lee', 'wu', None]
    """
    # binary_join_element_wise(null_handling="skip") drops rows in pyarrow 26; compose instead.
    both = pc.binary_join_element_wise(first, last, " ")
    return pc.coalesce(both, first, last)
