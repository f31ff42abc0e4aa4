"""Deliberately defective rows, for the data-quality checks to find, and their log.

Every source file gets a small share (:data:`~insightloop.demo.params.DEFECT_RATE`) of rows with
one defect each: an invalid e-mail, a missing source key, a negative or non-numeric amount, an
impossible date, an unknown SKU, an out-of-range score or an exact duplicate row. Each defect is
logged with its row, so the truth can state the file and line where it sits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.demo.fmt import assemble, format_fields, take
from insightloop.demo.params import DEFECT_RATE

__all__ = [
    "DefectLog",
    "bad_emails",
    "choose_defects",
    "impossible_dates",
    "insert_duplicates",
    "non_numeric",
    "replace_rows",
]

_NON_NUMERIC = pa.array(["N/A", "#VALUE!", "12,5O", "1.234.56", "--"])


@dataclass
class DefectLog:
    """Defects of one file chunk: row positions (0-based, in the final row order) and kinds."""

    rows: list[np.ndarray] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    columns: list[str | None] = field(default_factory=list)

    def add(self, rows: np.ndarray, kind: str, column: str | None = None) -> None:
        """Record that ``rows`` carry a defect of ``kind`` (in ``column``)."""
        if len(rows):
            self.rows.append(np.asarray(rows, dtype=np.int64))
            self.kinds.append(kind)
            self.columns.append(column)

    def remap(self, index_map: np.ndarray) -> None:
        """Move logged rows to their positions after duplicates were inserted."""
        self.rows = [index_map[r] for r in self.rows]

    def duplicate_rows(
        self, columns: dict[str, pa.Array], rows: np.ndarray
    ) -> tuple[dict[str, pa.Array], np.ndarray]:
        """Plant exact duplicates of ``rows`` and log them; defects logged before keep pointing
        at their rows. Returns the new columns and, for each new row, the old row it came from."""
        new_columns, index_map, copies, origin = insert_duplicates(columns, rows)
        self.remap(index_map)
        self.add(copies, "duplicate_row")
        return new_columns, origin

    def table(self, person: np.ndarray) -> pa.Table:
        """``row, defect, column, person`` (person = chunk position of the row's person)."""
        if not self.rows:
            rows = np.zeros(0, dtype=np.int64)
            kinds: list[str] = []
            cols: list[str | None] = []
        else:
            rows = np.concatenate(self.rows)
            kinds = [k for r, k in zip(self.rows, self.kinds, strict=True) for _ in range(len(r))]
            cols = [c for r, c in zip(self.rows, self.columns, strict=True) for _ in range(len(r))]
        order = np.argsort(rows, kind="stable")
        return pa.table(
            {
                "row": pa.array(rows[order]),
                "defect": pa.array(kinds, pa.string()).take(pa.array(order)),
                "column": pa.array(cols, pa.string()).take(pa.array(order)),
                "person": pa.array(person[rows[order]] if len(rows) else rows),
            }
        )


def choose_defects(
    rng: np.random.Generator, n: int, kinds: tuple[str, ...], eligible: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Disjoint random row sets, one per defect kind, together about ``DEFECT_RATE`` of rows."""
    pool = np.flatnonzero(eligible) if eligible is not None else np.arange(n)
    total = rng.binomial(len(pool), DEFECT_RATE) if len(pool) else 0
    chosen = rng.permutation(pool)[:total]
    kind_of = rng.integers(0, len(kinds), total)
    return {kind: np.sort(chosen[kind_of == i]) for i, kind in enumerate(kinds)}


def bad_emails(rng: np.random.Generator, emails: pa.Array) -> pa.Array:
    """Syntactically invalid variants of (valid) addresses."""
    n = len(emails)
    style = rng.integers(0, 4, n)
    forms = (
        pc.replace_substring(emails, "@", "@@", max_replacements=1),
        pc.replace_substring(emails, "@", "", max_replacements=1),
        pc.replace_substring(emails, "@", " at ", max_replacements=1),
        pc.replace_substring(emails, ".example", ",example", max_replacements=1),
    )
    return assemble(n, [(style == k, forms[k].filter(pa.array(style == k))) for k in range(4)])


def impossible_dates(
    rng: np.random.Generator, n: int, pattern: str, years: tuple[int, int] = (1950, 2004)
) -> pa.Array:
    """Dates that cannot exist (30 February, 31 April, month 13, day 0) in ``pattern``."""
    which = rng.integers(0, 4, n)
    month = np.select([which == 0, which == 1, which == 2], [2, 4, 13], rng.integers(1, 13, n))
    day = np.select([which == 0, which == 1, which == 2], [30, 31, 15], 0)
    year = rng.integers(years[0], years[1] + 1, n)
    zeros = np.zeros(n, dtype=np.int64)
    fields = {
        "YYYY": year,
        "MM": month,
        "DD": day,
        "hh": zeros + 12,
        "mm": zeros,
        "ss": zeros,
        "fff": zeros,
    }
    return format_fields(fields, pattern)


def non_numeric(rng: np.random.Generator, n: int) -> pa.Array:
    """Amount fields a spreadsheet or a broken till might produce."""
    return take(_NON_NUMERIC, rng.integers(0, len(_NON_NUMERIC), n))


def insert_duplicates(
    columns: dict[str, pa.Array], rows: np.ndarray
) -> tuple[dict[str, pa.Array], np.ndarray, np.ndarray, np.ndarray]:
    """Repeat ``rows`` (sorted, distinct) verbatim right after themselves.

    Returns the new columns, the map from old to new row positions, the new positions of the
    inserted copies, and for each new row the old row it came from.
    """
    n = len(next(iter(columns.values())))
    repeat = np.ones(n, dtype=np.int64)
    repeat[rows] = 2
    take_index = np.repeat(np.arange(n), repeat)
    new_start = np.cumsum(repeat) - repeat
    # Slicing and concatenating copies each value once; a take() over millions of long JSON
    # lines costs several times more.
    cuts = [int(r) for r in np.asarray(rows, dtype=np.int64)]
    out = {}
    for name, col in columns.items():
        parts, begin = [], 0
        for row in cuts:
            parts += [col.slice(begin, row + 1 - begin), col.slice(row, 1)]
            begin = row + 1
        parts.append(col.slice(begin, n - begin))
        out[name] = pa.concat_arrays(parts)
    return out, new_start, new_start[rows] + 1, take_index


def replace_rows(values: pa.Array, rows: np.ndarray, new: pa.Array) -> pa.Array:
    """``values`` with positions ``rows`` replaced by ``new`` (same length as ``rows``)."""
    if len(rows) == 0:
        return values
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    index = np.zeros(len(values), dtype=np.int64)
    index[rows] = np.arange(len(rows))
    return pc.if_else(pa.array(mask), new.cast(values.type).take(pa.array(index)), values)
