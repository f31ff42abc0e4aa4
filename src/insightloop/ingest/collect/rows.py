"""Landed requests to rows of the ``events`` table's raw columns (one per message)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa

from insightloop.ingest.collect.landing import LandingRecord
from insightloop.ingest.collect.spec import CollectError, event_time, messages_of, parse_payload

__all__ = ["RAW_COLUMNS", "CollectedRows", "message_rows"]

#: The raw columns a landed message gives, named as the events table's columns.
RAW_COLUMNS = (
    "message_id", "type", "event", "name", "anonymous_id", "user_id", "group_id", "previous_id",
    "timestamp", "original_timestamp", "sent_at", "received_at", "properties", "traits", "context",
)  # fmt: skip
_NAMESPACE = uuid.UUID("4f7a1c52-1d7e-4a8e-9a55-5c0f6b1f2e10")


@dataclass
class CollectedRows:
    """The messages of some landed records, per source, as columns of text."""

    columns: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    locations: dict[str, list[str]] = field(default_factory=dict)
    #: (source, where, reason, the record's text) of records that are not a valid request
    unreadable: list[tuple[str, str, str, str]] = field(default_factory=list)

    def sources(self) -> list[str]:
        return sorted(self.columns)

    def table(self, source: str) -> pa.Table:
        data = self.columns[source]
        n = len(self.locations[source])
        arrays = {c: pa.array(data[c], pa.string()) for c in RAW_COLUMNS}
        arrays["_record"] = pa.array(range(n), pa.int64())
        return pa.table(arrays)

    def location(self, source: str) -> pa.Array:
        return pa.array(self.locations[source], pa.string())

    def add(self, source: str, where: str, row: dict[str, str | None]) -> None:
        if source not in self.columns:
            self.columns[source] = {c: [] for c in RAW_COLUMNS}
            self.locations[source] = []
        columns = self.columns[source]
        for c in RAW_COLUMNS:
            columns[c].append(row.get(c))
        self.locations[source].append(where)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return None


def _json(value: Any) -> str | None:
    if value is None or value == {}:
        return None
    return orjson.dumps(value).decode()


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


def _received(header: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(header["r"]).replace(tzinfo=UTC)


def message_rows(records: Iterable[LandingRecord]) -> CollectedRows:
    """The rows of every message of ``records``.

    A message without ``messageId`` gets one derived from its place in the log, so that loading
    the same record again gives the same id (and is deduplicated).
    """
    out = CollectedRows()
    for record in records:
        header = record.header
        source = str(header["s"])
        where = f"landing/{record.segment}@{record.offset}"
        try:
            payload = parse_payload(record.body)
            messages = messages_of(payload, str(header["t"]))
        except CollectError as error:
            # Only a request that passed these checks is landed; a record that fails them now
            # was damaged or written by another release: keep it, in the quarantine.
            text = record.body[:4096].decode("utf-8", errors="replace")
            out.unreadable.append((source, where, error.code, text))
            continue
        received = _received(header)
        batch_sent = payload.get("sentAt")
        shared = payload.get("context")
        batch_context: dict[str, Any] = shared if isinstance(shared, dict) else {}
        for index, message in enumerate(messages):
            out.add(source, f"{where}#{index}", _row(message, index, record, received, batch_sent,
                                                     batch_context))  # fmt: skip
    return out


def _row(
    message: dict[str, Any],
    index: int,
    record: LandingRecord,
    received: datetime,
    batch_sent: Any,
    batch_context: dict[str, Any],
) -> dict[str, str | None]:
    context = message.get("context")
    context = {**batch_context, **context} if isinstance(context, dict) else dict(batch_context)
    traits = message.get("traits")
    if not isinstance(traits, dict) or not traits:
        traits = context.get("traits") if isinstance(context.get("traits"), dict) else None
    properties = message.get("properties") if isinstance(message.get("properties"), dict) else None
    kind = message["type"]
    name = _text(message.get("name"))
    if name is None and kind in ("page", "screen") and properties:
        name = _text(properties.get("name"))
    message_id = _text(message.get("messageId"))
    if message_id is None:
        message_id = str(uuid.uuid5(_NAMESPACE, f"{record.segment}:{record.offset}:{index}"))
    timestamp, original, sent = event_time(message, batch_sent, received)
    return {
        "message_id": message_id,
        "type": kind,
        "event": _text(message.get("event")),
        "name": name,
        "anonymous_id": _text(message.get("anonymousId")),
        "user_id": _text(message.get("userId")),
        "group_id": _text(message.get("groupId")),
        "previous_id": _text(message.get("previousId")),
        "timestamp": _iso(timestamp),
        "original_timestamp": _iso(original),
        "sent_at": _iso(sent),
        "received_at": _iso(received),
        "properties": _json(properties),
        "traits": _json(traits),
        "context": _json(context),
    }
