"""The errors of rule segments: every problem names the node of the definition where it is."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from insightloop.errors import InsightloopError

__all__ = [
    "Problem",
    "SegmentDefinitionError",
    "SegmentError",
    "SegmentNotFoundError",
    "closest",
]


class SegmentError(InsightloopError):
    """A segment cannot be saved, found, compiled or refreshed as asked."""

    code = "segment_error"


class SegmentNotFoundError(SegmentError):
    """No saved segment has the name."""

    code = "not_found"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition.

    ``path`` locates the node, e.g. ``all[1].any[0].where[0]`` (empty for the root).
    """

    path: str
    message: str
    hint: str | None = None

    def where(self) -> str:
        return self.path or "(root)"


class SegmentDefinitionError(SegmentError):
    """A segment definition is malformed or does not fit the data it is compiled against.

    Every problem of the definition is reported at once; :attr:`problems` holds them one by one
    (the API returns them as a list).
    """

    code = "invalid_segment"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            only = self.problems[0]
            message = f"Invalid segment definition at {only.where()}: {only.message}"
            hint = only.hint
        else:
            lines = "\n".join(f"  - {p.where()}: {p.message}" for p in self.problems)
            message = f"Invalid segment definition ({len(self.problems)} problems):\n{lines}"
            hints = [f"{p.where()}: {p.hint.rstrip('.')}" for p in self.problems if p.hint]
            hint = "; ".join(hints) + "." if hints else None
        super().__init__(message, hint=hint)


def closest(word: str, known: Iterable[str], what: str) -> str:
    """A hint naming the closest known word (if any is close) and all of them."""
    options = sorted(known)
    listing = f"Known {what}: {', '.join(options)}." if options else f"There are no {what}."
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"Did you mean '{match[0]}'? {listing}" if match else listing
