"""Where the demo company's customers live and shop: cities, streets, postcodes, stores, phones.

Each city carries what its country's formats need (region, postcode range, telephone area code)
so addresses and phone numbers can be rendered per country and per system style, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo.fmt import (
    assemble,
    compose,
    concat,
    digit_matrix,
    int_str,
    scramble,
    take,
)

__all__ = [
    "CITIES",
    "STORES",
    "City",
    "address_line",
    "cities_of",
    "e164",
    "landline",
    "landline_e164",
    "mobile_nsn",
    "mobile_number",
    "postcode",
    "stores_of",
]


@dataclass(frozen=True)
class City:
    """A city: name, region, postcode range or prefix, landline area code."""

    country: str
    name: str
    region: str
    post_lo: int
    post_hi: int
    area: str
    post_prefix: str = ""
    local_len: int = 7


CITIES = (
    City("SE", "Stockholm", "Stockholms län", 11120, 11860, "8", local_len=8),
    City("SE", "Göteborg", "Västra Götalands län", 41101, 41879, "31"),
    City("SE", "Malmö", "Skåne län", 21111, 21775, "40"),
    City("SE", "Uppsala", "Uppsala län", 75220, 75758, "18"),
    City("SE", "Linköping", "Östergötlands län", 58222, 58758, "13"),
    City("SE", "Örebro", "Örebro län", 70210, 70380, "19"),
    City("SE", "Umeå", "Västerbottens län", 90325, 90750, "90"),
    City("SE", "Lund", "Skåne län", 22220, 22762, "46"),
    City("GB", "London", "Greater London", 1, 20, "20", "SW", 8),
    City("GB", "Manchester", "Greater Manchester", 1, 40, "161", "M"),
    City("GB", "Birmingham", "West Midlands", 1, 40, "121", "B"),
    City("GB", "Leeds", "West Yorkshire", 1, 28, "113", "LS"),
    City("GB", "Glasgow", "Glasgow City", 1, 78, "141", "G"),
    City("GB", "Edinburgh", "City of Edinburgh", 1, 17, "131", "EH"),
    City("GB", "Bristol", "Bristol", 1, 16, "117", "BS"),
    City("IE", "Dublin", "County Dublin", 1, 24, "1", "D"),
    City("IE", "Cork", "County Cork", 12, 12, "21", "T"),
    City("IE", "Galway", "County Galway", 91, 91, "91", "H"),
    City("US", "New York", "NY", 10001, 10292, "212"),
    City("US", "Los Angeles", "CA", 90001, 90089, "213"),
    City("US", "Chicago", "IL", 60601, 60661, "312"),
    City("US", "Houston", "TX", 77001, 77099, "713"),
    City("US", "Seattle", "WA", 98101, 98199, "206"),
    City("US", "Boston", "MA", 2108, 2137, "617"),
    City("CN", "北京", "北京市", 100000, 102600, "10", local_len=8),
    City("CN", "上海", "上海市", 200000, 201900, "21", local_len=8),
    City("CN", "广州", "广东省", 510000, 511500, "20", local_len=8),
    City("CN", "深圳", "广东省", 518000, 518100, "755", local_len=8),
    City("CN", "杭州", "浙江省", 310000, 311100, "571", local_len=8),
    City("CN", "成都", "四川省", 610000, 611700, "28", local_len=8),
    City("CN", "南京", "江苏省", 210000, 211300, "25", local_len=8),
)
CITY_NAME = pa.array([c.name for c in CITIES])
CITY_REGION = pa.array([c.region for c in CITIES])
CITY_COUNTRY = np.array([c.country for c in CITIES])

_STREETS = {
    "SE": (
        "Storgatan",
        "Drottninggatan",
        "Kungsgatan",
        "Vasagatan",
        "Sveavägen",
        "Götgatan",
        "Ringvägen",
        "Åsögatan",
        "Hornsgatan",
        "Skånegatan",
        "Linnégatan",
        "Östra Vägen",
        "Björkvägen",
        "Kyrkogatan",
        "Skolgatan",
        "Södra Förstadsgatan",
    ),
    "GB": (
        "High Street",
        "Station Road",
        "Church Lane",
        "Victoria Road",
        "Park Avenue",
        "Mill Lane",
        "King's Road",
        "Queen Street",
        "Green Lane",
        "Manor Road",
    ),
    "IE": (
        "Main Street",
        "O'Connell Street",
        "Grafton Street",
        "Church Road",
        "Strand Road",
        "Castle Street",
        "Bridge Street",
        "Patrick Street",
    ),
    "US": (
        "Main Street",
        "Oak Avenue",
        "Maple Drive",
        "2nd Street",
        "Elm Street",
        "Park Place",
        "Washington Boulevard",
        "Lake Shore Drive",
        "Pine Street",
        "Cedar Lane",
    ),
    "CN": (
        "人民路",
        "中山路",
        "解放路",
        "建设路",
        "和平路",
        "长安街",
        "南京路",
        "淮海路",
        "朝阳路",
        "新华路",
    ),
}
STREET = pa.array([s for code in ("SE", "GB", "IE", "US", "CN") for s in _STREETS[code]])
_STREET_RANGE: dict[str, tuple[int, int]] = {}
_pos = 0
for _code in ("SE", "GB", "IE", "US", "CN"):
    _STREET_RANGE[_code] = (_pos, _pos + len(_STREETS[_code]))
    _pos += len(_STREETS[_code])

_STORE_SUFFIX = {
    "SE": ("Centrum", "Galleria"),
    "GB": ("High Street", "Retail Park"),
    "IE": ("City Centre", "Shopping Centre"),
    "US": ("Downtown", "Mall"),
    "CN": ("中心店", "万达店"),
}
STORES = tuple(
    (f"S{1 + 2 * i + j:03d}", i, c.name + ("" if c.country == "CN" else " ") + suffix[j])
    for i, c in enumerate(CITIES)
    for suffix in (_STORE_SUFFIX[c.country],)
    for j in range(2)
)
STORE_ID = pa.array([s[0] for s in STORES])
STORE_CITY = np.array([s[1] for s in STORES])
_UK_LETTERS = np.frombuffer(b"ABDEFGHJLNPQRSTUWXYZ", np.uint8)
_EIRCODE = np.frombuffer(b"ACDEFHKNPRTVWXY0123456789", np.uint8)


def cities_of(country: str) -> np.ndarray:
    """Positions in :data:`CITIES` of one country's cities."""
    return np.flatnonzero(country == CITY_COUNTRY)


def stores_of(city: np.ndarray, rng: np.random.Generator, away: np.ndarray) -> np.ndarray:
    """Store positions: one of the two stores of ``city``, or (where ``away``) any store in the
    same country."""
    store = 2 * city + rng.integers(0, 2, len(city))
    if away.any():
        country = CITY_COUNTRY[city[away]]
        other = np.empty(int(away.sum()), dtype=np.int64)
        for code in np.unique(country):
            mask = country == code
            options = np.concatenate([2 * cities_of(code), 2 * cities_of(code) + 1])
            other[mask] = rng.choice(options, int(mask.sum()))
        store[away] = other
    return store


def streets_for(country: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """Street positions for ``n`` addresses in ``country``."""
    lo, hi = _STREET_RANGE[country]
    return rng.integers(lo, hi, n)


def postcode(city: np.ndarray, rng: np.random.Generator, *, compact: bool = False) -> pa.Array:
    """A postcode in each city's format; ``compact`` drops the inner space where there is one."""
    n = len(city)
    lo = np.array([c.post_lo for c in CITIES])[city]
    hi = np.array([c.post_hi for c in CITIES])[city]
    number = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    country = CITY_COUNTRY[city]
    space = "" if compact else " "
    pieces: list[tuple[np.ndarray, pa.Array]] = []
    for code in ("SE", "GB", "IE", "US", "CN"):
        mask = country == code
        m = int(mask.sum())
        if m == 0:
            continue
        if code == "SE":
            digits = digit_matrix(number[mask], 5)
            value = compose(m, [digits[:, :3], space, digits[:, 3:]])
        elif code in ("US", "CN"):
            value = compose(m, [digit_matrix(number[mask], 5 if code == "US" else 6)])
        elif code == "GB":
            inward = compose(
                m,
                [
                    digit_matrix(rng.integers(0, 10, m), 1),
                    _UK_LETTERS[rng.integers(0, len(_UK_LETTERS), (m, 2))],
                ],
            )
            value = concat(take(_POST_PREFIX, city[mask]), int_str(number[mask]), space, inward)
        else:
            routing = compose(m, [digit_matrix(number[mask], 2)])
            unique = compose(m, [_EIRCODE[rng.integers(0, len(_EIRCODE), (m, 4))]])
            value = concat(take(_POST_PREFIX, city[mask]), routing, space, unique)
        pieces.append((mask, value))
    return assemble(n, pieces)


def address_line(
    country: np.ndarray, street: np.ndarray, number: np.ndarray, flat: np.ndarray
) -> pa.Array:
    """The street line as each country writes it (``Storgatan 12``, ``12 High Street``,
    ``人民路88号5栋1203室``); ``flat`` > 0 adds a flat number."""
    name = take(STREET, street)
    num = int_str(number)
    flat_s = int_str(flat)
    has_flat = pa.array(flat > 0)
    se = concat(name, " ", num, pc.if_else(has_flat, concat(" lgh ", flat_s), ""))
    en = concat(num, " ", name, pc.if_else(has_flat, concat(", Apt ", flat_s), ""))
    building = int_str(1 + flat // 1000 % 9)
    cn = concat(name, num, "号", pc.if_else(has_flat, concat(building, "栋", flat_s, "室"), ""))
    out = pc.if_else(pa.array(country == "SE"), se, en)
    return pc.if_else(pa.array(country == "CN"), cn, out)


# Mobile layouts per country: national significant number length and five styles; in a pattern,
# "d" takes the next digit. Style 0 is international spaced, 1 national, 2 national digits only,
# 3 the "00" international prefix, 4 E.164.
MOBILE_STYLES = {
    "SE": ("+46 dd ddd dd dd", "0dd-ddd dd dd", "0ddddddddd", "0046ddddddddd", "+46ddddddddd"),
    "GB": ("+44 dddd dddddd", "0dddd dddddd", "0dddddddddd", "0044 dddd dddddd", "+44dddddddddd"),
    "IE": ("+353 dd ddd dddd", "0dd ddd dddd", "0ddddddddd", "00353 dd ddd dddd", "+353ddddddddd"),
    "US": ("+1 ddd-ddd-dddd", "(ddd) ddd-dddd", "ddd-ddd-dddd", "1-ddd-ddd-dddd", "+1dddddddddd"),
    "CN": (
        "+86 ddd dddd dddd",
        "ddddddddddd",
        "ddd-dddd-dddd",
        "0086 ddddddddddd",
        "+86ddddddddddd",
    ),
}
NSN_LENGTH = {"SE": 9, "GB": 10, "IE": 9, "US": 10, "CN": 11}
# Mobile number ranges: (first digits, count of digits drawn after them).
_MOBILE_PREFIXES = {
    "SE": ((70, 72, 73, 76), 7),
    "GB": ((74, 75, 77, 78, 79), 8),
    "IE": ((83, 85, 86, 87, 89), 7),
    "US": ((), 7),
    "CN": ((138, 139, 150, 186, 135, 158), 8),
}
_COUNTRY_CODE = {"SE": "46", "GB": "44", "IE": "353", "US": "1", "CN": "86"}


def mobile_nsn(
    country: np.ndarray, city: np.ndarray, gidx: np.ndarray, salt: int, rng: np.random.Generator
) -> np.ndarray:
    """Unique mobile national significant numbers (unique per ``gidx`` and ``salt``)."""
    out = np.zeros(len(gidx), dtype=np.int64)
    for code, (prefixes, tail) in _MOBILE_PREFIXES.items():
        mask = country == code
        if not mask.any():
            continue
        rest = 2 * 10 ** (tail - 1) + scramble(gidx[mask], 8 * 10 ** (tail - 1), salt)
        if code == "US":
            head = np.array([int(c.area) for c in CITIES])[city[mask]]
        else:
            head = np.asarray(prefixes)[rng.integers(0, len(prefixes), int(mask.sum()))]
        out[mask] = head * 10**tail + rest
    return out


def mobile_number(country: np.ndarray, nsn: np.ndarray, style: np.ndarray) -> pa.Array:
    """Render mobile numbers in style 0-4 (see :data:`MOBILE_STYLES`)."""
    pieces: list[tuple[np.ndarray, pa.Array]] = []
    for code, patterns in MOBILE_STYLES.items():
        for k, pattern in enumerate(patterns):
            mask = (country == code) & (style == k)
            m = int(mask.sum())
            if m == 0:
                continue
            digits = digit_matrix(nsn[mask], NSN_LENGTH[code])
            parts: list[str | np.ndarray] = []
            used = 0
            for char in pattern:
                if char == "d":
                    parts.append(digits[:, used : used + 1])
                    used += 1
                else:
                    parts.append(char)
            pieces.append((mask, compose(m, parts)))
    return assemble(len(nsn), pieces)


def landline(city: np.ndarray, hh_gidx: np.ndarray, style: np.ndarray) -> pa.Array:
    """A household landline in its city's area, rendered in style 0-4 like mobiles."""
    n = len(city)
    local_len = np.array([c.local_len for c in CITIES])[city]
    pieces: list[tuple[np.ndarray, pa.Array]] = []
    for length in np.unique(local_len):
        mask = local_len == length
        m = int(mask.sum())
        number = 2 * 10 ** (length - 1) + scramble(hh_gidx[mask], 8 * 10 ** (length - 1), 5)
        rest = digit_matrix(number, int(length))
        area = take(_AREA, city[mask])
        cc = take(_CC, city[mask])
        us = pa.array(CITY_COUNTRY[city[mask]] == "US")
        rest_s = compose(m, [rest])
        sep = pc.if_else(pa.array(np.isin(CITY_COUNTRY[city[mask]], ["SE", "CN"])), "-", " ")
        grouped = pc.if_else(us, compose(m, [rest[:, :3], "-", rest[:, 3:]]), rest_s)
        national = pc.if_else(us, concat("(", area, ") ", grouped), concat("0", area, sep, rest_s))
        forms = (
            concat("+", cc, " ", area, " ", grouped),
            national,
            pc.if_else(us, concat(area, rest_s), concat("0", area, rest_s)),
            concat("00", cc, " ", area, " ", rest_s),
            concat("+", cc, area, rest_s),
        )
        chosen = forms[0]
        for k in range(1, 5):
            chosen = pc.if_else(pa.array(style[mask] == k), forms[k], chosen)
        pieces.append((mask, chosen))
    return assemble(n, pieces)


def e164(country: np.ndarray, nsn: np.ndarray) -> pa.Array:
    """True phone numbers as E.164 strings (``+46701234567``)."""
    return concat("+", take(_CC_BY_CODE, _country_index(country)), int_str(nsn))


def landline_e164(city: np.ndarray, hh_gidx: np.ndarray) -> pa.Array:
    """The E.164 form of :func:`landline`."""
    return landline(city, hh_gidx, np.full(len(city), 4))


_CODES = ("SE", "GB", "IE", "US", "CN")
_CC_BY_CODE = pa.array([_COUNTRY_CODE[c] for c in _CODES])
_AREA = pa.array([c.area for c in CITIES])
_CC = pa.array([_COUNTRY_CODE[c.country] for c in CITIES])
_POST_PREFIX = pa.array([c.post_prefix for c in CITIES])


def _country_index(country: np.ndarray) -> np.ndarray:
    out = np.zeros(len(country), dtype=np.int64)
    for i, code in enumerate(_CODES):
        out[country == code] = i
    return out
