"""The collection API: Segment-spec ``POST /v1/batch``, ``/v1/track``, ``/v1/identify``, ...

Unmodified Segment and RudderStack SDKs send here by changing only their host. A request is
accepted when its write key is active and its messages pass :func:`messages_of`; it is then
appended to the landing log and made durable, and only then answered ``200`` (exactly 200:
some SDKs resend on anything else). Invalid input is 400 (413 when too large) with the error
envelope naming the problem; an unknown or revoked write key 401; too many requests 429 with
``Retry-After``; a landing log that cannot be written 503 with ``Retry-After``.

This path is kept lean (no pydantic per message, one ``orjson`` parse, no database): it is the
one that sees the most traffic.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from insightloop.api.errors import error_body
from insightloop.api.ratelimit import RateLimiter
from insightloop.auth import AuthStore
from insightloop.ingest.collect import (
    MESSAGE_TYPES,
    CollectError,
    LandingLog,
    decode_body,
    messages_of,
    parse_payload,
    write_key_from,
)

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["collection"])

_OK = b'{"success":true}'
_JSON = "application/json"

_MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Segment-spec message (https://segment.com/docs/connections/spec/).",
    "properties": {
        "type": {"type": "string", "enum": list(MESSAGE_TYPES)},
        "messageId": {"type": "string"},
        "userId": {"type": ["string", "number", "null"]},
        "anonymousId": {"type": ["string", "number", "null"]},
        "event": {"type": "string"},
        "name": {"type": "string"},
        "groupId": {"type": ["string", "number"]},
        "previousId": {"type": ["string", "number"]},
        "timestamp": {"type": "string", "format": "date-time"},
        "originalTimestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {"type": "object"},
    },
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Accepted and durable.",
        "content": {_JSON: {"example": {"success": True}}},
    },
    400: {"description": "Invalid body or message (the envelope names it)."},
    401: {"description": "Missing, unknown or revoked write key."},
    413: {"description": "Body larger than collect.max_body_bytes."},
    429: {"description": "Too many requests for this write key; see Retry-After."},
    503: {"description": "The landing log cannot be written; retry after Retry-After."},
}


def _body_schema(kind: str) -> dict[str, Any]:
    if kind == "batch":
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["batch"],
            "properties": {
                "batch": {"type": "array", "items": _MESSAGE_SCHEMA},
                "sentAt": {"type": "string", "format": "date-time"},
                "context": {"type": "object"},
                "writeKey": {"type": "string"},
            },
        }
    else:
        schema = {**_MESSAGE_SCHEMA, "properties": dict(_MESSAGE_SCHEMA["properties"])}
        schema["properties"]["writeKey"] = {"type": "string"}
    return {
        "requestBody": {
            "required": True,
            "content": {_JSON: {"schema": schema}},
            "description": "JSON, optionally gzip-compressed (Content-Encoding: gzip).",
        },
        "security": [{"writeKey": []}],
    }


def _error(error: CollectError, headers: dict[str, str] | None = None) -> Response:
    extra = {"errors": error.problems} if error.problems is not None else {}
    body = orjson.dumps(error_body(error.code, error.message, error.hint, **extra))
    return Response(body, status_code=error.status, media_type=_JSON, headers=headers)


async def _collect(request: Request, kind: str) -> Response:
    state = request.app.state
    max_bytes: int = state.settings.collect.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return _error(CollectError("payload_too_large", "The body is too large.", status=413))
    try:
        data = decode_body(await request.body(), max_bytes)
        payload = parse_payload(data)
        secret = write_key_from(request.headers.get("authorization"), payload)
        if secret is None:
            raise CollectError(
                "missing_write_key",
                "The request carries no write key.",
                status=401,
                hint="Send the source's write key as the HTTP basic-auth user (the SDKs' "
                "write_key setting) or as 'writeKey' in the body; `insightloop keys create "
                "SOURCE` makes one.",
            )
        auth: AuthStore = state.auth
        key = auth.write_keys.verify(secret)
        if key is None:
            raise CollectError(
                "invalid_write_key",
                "The write key is unknown or was revoked.",
                status=401,
                hint="Check the SDK's write_key; `insightloop keys list` shows the active keys.",
            )
        limiter: RateLimiter = state.write_key_limiter
        wait = limiter.check(key.key_id)
        if wait:
            error = CollectError(
                "rate_limited",
                "Too many requests for this write key.",
                status=429,
                hint="Retry after the number of seconds in Retry-After, or send larger batches.",
            )
            return _error(error, {"Retry-After": RateLimiter.retry_after(wait)})
        messages_of(payload, kind)
    except CollectError as error:
        return _error(error)
    if "writeKey" in payload:
        # The key is a credential: it is not kept with the events.
        del payload["writeKey"]
        data = orjson.dumps(payload)
    # The parsed messages are not needed past this point. Freed now, they do not outlive the
    # wait for the disk below: live while many requests wait, they made the garbage collector
    # run (and promote them) on many requests: about a third of this path's CPU, measured.
    del payload
    received = datetime.now(UTC).isoformat()
    landing: LandingLog = state.landing
    try:
        await landing.append({"r": received, "s": key.source, "k": key.key_id, "t": kind}, data)
    except OSError:
        unavailable = CollectError(
            "landing_unavailable",
            "The event could not be stored; nothing of this request was kept.",
            status=503,
            hint="Retry later; the server's log says why its landing log cannot be written.",
        )
        return _error(unavailable, {"Retry-After": "1"})
    return Response(_OK, media_type=_JSON)


def _endpoint(kind: str) -> None:
    async def collect(request: Request) -> Response:
        return await _collect(request, kind)

    what = "a batch of messages" if kind == "batch" else f"one {kind} message"
    collect.__doc__ = (
        f"Receive {what} (Segment spec). Answers 200 once the request is durable in the "
        "landing log; the loader moves it into the database within seconds."
    )
    router.add_api_route(
        f"/v1/{kind}",
        collect,
        methods=["POST"],
        operation_id=f"collect_{kind}",
        summary=f"Collect {what}",
        responses=_RESPONSES,
        openapi_extra=_body_schema(kind),
        response_class=Response,
    )


for _kind in ("batch", *MESSAGE_TYPES):
    _endpoint(_kind)
