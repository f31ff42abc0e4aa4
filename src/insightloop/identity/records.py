"""Person records and their identifiers, drawn from the canonical tables.

A **person record** is anything that stands for one person in one system:

- a customer reference record (``src_customers``, current version): source = the source's name;
- a web-shop account or Segment ``userId`` (``id:user_id``), described by its most recent order
  and, for what the order does not say, the traits of its latest ``identify`` call (Segment's
  reserved ``email``, ``firstName``, ``lastName``, ``name``, ``phone``, ``birthday``);
- a device or browser (``id:anonymous_id``) from the events;
- a guest who only ever gave an e-mail with an order (``id:email``).

Each record carries identifiers (``customer_key``, ``loyalty_number``, ``user_id``,
``anonymous_id``, ``email``, ``phone``); transactions find their customer through those.
"""

from __future__ import annotations

import json
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.config import IdentityConfig
from insightloop.ingest import normalise as nz
from insightloop.store import Engine
from insightloop.store.text import trim

__all__ = [
    "ACCOUNT",
    "DEVICE",
    "GUEST",
    "RECORDS_TABLE",
    "RECORD_COLUMNS",
    "device_links",
    "person_identifiers",
    "person_records",
]

ACCOUNT = "id:user_id"
DEVICE = "id:anonymous_id"
GUEST = "id:email"

#: The table where each resolution leaves the person records it compared (see
#: :func:`insightloop.identity.review_view.describe_records`).
RECORDS_TABLE = "identity_records"

#: Columns of a person record, in order; the match features are the ones after the key.
RECORD_COLUMNS = (
    "record_source",
    "record_key",
    "first_name",
    "last_name",
    "name_raw",
    "email",
    "phone",
    "birth_date",
    "street",
    "postcode",
    "city",
    "country",
    "updated_at",
)


def _key_type(orders: ir.Table, config: IdentityConfig) -> ir.StringValue:
    if not config.customer_keys:
        return ibis.literal("customer_key")
    return ibis.cases(
        *((orders._source == s, t) for s, t in config.customer_keys.items()),
        else_="customer_key",
    )


def _customer_records(engine: Engine) -> ir.Table:
    t = engine.table("src_customers")
    t = t.filter(t.is_current.fill_null(True) & t.source_key.notnull())
    return t.select(
        record_source=t._source,
        record_key=t.source_key,
        first_name=t.first_name,
        last_name=t.last_name,
        name_raw=t.name_raw,
        email=t.email,
        phone=t.phone,
        birth_date=t.birth_date,
        street=t.street,
        postcode=t.postcode,
        city=t.city,
        country=t.country,
        updated_at=ibis.coalesce(t.updated_at, t.created_at, t.valid_from, t._loaded_at),
    )


def _order_records(engine: Engine, config: IdentityConfig) -> ir.Table:
    """Accounts (by key) and guests (by e-mail), each described by its latest order."""
    o = engine.table("orders")
    o = o.mutate(_ktype=_key_type(o, config))
    account = o.filter((o._ktype == "user_id") & o.source_customer_key.notnull())
    account = account.mutate(
        record_source=ibis.literal(ACCOUNT), record_key=account.source_customer_key
    )
    guest = o.filter(o.source_customer_key.isnull() & o.email.notnull() & (o.email != ""))
    guest = guest.mutate(record_source=ibis.literal(GUEST), record_key=guest.email)
    both = account.union(guest)
    latest = both.mutate(
        _rank=ibis.row_number().over(
            group_by=[both.record_source, both.record_key],
            order_by=[ibis.desc(both.ordered_at), ibis.desc(both.order_id)],
        )
    )
    latest = latest.filter(latest._rank == 0)
    return latest.select(
        record_source=latest.record_source,
        record_key=latest.record_key,
        first_name=ibis.null("string"),
        last_name=ibis.null("string"),
        name_raw=latest.shipping_name,
        email=latest.email,
        phone=ibis.null("string"),
        birth_date=ibis.null("date"),
        street=latest.shipping_street,
        postcode=latest.shipping_postcode,
        city=latest.shipping_city,
        country=latest.shipping_country,
        updated_at=latest.ordered_at,
    )


def _split_names(records: pa.Table) -> pa.Table:
    """Given and family names for records that have only a full name (accounts, guests)."""
    missing = pc.and_(pc.is_null(records["first_name"]), pc.is_null(records["last_name"]))
    if not pc.any(missing).as_py():
        return records
    parts = nz.split_names(records["name_raw"].combine_chunks())
    first = pc.if_else(missing, parts.column("given").combine_chunks(), records["first_name"])
    last = pc.if_else(missing, parts.column("family").combine_chunks(), records["last_name"])
    records = records.set_column(records.schema.get_field_index("first_name"), "first_name", first)
    return records.set_column(records.schema.get_field_index("last_name"), "last_name", last)


def _trait(traits: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = traits.get(name)
        if isinstance(value, str | int) and str(value).strip():
            return str(value).strip()
    return None


def _identify_traits(engine: Engine) -> pa.Table:
    """``user_id`` with the person traits of its latest ``identify`` call, normalised."""
    e = engine.table("events")
    calls = e.filter(
        (e.type == "identify") & e.user_id.notnull() & (e.user_id != "") & e.traits.notnull()
    )
    latest = calls.mutate(
        _rank=ibis.row_number().over(
            group_by=calls.user_id, order_by=[ibis.desc(calls.timestamp), ibis.desc(calls.traits)]
        )
    )
    latest = latest.filter(latest._rank == 0).select("user_id", "traits", "timestamp")
    rows = engine.to_pyarrow(latest)
    parsed: dict[str, list[Any]] = {k: [] for k in ("email", "first", "last", "name", "phone")}
    dates: list[str | None] = []
    for text in rows["traits"].to_pylist():
        try:
            traits = json.loads(text) if text else {}
        except ValueError:
            traits = {}
        traits = traits if isinstance(traits, dict) else {}
        parsed["email"].append(_trait(traits, "email"))
        parsed["first"].append(_trait(traits, "firstName", "first_name"))
        parsed["last"].append(_trait(traits, "lastName", "last_name"))
        parsed["name"].append(_trait(traits, "name"))
        parsed["phone"].append(_trait(traits, "phone"))
        dates.append(_trait(traits, "birthday"))
    text = pa.string()
    return pa.table(
        {
            "record_key": rows["user_id"].cast(text),
            "first_name": nz.normalise_names(pa.array(parsed["first"], text), part="given")
            .column("value")
            .cast(text),
            "last_name": nz.normalise_names(pa.array(parsed["last"], text), part="family")
            .column("value")
            .cast(text),
            "name_raw": pa.array(parsed["name"], text),
            "email": nz.normalise_emails(pa.array(parsed["email"], text)).column("value"),
            "phone": nz.normalise_phones(pa.array(parsed["phone"], text)).column("value"),
            "birth_date": nz.normalise_birth_dates(pa.array(dates, text)).column("value"),
            "updated_at": rows["timestamp"],
        }
    )


def _with_traits(records: pa.Table, traits: pa.Table) -> pa.Table:
    """Accounts' missing fields filled from their traits; accounts only the events know added."""
    if not traits.num_rows:
        return records
    frame = records.to_pandas()
    extra = traits.to_pandas().set_index("record_key")
    is_account = frame["record_source"] == ACCOUNT
    keys = frame.loc[is_account, "record_key"]
    for column in ("first_name", "last_name", "name_raw", "email", "phone", "birth_date"):
        filler = keys.map(extra[column])
        frame.loc[is_account, column] = frame.loc[is_account, column].where(
            frame.loc[is_account, column].notna(), filler
        )
    known = set(keys)
    fresh = extra[~extra.index.isin(known)].reset_index()
    fresh = fresh.assign(record_source=ACCOUNT)
    out = (
        frame
        if fresh.empty
        else pd.concat([frame, fresh[frame.columns.intersection(fresh.columns)]])
    )
    out = out.reindex(columns=list(RECORD_COLUMNS))
    return pa.Table.from_pandas(out, schema=records.schema, preserve_index=False)


def person_records(engine: Engine, config: IdentityConfig) -> pa.Table:
    """Every customer record, account and guest with the fields that matching compares."""
    parts = [_customer_records(engine), _order_records(engine, config)]
    table = parts[0].union(parts[1])
    records = engine.to_pyarrow(table.select(*RECORD_COLUMNS))
    records = _with_traits(records, _identify_traits(engine))
    return _split_names(records)


def device_links(engine: Engine) -> ir.Table:
    """``(anonymous_id, user_id, events)``: which devices logged in as which users.

    An identify, track, page or screen call with both ids, and an alias call (``previousId`` →
    ``userId``), each tie the device to the user.
    """
    e = engine.table("events")
    anon = ibis.coalesce(e.anonymous_id, e.previous_id)
    both = e.filter(anon.notnull() & e.user_id.notnull() & (e.user_id != ""))
    pairs = both.select(
        anonymous_id=ibis.coalesce(both.anonymous_id, both.previous_id), user_id=both.user_id
    )
    return pairs.group_by(["anonymous_id", "user_id"]).aggregate(events=pairs.count())


def person_identifiers(engine: Engine, config: IdentityConfig) -> ir.Table:
    """``(record_source, record_key, id_type, id_value)`` for every person record.

    Customer records carry their key, loyalty number, e-mail and phone; accounts their user id
    and every e-mail used with their orders; guests their e-mail; devices their anonymous id.
    """
    c = engine.table("src_customers")
    c = c.filter(c.is_current.fill_null(True) & c.source_key.notnull())
    rows: list[ir.Table] = []
    for id_type, column in (
        ("customer_key", c.source_key),
        ("loyalty_number", c.loyalty_number),
        ("email", c.email),
        ("phone", c.phone),
    ):
        rows.append(
            c.select(
                record_source=c._source,
                record_key=c.source_key,
                id_type=ibis.literal(id_type),
                id_value=column,
            )
        )
    o = engine.table("orders")
    o = o.mutate(_ktype=_key_type(o, config))
    acc = o.filter((o._ktype == "user_id") & o.source_customer_key.notnull())
    for id_type, column in (("user_id", acc.source_customer_key), ("email", acc.email)):
        rows.append(
            acc.select(
                record_source=ibis.literal(ACCOUNT),
                record_key=acc.source_customer_key,
                id_type=ibis.literal(id_type),
                id_value=column,
            )
        )
    guest = o.filter(o.source_customer_key.isnull() & o.email.notnull())
    rows.append(
        guest.select(
            record_source=ibis.literal(GUEST),
            record_key=guest.email,
            id_type=ibis.literal("email"),
            id_value=guest.email,
        )
    )
    e = engine.table("events")
    users = e.filter(e.user_id.notnull() & (e.user_id != ""))
    rows.append(
        users.select(
            record_source=ibis.literal(ACCOUNT),
            record_key=users.user_id,
            id_type=ibis.literal("user_id"),
            id_value=users.user_id,
        )
    )
    anon = ibis.coalesce(e.anonymous_id, e.previous_id)
    devices = e.mutate(_anon=anon).filter(anon.notnull() & (anon != ""))
    rows.append(
        devices.select(
            record_source=ibis.literal(DEVICE),
            record_key=devices._anon,
            id_type=ibis.literal("anonymous_id"),
            id_value=devices._anon,
        )
    )
    union = rows[0]
    for part in rows[1:]:
        union = union.union(part)
    union = union.filter(union.id_value.notnull() & (trim(union.id_value) != ""))
    return union.distinct()
