"""Household-safety guards and the evidence of each scored pair, as SQL over Splink's predictions.

Guards are hard rules applied after scoring: a guarded pair keeps its match probability but is
never linked, and its evidence names the guard. They exist because the people of one household
share an address, often a landline and a surname, sometimes an e-mail, and a probabilistic model
adds that evidence up. Three guards, in this order:

``first names conflict``
    Both first names are present and differ beyond what one person's records show: not equal,
    not the same nickname key (Bill/William), not a known name mistyped that is the other's
    (Billl/William, Epr/Per), not one edit apart (Anna/Anne), not a transposition of the same
    length (Keelin/Keelni), not an initial of the other, not exchanged with the
    surname (Wang Xiuying/Xiuying Wang). Two different common given names are two names however
    close (Maria/Marta, Anna/Hanna, Wei/Lei), and so is a name and the same name plus one to three
    letters (Erik/Erika, Johan/Johanna, Daniel/Danielle): they conflict.
``birth dates conflict``
    Both birth dates are present, differ by more than one character and are not a day/month swap.
``no person-level agreement``
    Nothing that belongs to one person agrees: neither the first name (at any agreeing level) nor
    the birth date (exact or one typo) nor an identifier. Address, surname, phone and e-mail alone
    can be a household's, so they never link two records on their own.

A conflict is *clear* only when nothing contradicts it. Two things do; they lift the first two
guards:

* an agreeing *identifier* (exact or within two edits; the role is for person-level ids such as a
  social security number, which household members do not share);
* an exact agreement of the *other* person field: a different first name with the same birth
  date, or a different birth date with the same first name (spelt alike), is taken as a data
  error in one field, unless a differing e-mail or phone contradicts it. Records of one person do
  show this (a mistyped or replaced field, as in the FEBRL benchmarks); a household's members
  differ in both. The price is that twins, or a parent and child of the same first name, whose
  records carry no e-mail or phone of their own are not kept apart by a guard;
  ``MatchSettings(strict_guards=True)`` removes this excuse for data where they are common;
* for first names, two exact agreements among birth date, e-mail and phone, none of them
  differing (a mistyped "Miike" with Michael's birth date and phone): this one holds in strict
  mode too.

The evidence is a JSON object naming each comparison's level and the guard, built in SQL so that
millions of pairs cost no Python work::

    {"first_name": "nickname", "birth_date": "exact", "address": "street+postcode", "guard": null}
"""

from __future__ import annotations

from collections.abc import Sequence

from splink.internals.dialects import SplinkDialect

from insightloop.identity.splink_comparisons import (
    ComparisonSpec,
    birth_date_typo,
    nickname_sql,
    slip_sql,
)

__all__ = ["GUARDS", "evidence_sql", "guard_sql", "scored_pairs_sql"]

GUARDS = ("first names conflict", "birth dates conflict", "no person-level agreement")
_PERSON_LEVELS = {
    "first_name": ("exact", "nickname", "swapped", "typo", "nickname typo", "similar"),
    "birth_date": ("exact", "typo"),
}


def _gamma_in(spec: ComparisonSpec, labels: Sequence[str]) -> str | None:
    values = [str(v) for v, label in spec.labels().items() if label in labels]
    return f"gamma_{spec.name} IN ({', '.join(values)})" if values else None


def guard_sql(specs: Sequence[ComparisonSpec], dialect: str, *, strict: bool = False) -> str:
    """A CASE expression naming the first guard that holds for a pair, else NULL.

    With ``strict``, a conflicting first name or birth date is not excused by an exact agreement
    of the other (twins and same-named parent and child then stay apart; see the module notes).

    Examples
    --------
    >>> from insightloop.identity.splink_comparisons import comparison_specs
    >>> sql = guard_sql(comparison_specs(["birth_date"], "duckdb"), "duckdb")
    >>> sql.startswith("CASE WHEN")
    True
    """
    d = SplinkDialect.from_string(dialect)
    lev, jw = d.levenshtein_function_name, d.jaro_winkler_function_name
    by_name = {s.name: s for s in specs}
    identifiers = [s for s in specs if s.columns and s.columns[0].startswith("id_")]
    id_agrees = [f"gamma_{s.name} >= 1" for s in identifiers]
    has_first, has_dob = "first_name" in by_name, "birth_date" in by_name
    has_key = has_first and "first_name_key" in by_name["first_name"].columns
    excuse_first = list(id_agrees)
    excuse_dob = list(id_agrees)
    # A differing e-mail or phone contradicts the excuses below (twins and a parent and child of
    # the same name have their own); records without contact details cannot contradict them.
    contact = [
        cond
        for name in ("email", "phone")
        if name in by_name and (cond := _gamma_in(by_name[name], ["different"])) is not None
    ]
    uncontradicted = f" AND NOT ({' OR '.join(contact)})" if contact else ""
    if not strict and has_dob:
        excuse_first.append(f"(birth_date_l = birth_date_r{uncontradicted})")
    # Two exact agreements of what is one person's own (birth date, e-mail, phone), nothing of
    # it differing: a mistyped first name (Miike, Billl), even where households are common.
    exact = ["birth_date_l = birth_date_r"] if has_dob else []
    exact += [
        cond
        for name in ("email", "phone")
        if name in by_name and (cond := _gamma_in(by_name[name], ["exact"])) is not None
    ]
    pairs = [f"({a} AND {b})" for i, a in enumerate(exact) for b in exact[i + 1 :]]
    if pairs:
        excuse_first.append(f"(({' OR '.join(pairs)}){uncontradicted})")
    if not strict and has_first:
        same_name = "first_name_l = first_name_r"
        if "last_name" in by_name["first_name"].columns:
            # The same two names, exchanged: as good as the same first name.
            same_name += " OR (first_name_l = last_name_r AND last_name_l = first_name_r)"
        excuse_dob.append(f"(({same_name}){uncontradicted})")
    whens: list[str] = []
    if has_first:
        same = ["first_name_l = first_name_r"]
        if has_key:
            same.append(nickname_sql("first_name_alt" in by_name["first_name"].columns))
            if "first_name_slips" in by_name["first_name"].columns:
                same.append(slip_sql())
        same += [
            "(length(first_name_l) = 1 AND first_name_l = substr(first_name_r, 1, 1))",
            "(length(first_name_r) = 1 AND first_name_r = substr(first_name_l, 1, 1))",
        ]
        if "last_name" in by_name["first_name"].columns:
            same.append(f"{jw}(first_name_l, last_name_r) >= 0.88")
            same.append(f"{jw}(last_name_l, first_name_r) >= 0.88")
        typo = (
            f"({lev}(first_name_l, first_name_r) <= 1 OR (length(first_name_l) = "
            f"length(first_name_r) AND {lev}(first_name_l, first_name_r) <= 2 AND "
            f"{jw}(first_name_l, first_name_r) >= 0.9))"
        )
        distinct = _suffix_variant("first_name")
        if "first_name_known" in by_name["first_name"].columns:
            # Two different common names are two names, not a typo (Maria/Marta, Anna/Hanna).
            distinct += " OR (first_name_known_l IS NOT NULL AND first_name_known_r IS NOT NULL)"
        conflict = (
            "first_name_l IS NOT NULL AND first_name_r IS NOT NULL AND NOT ("
            + " OR ".join(same)
            + f") AND (NOT {typo} OR {distinct})"
        )
        whens.append(f"WHEN {conflict}{_unless(excuse_first)} THEN '{GUARDS[0]}'")
    if has_dob:
        conflict = (
            "birth_date_l IS NOT NULL AND birth_date_r IS NOT NULL AND "
            f"birth_date_l <> birth_date_r AND NOT {birth_date_typo(dialect)}"
        )
        whens.append(f"WHEN {conflict}{_unless(excuse_dob)} THEN '{GUARDS[1]}'")
    person = [
        cond
        for name, labels in _PERSON_LEVELS.items()
        if name in by_name and (cond := _gamma_in(by_name[name], labels)) is not None
    ]
    if person:
        agree = " OR ".join([*person, *id_agrees])
        whens.append(f"WHEN NOT ({agree}) THEN '{GUARDS[2]}'")
    if not whens:
        return "CAST(NULL AS STRING)" if dialect == "spark" else "CAST(NULL AS VARCHAR)"
    return "CASE " + " ".join(whens) + " ELSE NULL END"


def _suffix_variant(column: str) -> str:
    """One name is the other plus one to three letters (Erik/Erika, Johan/Johanna, Paul/Pauline):
    a different name, mostly of the other sex, however few letters apart."""
    a, b = f"{column}_l", f"{column}_r"

    def longer(x: str, y: str) -> str:
        return (
            f"(length({x}) >= 3 AND length({y}) - length({x}) BETWEEN 1 AND 3 AND "
            f"substr({y}, 1, length({x})) = {x})"
        )

    return f"({longer(a, b)} OR {longer(b, a)})"


def _unless(excuses: Sequence[str]) -> str:
    """`` AND NOT (a OR b)``; comparisons with a null side count as not excusing."""
    if not excuses:
        return ""
    return " AND NOT (" + " OR ".join(f"coalesce({e}, FALSE)" for e in excuses) + ")"


def evidence_sql(specs: Sequence[ComparisonSpec], guard_column: str = "guard") -> str:
    """A string expression building the evidence JSON from the gamma columns and the guard.

    Labels are our own constants (no quotes or backslashes), so plain concatenation yields
    valid JSON.
    """
    items: list[str] = []
    for spec in specs:
        cases = " ".join(
            f"WHEN {value} THEN '{label}'" for value, label in sorted(spec.labels().items())
        )
        missing = "'missing'"
        first = next((s for s in specs if s.name == "first_name"), None)
        swapped = [v for v, lbl in first.labels().items() if lbl == "swapped"] if first else []
        if spec.name == "last_name" and swapped:
            # The last-name comparison leaves a swap to the first-name comparison (null level).
            missing = f"CASE WHEN gamma_first_name = {swapped[0]} THEN 'swapped' ELSE 'missing' END"
        label = f"CASE gamma_{spec.name} WHEN -1 THEN {missing} {cases} ELSE 'unknown' END"
        items.append(f"'\"{spec.name}\": \"' || {label} || '\"'")
    guard = f"CASE WHEN {guard_column} IS NULL THEN 'null' ELSE '\"' || {guard_column} || '\"' END"
    items.append(f"'\"guard\": ' || {guard}")
    return "'{' || " + " || ', ' || ".join(items) + " || '}'"


def scored_pairs_sql(
    predictions: str,
    specs: Sequence[ComparisonSpec],
    dialect: str,
    *,
    link: bool,
    guards: bool,
    min_probability: float,
    strict: bool = False,
) -> str:
    """SQL turning Splink's prediction table into the scored-pairs table of the model.

    Columns: ``left_id, right_id`` (and ``left_source, right_source`` when linking), then
    ``match_probability, match_weight, guard, evidence``.
    """
    guard = guard_sql(specs, dialect, strict=strict) if guards else "CAST(NULL AS VARCHAR)"
    if dialect == "spark" and not guards:
        guard = "CAST(NULL AS STRING)"
    sources = "source_dataset_l AS left_source, source_dataset_r AS right_source, " if link else ""
    inner = (
        f"SELECT unique_id_l AS left_id, unique_id_r AS right_id, {sources}"
        "match_probability, match_weight, "
        f"{', '.join(f'gamma_{s.name}' for s in specs)}{', ' if specs else ''}"
        f"{guard} AS guard FROM {predictions} WHERE match_probability >= {min_probability!r}"
    )
    src_cols = "left_source, right_source, " if link else ""
    return (
        f"SELECT left_id, right_id, {src_cols}match_probability, match_weight, guard, "
        f"{evidence_sql(specs)} AS evidence FROM ({inner}) AS scored"
    )
