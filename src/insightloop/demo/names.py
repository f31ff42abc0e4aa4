"""Name pools of the demo company's three languages, with nicknames and transliterations.

Pools are plain tuples turned into Arrow arrays once; persons hold integer positions into them, so
nicknames (Bill for William, Kalle for Karl), ASCII spellings (Bjorn for Björn) and pinyin
(Wang Xiuying for 王秀英) are array lookups, not string work per person. No value contains a
double quote or a backslash, so JSON and CSV writers can rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["FIRST", "LAST", "NamePool", "fold_ascii"]

# (name, sex, nickname) — sex 0 = female, 1 = male; nickname "" when none is in common use.
_SV_FIRST = (
    ("Anna", 0, "Annie"),
    ("Eva", 0, ""),
    ("Maria", 0, "Mia"),
    ("Karin", 0, "Kajsa"),
    ("Kristina", 0, "Kicki"),
    ("Margareta", 0, "Maggan"),
    ("Birgitta", 0, "Gittan"),
    ("Åsa", 0, ""),
    ("Linnéa", 0, "Linn"),
    ("Märta", 0, ""),
    ("Maja", 0, ""),
    ("Elsa", 0, ""),
    ("Ebba", 0, ""),
    ("Ingrid", 0, "Inga"),
    ("Agnes", 0, ""),
    ("Saga", 0, ""),
    ("Tove", 0, ""),
    ("Frida", 0, ""),
    ("Hanna", 0, ""),
    ("Renée", 0, ""),
    ("Annika", 0, ""),
    ("Malin", 0, ""),
    ("Sofia", 0, "Sofie"),
    ("Katarina", 0, "Kattis"),
    ("Elisabet", 0, "Lisa"),
    ("Karl", 1, "Kalle"),
    ("Lars", 1, "Lasse"),
    ("Nils", 1, "Nisse"),
    ("Per", 1, "Pelle"),
    ("Joakim", 1, "Jocke"),
    ("Olof", 1, "Olle"),
    ("Gustav", 1, "Gurra"),
    ("Mikael", 1, "Micke"),
    ("Thomas", 1, "Tompa"),
    ("Fredrik", 1, "Freddan"),
    ("Erik", 1, ""),
    ("Anders", 1, ""),
    ("Johan", 1, ""),
    ("Björn", 1, ""),
    ("Göran", 1, "Göte"),
    ("Jörgen", 1, "Jögge"),
    ("Håkan", 1, ""),
    ("Måns", 1, ""),
    ("Sören", 1, ""),
    ("Åke", 1, ""),
    ("Oskar", 1, "Ogge"),
    ("Axel", 1, ""),
    ("Hugo", 1, ""),
    ("Elias", 1, ""),
    ("André", 1, ""),
)
_SV_LAST = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Jönsson",
    "Lindberg",
    "Lindström",
    "Lindqvist",
    "Lundgren",
    "Bergström",
    "Lundberg",
    "Sjöberg",
    "Åberg",
    "Öberg",
    "Ström",
    "Hellström",
    "Söderberg",
    "Berglund",
    "Sandström",
    "Fredén",
    "Lindén",
    "Åkesson",
    "Björk",
    "Engström",
    "Ekström",
    "Nordström",
    "Holmström",
    "Dahlén",
    "Löfgren",
)
_EN_FIRST = (
    ("Elizabeth", 0, "Liz"),
    ("Margaret", 0, "Maggie"),
    ("Jennifer", 0, "Jen"),
    ("Katherine", 0, "Kate"),
    ("Susan", 0, "Sue"),
    ("Jessica", 0, "Jess"),
    ("Sarah", 0, ""),
    ("Emily", 0, "Em"),
    ("Rebecca", 0, "Becky"),
    ("Victoria", 0, "Vicky"),
    ("Patricia", 0, "Patty"),
    ("Deborah", 0, "Debbie"),
    ("Siobhán", 0, ""),
    ("Aoife", 0, ""),
    ("Emma", 0, ""),
    ("Olivia", 0, "Liv"),
    ("Charlotte", 0, "Lottie"),
    ("Alexandra", 0, "Alex"),
    ("Samantha", 0, "Sam"),
    ("Abigail", 0, "Abby"),
    ("Chloë", 0, ""),
    ("María", 0, ""),
    ("Niamh", 0, ""),
    ("Grace", 0, ""),
    ("Hannah", 0, ""),
    ("William", 1, "Bill"),
    ("Robert", 1, "Bob"),
    ("James", 1, "Jim"),
    ("John", 1, "Jack"),
    ("Michael", 1, "Mike"),
    ("David", 1, "Dave"),
    ("Richard", 1, "Rick"),
    ("Thomas", 1, "Tom"),
    ("Charles", 1, "Charlie"),
    ("Joseph", 1, "Joe"),
    ("Christopher", 1, "Chris"),
    ("Daniel", 1, "Dan"),
    ("Matthew", 1, "Matt"),
    ("Andrew", 1, "Andy"),
    ("Edward", 1, "Ed"),
    ("Anthony", 1, "Tony"),
    ("Patrick", 1, "Paddy"),
    ("Seán", 1, ""),
    ("Liam", 1, ""),
    ("Oliver", 1, "Ollie"),
    ("José", 1, "Pepe"),
    ("Benjamin", 1, "Ben"),
    ("Samuel", 1, "Sam"),
    ("Henry", 1, "Harry"),
    ("Nicholas", 1, "Nick"),
)
_EN_LAST = (
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Murphy",
    "Kelly",
    "O'Sullivan",
    "Walsh",
    "O'Brien",
    "Byrne",
    "Ryan",
    "O'Connor",
    "Miller",
    "Davis",
    "García",
    "Rodríguez",
    "Martínez",
    "Anderson",
    "Jackson",
    "Harris",
    "Clark",
    "Lewis",
    "Young",
    "King",
)
# Chinese given names (Han, pinyin, sex) and surnames (Han, pinyin).
_ZH_FIRST = (
    ("芳", "Fang", 0),
    ("娜", "Na", 0),
    ("秀英", "Xiuying", 0),
    ("敏", "Min", 0),
    ("静", "Jing", 0),
    ("丽", "Li", 0),
    ("艳", "Yan", 0),
    ("娟", "Juan", 0),
    ("霞", "Xia", 0),
    ("秀兰", "Xiulan", 0),
    ("桂英", "Guiying", 0),
    ("梓萱", "Zixuan", 0),
    ("雨桐", "Yutong", 0),
    ("欣怡", "Xinyi", 0),
    ("婷", "Ting", 0),
    ("玉兰", "Yulan", 0),
    ("慧", "Hui", 0),
    ("伟", "Wei", 1),
    ("强", "Qiang", 1),
    ("磊", "Lei", 1),
    ("军", "Jun", 1),
    ("洋", "Yang", 1),
    ("勇", "Yong", 1),
    ("杰", "Jie", 1),
    ("涛", "Tao", 1),
    ("明", "Ming", 1),
    ("超", "Chao", 1),
    ("平", "Ping", 1),
    ("刚", "Gang", 1),
    ("建华", "Jianhua", 1),
    ("晓明", "Xiaoming", 1),
    ("浩然", "Haoran", 1),
    ("宇轩", "Yuxuan", 1),
    ("子涵", "Zihan", 1),
    ("志强", "Zhiqiang", 1),
)
_ZH_LAST = (
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("林", "Lin"),
    ("罗", "Luo"),
    ("高", "Gao"),
    ("郑", "Zheng"),
    ("梁", "Liang"),
)

_FOLD = str.maketrans(
    {
        "å": "a",
        "ä": "a",
        "ö": "o",
        "é": "e",
        "á": "a",
        "í": "i",
        "ë": "e",
        "ó": "o",
        "Å": "A",
        "Ä": "A",
        "Ö": "O",
        "É": "E",
        "Á": "A",
        "Í": "I",
        "Ó": "O",
    }
)


def fold_ascii(text: str) -> str:
    """The ASCII spelling a keyboard without diacritics produces (Björn -> Bjorn)."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class NamePool:
    """One name pool: native spelling, ASCII/pinyin spelling, nickname, and group ranges.

    ``groups[(language, sex)]`` is the ``(start, stop)`` slice of that group; surnames use
    ``sex = -1``.
    """

    text: pa.Array
    ascii: pa.Array
    nickname: pa.Array
    has_nickname: np.ndarray
    groups: dict[tuple[str, int], tuple[int, int]]

    def draw(self, rng: np.random.Generator, language: str, sex: np.ndarray | int) -> np.ndarray:
        """Pool positions for persons of one language (and sex, or -1 for surnames).

        Draws are Zipf-like so common names are common, as in real populations.
        """
        sexes = np.broadcast_to(np.asarray(sex), np.shape(sex) or (1,))
        out = np.empty(len(sexes), dtype=np.int64)
        for s in np.unique(sexes):
            start, stop = self.groups[(language, int(s))]
            size = stop - start
            weights = 1.0 / np.arange(1, size + 1) ** 0.6
            mask = sexes == s
            out[mask] = start + rng.choice(size, size=int(mask.sum()), p=weights / weights.sum())
        return out


def _first_pool() -> NamePool:
    text: list[str] = []
    ascii_: list[str] = []
    nick: list[str | None] = []
    groups: dict[tuple[str, int], tuple[int, int]] = {}
    sources: list[tuple[str, tuple[tuple[str, str, str, int], ...]]] = [
        ("sv", tuple((n, fold_ascii(n), k, s) for n, s, k in _SV_FIRST)),
        ("en", tuple((n, fold_ascii(n), k, s) for n, s, k in _EN_FIRST)),
        ("zh", tuple((h, p, "", s) for h, p, s in _ZH_FIRST)),
    ]
    for language, names in sources:
        for sex in (0, 1):
            start = len(text)
            for name, spelled, nickname, s in names:
                if s == sex:
                    text.append(name)
                    ascii_.append(spelled)
                    nick.append(nickname or None)
            groups[(language, sex)] = (start, len(text))
    return NamePool(
        pa.array(text),
        pa.array(ascii_),
        pa.array(nick, pa.string()),
        np.array([k is not None for k in nick]),
        groups,
    )


def _last_pool() -> NamePool:
    pairs = (
        [("sv", n, fold_ascii(n)) for n in _SV_LAST]
        + [("en", n, fold_ascii(n)) for n in _EN_LAST]
        + [("zh", h, p) for h, p in _ZH_LAST]
    )
    groups: dict[tuple[str, int], tuple[int, int]] = {}
    for language in ("sv", "en", "zh"):
        positions = [i for i, pair in enumerate(pairs) if pair[0] == language]
        groups[(language, -1)] = (positions[0], positions[-1] + 1)
    return NamePool(
        pa.array([p[1] for p in pairs]),
        pa.array([p[2] for p in pairs]),
        pa.nulls(len(pairs), pa.string()),
        np.zeros(len(pairs), dtype=bool),
        groups,
    )


FIRST = _first_pool()
LAST = _last_pool()
