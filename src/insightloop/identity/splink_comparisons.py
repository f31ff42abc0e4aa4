"""The comparisons of the automatic configuration, generated from the prepared columns present.

Each comparison is a :class:`ComparisonSpec`: a name, a null condition and levels from the most to
the least specific, each with a short *evidence label* ("exact", "nickname", ...) that is written
into the evidence of every scored pair. The SQL is generated for the engine's dialect (DuckDB or
Spark) from our own column names only; no user text reaches it.

Household safety shapes the design: the address is **one** comparison (street + postcode, postcode
+ similar street, postcode, city, region), so two people who share an address get the address's
evidence once, not once per address field; a shared phone is one exact level; surnames and
postcodes carry term-frequency adjustments, so a common surname or a busy postcode counts for less.

Examples
--------
>>> specs = comparison_specs(["first_name", "first_name_key", "last_name", "birth_date"], "duckdb")
>>> [s.name for s in specs]
['first_name', 'last_name', 'birth_date']
>>> specs[0].labels()
{6: 'exact', 5: 'nickname', 4: 'swapped', 3: 'typo', 2: 'similar', 1: 'crossed', 0: 'different'}
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from splink.internals.dialects import SplinkDialect

__all__ = [
    "ComparisonSpec",
    "Level",
    "birth_date_typo",
    "comparison_specs",
    "nickname_sql",
    "slip_sql",
]

_ADDRESS_COLUMNS = ("address_key", "street", "postcode", "city", "region")


@dataclass(frozen=True)
class Level:
    """One comparison level: evidence label, SQL condition, optional term-frequency column."""

    label: str
    sql: str
    tf_column: str | None = None


@dataclass(frozen=True)
class ComparisonSpec:
    """A comparison: its name (the ``gamma_<name>`` column), null condition and levels."""

    name: str
    null_sql: str
    levels: tuple[Level, ...]
    columns: tuple[str, ...] = field(default=())

    def labels(self) -> dict[int, str]:
        """Comparison vector value (Splink's gamma) -> evidence label; -1 is "missing"."""
        top = len(self.levels) - 1
        return {top - i: level.label for i, level in enumerate(self.levels)}

    def to_splink(self) -> dict[str, Any]:
        """The comparison as a Splink settings dictionary."""
        levels: list[dict[str, Any]] = [
            {"sql_condition": self.null_sql, "label_for_charts": "missing", "is_null_level": True}
        ]
        for level in self.levels:
            entry: dict[str, Any] = {"sql_condition": level.sql, "label_for_charts": level.label}
            if level.tf_column is not None:
                entry["tf_adjustment_column"] = level.tf_column
                entry["tf_adjustment_weight"] = 1.0
            levels.append(entry)
        return {
            "output_column_name": self.name,
            "comparison_description": f"insightloop {self.name}",
            "comparison_levels": levels,
        }


class _Sql:
    """SQL snippets over the left (``_l``) and right (``_r``) columns, in one dialect."""

    def __init__(self, dialect: str) -> None:
        d = SplinkDialect.from_string(dialect)
        self.dialect = dialect
        self.jw = d.jaro_winkler_function_name
        # Levenshtein, not Damerau-Levenshtein: DuckDB's damerau_levenshtein is ten times slower,
        # and transpositions are caught by the Jaro-Winkler level below each edit level.
        self.lev = d.levenshtein_function_name

    @staticmethod
    def null(*columns: str) -> str:
        """Either side has all of ``columns`` missing."""
        left = " AND ".join(f"{c}_l IS NULL" for c in columns)
        right = " AND ".join(f'"{c}_r" IS NULL' for c in columns)
        return f"({left}) OR ({right})"

    @staticmethod
    def eq(column: str, other: str | None = None) -> str:
        return f"{column}_l = {other or column}_r"

    def sim(self, column: str, threshold: float) -> str:
        return f"{self.jw}({column}_l, {column}_r) >= {threshold}"

    def edits(self, column: str, at_most: int) -> str:
        """At most ``at_most`` edits apart; for one edit exactly, with a cheap pre-check.

        One edit leaves the first character, or else the last, unchanged (for strings of two or
        more characters), so most pairs are settled without computing the distance. For two
        edits the same pre-check misses pairs changed at both ends: an accepted approximation.
        """
        a, b = f"{column}_l", f"{column}_r"
        return (
            f"(substr({a}, 1, 1) = substr({b}, 1, 1) OR substr({a}, -1) = substr({b}, -1)) "
            f"AND {self.lev}({a}, {b}) <= {at_most}"
        )

    def cross(self, left: str, right: str, threshold: float = 0.88) -> str:
        """``left`` of one record like ``right`` of the other (first letters must agree)."""
        a, b = f"{left}_l", f"{right}_r"
        return f"(substr({a}, 1, 1) = substr({b}, 1, 1) AND {self.jw}({a}, {b}) >= {threshold})"


def comparison_specs(columns: Sequence[str], dialect: str) -> list[ComparisonSpec]:
    """The comparisons for the prepared ``columns`` present (see the module docstring)."""
    has = set(columns).__contains__
    q = _Sql(dialect)
    specs: list[ComparisonSpec] = []
    if has("first_name"):
        specs.append(_first_name(q, has))
    if has("last_name"):
        specs.append(_last_name(q, has))
    if has("birth_date"):
        specs.append(_birth_date(q))
    if has("email"):
        levels = [Level("exact", q.eq("email"))]
        if has("email_local"):
            # No fuzzy level: local parts are mostly made of the name, so their similarity
            # would count the name a second time (two different John Smiths look alike here).
            levels.append(Level("local part", q.eq("email_local")))
        specs.append(_spec("email", q.null("email"), levels, ("email", "email_local")))
    if has("phone"):
        specs.append(_spec("phone", q.null("phone"), [Level("exact", q.eq("phone"))], ("phone",)))
    address = [c for c in _ADDRESS_COLUMNS if has(c)]
    if set(address) - {"region"}:
        specs.append(_address(q, has, address))
    for column in sorted(c for c in columns if c.startswith("id_")):
        levels = [
            Level("exact", q.eq(column)),
            Level("typo", q.edits(column, 1)),
            Level("two edits", q.edits(column, 2)),
        ]
        specs.append(_spec(column[3:], q.null(column), levels, (column,)))
    return specs


def _spec(
    name: str, null_sql: str, levels: list[Level], columns: tuple[str, ...]
) -> ComparisonSpec:
    return ComparisonSpec(name, null_sql, (*levels, Level("different", "ELSE")), columns)


def _first_name(q: _Sql, has: Any) -> ComparisonSpec:
    levels = [Level("exact", q.eq("first_name"), tf_column="first_name")]
    if has("first_name_key"):
        levels.append(Level("nickname", nickname_sql(has("first_name_alt"))))
    if has("last_name"):
        levels.append(Level("swapped", _swapped(q)))
    levels.append(Level("typo", q.edits("first_name", 1)))
    if has("first_name_slips") and has("first_name_key"):
        levels.append(Level("nickname typo", slip_sql()))
    levels.append(Level("similar", q.sim("first_name", 0.88)))
    if has("last_name"):
        # One name in the other's field (FEBRL and forms alike): counted here only, not again
        # in the last-name comparison, so a single agreement is one piece of evidence.
        crossed = f"{q.cross('first_name', 'last_name')} OR {q.cross('last_name', 'first_name')}"
        levels.append(Level("crossed", crossed))
    columns: tuple[str, ...] = ("first_name", "first_name_key", "last_name")
    if has("first_name_alt"):
        columns += ("first_name_alt",)
    if has("first_name_known"):
        columns += ("first_name_known",)
    if has("first_name_slips") and has("first_name_key"):
        columns += ("first_name_slips",)
    return _spec("first_name", q.null("first_name"), levels, columns)


def nickname_sql(alternatives: bool) -> str:
    """The same name through the nickname table, either way for a shared nickname."""
    same = "first_name_key_l = first_name_key_r"
    if alternatives:
        same = (
            f"({same} OR first_name_alt_l = first_name_key_r "
            "OR first_name_key_l = first_name_alt_r)"
        )
    return same


def slip_sql() -> str:
    """One first name is a known name mistyped, and that name is the other's (Billl/William).

    ``first_name_slips`` lists the nickname keys an unknown name is one keyboard slip from
    (:func:`insightloop.identity.names.slip_keys`); the pair agrees when the other side's key
    is among them.
    """
    return (
        "(instr(first_name_slips_l, concat('|', first_name_key_r, '|')) > 0 "
        "OR instr(first_name_slips_r, concat('|', first_name_key_l, '|')) > 0)"
    )


def _swapped(q: _Sql) -> str:
    """Given and family names exchanged, each allowing a typo (not in its first letter)."""
    return f"{q.cross('first_name', 'last_name')} AND {q.cross('last_name', 'first_name')}"


def _last_name(q: _Sql, has: Any) -> ComparisonSpec:
    levels = [Level("exact", q.eq("last_name"), tf_column="last_name")]
    levels += [Level("typo", q.edits("last_name", 1)), Level("similar", q.sim("last_name", 0.88))]
    null_sql = q.null("last_name")
    if has("first_name"):
        # A swap is one piece of evidence, weighed in the first-name comparison; here it is
        # neutral (a null level) rather than a disagreement or a second agreement.
        null_sql = f"{null_sql} OR ({_swapped(q)})"
    return _spec("last_name", null_sql, levels, ("last_name", "first_name"))


def birth_date_typo(dialect: str = "duckdb") -> str:
    """One digit wrong, two adjacent digits swapped, or day and month swapped.

    Dates are ``YYYY-MM-DD``, so one edit is one substitution. An edit distance above two is
    settled by one cheap call on the many pairs far apart; only pairs two edits apart are checked
    for a transposition of adjacent digits (1918/1981, 09-25/39-05 across the dash). The guards use
    the same definition.

    Examples
    --------
    >>> "levenshtein(birth_date_l, birth_date_r) <= 1" in birth_date_typo()
    True
    """
    lev = SplinkDialect.from_string(dialect).levenshtein_function_name
    digits = (1, 2, 3, 4, 6, 7, 9, 10)  # positions of the eight digits in YYYY-MM-DD

    def char(side: str, pos: int) -> str:
        return f"substr(birth_date_{side}, {pos}, 1)"

    swaps = []
    for a, b in itertools.pairwise(digits):
        others = [f"{char('l', p)} = {char('r', p)}" for p in digits if p not in (a, b)]
        crossed = f"{char('l', a)} = {char('r', b)} AND {char('l', b)} = {char('r', a)}"
        swaps.append(f"({crossed} AND {' AND '.join(others)})")
    distance = f"{lev}(birth_date_l, birth_date_r)"
    day_month = (
        "(substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) AND "
        "substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) AND "
        "substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2))"
    )
    return f"({distance} <= 1 OR ({distance} = 2 AND ({' OR '.join(swaps)})) OR {day_month})"


def _birth_date(q: _Sql) -> ComparisonSpec:
    levels = [
        Level("exact", q.eq("birth_date")),
        Level("typo", birth_date_typo(q.dialect)),
        Level("year", "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4)"),
    ]
    return _spec("birth_date", q.null("birth_date"), levels, ("birth_date",))


def _address(q: _Sql, has: Any, address: list[str]) -> ComparisonSpec:
    levels: list[Level] = []
    if has("address_key") and has("postcode"):
        levels.append(Level("street+postcode", q.eq("address_key")))
    elif has("street"):
        levels.append(Level("street", q.eq("street")))
    if has("street") and has("postcode"):
        similar = f"{q.eq('postcode')} AND {q.sim('street', 0.88)}"
        levels.append(Level("postcode+similar street", similar))
        levels.append(Level("street", q.eq("street")))
    if has("postcode"):
        levels.append(Level("postcode", q.eq("postcode"), tf_column="postcode"))
    if has("street") and has("city"):
        levels.append(Level("city+similar street", f"{q.eq('city')} AND {q.sim('street', 0.88)}"))
    if has("city"):
        levels.append(Level("city", q.eq("city")))
    if has("region"):
        levels.append(Level("region", q.eq("region")))
    nullable = [c for c in address if c not in ("address_key", "region")]
    return _spec("address", q.null(*nullable), levels, tuple(address))
