"""Segments: the saved rule segments with their sizes and trends, each segment's page (rule,
membership history, overlaps, members) with the export of its members, and deleting one.

Every role reads segments and their members' customer ids; names and e-mail addresses are shown
(and exported) only to roles holding ``pii:read``, and every such read is written to the audit
log first: ``segment.read_contacts`` per customer shown on a page, one ``segment.export`` with
the count for a CSV export. Building, saving and deleting need ``segments:write`` (the builder is
:mod:`insightloop.ui.routes.segment_builder`). Sizes and histories are counted in the engine
(:mod:`insightloop.analytics.segments.history_counts`); member lists are paged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from insightloop.analytics.segments import (
    SegmentError,
    current_members,
    delete_segment,
    dumps_condition,
    list_segments,
)
from insightloop.analytics.segments.history_counts import (
    Period,
    membership_over_time,
    size_changes,
    sizes_over_time,
)
from insightloop.analytics.segments.members import (
    CONTACT_FIELDS,
    member_chunks,
    member_page,
    overlaps_with,
)
from insightloop.analytics.segments.validate import references
from insightloop.auth import AuthStore, Principal
from insightloop.privacy import mask_summary
from insightloop.store import Engine
from insightloop.ui.charts import Figure, bar_chart, line_chart
from insightloop.ui.render import SECURITY_HEADERS, render
from insightloop.ui.routes import segment_builder
from insightloop.ui.routes.segment_builder import find_segment, writable_workspace
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
# First: /segments/new must not be taken for the page of a segment named "new".
router.include_router(segment_builder.router)

Reader = Annotated[Principal, Depends(page_user("profiles:read"))]
Writer = Annotated[Principal, Depends(page_user("segments:write"))]

#: Members shown per page; segments per page of the list.
MEMBERS_PAGE = 25
SEGMENTS_PAGE = 100
#: The window of the change column, and how many segments the trend chart draws.
TREND_DAYS = 30
TREND_SEGMENTS = 5
#: The audit actions of reading members' contact details on a page, and of an export.
READ_CONTACTS = "segment.read_contacts"
EXPORT = "segment.export"

Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]


def _now() -> dt.datetime:
    """Now in naive UTC, as membership history is stamped."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# -- the list ----------------------------------------------------------------------------------


def _date_axis(figure: Figure, days: Sequence[dt.date]) -> Figure:
    """Days on the x axis, labelled as dates (one day alone gets the week around it), and
    members from zero up."""
    axis = figure["layout"]["xaxis"]
    axis.update(type="date", tickformat="%Y-%m-%d")
    if len(days) == 1:
        around = dt.timedelta(days=3)
        axis["range"] = [(days[0] - around).isoformat(), (days[0] + around).isoformat()]
    if len(days) <= 10:
        axis["dtick"] = 86_400_000  # one tick a day, in milliseconds
    figure["layout"]["legend"]["y"] = -0.3  # below the axis title
    figure["layout"]["yaxis"]["rangemode"] = "tozero"  # sizes, measured from nobody
    return figure


def _trend(
    rows: Sequence[Mapping[str, Any]], names: Sequence[str], today: dt.date
) -> Figure | None:
    """The members of each of ``names`` at the end of each of the last days: the size after
    its last change on or before the day (from the engine's running totals), 0 before its
    first member."""
    if not rows:
        return None
    days = [today - dt.timedelta(days=n) for n in range(TREND_DAYS, -1, -1)]
    series: dict[str, list[int]] = {}
    for name in names:
        changes = [(r["day"], int(r["members"])) for r in rows if r["name"] == name]
        values: list[int] = []
        for day in days:
            known = [members for changed, members in changes if changed <= day]
            values.append(known[-1] if known else 0)
        series[name] = values
    figure = line_chart(
        days,
        series,
        title=f"Members of the {len(names)} largest segments, last {TREND_DAYS} days",
        x_title="day (UTC)",
        y_title="members",
    )
    return _date_axis(figure, days)


@router.get("/segments", response_class=HTMLResponse)
def segments_page(
    request: Request,
    user: Reader,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    deleted: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """Every saved segment with its size now and its change over the last 30 days, and the
    sizes of the largest ones over time."""
    now = _now()
    since = now - dt.timedelta(days=TREND_DAYS)
    with open_workspace(request) as ws:
        saved = list_segments(ws.engine)
        changes = {r["name"]: r for r in ws.engine.records(size_changes(ws.engine, since))}
        largest = sorted(saved, key=lambda s: (-int(changes[s.name]["size"]), s.name))
        largest = [s for s in largest[:TREND_SEGMENTS] if changes[s.name]["size"]]
        trend_rows = (
            ws.engine.records(sizes_over_time(ws.engine, [s.segment_id for s in largest]))
            if largest
            else []
        )
    start = (page - 1) * SEGMENTS_PAGE
    rows = [
        {
            "name": s.name,
            "version": s.version,
            "size": int(changes[s.name]["size"]),
            "change": int(changes[s.name]["change"]),
            "created_by": s.created_by,
            "updated_at": s.updated_at,
        }
        for s in saved[start : start + SEGMENTS_PAGE]
    ]
    return render(
        request, "segments/list.html", user, rows=rows, count=len(saved), page=page,
        pages=max(1, -(-len(saved) // SEGMENTS_PAGE)), trend_days=TREND_DAYS,
        trend=_trend(trend_rows, [s.name for s in largest], now.date()), deleted=deleted,
        can_write=user.can("segments:write"),
    )  # fmt: skip


# -- one segment -------------------------------------------------------------------------------


def _people(
    request: Request, user: Principal, name: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Members with their names and e-mail addresses: masked for a role without ``pii:read``;
    otherwise every customer's read is on record before the page leaves."""
    if not user.can("pii:read"):
        return [{**r, **mask_summary({f: r.get(f) for f in CONTACT_FIELDS})} for r in rows]
    if rows:
        auth: AuthStore = request.app.state.auth
        details = {"segment": name, "results": len(rows), "to": "page"}
        auth.audit.record_many(
            [
                {"actor": user.username, "action": READ_CONTACTS, "target": r["customer_id"],
                 "details": details}
                for r in rows
            ]
        )  # fmt: skip
    return rows


def _members(
    request: Request, user: Principal, engine: Engine, name: str, offset: int
) -> dict[str, Any]:
    """A page of members (the page's ``members`` part): rows, total and where the pages are."""
    total = int(engine.execute(current_members(engine, name).count()))
    rows = member_page(engine, name, limit=MEMBERS_PAGE, offset=offset, contacts=True)
    return {
        "rows": _people(request, user, name, rows),
        "total": total,
        "offset": offset,
        "previous": max(0, offset - MEMBERS_PAGE) if offset else None,
        "next": offset + MEMBERS_PAGE if offset + MEMBERS_PAGE < total else None,
        "masked": not user.can("pii:read"),
        "page_size": MEMBERS_PAGE,
    }


def _history_figures(rows: Sequence[Mapping[str, Any]], period: str) -> list[Figure]:
    if not rows:
        return []
    starts = [r["start"] for r in rows]
    unit = "week (UTC, from Monday)" if period == "week" else "day (UTC)"
    members = line_chart(
        starts,
        {"members": [int(r["members"]) for r in rows]},
        title=f"Members at the end of each {period}",
        x_title=unit,
        y_title="members",
    )
    moves = bar_chart(
        [s.isoformat() for s in starts],
        {
            "entered": [int(r["entered"]) for r in rows],
            "exited": [int(r["exited"]) for r in rows],
        },
        title=f"Customers entering and leaving per {period}",
        x_title=unit,
        y_title="customers",
    )
    moves["layout"]["xaxis"]["type"] = "category"  # one bar group per period, labelled as such
    moves["layout"]["legend"]["y"] = -0.3
    return [_date_axis(members, starts), moves]


@router.get("/segments/{name}", response_class=HTMLResponse)
def segment_page(
    request: Request,
    user: Reader,
    name: str,
    period: Annotated[str, Query(max_length=10)] = "day",
    offset: Offset = 0,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """A segment: its rule, size and change, membership history, overlaps and members (history
    per ``period``: ``day`` or ``week``)."""
    by: Period = "week" if period == "week" else "day"
    since = _now() - dt.timedelta(days=TREND_DAYS)
    with open_workspace(request) as ws:
        seg = find_segment(ws.engine, name)
        changes = size_changes(ws.engine, since)
        change = ws.engine.records(changes.filter(changes.segment_id == seg.segment_id))[0]
        history = ws.engine.records(membership_over_time(ws.engine, seg.segment_id, by))
        overlaps = overlaps_with(ws.engine, seg.name)[:10]
        members = _members(request, user, ws.engine, seg.name, offset)
    return render(
        request, "segments/detail.html", user, seg=seg, yaml=dumps_condition(seg.definition),
        size=int(change["size"]), change=int(change["change"]), trend_days=TREND_DAYS,
        history=history, figures=_history_figures(history, by), period=by,
        overlaps=overlaps, m=members, saved=saved, can_write=user.can("segments:write"),
        pii=user.can("pii:read"),
    )  # fmt: skip


@router.get("/segments/{name}/members", response_class=HTMLResponse)
def members_part(request: Request, user: Reader, name: str, offset: Offset = 0) -> Response:
    """A page of the segment's members: the part HTMX swaps in (the whole page otherwise)."""
    if not _is_htmx(request):
        return RedirectResponse(f"/segments/{name}?offset={offset}#members", status_code=303)
    with open_workspace(request) as ws:
        seg = find_segment(ws.engine, name)
        members = _members(request, user, ws.engine, seg.name, offset)
    return render(request, "segments/_members.html", user, seg=seg, m=members)


# -- export ------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    """A value as CSV text that a spreadsheet shows and does not run (no leading = + - @)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC).isoformat()
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(request: Request, name: str, contacts: bool) -> Iterator[bytes]:
    """The members as CSV, written chunk by chunk as they are read."""
    columns = ["customer_id", "entered_at", *(CONTACT_FIELDS if contacts else ())]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield buffer.getvalue().encode()
    with open_workspace(request) as ws:
        for chunk in member_chunks(ws.engine, name, contacts=contacts):
            buffer.seek(0)
            buffer.truncate()
            writer.writerows([_cell(r[c]) for c in columns] for r in chunk)
            yield buffer.getvalue().encode()


@router.get("/segments/{name}/export.csv")
def export_members(request: Request, user: Reader, name: str) -> Response:
    """The segment's members as a CSV file, by customer id: ids and entry times for every
    role; first name, last name and e-mail too for roles holding ``pii:read``, recorded in the
    audit log (``segment.export``, with the count) before the file is sent."""
    contacts = user.can("pii:read")
    with open_workspace(request) as ws:
        seg = find_segment(ws.engine, name)
        total = int(ws.engine.execute(current_members(ws.engine, seg.name).count()))
    if contacts:
        request.app.state.audit_writer.record(
            user.username,
            EXPORT,
            target=seg.name,
            details={"segment_id": seg.segment_id, "members": total, "contacts": True},
        )
    return StreamingResponse(
        _csv(request, seg.name, contacts),
        media_type="text/csv; charset=utf-8",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{seg.name}-members.csv"',
            "X-Members": str(total),
        },
    )


# -- deleting ----------------------------------------------------------------------------------


@router.get("/segments/{name}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, user: Writer, name: str) -> Response:
    """Asks before deleting (and says when other segments refer to it)."""
    with open_workspace(request) as ws:
        seg = find_segment(ws.engine, name)
        users = sorted(
            s.name for s in list_segments(ws.engine) if seg.name in references(s.definition)
        )
        size = int(ws.engine.execute(current_members(ws.engine, seg.name).count()))
    return render(request, "segments/delete.html", user, seg=seg, users=users, size=size)


@router.post("/segments/{name}/delete")
def delete(request: Request, user: Writer, name: str) -> Response:
    """Delete the segment and its membership history (audited as ``segment.delete``); a 409
    page while other segments refer to it."""
    with writable_workspace(request) as ws:
        seg = find_segment(ws.engine, name)
        try:
            delete_segment(ws.engine, seg.name)
        except SegmentError as exc:
            raise PageError(409, exc.message, exc.hint or "") from None
        request.app.state.audit_writer.record(
            user.username,
            "segment.delete",
            target=seg.name,
            details={"segment_id": seg.segment_id, "version": seg.version},
        )
    return RedirectResponse(f"/segments?deleted={seg.name}", status_code=303)
