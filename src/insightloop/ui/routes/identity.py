"""Identity review: the queue of borderline pairs side by side, accept and reject; the merge
history, the manual decisions, a customer's records with unmerge, and merge.

Every page needs ``identity:decide`` (admin, analyst). Personal values are masked for roles
without ``pii:read``; whether each field of a pair matched, differed or was missing is judged on
the real values in the engine (:mod:`insightloop.identity.review_view`), so a masked page still
shows it. An unmasked page is audited (``identity.review.read``, ``identity.records.read``).

Decisions are forms (POST with the session's CSRF token) that change the workspace through its
writable connection, with the signed-in user as actor, and are audited (``identity.accept``,
``identity.reject``, ``identity.unmerge``, ``identity.merge``; a refused one with outcome
``refused`` and the error's code). The workspace applies each decision at once: customers,
golden records and profile documents are rewritten before the answer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from insightloop.auth import AuditWriter, Principal
from insightloop.errors import IdentityDecisionError
from insightloop.identity.config import IdentityConfig, identity_config
from insightloop.identity.manual import (
    REVIEW_STATUSES,
    AlreadyDecidedError,
    UnknownCustomerError,
    UnknownReviewError,
)
from insightloop.identity.review_view import (
    COMPARED_FIELDS,
    customer_records,
    decision_outcome,
    decision_page,
    merge_log_page,
    next_open_review,
    review_counts,
    review_detail,
    review_page,
    shown_record,
)
from insightloop.ui.render import render, render_fragment
from insightloop.ui.security import page_user
from insightloop.ui.workspace import PageError, open_workspace
from insightloop.workspace import Workspace

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: Who may open these pages.
Decider = Annotated[Principal, Depends(page_user("identity:decide"))]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]
Reason = Annotated[str, Form(max_length=1000)]

QUEUE_PAGE = 25
LOG_PAGE = 50
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_SPLIT = re.compile(r"[\s,;]+")

#: What to do next when a decision is refused, by the error's class (the message names ids).
_HINTS: tuple[tuple[type[IdentityDecisionError], int, str], ...] = (
    (UnknownReviewError, 404, "Pick a pair from the review queue."),
    (UnknownCustomerError, 404, "Customer ids change through merges: the merge history shows "
     "what became of one."),
    (AlreadyDecidedError, 409, "To revert the decision, decide the pair the other way."),
    (IdentityDecisionError, 422, "Go back, correct the form and send it again."),
)  # fmt: skip


def _config(ws: Workspace) -> IdentityConfig:
    return identity_config(ws.settings.identity)


def _masked(user: Principal) -> bool:
    return not user.can("pii:read")


def _audit(
    request: Request,
    user: Principal,
    action: str,
    target: str | None,
    details: dict[str, Any],
    outcome: str = "ok",
) -> None:
    writer: AuditWriter = request.app.state.audit_writer
    writer.record(user.username, action, target=target, details=details, outcome=outcome)


def _refused(
    request: Request, user: Principal, action: str, target: str | None, exc: IdentityDecisionError
) -> NoReturn:
    """Audit a refused decision and show why (the engine's message names ids only)."""
    _audit(request, user, action, target, {"error": exc.code}, outcome="refused")
    status, hint = next((s, h) for kind, s, h in _HINTS if isinstance(exc, kind))
    raise PageError(status, exc.message, hint) from None


def _checked_id(value: str, what: str, status: int = 404) -> str:
    """``value`` when it looks like an id (ids are never personal data), else an error page."""
    value = value.strip()
    if not _ID.match(value):
        raise PageError(
            status, f"That is not a {what} id.", "An id is up to 200 letters, digits and _.:-"
        )
    return value


def _status(status: str) -> str:
    if status not in REVIEW_STATUSES:
        raise PageError(
            422, "Unknown review status.", f"Choose one of: {', '.join(REVIEW_STATUSES)}."
        )
    return status


# -- the review queue -----------------------------------------------------------------------------


@router.get("/identity", response_class=HTMLResponse)
def queue(
    request: Request,
    user: Decider,
    status: str = "open",
    page: PageNumber = 1,
    decided: str | None = None,
) -> Response:
    """The review queue, highest match probability first; ``decided`` names the pair just
    decided (for the notice)."""
    status = _status(status)
    masked = _masked(user)
    with open_workspace(request) as ws:
        config = _config(ws)
        pairs = review_page(
            ws.engine, config, status, limit=QUEUE_PAGE, offset=(page - 1) * QUEUE_PAGE
        )
        counts = review_counts(ws.engine)
        notice = _decided_notice(ws, config, decided)
    if not masked and pairs.items:
        _audit(request, user, "identity.review.read", "queue", {
            "status": status, "page": page, "review_ids": [p.review_id for p in pairs.items],
        })  # fmt: skip
    shown = [p.masked() for p in pairs.items] if masked else pairs.items
    context: dict[str, Any] = {
        "pairs": shown, "page": pairs, "status": status, "counts": counts, "masked": masked,
        "statuses": REVIEW_STATUSES, "notice": notice,
    }  # fmt: skip
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "queue":
        return render_fragment(request, "identity/_queue.html", user, **context)
    return render(request, "identity/queue.html", user, **context)


def _decided_notice(ws: Workspace, config: IdentityConfig, review_id: str | None) -> str | None:
    """What became of the pair just decided, from the workspace (ids only)."""
    if not review_id or not _ID.match(review_id):
        return None
    try:
        pair = review_detail(ws.engine, config, review_id)
    except UnknownReviewError:
        return None
    if pair.status == "open":
        return None
    left, right = pair.left.customer_id, pair.right.customer_id
    now = (
        f"both records are now customer {left}"
        if pair.same_customer
        else f"the records are now customers {left} and {right}"
    )
    return f"Pair {pair.review_id} {pair.status} by {pair.decided_by}: {now}."


@router.get("/identity/review/{review_id}", response_class=HTMLResponse)
def review(request: Request, user: Decider, review_id: str, decided: str | None = None) -> Response:
    """A pair side by side: every compared field matched, differed or missing."""
    review_id = _checked_id(review_id, "review")
    masked = _masked(user)
    with open_workspace(request) as ws:
        config = _config(ws)
        try:
            pair = review_detail(ws.engine, config, review_id)
        except UnknownReviewError as exc:
            raise PageError(404, exc.message, "Pick a pair from the review queue.") from None
        notice = _decided_notice(ws, config, decided)
        counts = review_counts(ws.engine)
    if not masked:
        _audit(request, user, "identity.review.read", review_id, {
            "records": [pair.left.source, pair.right.source],
            "customers": sorted({c for c in (pair.left.customer_id, pair.right.customer_id) if c}),
        })  # fmt: skip
    return render(
        request, "identity/review.html", user, pair=pair.masked() if masked else pair,
        masked=masked, notice=notice, counts=counts,
    )  # fmt: skip


@router.post("/identity/review/{review_id}")
def decide(
    request: Request,
    user: Decider,
    review_id: str,
    verdict: Annotated[str, Form(max_length=10)] = "",
    reason: Reason = "",
) -> Response:
    """Accept (one person) or reject (different people) the pair, then the next open pair."""
    review_id = _checked_id(review_id, "review")
    if verdict not in ("accept", "reject"):
        raise PageError(422, "Choose accept or reject.", "Use the buttons below the pair.")
    accept = verdict == "accept"
    action = f"identity.{verdict}"
    with open_workspace(request, read_only=False) as ws:
        try:
            result = ws.decide_review(
                review_id, accept, actor=user.username, reason=reason.strip() or None
            )
        except IdentityDecisionError as exc:
            _refused(request, user, action, review_id, exc)
        following = next_open_review(ws.engine)
    _audit(request, user, action, review_id, result.to_dict())
    target = f"/identity/review/{following}" if following else "/identity"
    return RedirectResponse(f"{target}?decided={review_id}", status_code=303)


# -- merges, decisions and customers --------------------------------------------------------------


@router.get("/identity/merges", response_class=HTMLResponse)
def merges(request: Request, user: Decider, page: PageNumber = 1) -> Response:
    """The merge log: merges and splits by runs and by hand, newest first."""
    with open_workspace(request) as ws:
        log = merge_log_page(ws.engine, limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE)
    return render(request, "identity/merges.html", user, log=log)


@router.get("/identity/decisions", response_class=HTMLResponse)
def decisions(request: Request, user: Decider, page: PageNumber = 1) -> Response:
    """The manual decisions, the revoked ones too, newest first."""
    masked = _masked(user)
    with open_workspace(request) as ws:
        found = decision_page(ws.engine, limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE)
    rows = [
        {
            "decision": d,
            "left": [shown_record(r, masked=masked) for r in d.left_records],
            "right": [shown_record(r, masked=masked) for r in d.right_records],
        }
        for d in found.items
    ]
    return render(request, "identity/decisions.html", user, found=found, rows=rows)


@router.get("/identity/customers")
def find_customer(user: Decider, customer_id: str = "") -> Response:
    """The look-up form's answer: the customer's page."""
    if not customer_id.strip():
        return RedirectResponse("/identity/merges", status_code=303)
    return RedirectResponse(
        f"/identity/customers/{_checked_id(customer_id, 'customer')}", status_code=303
    )


@router.get("/identity/customers/{customer_id}", response_class=HTMLResponse)
def customer(
    request: Request, user: Decider, customer_id: str, decision: str | None = None
) -> Response:
    """A customer's records, to take some out (unmerge) or merge the customer with others."""
    customer_id = _checked_id(customer_id, "customer")
    masked = _masked(user)
    with open_workspace(request) as ws:
        try:
            found = customer_records(ws.engine, _config(ws), customer_id)
        except UnknownCustomerError as exc:
            raise PageError(404, exc.message, exc.hint or "") from None
        wanted = decision if decision and _ID.match(decision) else None
        outcome = decision_outcome(ws.engine, wanted) if wanted else None
    if not masked:
        _audit(request, user, "identity.records.read", customer_id, {"records": found.total})
    merge_ids = [customer_id]
    if outcome is not None:
        merge_ids += [c for c in outcome.after_ids if c != customer_id]
    return render(
        request, "identity/customer.html", user, found=found.masked() if masked else found,
        outcome=outcome, masked=masked, merge_ids=" ".join(merge_ids),
        fields=[(name, label) for name, label, _ in COMPARED_FIELDS],
    )  # fmt: skip


@router.post("/identity/unmerge")
def unmerge(
    request: Request,
    user: Decider,
    customer_id: Annotated[str, Form(max_length=200)] = "",
    record: Annotated[list[str] | None, Form()] = None,
    reason: Reason = "",
) -> Response:
    """Take the checked records out of the customer: they become a customer of their own."""
    customer_id = _checked_id(customer_id, "customer", 422)
    tokens = set(record or [])
    with open_workspace(request, read_only=False) as ws:
        try:
            held = customer_records(ws.engine, _config(ws), customer_id)
            nodes = {r.token: f"{r.source}|{r.key}" for r in held.records}
            unknown = tokens - set(nodes)
            if unknown:
                raise IdentityDecisionError(
                    f"{len(unknown)} of the checked records are not records of customer "
                    f"{customer_id} (any more)."
                )
            result = ws.unmerge_records(
                customer_id, sorted(nodes[t] for t in tokens), reason=reason,
                actor=user.username,
            )  # fmt: skip
        except IdentityDecisionError as exc:
            _refused(request, user, "identity.unmerge", customer_id, exc)
    _audit(request, user, "identity.unmerge", customer_id, {
        **result.to_dict(), "records": len(tokens),
    })  # fmt: skip
    return RedirectResponse(
        f"/identity/customers/{customer_id}?decision={result.decision_id}", status_code=303
    )


@router.post("/identity/merge")
def merge(
    request: Request,
    user: Decider,
    customer_ids: Annotated[str, Form(max_length=5000)] = "",
    reason: Reason = "",
) -> Response:
    """Merge two or more customers into one, for good."""
    ids = [_checked_id(c, "customer", 422) for c in _SPLIT.split(customer_ids) if c]
    target = ",".join(ids)[:200] or None
    with open_workspace(request, read_only=False) as ws:
        try:
            result = ws.merge_customers(ids, reason=reason, actor=user.username)
        except IdentityDecisionError as exc:
            _refused(request, user, "identity.merge", target, exc)
    survivor = result.after_ids[0] if result.after_ids else ids[0]
    _audit(request, user, "identity.merge", survivor, result.to_dict())
    return RedirectResponse(
        f"/identity/customers/{survivor}?decision={result.decision_id}", status_code=303
    )
