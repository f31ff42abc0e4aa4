"""The errors of slicing: every problem of a query is reported at once, with what is possible."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from insightloop.errors import InsightloopError

__all__ = ["QueryError", "closest"]


class QueryError(InsightloopError):
    """A slicing query names something unknown, or combines what cannot be combined.

    :attr:`problems` holds every problem found (the API returns them as a list); the message
    lists them all, so one correction fixes them all.
    """

    # The API maps this code to 400: the request is malformed, the server is fine.
    code = "invalid_request"

    def __init__(self, problems: Sequence[str], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            message = f"Invalid query: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {p}" for p in self.problems)
            message = f"Invalid query ({len(self.problems)} problems):\n{lines}"
        super().__init__(
            message,
            hint=hint
            or "`insightloop query --list` (or GET /api/v1/query/catalogue) lists "
            "the measures and dimensions.",
        )


def closest(word: str, known: Iterable[str], what: str) -> str:
    """``"Did you mean 'x'? Known <what>: a, b, c."`` (the first part only when one is close)."""
    options = sorted(set(known))
    listing = f"Known {what}: {', '.join(options)}." if options else f"There are no {what}."
    match = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"Did you mean '{match[0]}'? {listing}" if match else listing
