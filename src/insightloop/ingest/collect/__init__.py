"""Event collection: the Segment-spec request checks, the landing log, and its loader.

The collection API (``POST /v1/batch`` and the single calls) checks a request with
:mod:`.spec`, appends it to the :class:`LandingLog` and makes it durable before answering 200;
:func:`load_landed` later moves landed messages into ``events`` through the same contract and
quarantine as files, exactly once. See docs/collection.md.
"""

from __future__ import annotations

from insightloop.ingest.collect.landing import LandingLog, LandingRecord, read_records, segments
from insightloop.ingest.collect.loader import (
    LandedReport,
    collected_source,
    load_landed,
    loader_lock,
    pending_bytes,
)
from insightloop.ingest.collect.spec import (
    MESSAGE_TYPES,
    CollectError,
    decode_body,
    event_time,
    messages_of,
    parse_payload,
    write_key_from,
)

__all__ = [
    "MESSAGE_TYPES",
    "CollectError",
    "LandedReport",
    "LandingLog",
    "LandingRecord",
    "collected_source",
    "decode_body",
    "event_time",
    "load_landed",
    "loader_lock",
    "messages_of",
    "parse_payload",
    "pending_bytes",
    "read_records",
    "segments",
    "write_key_from",
]
