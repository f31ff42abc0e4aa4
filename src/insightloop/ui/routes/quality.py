"""Data quality: per-source scorecards over time, the load history with its account, the
quarantine browser, and retrying held rows after a fix.

Everyone may look (``status:read``). The raw values of a quarantined row are personal data
whenever the source holds any: roles without ``pii:read`` see every value masked, and every
unmasked view is audited (``quarantine.read``). Retrying needs ``pipeline:run`` and is audited
(``quarantine.retry``). The queries are in :mod:`insightloop.quality.dashboard` and
:mod:`insightloop.quality.quarantine_browser`; this module arranges their results for the pages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from insightloop.auth import Principal
from insightloop.errors import InsightloopError
from insightloop.ingest.normalise import REASONS
from insightloop.ingest.readers import REJECT_REASONS
from insightloop.ingest.sources import CAST_REASONS, SourceDeclaration
from insightloop.privacy import MASK
from insightloop.quality import Measure, scorecard
from insightloop.quality.contracts import RULE_CODES
from insightloop.quality.dashboard import (
    BatchQuality,
    SourceLoadStatus,
    load_history,
    loaded_sources,
    quality_summary,
    scorecard_trends,
)
from insightloop.quality.quarantine_browser import (
    QUARANTINE_STATES,
    QuarantineEntry,
    QuarantineFilter,
    quarantine_entry,
    quarantine_facets,
    quarantine_page,
    reason_counts,
)
from insightloop.ui.charts import Figure, bar_chart, line_chart
from insightloop.ui.render import render, render_fragment
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, Depends(page_user("status:read"))]
Runner = Annotated[Principal, Depends(page_user("pipeline:run"))]
Name = Annotated[str | None, Query(max_length=200)]
PageNumber = Annotated[str, Query(max_length=12)]

PAGE_SIZE = 50
#: Load batches per source and entity in the scorecard's charts.
TREND_HISTORY = 30
#: At most this many rows retried by selection at once (the page shows 50).
MAX_RETRY_IDS = 1000
_ID = re.compile(r"^[0-9a-f]{32}$")

#: What each reason code means: contract rules, normalisers, the mapping's steps, the reader.
MEANINGS: Mapping[str, str] = {
    **RULE_CODES,
    **{code: reason.meaning.replace("`", "") for code, reason in REASONS.items()},
    **{code: text[:1].upper() + text[1:] + "." for code, text in CAST_REASONS.items()},
    **{code: text[:1].upper() + text[1:] + "." for code, text in REJECT_REASONS.items()},
}


def _given(value: str | None) -> str | None:
    """A filter's value, or ``None`` for "all" (an empty select)."""
    value = (value or "").strip()
    return value or None


def _page(text: str) -> int:
    """The page number asked for (1 and up), or a 422 page."""
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise PageError(
            422, "The page number must be a whole number from 1.", "Use the page links."
        )
    return int(text)


def _offset(page: int) -> int:
    return (page - 1) * PAGE_SIZE


# -- scorecards --------------------------------------------------------------------------


@dataclass
class MetricCell:
    """One metric of a source's latest load, as the card shows it."""

    label: str
    text: str
    flagged: bool
    note: str = ""


@dataclass
class SourceCard:
    """A source and entity on the scorecard page."""

    source: str
    entity: str
    status: SourceLoadStatus | None
    measures: list[Measure] = field(default_factory=list)
    cells: list[MetricCell] = field(default_factory=list)
    figure: Figure | None = None

    @property
    def flagged(self) -> int:
        return sum(m.flagged for m in self.measures)


def _cells(measures: Sequence[Measure], points: Sequence[BatchQuality]) -> list[MetricCell]:
    """The five metrics of a source's latest load: the batch-level value, red when any measure
    of the metric is flagged, with the flagged columns named."""
    by_metric: dict[str, list[Measure]] = {}
    for m in measures:
        by_metric.setdefault(m.metric, []).append(m)

    def cell(label: str, metric: str, text: str, note: str) -> MetricCell:
        flagged = [m for m in by_metric.get(metric, []) if m.flagged]
        named = [f"{m.field} {m.formatted_value()}" for m in flagged if m.field]
        if named:
            note = "flagged: " + ", ".join(named[:3]) + (" …" if len(named) > 3 else "")
        return MetricCell(label, text, bool(flagged), note)

    def share(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f} %"

    last = points[-1] if points else None
    validity = next((m for m in by_metric.get("validity", []) if m.field == ""), None)
    uniqueness = [m.value for m in by_metric.get("uniqueness", []) if m.value is not None]
    volume = next(iter(by_metric.get("volume", [])), None)
    fresh = next((m for m in by_metric.get("freshness", []) if m.field == ""), None)
    judged = volume is not None and "reason" not in volume.detail
    return [
        cell("Completeness", "completeness", share(last.completeness if last else None),
             "lowest of the required columns"),
        cell("Validity", "validity", share(validity.value if validity else None),
             "rows the contract accepted"),
        cell("Uniqueness", "uniqueness", share(min(uniqueness) if uniqueness else None),
             "of the key"),
        cell("Volume", "volume", volume.formatted_value() if judged and volume else "not judged",
             "rows read ÷ usual volume" if judged or volume is None
             else str(volume.detail["reason"])),
        cell("Freshness", "freshness", fresh.formatted_value() if fresh else "-",
             "since the last successful load"),
    ]  # fmt: skip


def _load_labels(points: Sequence[BatchQuality]) -> list[str]:
    """One label per load (its time), evenly spaced on the axis: a chart "per load"."""
    labels: list[str] = []
    for p in points:
        label = p.measured_at.strftime("%Y-%m-%d %H:%M:%S")
        labels.append(label if label not in labels else f"{label} #{labels.count(label) + 1}")
    return labels


def _trend_figure(source: str, entity: str, points: Sequence[BatchQuality]) -> Figure:
    series = {
        "completeness (required, lowest)": [p.completeness for p in points],
        "validity": [p.validity for p in points],
        "uniqueness": [p.uniqueness for p in points],
        "volume (ratio to usual)": [p.volume for p in points],
    }
    figure = line_chart(
        _load_labels(points),
        {name: values for name, values in series.items() if any(v is not None for v in values)},
        title=f"{source} · {entity}: per load",
        x_title="load (UTC)",
        y_title="share (volume: ratio)",
    )
    top = max([1.0, *(p.volume for p in points if p.volume is not None)])
    layout = figure["layout"]
    layout["height"] = 260
    layout["xaxis"]["type"] = "category"
    layout["yaxis"]["range"] = [0, round(top * 1.05, 2)]
    return figure


@router.get("/quality", response_class=HTMLResponse)
def scorecards(
    request: Request, user: Viewer, source: Name = None, entity: Name = None
) -> Response:
    """Per-source scorecards: the latest measures with their trend, and the batch-level measures
    of every load as a line chart."""
    source, entity = _given(source), _given(entity)
    with open_workspace(request) as ws:
        summary = quality_summary(ws.engine)
        card = scorecard(ws.engine, source=source, entity=entity, history=2)
        trends = scorecard_trends(ws.engine, source=source, entity=entity, history=TREND_HISTORY)
    statuses = {(s.source, s.entity): s for s in summary.sources}
    cards: dict[tuple[str, str], SourceCard] = {}
    for m in card.measures:
        key = (m.source, m.entity)
        cards.setdefault(key, SourceCard(m.source, m.entity, statuses.get(key))).measures.append(m)
    for key, item in cards.items():
        points = trends.get(key, [])
        item.cells = _cells(item.measures, points)
        item.figure = _trend_figure(item.source, item.entity, points) if points else None
    ordered = sorted(cards.values(), key=lambda c: (-c.flagged, c.source, c.entity))
    return render(
        request, "quality/scorecards.html", user, summary=summary, cards=ordered,
        flagged=card.flagged, source=source, entity=entity,
        sources=sorted({s.source for s in summary.sources}),
        entities=sorted({s.entity for s in summary.sources}),
    )  # fmt: skip


# -- the load history ----------------------------------------------------------------------


@router.get("/quality/loads", response_class=HTMLResponse)
def loads(
    request: Request, user: Viewer, source: Name = None, entity: Name = None, page: PageNumber = "1"
) -> Response:
    """Every batch, newest first, with rows read = loaded + quarantined + duplicates checked."""
    source, entity, number = _given(source), _given(entity), _page(page)
    with open_workspace(request) as ws:
        pairs = loaded_sources(ws.engine)
        history = load_history(
            ws.engine, source=source, entity=entity, offset=_offset(number), limit=PAGE_SIZE
        )
    return render(
        request, "quality/loads.html", user, history=history, page=number, page_size=PAGE_SIZE,
        source=source, entity=entity, sources=sorted({s for s, _ in pairs}),
        entities=sorted({e for _, e in pairs}),
    )  # fmt: skip


# -- the quarantine ----------------------------------------------------------------------


def _filter(
    source: str | None, entity: str | None, reason: str | None, state: str
) -> QuarantineFilter:
    if state not in QUARANTINE_STATES:
        raise PageError(
            422, f"Unknown state {state[:40]!r}.", f"Use {', '.join(QUARANTINE_STATES)}."
        )
    return QuarantineFilter(_given(source), _given(entity), _given(reason), state)


@router.get("/quality/quarantine", response_class=HTMLResponse)
def quarantine(
    request: Request,
    user: Viewer,
    source: Name = None,
    entity: Name = None,
    reason: Name = None,
    state: Annotated[str, Query(max_length=20)] = "unresolved",
    page: PageNumber = "1",
) -> Response:
    """Rows held by the contracts: counts per reason code and a page of rows (no raw values).
    An HTMX request from the filters gets the results part only."""
    where, number = _filter(source, entity, reason, state), _page(page)
    with open_workspace(request) as ws:
        facets = quarantine_facets(ws.engine)
        counts = reason_counts(ws.engine, where)
        rows = quarantine_page(ws.engine, where, offset=_offset(number), limit=PAGE_SIZE)
    figure = None
    if counts:
        figure = bar_chart(
            [c.code for c in counts], {"rows": [c.rows for c in counts]},
            title="Rows per reason code", horizontal=True,
        )  # fmt: skip
    context: dict[str, Any] = {
        "where": where, "facets": facets, "counts": counts, "figure": figure, "rows": rows,
        "page": number, "page_size": PAGE_SIZE, "states": QUARANTINE_STATES,
        "meanings": MEANINGS, "can_retry": user.can("pipeline:run"),
    }  # fmt: skip
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "quarantine-body":
        return render_fragment(request, "quality/_quarantine_body.html", user, **context)
    return render(request, "quality/quarantine.html", user, **context)


@dataclass(frozen=True)
class RawValue:
    """One raw field of a quarantined row as the page shows it."""

    name: str
    text: str
    empty: bool
    masked: bool
    maps_to: tuple[str, ...]


def _maps_to(declaration: SourceDeclaration | None) -> dict[str, tuple[str, ...]]:
    """Raw column → the canonical columns the source's mapping fills from it."""
    out: dict[str, list[str]] = {}
    for column, transform in (declaration.mapping if declaration else {}).items():
        for raw in transform.raw_columns():
            out.setdefault(raw, []).append(column)
    return {raw: tuple(columns) for raw, columns in out.items()}


def _raw_values(
    entry: QuarantineEntry, maps_to: Mapping[str, tuple[str, ...]], unmasked: bool
) -> list[RawValue]:
    """The raw values, every one masked unless ``unmasked``: the fields are the source's own,
    and any of them may hold personal data (a shifted column, a note), so none is shown."""
    out = []
    for name, value in entry.raw.items():
        text = "" if value is None else str(value)
        empty = not text.strip()
        shown = ("(empty)" if value is None else "(blank)") if empty else text
        out.append(
            RawValue(
                name=name,
                text=shown if unmasked or empty else MASK,
                empty=empty,
                masked=not unmasked and not empty,
                maps_to=maps_to.get(name, ()),
            )
        )
    return out


@router.get("/quality/quarantine/{quarantine_id}", response_class=HTMLResponse)
def quarantine_row(request: Request, user: Viewer, quarantine_id: str) -> Response:
    """One held row: every reason, where it came from, and its raw values (masked without
    ``pii:read``; an unmasked view is audited)."""
    if not _ID.match(quarantine_id):
        raise PageError(
            404, "No quarantined row has this id.", "Open a row from the quarantine list."
        )
    with open_workspace(request) as ws:
        entry = quarantine_entry(ws.engine, quarantine_id, MEANINGS)
        declared = ws.sources() if entry is not None else {}
    if entry is None:
        raise PageError(
            404, "No quarantined row has this id.", "Open a row from the quarantine list."
        )
    unmasked = user.can("pii:read")
    if unmasked:
        request.app.state.audit_writer.record(
            user.username, "quarantine.read", target=quarantine_id,
            details={"source": entry.row.source, "entity": entry.row.entity},
        )  # fmt: skip
    values = _raw_values(entry, _maps_to(declared.get(entry.row.source)), unmasked)
    return render(
        request, "quality/quarantine_row.html", user, entry=entry, values=values,
        unmasked=unmasked, can_retry=user.can("pipeline:run"),
    )  # fmt: skip


@router.post("/quality/quarantine/retry", response_class=HTMLResponse)
def retry(
    request: Request,
    user: Runner,
    scope: Annotated[str, Form(max_length=20)] = "selected",
    source: Annotated[str | None, Form(max_length=200)] = None,
    ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Run held rows again through their source's current mapping and contract: the selected
    rows, or every held row of a source (or of every source); shows what loaded now."""
    source = _given(source)
    chosen = [i for i in (ids or []) if i]
    if scope not in ("selected", "all"):
        raise PageError(422, "Unknown retry scope.", "Use the buttons of the quarantine page.")
    if scope == "selected":
        if not chosen:
            raise PageError(422, "No row was selected.", "Tick the rows to retry, then retry.")
        if len(chosen) > MAX_RETRY_IDS or not all(_ID.match(i) for i in chosen):
            raise PageError(
                422,
                "The selection is not a list of quarantine ids.",
                f"Select at most {MAX_RETRY_IDS:,} rows of the quarantine list.",
            )
    sources = [source] if source else None
    target = source or "all sources"
    details: dict[str, Any] = {"scope": scope, "rows_selected": len(chosen) if chosen else None}
    audit = request.app.state.audit_writer
    with open_workspace(request, read_only=False) as ws:
        try:
            report = ws.retry_quarantine(sources, ids=chosen if scope == "selected" else None)
        except InsightloopError as exc:
            audit.record(user.username, "quarantine.retry", target=target, details=details,
                         outcome="failed")  # fmt: skip
            raise PageError(409, exc.message, exc.hint or "") from None
    totals = report.totals()
    details |= {k: totals[k] for k in ("batches", "rows_read", "rows_loaded", "rows_quarantined")}
    audit.record(user.username, "quarantine.retry", target=target, details=details)
    return render(
        request, "quality/retry.html", user, report=report, totals=totals, source=source,
        scope=scope, selected=len(chosen),
    )  # fmt: skip
