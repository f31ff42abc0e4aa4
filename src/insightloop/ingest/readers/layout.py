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
  record's start line is ``1 + index + offset``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from insightloop.ingest.readers.model import MAX_RECORD_BYTES

__all__ = ["CsvLayout", "LayoutScanner", "Reject"]

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
            ends = newlines[((np.searchsorted(quotes, newlines) + self._in_quote) & 1) == 0]
            returns = np.flatnonzero(data == 13)
            if len(returns) and ((np.searchsorted(quotes, returns) + self._in_quote) & 1).any():
                self._layout.multiline = True  # DuckDB treats a quoted CR as a quoted newline
            delims = np.flatnonzero(data == self._delim)
            delims = delims[((np.searchsorted(quotes, delims) + self._in_quote) & 1) == 0]
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
