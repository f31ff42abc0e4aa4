"""Writing a customer's touchpoints as timeline entries: a one-line summary and the structured
details of each order, event, contact-centre interaction, survey response and campaign, newest
first. :mod:`insightloop.profile.timeline` reads the rows they are written from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["TimelineEntry", "entries", "iso_utc", "newest_first"]


@dataclass(frozen=True)
class TimelineEntry:
    """One touchpoint.

    ``kind`` is one of :data:`KINDS`; ``source`` and ``key`` name the row it comes from (the
    source and the order, message, interaction or response id; the campaign id for campaigns);
    ``details`` holds the structured values the summary is written from.
    """

    at: datetime | None
    kind: str
    channel: str | None
    summary: str
    source: str | None
    key: str | None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": iso_utc(self.at),
            "kind": self.kind,
            "channel": self.channel,
            "summary": self.summary,
            "source": self.source,
            "key": self.key,
            "details": {k: _plain(v) for k, v in self.details.items()},
        }


def iso_utc(value: Any) -> Any:
    """A time in ISO 8601 with its offset (a naive time is UTC: the canonical model stores UTC),
    a date in ISO 8601; any other value as it is.

    Examples
    --------
    >>> iso_utc(datetime(2025, 3, 1, 12, 30))
    '2025-03-01T12:30:00+00:00'
    """
    kind = type(value)
    if kind in _PLAIN:  # most values: checked first, as documents convert millions of them
        return value
    if kind is datetime and value.tzinfo is None:
        return value.isoformat() + "+00:00"  # what replace(tzinfo=UTC).isoformat() writes
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


#: Types :func:`iso_utc` returns as they are.
_PLAIN = frozenset({str, int, float, bool, type(None), dict, list})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return iso_utc(value)


def _money(amount: Any, currency: str | None) -> str:
    if amount is None:
        return "amount unknown"
    return f"{Decimal(amount):,.2f} {currency or ''}".rstrip()


def _orders(rows: list[dict[str, Any]], items: dict[str, dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        got = items.get(r["order_id"], {})
        units = got.get("units")
        what = f"{units} item{'s' if units != 1 else ''}, " if units is not None else ""
        place = f" at store {r['store_id']}" if r.get("store_id") else ""
        status = f" ({r['status']})" if r.get("status") else ""
        summary = (
            f"{(r['channel'] or 'Order').capitalize()} order {r['order_id']}{place}: {what}"
            f"{_money(r['total_amount'], r['currency'])}{status}"
        )
        details = {
            "amount": r["total_amount"],
            "currency": r["currency"],
            "items": units,
            "lines": got.get("lines"),
            "status": r["status"],
            "store_id": r["store_id"],
            "returned_amount": r["returned_amount"],
        }
        out.append(
            TimelineEntry(
                r["ordered_at"],
                "order",
                r["channel"],
                summary,
                r["_source"],
                r["order_id"],
                details,
            )
        )
    return out


def _event_channel(kind: str | None, context: str | None) -> str | None:
    if kind == "page":
        return "web"
    if kind == "screen":
        return "app"
    try:
        ctx = orjson.loads(context) if context else {}
    except orjson.JSONDecodeError:
        ctx = {}
    if not isinstance(ctx, dict):
        return None
    if "app" in ctx:
        return "app"
    if "page" in ctx or "userAgent" in ctx:
        return "web"
    return None


def _event_summary(r: dict[str, Any]) -> str:
    kind = r["type"]
    if kind == "track":
        return r["event"] or "Tracked event"
    if kind in ("page", "screen"):
        return f"Viewed {kind} {r['name']}" if r["name"] else f"Viewed a {kind}"
    if kind == "identify":
        return "Identified as user " + r["user_id"] if r["user_id"] else "Identified"
    if kind == "alias":
        return f"Device {r['previous_id'] or r['anonymous_id']} linked to user {r['user_id']}"
    if kind == "group":
        return f"Joined group {r['group_id']}"
    return kind or "Event"


def _events(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            r["timestamp"],
            "event",
            _event_channel(r["type"], r["context"]),
            _event_summary(r),
            r["_source"],
            r["message_id"],
            {"type": r["type"], "event": r["event"], "name": r["name"]},
        )
        for r in rows
    ]


def _interactions(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        seconds = r["duration_seconds"]
        took = f"{round(seconds / 60)} min" if seconds is not None else "duration unknown"
        done = {True: "resolved", False: "not resolved"}.get(r["resolved"], "outcome unknown")
        direction = (r["direction"] or "").capitalize()
        summary = (
            f"{direction} {r['channel'] or 'contact'}".strip()
            + f": {r['reason'] or 'no reason recorded'} ({took}, {done})"
        )
        notes = r["notes"]
        details = {
            "direction": r["direction"],
            "reason": r["reason"],
            "agent_id": r["agent_id"],
            "duration_seconds": seconds,
            "resolved": r["resolved"],
            "language": r["language"],
            "notes": notes[:500] if notes else notes,
        }
        out.append(
            TimelineEntry(
                r["started_at"],
                "interaction",
                r["channel"],
                summary,
                r["_source"],
                r["interaction_id"],
                details,
            )
        )
    return out


def _feedback(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        scores = [
            f"{name.upper()} {r[name]}" for name in ("nps", "csat", "ces") if r[name] is not None
        ]
        survey = (r["survey_type"] or "").replace("_", "-")
        summary = f"{survey.capitalize() or 'Survey'} survey: {', '.join(scores) or 'no score'}"
        if r["comment"]:
            comment = r["comment"] if len(r["comment"]) <= 80 else r["comment"][:79] + "…"
            summary += f": “{comment}”"
        details = {
            k: r[k]
            for k in (
                "survey_type",
                "nps",
                "csat",
                "ces",
                "comment",
                "language",
                "order_id",
                "interaction_id",
            )
        }
        out.append(
            TimelineEntry(
                r["responded_at"],
                "feedback",
                "survey",
                summary,
                r["_source"],
                r["response_id"],
                details,
            )
        )
    return out


def _campaigns(rows: list[dict[str, Any]]) -> list[TimelineEntry]:
    out = []
    for r in rows:
        name = r["campaign_name"] or r["campaign_id"]
        group = r["group_name"] or "unknown group"
        if group == "control":
            outcome = "held out as control" + (", bought anyway" if r["responded"] else "")
        else:
            outcome = {True: "responded", False: "no response"}.get(r["responded"], "sent")
        summary = f"Campaign {name} ({group}): {outcome}"
        details = {
            k: r[k]
            for k in (
                "campaign_id",
                "campaign_name",
                "group_name",
                "responded",
                "responded_at",
                "response_order_id",
                "sent_at",
            )
        }
        out.append(
            TimelineEntry(
                r["at"],
                "campaign",
                r["campaign_channel"],
                summary,
                r["_source"],
                r["campaign_id"],
                details,
            )
        )
    return out


def entries(
    kind: str, rows: list[dict[str, Any]], items: dict[str, dict[str, Any]] | None = None
) -> list[TimelineEntry]:
    """The timeline entries of rows of ``kind`` (orders need their ``items``, see
    :func:`~insightloop.profile.timeline.order_items`)."""
    if kind == "order":
        return _orders(rows, items or {})
    if kind == "event":
        return _events(rows)
    if kind == "interaction":
        return _interactions(rows)
    if kind == "feedback":
        return _feedback(rows)
    return _campaigns(rows)


def newest_first(found: list[TimelineEntry]) -> None:
    """Sort entries newest first, those without a time last (in place)."""
    found.sort(key=lambda e: (e.at is not None, e.at or datetime.min), reverse=True)
