"""The scorecard: the latest value of every measure, the one before it, and their history.

:func:`scorecard` reads ``quality_metrics`` with one windowed query: the engine ranks the measures
of each (source, entity, metric, field) by time and returns only the last ``history`` of each.
:class:`Scorecard` serves the CLI (:meth:`Scorecard.rows`), the API (:meth:`Scorecard.to_dict`)
and trend charts (:meth:`Scorecard.history`).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

import ibis
import ibis.expr.types as ir

from insightloop.quality.scorecard.thresholds import METRICS, METRICS_TABLE, utc_naive
from insightloop.store import Engine

__all__ = ["Measure", "MeasureKey", "Scorecard", "Trend", "scorecard", "scorecard_expr"]

MeasureKey = tuple[str, str, str, str]
"""``(source, entity, metric, field)``."""

Trend = Literal["up", "down", "flat"]

# Changes smaller than this are noise of floating-point arithmetic, not a trend.
_FLAT = 1e-9
_ARROWS: dict[str | None, str] = {"up": "↑", "down": "↓", "flat": "→", None: ""}


@dataclass(frozen=True)
class Measure:
    """The latest value of one measure, with the value before it.

    ``change`` is ``value - previous``; ``trend`` says which way it moved (``None`` without a
    previous value). Whether up is good depends on the metric: for shares, up is better; for
    freshness (hours), down is; for volume, nearer 1 is.
    """

    source: str
    entity: str
    metric: str
    field: str
    value: float | None
    flagged: bool
    measured_at: datetime
    batch_id: str
    run_id: str
    detail: dict[str, Any]
    previous: float | None = None
    previous_measured_at: datetime | None = None
    change: float | None = None
    trend: Trend | None = None

    @property
    def key(self) -> MeasureKey:
        return (self.source, self.entity, self.metric, self.field)

    def formatted_value(self, value: float | None = None) -> str:
        """``value`` (default: the latest) as a person reads it: 97.0%, 5.2 h, 0.49x.

        Examples
        --------
        >>> m = Measure("crm", "customers", "volume", "", 0.4878, True, datetime(2025, 1, 1),
        ...             "b1", "r1", {})
        >>> m.formatted_value(), m.formatted_value(1.0)
        ('0.49x', '1.00x')
        """
        value = self.value if value is None else value
        if value is None:
            return "-"
        if self.metric == "freshness":
            return f"{value:.1f} h"
        if self.metric == "volume":
            return f"{value:.2f}x"
        return f"{value:.1%}"


@dataclass(frozen=True)
class Scorecard:
    """The latest measures of the data-quality scorecard and their recent history.

    ``measures`` is sorted by source, entity, metric (in :data:`METRICS` order) and field;
    ``points`` holds, per measure key, up to ``history_length`` ``(measured_at, value)`` pairs,
    oldest first.
    """

    measures: tuple[Measure, ...]
    points: dict[MeasureKey, tuple[tuple[datetime, float | None], ...]] = dataclasses.field(
        repr=False
    )
    history_length: int = 10

    HEADERS: ClassVar[tuple[str, ...]] = (
        "Source",
        "Entity",
        "Metric",
        "Field",
        "Value",
        "Previous",
        "Trend",
        "Flagged",
        "Measured at",
    )
    """Column titles of :meth:`rows`."""

    @property
    def flagged(self) -> int:
        """How many of the latest measures break their threshold."""
        return sum(m.flagged for m in self.measures)

    def flagged_by(self, attribute: Literal["source", "entity", "metric"]) -> dict[str, int]:
        """Flagged measures counted per source, entity or metric (only those with any)."""
        counts = Counter(getattr(m, attribute) for m in self.measures if m.flagged)
        return dict(sorted(counts.items()))

    def rows(self, *, flagged_only: bool = False) -> list[tuple[str, ...]]:
        """One tuple of display strings per measure, in the order of :attr:`HEADERS`.

        ``Table(*Scorecard.HEADERS)`` then ``table.add_row(*row)`` shows them with Rich.
        """
        return [
            (
                m.source,
                m.entity,
                m.metric,
                m.field or "(all)",
                m.formatted_value(),
                "" if m.previous is None else m.formatted_value(m.previous),
                _ARROWS[m.trend],
                "yes" if m.flagged else "",
                m.measured_at.strftime("%Y-%m-%d %H:%M"),
            )
            for m in self.measures
            if m.flagged or not flagged_only
        ]

    def history(
        self, source: str, metric: str, field: str = "", *, entity: str | None = None
    ) -> list[tuple[datetime, float | None]]:
        """``(measured_at, value)`` of one measure, oldest first, for a trend chart.

        ``entity`` may be left out when the source loads one entity; otherwise the points of
        all its entities are merged.
        """
        out = [
            point
            for (s, e, m, f), points in self.points.items()
            if (s, m, f) == (source, metric, field) and entity in (None, e)
            for point in points
        ]
        return sorted(out, key=lambda p: p[0])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary: counts, and every measure with its history (ISO 8601 times)."""
        return {
            "history_length": self.history_length,
            "total": len(self.measures),
            "flagged": self.flagged,
            "flagged_by_source": self.flagged_by("source"),
            "flagged_by_metric": self.flagged_by("metric"),
            "measures": [
                {
                    "source": m.source,
                    "entity": m.entity,
                    "metric": m.metric,
                    "field": m.field,
                    "value": m.value,
                    "flagged": m.flagged,
                    "measured_at": m.measured_at.isoformat(),
                    "batch_id": m.batch_id,
                    "run_id": m.run_id,
                    "detail": m.detail,
                    "previous": m.previous,
                    "previous_measured_at": _iso(m.previous_measured_at),
                    "change": m.change,
                    "trend": m.trend,
                    "history": [[at.isoformat(), v] for at, v in self.points.get(m.key, ())],
                }
                for m in self.measures
            ],
        }


def scorecard_expr(
    engine: Engine, *, source: str | None = None, entity: str | None = None, history: int = 10
) -> ir.Table:
    """The last ``history`` measures per (source, entity, metric, field), newest first."""
    t = engine.table(METRICS_TABLE)
    if source is not None:
        t = t.filter(t.source == source)
    if entity is not None:
        t = t.filter(t.entity == entity)
    t = t.mutate(field=t.field.fill_null(""), batch_id=t.batch_id.fill_null(""))
    newest_first = ibis.row_number().over(
        group_by=[t.source, t.entity, t.metric, t.field],
        order_by=[ibis.desc(t.measured_at), ibis.desc(t.batch_id), ibis.desc(t.run_id)],
    )
    ranked = t.mutate(position=newest_first)
    return ranked.filter(ranked.position < history).select(
        "source",
        "entity",
        "metric",
        "field",
        "position",
        "value",
        "flagged",
        "measured_at",
        "batch_id",
        "run_id",
        "detail",
    )


def scorecard(
    engine: Engine, *, source: str | None = None, entity: str | None = None, history: int = 10
) -> Scorecard:
    """The scorecard of the workspace, or of one source and/or entity.

    Parameters
    ----------
    history
        How many measures per (source, entity, metric, field) to keep for trends (at least 1;
        2 or more gives a previous value).

    Examples
    --------
    >>> from insightloop.store import migrate
    >>> engine = Engine.in_memory()
    >>> _ = migrate(engine)
    >>> _ = engine.insert("quality_metrics", [
    ...     {"source": "crm", "entity": "customers", "metric": "validity", "field": "",
    ...      "value": v, "flagged": v < 0.95, "measured_at": datetime(2025, 1, day)}
    ...     for day, v in [(1, 0.99), (2, 0.9)]])
    >>> card = scorecard(engine)
    >>> m = card.measures[0]
    >>> m.value, m.previous, m.trend, card.flagged
    (0.9, 0.99, 'down', 1)
    >>> card.history("crm", "validity")
    [(datetime.datetime(2025, 1, 1, 0, 0), 0.99), (datetime.datetime(2025, 1, 2, 0, 0), 0.9)]
    """
    if history < 1:
        raise ValueError(f"history must be at least 1, got {history}")
    rows = engine.records(scorecard_expr(engine, source=source, entity=entity, history=history))
    grouped: dict[MeasureKey, list[dict[str, Any]]] = {}
    for row in rows:
        key = (row["source"] or "", row["entity"] or "", row["metric"] or "", row["field"])
        grouped.setdefault(key, []).append(row)
    measures: list[Measure] = []
    points: dict[MeasureKey, tuple[tuple[datetime, float | None], ...]] = {}
    for key, items in grouped.items():
        items.sort(key=lambda r: r["position"])
        points[key] = tuple((utc_naive(r["measured_at"]), r["value"]) for r in reversed(items))
        measures.append(_measure(key, items[0], items[1] if len(items) > 1 else None))
    measures.sort(key=_display_order)
    return Scorecard(measures=tuple(measures), points=points, history_length=history)


def _display_order(m: Measure) -> tuple[str, str, int, str, str]:
    rank = METRICS.index(m.metric) if m.metric in METRICS else len(METRICS)
    return (m.source, m.entity, rank, m.metric, m.field)


def _measure(key: MeasureKey, latest: dict[str, Any], before: dict[str, Any] | None) -> Measure:
    value = latest["value"]
    previous = None if before is None else before["value"]
    change = None if value is None or previous is None else value - previous
    trend: Trend | None = None
    if change is not None:
        trend = "flat" if abs(change) < _FLAT else "up" if change > 0 else "down"
    return Measure(
        *key,
        value=value,
        flagged=bool(latest["flagged"]),
        measured_at=utc_naive(latest["measured_at"]),
        batch_id=latest["batch_id"],
        run_id=latest["run_id"] or "",
        detail=_detail(latest["detail"]),
        previous=previous,
        previous_measured_at=None if before is None else utc_naive(before["measured_at"]),
        change=change,
        trend=trend,
    )


def _detail(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {"unreadable": True}
    return loaded if isinstance(loaded, dict) else {"value": loaded}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
