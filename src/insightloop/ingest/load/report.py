"""What a load did, per batch and in total, with the invariant that nothing is lost.

Every row a source delivers is accounted for: ``rows_read == rows_loaded + rows_quarantined +
duplicates_skipped``. Duplicates are exact copies of an earlier row of the same batch, and rows
identical to the version already loaded (a re-delivered row changes nothing). ``rows_updated``
counts the loaded rows that replaced an earlier version of the same key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from insightloop.errors import PipelineError

__all__ = ["BatchReport", "LoadReport"]


@dataclass
class BatchReport:
    """One batch: a file of a source, or one increment of a database source.

    ``status`` is ``loaded``, ``unchanged`` (the same file content was loaded before, so it was
    not read again) or ``failed`` (nothing of it was kept; ``error`` says why).
    """

    batch_id: str
    source: str
    entity: str
    location: str
    status: str = "loaded"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0
    duplicates_in_batch: int = 0
    unchanged_rows: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    rejections: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    watermark_from: str | None = None
    watermark_to: str | None = None

    @property
    def duplicates_skipped(self) -> int:
        """Exact copies in the batch plus rows identical to what is already loaded."""
        return self.duplicates_in_batch + self.unchanged_rows

    @property
    def balanced(self) -> bool:
        """Whether read = loaded + quarantined + duplicates skipped (always, unless failed)."""
        if self.status == "failed":
            return self.rows_loaded == 0 and self.rows_quarantined == 0
        accounted = self.rows_loaded + self.rows_quarantined + self.duplicates_skipped
        return self.rows_read == accounted

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["duplicates_skipped"] = self.duplicates_skipped
        data["balanced"] = self.balanced
        return data


@dataclass
class LoadReport:
    """Every batch of one load, and their totals.

    Examples
    --------
    >>> b = BatchReport("b1", "crm", "customers", "crm.csv", rows_read=5, rows_loaded=3,
    ...                 rows_quarantined=1, duplicates_in_batch=1)
    >>> report = LoadReport([b])
    >>> report.totals()["rows_read"], report.balanced
    (5, True)
    """

    batches: list[BatchReport] = field(default_factory=list)

    @property
    def failed(self) -> list[BatchReport]:
        return [b for b in self.batches if b.status == "failed"]

    @property
    def balanced(self) -> bool:
        return all(b.balanced for b in self.batches)

    def totals(self) -> dict[str, Any]:
        """Sums over all batches, with warning and rejection codes added up."""
        keys = ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined")
        out: dict[str, Any] = {k: sum(getattr(b, k) for b in self.batches) for k in keys}
        out["duplicates_skipped"] = sum(b.duplicates_skipped for b in self.batches)
        out["batches"] = len(self.batches)
        out["unchanged_files"] = sum(b.status == "unchanged" for b in self.batches)
        out["failed"] = len(self.failed)
        warnings: Counter[str] = Counter()
        rejections: Counter[str] = Counter()
        for b in self.batches:
            warnings.update(b.warnings)
            rejections.update(b.rejections)
        out["warnings"] = dict(sorted(warnings.items()))
        out["rejections"] = dict(sorted(rejections.items()))
        out["balanced"] = self.balanced
        return out

    def by_source(self) -> dict[str, dict[str, int]]:
        """Per source: read, loaded, updated, quarantined, duplicates skipped, failed batches."""
        out: dict[str, dict[str, int]] = {}
        for b in self.batches:
            row = out.setdefault(
                b.source,
                dict.fromkeys(
                    ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined",
                     "duplicates_skipped", "failed"), 0),
            )  # fmt: skip
            for key in ("rows_read", "rows_loaded", "rows_updated", "rows_quarantined"):
                row[key] += getattr(b, key)
            row["duplicates_skipped"] += b.duplicates_skipped
            row["failed"] += b.status == "failed"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"totals": self.totals(), "batches": [b.to_dict() for b in self.batches]}

    def raise_for_failures(self) -> None:
        """Raise a :class:`PipelineError` naming every failed batch, after the others loaded."""
        if not self.failed:
            return
        lines = [f"{b.source} ({b.location}): {b.error}" for b in self.failed]
        raise PipelineError(
            f"{len(lines)} batch(es) could not be loaded; nothing of them was kept:\n  "
            + "\n  ".join(lines),
            hint="Fix the file or the source's settings named above and run `insightloop run "
            "load` again; the batches that loaded are kept and are not loaded twice.",
        )
