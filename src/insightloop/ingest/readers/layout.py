"""One streaming pass over a CSV file's UTF-8 bytes that finds where every record starts.

DuckDB's CSV reader splits fields fast, but it does not say on which physical line a row
started, it renumbers rows around blank lines, and a quote left open at the end of a file makes
it return a truncated row. This pass (vectorised with numpy, 8 MiB at a time) splits the file
into records the way RFC 4180 does: a newline ends a record unless an odd number of quote
characters precedes it in the record. It keeps, in memory proportional to the *irregular*
records only:

* the records to reject (more fields than the header, longer than the limit, a quote still
  open at the end of the file), with their byte ranges;
* the line offset of every record after a blank line or a multi-line record, so that any
  record's start line is ``1 + index + offset``;
* whether any record spans lines, and whether any record it keeps has fewer fields than the
  first (DuckDB then pads it).

:class:`LineScanner` does the same for files with one record per line and no quoting (JSON
Lines), with a fast path for the usual chunk that holds no blank and no overlong line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from insightloop.ingest.readers.model import MAX_RECORD_BYTES

__all__ = ["CsvLayout", "LayoutScanner", "LineScanner", "Reject"]

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Reject:
    """A record to reject: its index among non-blank records, start line and byte range."""

    index: int
    line: int
    start: int
    end: int
    reason: str


@dataclass
class CsvLayout:
    """Where the records of a CSV file are (see the module docstring)."""

    records: int = 0
    blank_lines: int = 0
    multiline: bool = False
    short: bool = False  # a record that is kept has fewer fields than the first one
    rejects: list[Reject] = field(default_factory=list)
    break_index: Ints = field(default_factory=lambda: np.zeros(1, np.int64))
    break_offset: Ints = field(default_factory=lambda: np.zeros(1, np.int64))

    def locate(self, first: int, rows: int, header: bool) -> tuple[Ints, Ints]:
        """Record numbers and start lines of yielded rows ``first .. first + rows - 1``.

        Examples
        --------
        >>> layout = CsvLayout(records=4, rejects=[Reject(2, 3, 0, 0, "too_many_fields")])
        >>> [a.tolist() for a in layout.locate(0, 2, header=True)]
        [[1, 3], [2, 4]]
        """
        skip = 1 if header else 0
        rows_before = np.array([r.index for r in self.rejects], np.int64)
        rows_before -= np.arange(len(rows_before), dtype=np.int64) + skip
        k = np.arange(first, first + rows, dtype=np.int64)
        index = k + skip + np.searchsorted(rows_before, k, side="right")
        slot = np.searchsorted(self.break_index, index, side="right") - 1
        line = index + 1 + self.break_offset[slot]
        return index + (0 if header else 1), line


def _outside(quotes: Ints, positions: Ints, in_quote: int) -> npt.NDArray[np.bool_]:
    """Which ``positions`` (sorted, none a quote) are outside quotes: an even number of
    ``quotes`` (sorted) precede them, counting ``in_quote`` (1 if the chunk starts quoted)."""
    if len(positions) > 8 * len(quotes):
        # Few quotes among many positions: count the quotes before each position by adding
        # up where the quotes fall among the positions, cheaper than a search per position.
        falls = np.bincount(np.searchsorted(positions, quotes), minlength=len(positions))
        before = np.cumsum(falls[: len(positions)])
    else:
        before = np.searchsorted(quotes, positions)
    return ((before + in_quote) & 1) == 0


class LayoutScanner:
    """Feed UTF-8 chunks in order, then :meth:`finish` to get the :class:`CsvLayout`.

    Examples
    --------
    >>> scanner = LayoutScanner(",", '"', fields=2)
    >>> scanner.feed(b'a,b\\n1,"x\\ny"\\n\\n2,3,4\\n5,"open')
    >>> layout = scanner.finish()
    >>> layout.records, layout.blank_lines, [(r.line, r.reason) for r in layout.rejects]
    (4, 1, [(5, 'too_many_fields'), (6, 'unterminated_quote')])
    """

    def __init__(self, delimiter: str, quote: str, fields: int) -> None:
        self._delim = ord(delimiter)
        self._quote = ord(quote)
        self._fields = fields
        self._in_quote = 0
        self._pos = 0
        self._line_base = 0
        self._start_byte = 0
        self._start_line = 1
        self._pending = 0
        self._last_byte = 0
        self._layout = CsvLayout()
        self._break_index: list[Ints] = [np.zeros(1, np.int64)]
        self._break_offset: list[Ints] = [np.zeros(1, np.int64)]
        self._last_offset = 0

    def feed(self, chunk: bytes) -> None:
        """Scan the next chunk of the file."""
        data = np.frombuffer(chunk, np.uint8)
        if self._in_quote or chunk.find(self._quote.to_bytes(1, "big")) >= 0:
            quotes = np.flatnonzero(data == self._quote)
            newlines = np.flatnonzero(data == 10)
            ends = newlines[_outside(quotes, newlines, self._in_quote)]
            if chunk.find(b"\r") >= 0:
                returns = np.flatnonzero(data == 13)
                if not _outside(quotes, returns, self._in_quote).all():
                    self._layout.multiline = True  # DuckDB treats a quoted CR as a newline
            delims = np.flatnonzero(data == self._delim)
            delims = delims[_outside(quotes, delims, self._in_quote)]
            self._in_quote = (len(quotes) + self._in_quote) & 1
            end_lines = self._line_base + np.searchsorted(newlines, ends) + 1
            newline_count = len(newlines)
        else:
            ends = np.flatnonzero(data == 10)
            delims = np.flatnonzero(data == self._delim)
            end_lines = self._line_base + np.arange(1, len(ends) + 1, dtype=np.int64)
            newline_count = len(ends)
        if len(ends):
            self._records(data, ends.astype(np.int64), end_lines, delims)
            self._pending = len(delims) - int(np.searchsorted(delims, ends[-1]))
        else:
            self._pending += len(delims)
        if len(chunk):
            self._last_byte = chunk[-1]
        self._line_base += newline_count
        self._pos += len(chunk)

    def _records(
        self, data: npt.NDArray[np.uint8], ends: Ints, end_lines: Ints, delims: Ints
    ) -> None:
        starts = np.concatenate(([self._start_byte], self._pos + ends[:-1] + 1))
        stops = self._pos + ends
        lengths = stops - starts
        start_lines = np.concatenate(([self._start_line], end_lines[:-1] + 1))
        fields = np.diff(np.searchsorted(delims, ends), prepend=0) + 1
        fields[0] += self._pending
        before_end = np.where(ends > 0, data[np.maximum(ends - 1, 0)], self._last_byte)
        blank = (lengths == 0) | ((lengths == 1) & (before_end == 13))
        self._add(starts, stops, start_lines, end_lines, fields, ~blank)
        self._start_byte = int(stops[-1]) + 1
        self._start_line = int(end_lines[-1]) + 1

    def _add(
        self,
        starts: Ints,
        stops: Ints,
        lines: Ints,
        end_lines: Ints,
        fields: Ints,
        keep: npt.NDArray[np.bool_],
    ) -> None:
        layout = self._layout
        layout.blank_lines += int(len(keep) - keep.sum())
        starts, stops, lines, end_lines, fields = (
            a[keep] for a in (starts, stops, lines, end_lines, fields)
        )
        if not len(starts):
            return
        index = layout.records + np.arange(len(starts), dtype=np.int64)
        layout.records += len(starts)
        layout.multiline = layout.multiline or bool((end_lines > lines).any())
        offsets = lines - 1 - index
        changed = np.flatnonzero(np.diff(offsets, prepend=self._last_offset) != 0)
        if len(changed):
            self._break_index.append(index[changed])
            self._break_offset.append(offsets[changed])
            self._last_offset = int(offsets[-1])
        too_long = stops - starts > MAX_RECORD_BYTES
        too_many = fields > self._fields
        layout.short = layout.short or bool(((fields < self._fields) & ~too_long).any())
        for i in np.flatnonzero(too_long | too_many):
            reason = "record_too_long" if too_long[i] else "too_many_fields"
            reject = Reject(int(index[i]), int(lines[i]), int(starts[i]), int(stops[i]), reason)
            layout.rejects.append(reject)

    def finish(self) -> CsvLayout:
        """Account for a last record without a final newline and return the layout."""
        if self._pos > self._start_byte:
            length = self._pos - self._start_byte
            blank = length == 1 and self._last_byte == 13 and not self._in_quote
            if not blank:
                index, layout = self._layout.records, self._layout
                self._add(
                    np.array([self._start_byte], np.int64),
                    np.array([self._pos], np.int64),
                    np.array([self._start_line], np.int64),
                    np.array([self._line_base + 1], np.int64),
                    np.array([self._pending + 1], np.int64),
                    np.ones(1, np.bool_),
                )
                if self._in_quote:
                    bad = Reject(
                        index, self._start_line, self._start_byte, self._pos, "unterminated_quote"
                    )
                    layout.rejects = [r for r in layout.rejects if r.index != index] + [bad]
            else:
                self._layout.blank_lines += 1
        self._layout.break_index = np.concatenate(self._break_index)
        self._layout.break_offset = np.concatenate(self._break_offset)
        return self._layout


class LineScanner(LayoutScanner):
    """A :class:`LayoutScanner` for one record per line, without quotes or fields (JSON Lines).

    A chunk whose records are all longer than one byte and at most the record limit (no blank
    line, nothing to reject) only moves the counters on: one vectorised search for newlines and
    no per-record arrays. Other chunks take the general path.

    Examples
    --------
    >>> scanner = LineScanner()
    >>> scanner.feed(b'{"a": 1}\\n{"a": 2}\\n\\n"no, quotes\\n{"a": 4}')
    >>> layout = scanner.finish()
    >>> layout.records, layout.blank_lines, [a.tolist() for a in layout.locate(0, 4, False)]
    (4, 1, [[1, 2, 3, 4], [1, 2, 4, 5]])
    """

    def __init__(self) -> None:
        super().__init__("\n", "\n", fields=1)

    def feed(self, chunk: bytes) -> None:
        """Scan the next chunk of the file."""
        data = np.frombuffer(chunk, np.uint8)
        ends = np.flatnonzero(data == 10).astype(np.int64)
        if len(ends):
            # Lengths of the records ending in this chunk, the first one begun in an earlier one.
            lengths = np.diff(ends, prepend=self._start_byte - self._pos - 1) - 1
            if lengths.min() > 1 and lengths.max() <= MAX_RECORD_BYTES:
                self._skip(len(ends), int(ends[-1]))
            else:
                end_lines = self._line_base + np.arange(1, len(ends) + 1, dtype=np.int64)
                self._records(data, ends, end_lines, np.zeros(0, np.int64))
        if len(chunk):
            self._last_byte = chunk[-1]
        self._line_base += len(ends)
        self._pos += len(chunk)

    def _skip(self, count: int, last_end: int) -> None:
        """Account for ``count`` regular records, the last one ending at ``last_end``."""
        index = self._layout.records
        offset = self._start_line - 1 - index
        if offset != self._last_offset:
            self._break_index.append(np.array([index], np.int64))
            self._break_offset.append(np.array([offset], np.int64))
            self._last_offset = offset
        self._layout.records += count
        self._start_byte = self._pos + last_end + 1
        self._start_line = self._line_base + count + 1
