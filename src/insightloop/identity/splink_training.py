"""Training of the automatic model: prior, u by sampling, m by capped EM, u corrected for matches.

The steps follow Splink's recommended order (Fellegi and Sunter, "A theory for record linkage",
JASA 1969; parameters by expectation maximisation after Winkler 1988):

1. **Prior.** The probability that two random records match is estimated deterministically: pairs
   agreeing on strict rules (an identifier; first name, surname and birth date; ...) are counted
   and divided by the assumed recall of those rules (``MatchSettings.deterministic_recall``).
2. **u** by random sampling: ``u_max_pairs`` random pairs, seeded, are taken as non-matches.
3. **m** by expectation maximisation on a few blocking rules, each capped at ``em_max_pairs``
   pairs and ``em_max_iterations`` iterations; together the sessions estimate every comparison
   (a session cannot estimate the comparisons of its own blocking columns).
4. **u corrected for matches.** Random pairs are not all non-matches: a share equal to the prior
   are matches, and on rare agreement levels (an exact identifier or birth date) they can be most
   of what the sample sees when files are small and duplicates dense. Each u is corrected to
   ``(u - prior * m) / (1 - prior)``, floored at one sampled pair, and renormalised.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from splink import block_on

from insightloop.identity.splink_comparisons import ComparisonSpec
from insightloop.identity.splink_settings import MatchSettings

__all__ = ["correct_u_for_matches", "deterministic_rules", "em_rules", "train_linker"]

Progress = Callable[[float, str], None]

# EM blocking rules in order of preference: a rule estimates every comparison except its own.
_EM_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("first_name_key", "last_name"),
    ("birth_date",),
    ("postcode", "first_name_key"),
    ("email",),
    ("phone",),
    ("address_key",),
    ("postcode",),
)


def deterministic_rules(columns: Sequence[str]) -> list[tuple[str, ...]]:
    """Strict rules that admit very few false matches, for the prior.

    Examples
    --------
    >>> deterministic_rules(["first_name_key", "last_name", "birth_date", "id_ssn"])
    [('id_ssn',), ('first_name_key', 'last_name', 'birth_date')]
    """
    has = set(columns)
    rules: list[tuple[str, ...]] = [(c,) for c in sorted(has) if c.startswith("id_")]
    strict: tuple[tuple[str, ...], ...] = (
        ("first_name_key", "last_name", "birth_date"),
        ("first_name_key", "last_name", "address_key"),
        ("first_name_key", "email"),
        ("first_name_key", "last_name", "phone"),
    )
    for keys in strict:
        if all(k in has for k in keys):
            rules.append(keys)
    loose: tuple[tuple[str, ...], ...] = (
        ("first_name_key", "last_name"),
        ("email",),
        ("phone",),
        ("address_key",),
    )
    if not rules:
        for keys in loose:
            if all(k in has for k in keys):
                rules.append(keys)
                break
    return rules


def em_rules(specs: Sequence[ComparisonSpec], columns: Sequence[str]) -> list[tuple[str, ...]]:
    """EM blocking rules until every comparison is estimated by at least one of them.

    Examples
    --------
    >>> from insightloop.identity.splink_comparisons import comparison_specs
    >>> cols = ["first_name", "first_name_key", "last_name", "birth_date", "postcode"]
    >>> em_rules(comparison_specs(cols, "duckdb"), cols)
    [('first_name_key', 'last_name'), ('birth_date',)]
    """
    has = set(columns)
    uncovered = {s.name: set(s.columns) for s in specs}
    chosen: list[tuple[str, ...]] = []
    for keys in _EM_CANDIDATES:
        if not uncovered:
            break
        if not all(k in has for k in keys):
            continue
        covers = [name for name, cols in uncovered.items() if not cols & set(keys)]
        if covers:
            chosen.append(keys)
            for name in covers:
                del uncovered[name]
    return chosen


def correct_u_for_matches(linker: Any, floor: float) -> None:
    """Correct sampled u values for the matches among random pairs (step 4 above)."""
    settings = linker._settings_obj
    prior = float(settings._probability_two_random_records_match)
    for comparison in settings.comparisons:
        levels = [cl for cl in comparison.comparison_levels if not cl.is_null_level]
        corrected = [
            max((cl.u_probability - prior * cl.m_probability) / (1.0 - prior), floor)
            for cl in levels
        ]
        total = sum(corrected)
        for cl, u in zip(levels, corrected, strict=True):
            cl.u_probability = u / total


def train_linker(
    linker: Any,
    specs: Sequence[ComparisonSpec],
    columns: Sequence[str],
    settings: MatchSettings,
    progress: Progress,
) -> dict[str, Any]:
    """Run steps 1-4 on ``linker``; return what was done, for the model's report."""
    report: dict[str, Any] = {}
    started = time.perf_counter()
    rules = deterministic_rules(columns)
    progress(0.0, "estimating the prior")
    linker.training.estimate_probability_two_random_records_match(
        [block_on(*keys) for keys in rules], recall=settings.deterministic_recall
    )
    prior = linker._settings_obj._probability_two_random_records_match
    report["prior"] = {
        "rules": ["+".join(k) for k in rules],
        "recall": settings.deterministic_recall,
        "probability_two_random_records_match": prior,
    }
    progress(0.1, "estimating u by random sampling")
    # One pass over the sample: Splink's chunking with early stopping rescans the whole sample
    # for each chunk, and rare levels (a swapped name) never reach its stopping count anyway.
    linker.training.estimate_u_using_random_sampling(
        max_pairs=settings.u_max_pairs, seed=settings.seed, min_count_per_level=None, num_chunks=1
    )
    sessions = []
    chosen = em_rules(specs, columns)
    for i, keys in enumerate(chosen):
        progress(0.4 + 0.5 * i / max(len(chosen), 1), f"EM session {i + 1} of {len(chosen)}")
        session = linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*keys),
            estimate_without_term_frequencies=True,
            max_pairs=settings.em_max_pairs,
        )
        history = getattr(session, "_core_model_settings_history", None) or []
        sessions.append({"blocking_rule": "+".join(keys), "iterations": len(history)})
    report["em_sessions"] = sessions
    correct_u_for_matches(linker, floor=1.0 / settings.u_max_pairs)
    report["seconds"] = round(time.perf_counter() - started, 2)
    progress(1.0, "trained")
    return report


def parameters(linker: Any, specs: Sequence[ComparisonSpec]) -> dict[str, list[dict[str, Any]]]:
    """m, u and Bayes factor of each level, by comparison (for reports; no personal data)."""
    out: dict[str, list[dict[str, Any]]] = {}
    by_name = {s.name: s for s in specs}
    for comparison in linker._settings_obj.comparisons:
        spec = by_name[comparison.output_column_name]
        labels = spec.labels()
        rows = []
        for cl in comparison.comparison_levels:
            if cl.is_null_level:
                continue
            m, u = cl.m_probability, cl.u_probability
            rows.append(
                {
                    "level": labels.get(cl.comparison_vector_value, cl.label_for_charts),
                    "m": m,
                    "u": u,
                    "bayes_factor": (m / u) if m is not None and u else None,
                }
            )
        out[spec.name] = rows
    return out
