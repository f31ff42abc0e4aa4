"""The 360-degree view: one customer found by any identifier, with the golden record and where
each value came from, every identifier and source record, consents and the timeline.

Examples
--------
>>> import tempfile
>>> from insightloop import Workspace
>>> from insightloop.identity.config import identity_config
>>> ws = Workspace.init(tempfile.mkdtemp() + "/ws")
>>> _ = ws.engine.insert("identifier_map", [{"id_type": "email", "id_value": "anna@x.se",
...                                          "customer_id": "c1", "records": 1}])
>>> _ = ws.engine.insert("customer_map", [{"source": "id:email", "source_key": "anna@x.se",
...                                        "customer_id": "c1"}])
>>> profiles = ProfileReader(ws.engine, identity_config({}))
>>> profiles.find("Anna@X.se")
'c1'
>>> [i.value for i in profiles.get("c1").identifiers]
['anna@x.se']
>>> ws.close()
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.errors import InsightloopError
from insightloop.identity.config import ID_TYPES, IdentityConfig
from insightloop.ingest.normalise import normalise_email, normalise_phone
from insightloop.profile.fields import GOLDEN_FIELDS
from insightloop.profile.records import SourceRecord, source_records
from insightloop.profile.timeline import (
    ProfileQueryError,
    TimelineEntry,
    check_kinds,
    customer_rows,
    iso_utc,
    read_timeline,
)
from insightloop.store import Engine

__all__ = [
    "AmbiguousIdentifierError",
    "ConsentState",
    "FieldSource",
    "Profile",
    "ProfileIdentifier",
    "ProfileNotFoundError",
    "ProfileReader",
    "SourceRecord",
    "identifier_types",
    "latest_consents",
    "lookup_values",
    "parse_provenance",
]


class ProfileNotFoundError(InsightloopError):
    """No customer has the identifier."""

    code = "not_found"


class AmbiguousIdentifierError(ProfileQueryError):
    """The identifier belongs to several customers, as different kinds of identifier."""

    code = "ambiguous_identifier"


@dataclass(frozen=True)
class FieldSource:
    """Where a golden-record value came from: the record, its time and the rule that chose it."""

    source: str | None
    key: str | None
    at: datetime | None
    rule: str | None


@dataclass(frozen=True)
class ProfileIdentifier:
    id_type: str
    value: str
    records: int | None


@dataclass(frozen=True)
class ConsentState:
    """The latest consent decision for one channel and purpose."""

    channel: str | None
    purpose: str | None
    status: str | None
    recorded_at: datetime | None
    source: str | None


@dataclass(frozen=True)
class Profile:
    """One customer's 360-degree view (see :meth:`ProfileReader.get`)."""

    customer_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    birth_date: Any = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    language: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    provenance: dict[str, FieldSource] = field(default_factory=dict)
    identifiers: list[ProfileIdentifier] = field(default_factory=list)
    records: list[SourceRecord] = field(default_factory=list)
    consents: list[ConsentState] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def golden(self) -> dict[str, Any]:
        """The golden-record fields by name."""
        return {f: getattr(self, f) for f in GOLDEN_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times in ISO 8601 with their UTC offset)."""

        iso = iso_utc

        return {
            "customer_id": self.customer_id,
            "golden": {k: iso(v) for k, v in self.golden.items()},
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "provenance": {
                k: {"source": p.source, "key": p.key, "at": iso(p.at), "rule": p.rule}
                for k, p in self.provenance.items()
            },
            "identifiers": [
                {"type": i.id_type, "value": i.value, "records": i.records}
                for i in self.identifiers
            ],
            "records": [
                {
                    "source": r.source,
                    "key": r.key,
                    "fields": {k: iso(v) for k, v in r.fields.items()},
                    "first_seen": iso(r.first_seen),
                    "assigned_at": iso(r.assigned_at),
                }
                for r in self.records
            ],
            "consents": [
                {
                    "channel": c.channel,
                    "purpose": c.purpose,
                    "status": c.status,
                    "recorded_at": iso(c.recorded_at),
                    "source": c.source,
                }
                for c in self.consents
            ],
            "timeline": [e.to_dict() for e in self.timeline],
        }


def identifier_types(config: IdentityConfig) -> list[str]:
    """The identifier types a customer can be found by, ``customer_id`` first: the built-in
    ones and those ``[identity.customer_keys]`` declares."""
    extra = sorted(set(config.customer_keys.values()) - set(ID_TYPES))
    return ["customer_id", *ID_TYPES, *extra]


def latest_consents(t: ir.Table, *, by: Sequence[str] = ()) -> ir.Table:
    """The latest decision of consent rows ``t`` per channel and purpose (and per ``by``): a
    withdrawal wins a tie; columns ``by``, channel, purpose, status, recorded_at, _source."""
    latest = t.mutate(
        _n=ibis.row_number().over(
            group_by=[*by, "channel", "purpose"],
            order_by=[
                ibis.desc(t.recorded_at),
                ibis.desc((t.status == "withdrawn").cast("int32")),
                t._source,
            ],
        )
    )
    latest = latest.filter(latest._n == 0)
    return latest.select(*by, "channel", "purpose", "status", "recorded_at", "_source")


def lookup_values(text: str, id_type: str | None) -> list[tuple[str | None, str]]:
    """``(type, value)`` pairs to look ``text`` up as (type ``None``: any type).

    An e-mail is also tried normalised, a phone number in E.164.

    Examples
    --------
    >>> lookup_values(" Anna@X.se ", None)
    [(None, 'Anna@X.se'), (None, 'anna@x.se')]
    >>> lookup_values("+46 70 123 45 67", "phone")
    [('phone', '+46701234567')]
    """
    text = text.strip()
    values: list[tuple[str | None, str]] = []
    if id_type is None or id_type not in ("email", "phone"):
        values.append((id_type, text))
    if id_type in (None, "email") and "@" in text:
        email = normalise_email(text).value
        values.append(("email" if id_type else None, email or text.lower()))
    if id_type in (None, "phone"):
        phone = normalise_phone(text).value
        if phone:
            values.append(("phone" if id_type else None, phone))
        elif id_type == "phone":
            values.append(("phone", text))
    return list(dict.fromkeys(values))


def parse_provenance(text: str | None) -> dict[str, FieldSource]:
    """The field provenance JSON of a golden record, as :class:`FieldSource` by field."""
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    out = {}
    for name, entry in (data or {}).items():
        if isinstance(entry, dict):
            at = entry.get("at")
            out[name] = FieldSource(
                entry.get("source"),
                entry.get("key"),
                datetime.fromisoformat(at) if at else None,
                entry.get("rule"),
            )
    return out


class ProfileReader:
    """Find customers by any identifier and read their 360-degree view.

    Parameters
    ----------
    engine
        The workspace engine.
    config
        The ``[identity]`` settings (which source keys are which identifier types).
    """

    def __init__(self, engine: Engine, config: IdentityConfig) -> None:
        self.engine = engine
        self.config = config

    # -- finding ----------------------------------------------------------------------------

    def id_types(self) -> list[str]:
        """Identifier types :meth:`find` accepts, ``customer_id`` first."""
        return identifier_types(self.config)

    def find(self, identifier: str, id_type: str | None = None) -> str | None:
        """The customer id of ``identifier``, or ``None`` when no customer has it.

        Without ``id_type`` the identifier is tried as a customer id, as an e-mail (normalised),
        as a phone number (E.164, as given or parsed when it has a country code) and as the value
        of every identifier type.

        Raises
        ------
        AmbiguousIdentifierError
            When it names different customers as different types; the message lists the types.
        ProfileQueryError
            When ``id_type`` is unknown or the identifier is empty.
        """
        text = identifier.strip()
        if not text:
            raise ProfileQueryError(
                "The identifier is empty.",
                hint="Give a customer id, an e-mail, a phone number or another identifier.",
            )
        if id_type is not None and id_type not in self.id_types():
            raise ProfileQueryError(
                f"Unknown identifier type {id_type!r}.",
                hint=f"Types: {', '.join(self.id_types())}.",
            )
        hits: dict[str, set[str]] = {}
        if id_type in (None, "customer_id"):
            m = self.engine.table("customer_map")
            if self.engine.records(m.filter(m.customer_id == text).select("customer_id").limit(1)):
                hits["customer_id"] = {text}
        if id_type != "customer_id":
            ids = self.engine.table("identifier_map")
            match = ibis.literal(False)
            for kind, value in lookup_values(text, id_type):
                one = ids.id_value == value
                match = match | (one & (ids.id_type == kind) if kind else one)
            rows = self.engine.records(
                ids.filter(match).select("id_type", "customer_id").distinct()
            )
            for row in rows:
                hits.setdefault(row["id_type"], set()).add(row["customer_id"])
        customers = set().union(*hits.values()) if hits else set()
        if len(customers) > 1:
            kinds = sorted(hits)
            raise AmbiguousIdentifierError(
                f"The identifier belongs to {len(customers)} customers, as {', '.join(kinds)}.",
                hint="Say which kind of identifier it is: --type "
                + " or --type ".join(kinds)
                + " (id_type= in Python).",
            )
        return customers.pop() if customers else None

    def _not_found(self, id_type: str | None) -> ProfileNotFoundError:
        what = f"as {id_type}" if id_type else "as customer id, e-mail, phone or other identifier"
        if self.engine.count("customer_map") == 0:
            hint = "The workspace has no customers yet: `insightloop run` resolves identities."
        else:
            hint = (
                "Check the spelling: e-mails match in any case, phone numbers in international "
                "form (+46701234567). --type (id_type= in Python) says which kind of identifier "
                "it is; `insightloop status` shows how many customers the workspace has."
            )
        return ProfileNotFoundError(f"No customer has this identifier ({what}).", hint=hint)

    # -- reading ----------------------------------------------------------------------------

    def get(
        self,
        identifier: str,
        *,
        id_type: str | None = None,
        timeline_limit: int | None = 200,
        kinds: Sequence[str] | None = None,
    ) -> Profile:
        """The 360-degree view of the customer with ``identifier``.

        Parameters
        ----------
        identifier
            A customer id, e-mail, phone or any identifier value (see :meth:`find`).
        id_type
            Look the identifier up as this type only.
        timeline_limit
            At most this many timeline entries, newest first (``None``: all).
        kinds
            Only these kinds of timeline entries (default: all of :data:`KINDS`).

        Raises
        ------
        ProfileNotFoundError
            When no customer has the identifier.
        """
        kinds = check_kinds(kinds)
        customer_id = self.find(identifier, id_type)
        if customer_id is None:
            raise self._not_found(id_type)
        c = self.engine.table("customers")
        rows = self.engine.records(c.filter(c.customer_id == customer_id).limit(1))
        golden: dict[str, Any] = rows[0] if rows else {"customer_id": customer_id}
        identifiers = self.identifiers(customer_id)
        values = [i.value for i in identifiers]
        return Profile(
            customer_id=customer_id,
            **{f: golden.get(f) for f in GOLDEN_FIELDS},
            created_at=golden.get("created_at"),
            updated_at=golden.get("updated_at"),
            provenance=parse_provenance(golden.get("provenance")),
            identifiers=identifiers,
            records=self.records(customer_id),
            consents=self._consents(customer_id, values),
            timeline=read_timeline(
                self.engine, self.config, customer_id, values, kinds=kinds, limit=timeline_limit
            ),
        )

    def identifiers(self, customer_id: str) -> list[ProfileIdentifier]:
        """Every identifier value that finds the customer, by type."""
        ids = self.engine.table("identifier_map")
        rows = self.engine.records(
            ids.filter(ids.customer_id == customer_id)
            .select("id_type", "id_value", "records")
            .order_by("id_type", "id_value")
        )
        return [ProfileIdentifier(r["id_type"], r["id_value"], r["records"]) for r in rows]

    def records(self, customer_id: str) -> list[SourceRecord]:
        """The customer's records: reference records with their current main fields, and the
        accounts, devices and guests known by an identifier, earliest first."""
        return source_records(self.engine, customer_id)

    def consents(self, customer_id: str) -> list[ConsentState]:
        """The latest decision per channel and purpose (a withdrawal wins a tie)."""
        values = [i.value for i in self.identifiers(customer_id)]
        return self._consents(customer_id, values)

    def _consents(self, customer_id: str, values: Sequence[str]) -> list[ConsentState]:
        t = customer_rows(self.engine, self.config, "consents", customer_id, values)
        rows = self.engine.records(latest_consents(t).order_by("channel", "purpose"))
        return [
            ConsentState(r["channel"], r["purpose"], r["status"], r["recorded_at"], r["_source"])
            for r in rows
        ]

    def timeline(
        self,
        customer_id: str,
        kinds: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
    ) -> list[TimelineEntry]:
        """The customer's touchpoints, newest first.

        Parameters
        ----------
        customer_id
            The customer (see :meth:`find` to get it from another identifier).
        kinds
            Only these of :data:`~insightloop.profile.timeline.KINDS` (default: all).
        since, until
            Only touchpoints with ``since <= at < until`` (UTC).
        limit
            At most this many entries.
        """
        values = [i.value for i in self.identifiers(customer_id)]
        return read_timeline(
            self.engine,
            self.config,
            customer_id,
            values,
            kinds=kinds,
            since=since,
            until=until,
            limit=limit,
        )
