"""The account of a load: every row read is loaded, quarantined, or skipped as an exact duplicate.

The ingestion invariant is ``rows_read == rows_loaded + rows_quarantined +
exact_duplicates_skipped``: nothing is silently dropped. :meth:`LoadAccount.check` enforces it, and
accounts of several batches add up with ``+`` or :meth:`LoadAccount.combine`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from insightloop.quality.contracts.reasons import ContractError

__all__ = ["LoadAccount"]


def _add(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    total = Counter(a)
    total.update(b)
    return dict(sorted(total.items()))


@dataclass(frozen=True)
class LoadAccount:
    """What happened to the rows of one or more batches.

    Parameters
    ----------
    rows_read
        Rows that arrived.
    rows_loaded
        Rows written to the canonical table (possibly with warnings).
    rows_quarantined
        Rows written to the quarantine table.
    exact_duplicates_skipped
        Rows identical to an earlier row of their batch, skipped.
    warnings
        Warning reason codes of the loaded rows, with how many rows carry each.
    rejections
        Reject reason codes of the quarantined rows, with how many rows carry each.

    Examples
    --------
    >>> a = LoadAccount(3, 2, 1, 0, warnings={"email_placeholder": 1})
    >>> b = LoadAccount(2, 1, 0, 1)
    >>> total = a + b
    >>> total.rows_read, total.rows_loaded, total.warnings
    (5, 3, {'email_placeholder': 1})
    >>> total.check()
    """

    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    exact_duplicates_skipped: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)

    @property
    def accounted(self) -> int:
        """Rows loaded, quarantined or skipped."""
        return self.rows_loaded + self.rows_quarantined + self.exact_duplicates_skipped

    def check(self) -> None:
        """Raise :class:`ContractError` unless every row read is accounted for exactly once.

        Examples
        --------
        >>> LoadAccount(rows_read=3, rows_loaded=1).check()
        Traceback (most recent call last):
        ...
        insightloop.quality.contracts.reasons.ContractError: 3 rows were read but 1 accounted ...
        """
        counts = (
            self.rows_read,
            self.rows_loaded,
            self.rows_quarantined,
            self.exact_duplicates_skipped,
        )
        if any(c < 0 for c in counts) or self.rows_read != self.accounted:
            raise ContractError(
                f"{self.rows_read} rows were read but {self.accounted} accounted for "
                f"({self.rows_loaded} loaded, {self.rows_quarantined} quarantined, "
                f"{self.exact_duplicates_skipped} exact duplicates skipped): rows were lost "
                "or counted twice.",
                hint="This is a bug in the loader: report it with the batch id.",
            )

    def __add__(self, other: LoadAccount) -> LoadAccount:
        if not isinstance(other, LoadAccount):
            return NotImplemented
        return LoadAccount(
            rows_read=self.rows_read + other.rows_read,
            rows_loaded=self.rows_loaded + other.rows_loaded,
            rows_quarantined=self.rows_quarantined + other.rows_quarantined,
            exact_duplicates_skipped=self.exact_duplicates_skipped + other.exact_duplicates_skipped,
            warnings=_add(self.warnings, other.warnings),
            rejections=_add(self.rejections, other.rejections),
        )

    @classmethod
    def combine(cls, accounts: Iterable[LoadAccount]) -> LoadAccount:
        """The sum of ``accounts`` (an empty account for none).

        Examples
        --------
        >>> LoadAccount.combine([LoadAccount(1, 1), LoadAccount(2, 0, 2)]).rows_quarantined
        2
        """
        total = cls()
        for account in accounts:
            total = total + account
        return total
