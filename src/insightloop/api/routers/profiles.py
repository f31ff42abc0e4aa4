"""Profiles by customer id or by any identifier, and customer search.

Served from the profile store (materialised documents), never from analytical queries. Personal
data is masked for roles without ``pii:read``; every read of unmasked personal data is written
to the audit log (who, which customer, how it was found) before the answer leaves.

The handlers are coroutines: a profile store read takes tens of microseconds, less than the hop
to a worker thread, and the audit row is awaited without holding a thread.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import WithJsonSchema

from insightloop.api.deps import require
from insightloop.api.schemas import CustomerSearchPublic, ErrorPublic, ProfilePublic
from insightloop.auth import AuditWriter, Principal
from insightloop.errors import InsightloopError
from insightloop.identity.config import identity_config
from insightloop.privacy import PERSONAL_ID_TYPES, mask_profile, mask_summary
from insightloop.profile import KINDS, ProfileNotFoundError, ProfileQueryError
from insightloop.profile.backends import ProfileDocuments
from insightloop.profile.timeline import check_kinds
from insightloop.profile.view import identifier_types

router = APIRouter(prefix="/api/v1", tags=["profiles"])

#: Who asks; every route here needs ``profiles:read``.
Reader = Annotated[Principal, Depends(require("profiles:read"))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorPublic} for s in (400, 401, 403, 404, 409, 422, 429, 503)
}
_JSON = "application/json"

TimelineLimit = Annotated[
    int | None,
    Query(ge=0, le=1000, description="At most this many timeline entries (default: all kept)."),
]
Kinds = Annotated[
    # Documented as an enum, checked by check_kinds (an unknown kind is a 400 naming the kinds).
    list[Annotated[str, WithJsonSchema({"type": "string", "enum": list(KINDS)})]] | None,
    Query(description=f"Only timeline entries of these kinds: {', '.join(KINDS)}."),
]


class PersonalLookupError(InsightloopError):
    """A look-up by a contact detail from a role that may not read personal data (403)."""

    code = "forbidden"


def _store(request: Request) -> ProfileDocuments:
    store: ProfileDocuments = request.app.state.profiles
    return store


def _id_types(request: Request) -> list[str]:
    return identifier_types(identity_config(request.app.state.settings.identity))


def _not_found(what: str) -> ProfileNotFoundError:
    return ProfileNotFoundError(
        f"No customer has this {what}.",
        hint="Check the spelling: e-mails match in any case, phone numbers in international "
        "form (+46701234567). The profile store is rebuilt by `insightloop run`.",
    )


async def _answer(
    request: Request,
    principal: Principal,
    customer_id: str,
    via: str,
    timeline_limit: int | None,
    kinds: list[str] | None,
) -> Response:
    wanted = set(check_kinds(kinds)) if kinds else None  # a bad kind fails before any read
    raw = _store(request).get(customer_id)
    if raw is None:
        raise _not_found("customer id" if via == "customer_id" else "identifier")
    unmasked = principal.can("pii:read")
    if unmasked:
        audit: AuditWriter = request.app.state.audit_writer
        await audit.arecord(
            principal.username, "profile.read", target=customer_id, details={"via": via}
        )
    if unmasked and timeline_limit is None and not kinds:
        return Response(raw, media_type=_JSON)  # the stored document as it is
    doc = orjson.loads(raw)
    if wanted is not None:
        doc["timeline"] = [e for e in doc["timeline"] if e["kind"] in wanted]
    if timeline_limit is not None:
        doc["timeline"] = doc["timeline"][:timeline_limit]
    if not unmasked:
        doc = mask_profile(doc)
    return Response(orjson.dumps(doc), media_type=_JSON)


@router.get(
    "/profiles/{customer_id}",
    response_model=ProfilePublic,
    responses=_ERRORS,
    operation_id="get_profile",
)
async def get_profile(
    request: Request,
    principal: Reader,
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    timeline_limit: TimelineLimit = None,
    kinds: Kinds = None,
) -> Response:
    """The 360-degree view of a customer: golden record with provenance, identifiers, source
    records, consents and the most recent touchpoints. Personal data is masked unless the token
    carries ``pii:read``; unmasked reads are audited."""
    return await _answer(request, principal, customer_id, "customer_id", timeline_limit, kinds)


@router.get(
    # `:path`: identifier values from source systems may hold a "/" ("HQ/1042"), sent as %2F.
    "/profiles/by/{identifier_type}/{value:path}",
    response_model=ProfilePublic,
    responses=_ERRORS,
    operation_id="get_profile_by_identifier",
)
async def get_profile_by_identifier(
    request: Request,
    principal: Reader,
    identifier_type: Annotated[
        str,
        Path(
            min_length=1,
            max_length=64,
            description="customer_id, email, phone, customer_key, loyalty_number, user_id, "
            "anonymous_id, or a type the workspace's [identity.customer_keys] declares.",
        ),
    ],
    value: Annotated[str, Path(min_length=1, max_length=320)],
    timeline_limit: TimelineLimit = None,
    kinds: Kinds = None,
) -> Response:
    """The profile of the customer an identifier belongs to (e-mails in any case, phones in
    international form). 409 when the value belongs to several customers."""
    types = _id_types(request)
    if identifier_type not in types:
        raise ProfileQueryError(
            "Unknown identifier type.", hint=f"Identifier types: {', '.join(types)}."
        )
    if not value.strip():
        raise ProfileQueryError("The identifier is empty.", hint="Give the identifier's value.")
    if identifier_type in PERSONAL_ID_TYPES and not principal.can("pii:read"):
        # Even a masked answer would confirm whose address or number the value is.
        raise PersonalLookupError(
            f"Looking customers up by {identifier_type.replace('_', ' ')} needs the pii:read "
            "permission.",
            hint="Look the customer up by customer id or another identifier, or use a token "
            "of a role with pii:read.",
        )
    customer_id = _store(request).find(value, identifier_type)
    if customer_id is None:
        raise _not_found(f"{identifier_type.replace('_', ' ')}")
    return await _answer(request, principal, customer_id, identifier_type, timeline_limit, kinds)


@router.get(
    "/customers",
    response_model=CustomerSearchPublic,
    responses=_ERRORS,
    operation_id="search_customers",
)
async def search_customers(
    request: Request,
    principal: Reader,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description="Name, e-mail, phone, customer id or another identifier; every word "
            "must start a word of the customer's.",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> CustomerSearchPublic:
    """Customers matching ``q``, best first, one page at a time (``next_offset`` for the next).
    Names and contact details are masked unless the token carries ``pii:read``; unmasked
    results are audited."""
    unmasked = principal.can("pii:read")
    page = _store(request).search(q, limit=limit, offset=offset, personal=unmasked)
    hits = page.data if unmasked else [mask_summary(h) for h in page.data]
    if unmasked and hits:
        # One entry per customer shown, so `insightloop audit --target ID` finds the search;
        # the entries are committed together.
        audit: AuditWriter = request.app.state.audit_writer
        await asyncio.gather(
            *(
                audit.arecord(
                    principal.username,
                    "customer.search",
                    target=hit["customer_id"],
                    details={"results": len(hits), "offset": offset},
                )
                for hit in hits
            )
        )
    return CustomerSearchPublic.model_validate(
        {
            "data": hits,
            "limit": page.limit,
            "offset": page.offset,
            "next_offset": page.next_offset,
            "masked": not unmasked,
        }
    )
