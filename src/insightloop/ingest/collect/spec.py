"""The Segment spec as real SDKs send it: bodies, write keys, messages, timestamps.

What the request path checks is kept small and cheap (it runs for every request, before the
answer): the body decodes, is JSON of the right shape, and every message has a known type and the
ids its type needs. Everything else (timestamps, traits, the data contract) is the loader's work,
which quarantines what it cannot use instead of refusing a batch that was already acknowledged.

Conventions of the SDKs that this accepts (``analytics-python``, ``rudder-sdk-python``,
``analytics.js`` and the mobile SDKs):

- the write key as the HTTP basic-auth user (password empty) or as ``writeKey`` in the body;
- gzip bodies, announced by ``Content-Encoding: gzip`` or not (the gzip magic number decides);
- ``/v1/batch`` bodies ``{"batch": [...], "sentAt": ..., "context": ...}``; single calls to
  ``/v1/track`` and the others carry the message itself, its ``type`` implied by the path;
- ``userId``/``anonymousId`` as strings or numbers, explicitly ``null`` when unknown;
- traits in ``traits`` or in ``context.traits``;
- ``timestamp``, ``originalTimestamp`` and ``sentAt`` (see :func:`event_time`).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from insightloop.errors import InsightloopError

__all__ = [
    "MESSAGE_TYPES",
    "CollectError",
    "decode_body",
    "event_time",
    "message_problem",
    "messages_of",
    "parse_payload",
    "write_key_from",
]

MESSAGE_TYPES = ("track", "page", "screen", "identify", "group", "alias")
_GZIP_MAGIC = b"\x1f\x8b"


class CollectError(InsightloopError):
    """A collection request that cannot be accepted; ``code`` and ``status`` say how it fails."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        hint: str | None = None,
        problems: list[dict[str, Any]] | None = None,
    ):
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status
        self.problems = problems  # per message: {"index": ..., "problem": ...}


def decode_body(body: bytes, max_bytes: int) -> bytes:
    """The request body, gunzipped when it is gzip (whatever the headers say).

    Decompression stops at ``max_bytes``: a small gzip body must not expand without bound.

    Examples
    --------
    >>> import gzip
    >>> decode_body(gzip.compress(b'{"batch": []}'), 1024)
    b'{"batch": []}'
    """
    if not body.startswith(_GZIP_MAGIC):
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error:
        raise CollectError(
            "invalid_gzip",
            "The body starts like gzip but does not decompress.",
            hint="Send the gzip of the JSON body, or the JSON itself without compression.",
        ) from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise _too_large(max_bytes)
    return data


def _too_large(max_bytes: int) -> CollectError:
    return CollectError(
        "payload_too_large",
        f"The body is larger than {max_bytes:,} bytes (uncompressed).",
        status=413,
        hint="Send smaller batches (the SDKs' default of 100 messages fits), or raise "
        "collect.max_body_bytes.",
    )


def parse_payload(data: bytes) -> dict[str, Any]:
    """The JSON object of a body."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise CollectError(
            "invalid_json",
            f"The body is not valid JSON (at character {error.pos}).",
            hint="Send a JSON object; with gzip, compress the JSON text.",
        ) from None
    if not isinstance(payload, dict):
        raise CollectError(
            "invalid_body", f"The body is JSON {type(payload).__name__}, not an object."
        )
    return payload


def write_key_from(authorization: str | None, payload: Mapping[str, Any]) -> str | None:
    """The write key: the basic-auth user of ``Authorization``, else ``writeKey`` in the body.

    Examples
    --------
    >>> write_key_from("Basic " + base64.b64encode(b"wk_1:").decode(), {})
    'wk_1'
    >>> write_key_from(None, {"writeKey": "wk_2"})
    'wk_2'
    """
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        user = decoded.partition(":")[0]
        if user:
            return user
    key = payload.get("writeKey")
    return key if isinstance(key, str) and key else None


def messages_of(payload: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The messages of a request to ``/v1/<kind>`` (``batch``, or one message type).

    Raises
    ------
    CollectError
        When the body has no batch, a message is not an object, or a message lacks what its
        type needs (the first such problems are named, with their positions).
    """
    if kind == "batch":
        batch = payload.get("batch")
        if not isinstance(batch, list):
            raise CollectError(
                "invalid_batch",
                "The body has no 'batch' list.",
                hint='Send {"batch": [message, ...]} to /v1/batch, or one message to /v1/track, '
                "/v1/identify, ... .",
            )
        messages = batch
    else:
        given = payload.get("type")
        if given is not None and given != kind:
            raise CollectError(
                "invalid_type",
                f"A message of type {given!r} was sent to /v1/{kind}.",
                hint=f"Send it to /v1/{given} or /v1/batch.",
            )
        payload["type"] = kind
        messages = [payload]
    problems = []
    for index, message in enumerate(messages):
        if _plain_track(message):
            continue  # the common case, by a cheaper test (this loop runs for every message)
        problem = message_problem(message)
        if problem is not None:
            problems.append({"index": index, "problem": problem})
    if problems:
        shown = "; ".join(f"message {p['index']}: {p['problem']}" for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise CollectError(
            "invalid_message",
            f"{len(problems)} message(s) of {len(messages)} cannot be accepted: {shown}{more}.",
            hint="Nothing of this request was stored; fix the messages named and send it again.",
            problems=problems,
        )
    return messages


def _plain_track(message: Any) -> bool:
    """Whether ``message`` is a track call with an event name and a text user or anonymous id:
    a sufficient (not necessary) condition for :func:`message_problem` to find nothing."""
    if type(message) is not dict or message.get("type") != "track":
        return False
    event, user, anonymous = message.get("event"), message.get("userId"), message.get("anonymousId")
    return (
        type(event) is str
        and bool(event.strip())
        and (
            (type(user) is str and bool(user.strip()))
            or (type(anonymous) is str and bool(anonymous.strip()))
        )
    )


def _present(value: Any) -> bool:
    if isinstance(value, str):
        return bool(value.strip())
    return isinstance(value, int | float) and not isinstance(value, bool)


def message_problem(message: Any) -> str | None:
    """What makes ``message`` unacceptable, or ``None``.

    Examples
    --------
    >>> message_problem({"type": "track", "event": "Order Completed", "userId": "u1"})
    >>> message_problem({"type": "track", "userId": None, "anonymousId": None, "event": "x"})
    'it has neither userId nor anonymousId'
    """
    if not isinstance(message, dict):
        return f"it is JSON {type(message).__name__}, not an object"
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        return f"type {kind!r} is not one of {', '.join(MESSAGE_TYPES)}"
    if kind == "alias":
        if not _present(message.get("previousId")) or not _present(message.get("userId")):
            return "an alias needs previousId and userId"
        return None
    if not _present(message.get("userId")) and not _present(message.get("anonymousId")):
        return "it has neither userId nor anonymousId"
    if kind == "track" and not _present(message.get("event")):
        return "a track call needs an event name"
    if kind == "group" and not _present(message.get("groupId")):
        return "a group call needs a groupId"
    return None


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 text as an aware datetime (a naive one is read as UTC), else ``None``."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def event_time(
    message: Mapping[str, Any], batch_sent_at: Any, received_at: datetime
) -> tuple[datetime, datetime | None, datetime | None]:
    """``(timestamp, original_timestamp, sent_at)`` of a message, clock skew corrected.

    The spec's rule: the device's clock may be wrong, but it is wrong by the same amount when
    the event happens (``originalTimestamp``) and when the batch is sent (``sentAt``), so the
    event happened at ``receivedAt - (sentAt - originalTimestamp)`` by the server's clock. A
    server-side library's explicit ``timestamp`` stands in for ``originalTimestamp``. Without
    both times, the message's ``timestamp`` is taken as given, else the time it was received.

    Examples
    --------
    >>> from datetime import UTC
    >>> got = datetime(2026, 1, 1, 12, 0, 10, tzinfo=UTC)
    >>> msg = {"originalTimestamp": "2026-01-01T11:00:00Z", "sentAt": "2026-01-01T11:00:05Z"}
    >>> event_time(msg, None, got)[0].isoformat()
    '2026-01-01T12:00:05+00:00'
    """
    original = _instant(message.get("originalTimestamp")) or _instant(message.get("timestamp"))
    sent = _instant(message.get("sentAt")) or _instant(batch_sent_at)
    if original is not None and sent is not None:
        skew: timedelta = sent - original
        return received_at - skew, original, sent
    stated = _instant(message.get("timestamp"))
    return (stated or original or received_at), original, sent
