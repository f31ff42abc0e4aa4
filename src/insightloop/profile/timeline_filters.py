"""A page of one customer's timeline, filtered by kind and by day: answered from the customer's
profile document when it holds every entry asked for, from the engine otherwise.

A profile document keeps the newest touchpoints across all kinds
(:data:`~insightloop.profile.documents.DEFAULT_TIMELINE_ENTRIES`) and how many of each kind the
customer has in all (``timeline_counts``). Reading the whole history is an analytical query
(tens to hundreds of milliseconds); most pages need only what the document holds:
:func:`from_document` answers when

- every entry of the chosen kinds is in the document (its count of the kind is the total), or
- the document holds more matching entries than the page shows, all newer than its oldest entry
  (everything newer than that entry is in the document), or
- the filter starts after the document's oldest entry,

and :func:`from_engine` reads the rest.

Examples
--------
>>> doc = {
...     "customer_id": "c1",
...     "identifiers": [],
...     "timeline_counts": {"order": 1, "event": 1},
...     "timeline": [
...         {"at": "2024-03-02T10:00:00+00:00", "kind": "event", "summary": "Viewed page Home"},
...         {"at": "2024-03-01T09:00:00+00:00", "kind": "order", "summary": "Web order W-1"},
...     ],
... }
>>> page = from_document(doc, TimelineFilter(kinds=("order",)))
>>> [e["summary"] for e in page.entries], page.more
(['Web order W-1'], False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from insightloop.identity.config import IdentityConfig
from insightloop.profile.timeline import KINDS, ProfileQueryError, check_kinds, read_timeline
from insightloop.store import Engine

__all__ = [
    "DEFAULT_PAGE_ENTRIES",
    "MAX_PAGE_ENTRIES",
    "TimelineFilter",
    "TimelinePage",
    "from_document",
    "from_engine",
    "parse_day",
]

#: Entries a page shows unless asked for more.
DEFAULT_PAGE_ENTRIES = 25
#: The most entries one page shows.
MAX_PAGE_ENTRIES = 1000


def parse_day(text: str | None, what: str) -> date | None:
    """The day ``text`` names (``YYYY-MM-DD``), ``None`` for an empty text.

    Raises
    ------
    ProfileQueryError
        When the text is not a day; the message names the field (``what``), not the text.

    Examples
    --------
    >>> parse_day("2024-03-01", "from"), parse_day(" ", "from")
    (datetime.date(2024, 3, 1), None)
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ProfileQueryError(
            f"The day '{what}' is not a date.", hint="Write days as YYYY-MM-DD (2024-03-01)."
        ) from None


@dataclass(frozen=True)
class TimelineFilter:
    """Which entries of a timeline to show: ``kinds``, the days ``since`` to ``until`` (both
    included, UTC) and at most ``limit`` entries, newest first.

    ``kinds`` may be empty (nothing chosen: an empty page); :meth:`parse` checks the values.
    """

    kinds: tuple[str, ...] = KINDS
    since: date | None = None
    until: date | None = None
    limit: int = DEFAULT_PAGE_ENTRIES

    @classmethod
    def parse(
        cls,
        kinds: Sequence[str] | None,
        since: str | None = None,
        until: str | None = None,
        limit: int | None = None,
        *,
        chosen: bool = False,
    ) -> TimelineFilter:
        """The filter of a form's values: ``kinds`` (every kind when none is named, unless the
        form was sent with kinds to choose from, ``chosen``), days as ``YYYY-MM-DD``.

        Raises
        ------
        ProfileQueryError
            For an unknown kind, a text that is not a day, ``since`` after ``until``, or a
            limit outside 1 to :data:`MAX_PAGE_ENTRIES`.
        """
        picked = tuple(k for k in kinds or () if k)
        wanted = check_kinds(picked) if picked or not chosen else ()
        first, last = parse_day(since, "from"), parse_day(until, "to")
        if first is not None and last is not None and first > last:
            raise ProfileQueryError(
                "The day 'from' is after the day 'to'.", hint="Swap the two days."
            )
        size = DEFAULT_PAGE_ENTRIES if limit is None else limit
        if not 1 <= size <= MAX_PAGE_ENTRIES:
            raise ProfileQueryError(
                f"A page shows 1 to {MAX_PAGE_ENTRIES} entries.",
                hint="Leave the number of entries out for the default.",
            )
        return cls(wanted, first, last, size)

    @property
    def all_kinds(self) -> bool:
        """Whether every kind is shown."""
        return set(self.kinds) == set(KINDS)

    def window(self) -> tuple[datetime | None, datetime | None]:
        """``(start, end)``: the entries with ``start <= at < end`` (naive UTC, as the engine
        stores times); ``None`` for an open side."""
        midnight = datetime.min.time()
        start = datetime.combine(self.since, midnight) if self.since else None
        end = datetime.combine(self.until + timedelta(days=1), midnight) if self.until else None
        return start, end

    def matches(self, entry: Mapping[str, Any]) -> bool:
        """Whether a timeline entry (as a document holds it) passes the filter's kinds and days."""
        if entry.get("kind") not in self.kinds:
            return False
        if self.since is None and self.until is None:
            return True
        at = _at(entry)
        if at is None:
            return False
        start, end = self.window()
        return (start is None or at >= start) and (end is None or at < end)

    def more(self, step: int = DEFAULT_PAGE_ENTRIES) -> TimelineFilter:
        """The same filter showing ``step`` entries more (at most :data:`MAX_PAGE_ENTRIES`)."""
        return TimelineFilter(
            self.kinds, self.since, self.until, min(self.limit + step, MAX_PAGE_ENTRIES)
        )

    def query(self) -> list[tuple[str, str]]:
        """The filter as the parameters of an address (what :meth:`parse` reads back)."""
        params = [("kinds", k) for k in self.kinds]
        if self.since:
            params.append(("since", self.since.isoformat()))
        if self.until:
            params.append(("until", self.until.isoformat()))
        if self.limit != DEFAULT_PAGE_ENTRIES:
            params.append(("limit", str(self.limit)))
        return [*params, ("chosen", "1")]


@dataclass(frozen=True)
class TimelinePage:
    """Entries of a timeline (dicts as a profile document holds them), newest first; ``more``
    when older entries pass the filter too; ``source`` says where they were read
    (``document`` or ``engine``)."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False
    source: str = "document"


def _at(entry: Mapping[str, Any]) -> datetime | None:
    """The entry's time as naive UTC."""
    value = entry.get("at")
    if not value:
        return None
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def from_document(doc: Mapping[str, Any], flt: TimelineFilter) -> TimelinePage | None:
    """The page ``flt`` asks for, from the profile document alone; ``None`` when the document
    lacks entries the page needs (older ones it did not keep).

    Entries at the very time of the oldest kept one count as kept: the document's cut falls
    where the engine's newest-first order falls (see :mod:`insightloop.profile.documents`).
    """
    if not flt.kinds:
        return TimelinePage()
    timeline: list[dict[str, Any]] = list(doc.get("timeline") or [])
    counts: Mapping[str, int] | None = doc.get("timeline_counts")
    picked = [e for e in timeline if flt.matches(e)]
    exact = TimelinePage(picked[: flt.limit], len(picked) > flt.limit)
    held = {kind: sum(1 for e in timeline if e.get("kind") == kind) for kind in flt.kinds}
    if counts is not None and all(held[k] >= int(counts.get(k) or 0) for k in flt.kinds):
        return exact  # every entry of the chosen kinds is kept
    dated = flt.since is not None or flt.until is not None
    cut = _at(timeline[-1]) if timeline else None
    if cut is None:
        # Entries without a time come last: every dated entry is kept, or none is.
        return exact if dated and timeline else None
    start, _ = flt.window()
    if start is not None and start > cut:
        return exact  # every entry since the start is newer than the cut
    if len(picked) > flt.limit:
        return exact
    if len(picked) == flt.limit and not dated and counts is not None:
        total = sum(int(counts.get(k) or 0) for k in flt.kinds)
        return TimelinePage(picked, total > flt.limit)
    return None


def from_engine(
    engine: Engine, config: IdentityConfig, doc: Mapping[str, Any], flt: TimelineFilter
) -> TimelinePage:
    """The page ``flt`` asks for, read from the workspace's tables (the customer's whole
    history, found through the identifier values of the document ``doc``)."""
    if not flt.kinds:
        return TimelinePage(source="engine")
    values = [str(i["value"]) for i in doc.get("identifiers") or [] if i.get("value")]
    start, end = flt.window()
    found = read_timeline(
        engine,
        config,
        str(doc["customer_id"]),
        values,
        kinds=flt.kinds,
        since=start,
        until=end,
        limit=flt.limit + 1,
    )
    entries = [e.to_dict() for e in found]
    return TimelinePage(entries[: flt.limit], len(entries) > flt.limit, "engine")
