"""Customer search and the 360-degree page of one customer.

Both read the profile store (materialised profile documents, see docs/profiles.md), never the
analytical tables, except the timeline: a filter the document cannot answer (it keeps the newest
touchpoints only) reads the customer's whole history from the workspace
(:mod:`insightloop.profile.timeline_filters`).

Personal data is masked for roles without ``pii:read``; every page that shows it unmasked is
written to the audit log before it is sent: ``customer.search`` for each customer a search
shows, ``profile.read`` for a profile (and for a timeline, which holds contact notes and survey
comments), as the profile API does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from insightloop.analytics.config import analytics_config
from insightloop.auth import AuditWriter, Principal
from insightloop.auth.audit_writer import AuditWriteError
from insightloop.identity.config import identity_config
from insightloop.privacy import mask_profile, mask_summary
from insightloop.profile import KINDS, ProfileQueryError
from insightloop.profile.backends import ProfileDocuments
from insightloop.profile.store import ProfileStoreError, SearchPage
from insightloop.profile.timeline_filters import (
    TimelineFilter,
    TimelinePage,
    from_document,
    from_engine,
)
from insightloop.ui.render import render, render_fragment
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_user("profiles:read"))]
CustomerId = Annotated[str, Path(min_length=1, max_length=200)]
Kinds = Annotated[list[str] | None, Query(max_length=32)]

#: Customers a search page lists.
SEARCH_PAGE = 20
MAX_OFFSET = 10_000
MAX_QUERY = 200

#: What the page calls each kind of touchpoint.
KIND_LABELS: dict[str, str] = {
    "order": "Orders",
    "event": "Web & app events",
    "interaction": "Contacts",
    "feedback": "Surveys",
    "campaign": "Campaigns",
}
#: What the page calls one touchpoint of each kind.
KIND_NAMES: dict[str, str] = {
    "order": "order",
    "event": "web/app event",
    "interaction": "contact",
    "feedback": "survey",
    "campaign": "campaign",
}
#: The golden-record fields, in the order the page lists them.
GOLDEN_LABELS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "E-mail",
    "phone": "Phone",
    "birth_date": "Date of birth",
    "street": "Street",
    "postcode": "Postcode",
    "city": "City",
    "country": "Country",
    "language": "Language",
}
#: Computed attributes the page shows as key measures: key, label, format.
MEASURES: tuple[tuple[str, str, str], ...] = (
    ("orders", "Orders", "int"),
    ("revenue", "Revenue", "money"),
    ("revenue_365d", "Revenue, 365 days", "money"),
    ("profit_12m", "Profit, 12 months", "money"),
    ("avg_order_value", "Average order", "money"),
    ("recency_days", "Days since last order", "days"),
    ("tenure_days", "Days as a customer", "days"),
    ("purchase_interval_days", "Days between purchases", "days"),
    ("return_rate", "Return rate", "percent"),
    ("rfm_score", "RFM score", "text"),
    ("top_channel", "Main channel", "text"),
    ("top_category", "Main category", "text"),
    ("expected_purchases", "Expected purchases", "number"),
    ("contacts_365d", "Contacts, 365 days", "int"),
    ("last_nps", "Last NPS", "int"),
    ("campaigns_365d", "Campaigns, 365 days", "int"),
)

_STORE_HINT = "Build it with `insightloop run` (or `insightloop run profiles`)."


def _store(request: Request) -> ProfileDocuments:
    store: ProfileDocuments = request.app.state.profiles
    return store


def _unavailable(exc: ProfileStoreError) -> PageError:
    return PageError(503, exc.message, exc.hint or _STORE_HINT)


def _audit_failed() -> PageError:
    return PageError(
        503,
        "The audit log could not be written, so personal data is not shown.",
        "Try again; if it keeps failing, an admin should check the disk of the workspace "
        "(auth.sqlite).",
    )


async def _audit(
    request: Request, user: Principal, action: str, targets: list[str], details: dict[str, Any]
) -> None:
    """One audit entry per customer in ``targets``, committed before the page is sent."""
    writer: AuditWriter = request.app.state.audit_writer
    try:
        await asyncio.gather(
            *(writer.arecord(user.username, action, target=t, details=details) for t in targets)
        )
    except AuditWriteError:
        raise _audit_failed() from None


# -- search --------------------------------------------------------------------------------


def _search_url(path: str, q: str, offset: int) -> str:
    params: dict[str, str | int] = {"q": q}
    if offset:
        params["offset"] = offset
    return f"{path}?{urlencode(params)}"


async def _search(request: Request, user: Principal, q: str, offset: int) -> dict[str, Any]:
    """The context of a search: the page of hits (masked without ``pii:read``, audited with
    it), links to the pages before and after, or the problem with the query."""
    context: dict[str, Any] = {"q": q, "offset": offset, "hits": [], "error": None}
    context["page_size"] = SEARCH_PAGE
    context.update(prev_url=None, next_url=None, prev_part=None, next_part=None)
    context["masked"] = not user.can("pii:read")
    if not q:
        return context
    if len(q) < 2 and q.isascii():
        # One letter matches most customers, and ranking them all is slow on a large store;
        # one Han character is a family name, though.
        context["error"] = ProfileQueryError(
            "Type at least two characters.", hint="A name, an e-mail, a phone number or an id."
        )
        return context
    try:
        page: SearchPage = _store(request).search(
            q, limit=SEARCH_PAGE, offset=offset, personal=not context["masked"]
        )
    except ProfileQueryError as exc:
        context["error"] = exc
        return context
    except ProfileStoreError as exc:
        raise _unavailable(exc) from None
    hits = [mask_summary(h) for h in page.data] if context["masked"] else page.data
    if hits and not context["masked"]:
        details = {"results": len(hits), "offset": offset, "via": "ui"}
        await _audit(request, user, "customer.search", [h["customer_id"] for h in hits], details)
    context["hits"] = [{**h, "url": _profile_url(h["customer_id"])} for h in hits]
    if offset > 0:
        before = max(offset - SEARCH_PAGE, 0)
        context["prev_url"] = _search_url("/customers", q, before)
        context["prev_part"] = _search_url("/customers/results", q, before)
    if page.next_offset is not None and page.next_offset <= MAX_OFFSET:
        context["next_url"] = _search_url("/customers", q, page.next_offset)
        context["next_part"] = _search_url("/customers/results", q, page.next_offset)
    return context


def _exact_match(request: Request, user: Principal, q: str) -> str | None:
    """The customer an identifier typed in full belongs to (an e-mail, a phone number in
    international form, a customer id, a loyalty number ...), if exactly one; e-mails and
    phone numbers only for a user with ``pii:read``."""
    try:
        return _store(request).find(q, personal=user.can("pii:read"))
    except ProfileQueryError:  # empty, or the identifier of several customers
        return None
    except ProfileStoreError as exc:
        raise _unavailable(exc) from None


def _profile_url(customer_id: str) -> str:
    return f"/customers/{quote(customer_id, safe='')}"


@router.get("/customers", response_class=HTMLResponse)
async def customers_page(
    request: Request,
    user: Reader,
    q: Annotated[str, Query(max_length=1000)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The search page; an identifier that finds one customer opens the customer's page."""
    q = q.strip()[:MAX_QUERY]
    if q and offset == 0:
        customer_id = _exact_match(request, user, q)
        if customer_id is not None:
            return RedirectResponse(_profile_url(customer_id), status_code=303)
    context = await _search(request, user, q, offset)
    return render(request, "customers/search.html", user, **context)


@router.get("/customers/results", response_class=HTMLResponse)
async def search_results(
    request: Request,
    user: Reader,
    q: Annotated[str, Query(max_length=1000)] = "",
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> Response:
    """The results of a search, for the live search (HTMX) to swap in."""
    q = q.strip()[:MAX_QUERY]
    context = await _search(request, user, q, offset)
    response = render_fragment(request, "customers/results_part.html", user, **context)
    # The address bar follows the search, so that reloading or sharing keeps it.
    response.headers["HX-Replace-Url"] = _search_url("/customers", q, offset) if q else "/customers"
    return response


# -- the 360-degree page ---------------------------------------------------------------------


def _document(request: Request, customer_id: str) -> dict[str, Any]:
    """The stored profile document of ``customer_id`` (not masked).

    Raises
    ------
    PageError
        404 when no customer has the id, 503 when the profile store is not built.
    """
    try:
        raw = _store(request).get(customer_id)
    except ProfileStoreError as exc:
        raise _unavailable(exc) from None
    if raw is None:
        raise PageError(
            404,
            "No customer has this customer id.",
            "Search for the customer by name, e-mail, phone or another identifier; customers "
            "merged into another one have that one's id.",
        )
    doc: dict[str, Any] = orjson.loads(raw)
    return doc


def _filter(
    kinds: list[str] | None, since: str, until: str, limit: int | None, chosen: str
) -> TimelineFilter:
    return TimelineFilter.parse(kinds, since, until, limit, chosen=bool(chosen))


def _read_engine(request: Request, doc: Mapping[str, Any], flt: TimelineFilter) -> TimelinePage:
    with open_workspace(request) as ws:
        return from_engine(ws.engine, identity_config(ws.settings.identity), doc, flt)


async def _timeline(
    request: Request, doc: Mapping[str, Any], flt: TimelineFilter, masked: bool
) -> TimelinePage:
    """The timeline page ``flt`` asks for, masked when ``masked``."""
    page = from_document(doc, flt)
    if page is None:  # older entries than the document keeps: the database has them
        try:
            page = await run_in_threadpool(_read_engine, request, doc, flt)
        except PageError as exc:
            if exc.status != 503:
                raise
            # The database is busy (a pipeline run): the newest entries, said to be partial.
            newest = [e for e in doc.get("timeline") or [] if flt.matches(e)]
            page = TimelinePage(newest[: flt.limit], True, "busy")
    if masked:
        entries: list[dict[str, Any]] = mask_profile({"timeline": page.entries})["timeline"]
        page = TimelinePage(entries, page.more, page.source)
    return page


def _timeline_context(
    customer_id: str,
    doc: Mapping[str, Any],
    flt: TimelineFilter,
    page: TimelinePage,
    masked: bool,
) -> dict[str, Any]:
    """What the timeline part shows: the entries, the filter, the count of each kind in all,
    and the address of the next, longer page when there are older entries."""
    base = _profile_url(customer_id)
    more = flt.more()
    counts: Mapping[str, int] = doc.get("timeline_counts") or {}
    return {
        "customer_id": customer_id,
        "masked": masked,
        "profile_url": base,
        "timeline_url": f"{base}/timeline",
        "flt": flt,
        "timeline": page,
        "kinds": [(k, KIND_LABELS[k], counts.get(k)) for k in KINDS],
        "chosen_labels": ", ".join(KIND_LABELS[k].lower() for k in flt.kinds),
        "kind_names": KIND_NAMES,
        "total": sum(int(v or 0) for v in counts.values()) if counts else None,
        "more_query": urlencode(more.query()) if page.more and more.limit > flt.limit else None,
    }


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
async def profile_page(
    request: Request,
    user: Reader,
    customer_id: CustomerId,
    kinds: Kinds = None,
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    limit: Annotated[int | None, Query()] = None,
    chosen: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The 360-degree page of one customer, its timeline filtered by the query's kinds and days
    (the form of the page sends them; without JavaScript, it reloads the page)."""
    try:
        flt = _filter(kinds, since, until, limit, chosen)
    except ProfileQueryError as exc:
        raise PageError(422, exc.message, exc.hint or "") from None
    doc = _document(request, customer_id)
    masked = not user.can("pii:read")
    if not masked:
        await _audit(request, user, "profile.read", [customer_id], {"via": "ui"})
    page = await _timeline(request, doc, flt, masked)
    view = mask_profile(doc) if masked else doc
    golden = view.get("golden") or {}
    name = " ".join(str(golden[k]) for k in ("first_name", "last_name") if golden.get(k))
    currency = analytics_config(request.app.state.settings.analytics).currency
    return render(
        request,
        "customers/profile.html",
        user,
        doc=view,
        name=name,
        golden_labels=GOLDEN_LABELS,
        attributes=view.get("attributes"),
        segments=view.get("segments"),
        measures=MEASURES,
        currency=currency,
        **_timeline_context(customer_id, doc, flt, page, masked),
    )


@router.get("/customers/{customer_id}/timeline", response_class=HTMLResponse)
async def timeline_part(
    request: Request,
    user: Reader,
    customer_id: CustomerId,
    kinds: Kinds = None,
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    limit: Annotated[int | None, Query()] = None,
    chosen: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """The timeline of the 360-degree page, filtered, for HTMX to swap in. A filter that
    cannot be read is said in the part itself (HTMX swaps only successful answers)."""
    doc = _document(request, customer_id)
    masked = not user.can("pii:read")
    try:
        flt = _filter(kinds, since, until, limit, chosen)
    except ProfileQueryError as exc:
        return render_fragment(
            request, "customers/timeline_part.html", user, problem=exc,
            **_timeline_context(customer_id, doc, TimelineFilter(), TimelinePage(), masked),
        )  # fmt: skip
    if not masked:
        details = {"via": "ui", "part": "timeline"}
        await _audit(request, user, "profile.read", [customer_id], details)
    page = await _timeline(request, doc, flt, masked)
    return render_fragment(
        request, "customers/timeline_part.html", user, problem=None,
        **_timeline_context(customer_id, doc, flt, page, masked),
    )  # fmt: skip
