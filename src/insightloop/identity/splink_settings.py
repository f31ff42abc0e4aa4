"""Settings of probabilistic matching, and the error it raises on unusable input.

The defaults are the automatic configuration: they are meant to work on any person file without
tuning. Each value is documented on :class:`MatchSettings`; ``docs/matching.md`` explains how they
are used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from insightloop.errors import ConfigError, InsightloopError

__all__ = ["MatchError", "MatchSettings"]


class MatchError(InsightloopError):
    """Records cannot be matched as given (no usable column, an unreadable file, ...)."""

    code = "match_error"


@dataclass(frozen=True)
class MatchSettings:
    """How records are matched. Frozen: derive variants with :func:`dataclasses.replace`.

    Attributes
    ----------
    link_threshold
        Match probability at or above which a pair is linked (and clustered). 0.99 means that,
        under the model, at most one linked pair in a hundred is expected to be wrong; in practice
        true duplicates score far above it.
    review_threshold
        Lower end of the review band: pairs scoring at least this (and below ``link_threshold``)
        are returned for a person to decide; pairs below it are dropped from the output.
    pairs_per_record
        Blocking budget: the candidate pairs all blocking rules together may generate, per record
        (at least ``min_pair_budget``). Scoring time grows with the pairs: five per record keep a
        million records within a minute or so on two cores.
    rule_share
        The largest share of the budget one blocking rule may take. A rule over its share or the
        remaining budget is tightened with a further column, or dropped when it cannot be.
    min_pair_budget
        The smallest total budget of candidate pairs, so small files can afford loose rules.
    u_max_pairs
        Random record pairs sampled to estimate the u probabilities (seeded).
    em_max_pairs
        Cap on the candidate pairs of each expectation-maximisation session that estimates m.
    em_max_iterations
        Cap on the iterations of each EM session.
    deterministic_recall
        Assumed recall of the strict rules used to estimate the probability that two random
        records match (the prior). Lower values raise the prior.
    junk_value_max_records
        An e-mail or phone shared by more records than this is treated as missing for matching
        (noemail@..., 0000000, a shop's own number): such a value never links anyone.
    min_fill_rate
        A role whose column is filled on fewer records than this fraction is left out of the model.
    guards
        Apply the household-safety guards (conflicting first names or birth dates never link).
    strict_guards
        Do not excuse a conflicting first name by an identical birth date, or a conflicting birth
        date by an identical first name (keeps twins and same-named parents and children apart,
        at the cost of recall on records with one replaced field).
    seed
        Seed of every random sample, so runs are reproducible.
    max_cluster_size
        Clusters are repaired (split at their weakest links) when they would join records that a
        guard separates; clusters larger than this are reported as suspicious.

    Examples
    --------
    >>> from dataclasses import replace
    >>> replace(MatchSettings(), link_threshold=0.95).link_threshold
    0.95
    """

    link_threshold: float = 0.99
    review_threshold: float = 0.5
    pairs_per_record: float = 5.0
    rule_share: float = 0.4
    min_pair_budget: int = 2_000_000
    u_max_pairs: float = 1e6
    em_max_pairs: float = 4e5
    em_max_iterations: int = 25
    deterministic_recall: float = 0.7
    junk_value_max_records: int = 5
    min_fill_rate: float = 0.05
    guards: bool = True
    strict_guards: bool = False
    seed: int = 42
    max_cluster_size: int = 50

    def __post_init__(self) -> None:
        problems = []
        for name in ("link_threshold", "review_threshold", "deterministic_recall"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                problems.append(f"{name} must be in (0, 1]; it is {value}")
        if self.review_threshold > self.link_threshold:
            problems.append(
                f"review_threshold ({self.review_threshold}) must not exceed link_threshold "
                f"({self.link_threshold})"
            )
        for name in ("pairs_per_record", "u_max_pairs", "em_max_pairs"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive; it is {getattr(self, name)}")
        for name in ("min_pair_budget", "em_max_iterations", "junk_value_max_records"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1; it is {getattr(self, name)}")
        if not 0.0 < self.rule_share <= 1.0:
            problems.append(f"rule_share must be in (0, 1]; it is {self.rule_share}")
        if not 0.0 <= self.min_fill_rate < 1.0:
            problems.append(f"min_fill_rate must be in [0, 1); it is {self.min_fill_rate}")
        if problems:
            raise ConfigError(
                "Invalid match settings: " + "; ".join(problems) + ".",
                hint="Fix the values above (docs/matching.md describes each setting).",
            )

    def pair_budget(self, records: int) -> int:
        """The total blocking budget for ``records`` records.

        Examples
        --------
        >>> MatchSettings().pair_budget(1_000_000)
        5000000
        """
        return max(self.min_pair_budget, int(self.pairs_per_record * records))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MatchSettings:
        """Settings from a saved model; unknown keys (from a newer release) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
