"""Where golden-record values come from: one table of candidate values per customer.

Three tiers of candidates, in the order they win:

0. the customer's **current reference records** (``src_customers`` through ``customer_map``),
   with the source's rank in ``[identity] source_priority``;
1. the customer's **orders** (through the identifier map): each distinct e-mail, shipping name
   and shipping address, with the latest order that carried it. A name is taken from a shipping
   address only for customers no reference record names: a given name from the CRM and a
   family name from a parcel (perhaps a gift) would make a person who does not exist. Those
   customers' distinct shipping names are split into given and family name in Python, with
   the splitter the loaders use; everything else stays in the engine;
2. a guest's **e-mail identifier** (``customer_map`` source ``id:email``).

E-mails and phones are candidates only when they identify someone (they are in the identifier
map): placeholders, shared junk and values two customers hold equally never become golden.

Every candidate has ``at`` (when its value was last set), ``seen`` (its version or load time, to
break ties) and ``created`` (for the customer's first appearance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from insightloop.identity.attach import with_customer
from insightloop.identity.config import IdentityConfig
from insightloop.identity.records import GUEST
from insightloop.ingest import normalise as nz
from insightloop.profile.fields import GOLDEN_FIELDS, GROUP_OF
from insightloop.store import Engine
from insightloop.store.text import trim

__all__ = [
    "CANDIDATE_COLUMNS",
    "IDENTIFIER",
    "ORDERS",
    "REFERENCE",
    "candidates",
    "present",
]

#: Candidate tiers, in the order they win.
REFERENCE, ORDERS, IDENTIFIER = 0, 1, 2

CANDIDATE_COLUMNS = (
    "customer_id", "tier", "prio", "at", "seen", "created", "source", "key", *GOLDEN_FIELDS,
)  # fmt: skip


def present(value: ir.Value) -> ir.BooleanValue:
    """A value that is there: not null, and for text not blank."""
    if value.type().is_string():
        return value.notnull() & (trim(value) != "")
    return value.notnull()


def _priority(source: ir.StringValue, priority: Sequence[str]) -> ir.IntegerValue:
    if not priority:
        return ibis.literal(0, "int32")
    return ibis.cases(
        *((source == name, i) for i, name in enumerate(priority)), else_=len(priority)
    ).cast("int32")


def _shaped(**columns: Any) -> dict[str, Any]:
    """The candidate columns in order, with a typed null for every field not given."""
    types = {"tier": "int32", "prio": "int32", "at": "timestamp", "seen": "timestamp"}
    types |= {"created": "timestamp", "source": "string", "key": "string"}
    types |= {c: ("date" if GROUP_OF[c].kind == "date" else "string") for c in GOLDEN_FIELDS}
    shaped: dict[str, Any] = {"customer_id": columns["customer_id"].cast("string")}
    for name in CANDIDATE_COLUMNS[1:]:
        value = columns.get(name)
        shaped[name] = ibis.null(types[name]) if value is None else value.cast(types[name])
    return shaped


def _reference(engine: Engine, priority: Sequence[str]) -> ir.Table:
    m = engine.table("customer_map")
    c = engine.table("src_customers")
    c = c.filter(c.is_current.fill_null(True))
    j = m.join(c, [m.source == c._source, m.source_key == c.source_key])
    fields = {col: j[col] for col in GOLDEN_FIELDS}
    return j.select(
        **_shaped(
            customer_id=j.customer_id,
            tier=ibis.literal(REFERENCE),
            prio=_priority(j._source, priority),
            at=ibis.coalesce(j.updated_at, j.created_at, j.valid_from, j._loaded_at),
            seen=ibis.coalesce(j.valid_from, j._loaded_at),
            created=ibis.coalesce(j.created_at, j.valid_from, j._loaded_at),
            source=j.source,
            key=j.source_key,
            **fields,
        )
    )


def _order_groups(engine: Engine, config: IdentityConfig) -> ir.Table:
    """Per customer, each distinct (e-mail, shipping name, address) with its latest order."""
    o = with_customer(engine, config, "orders")
    parts = (
        "email",
        "shipping_name",
        "shipping_street",
        "shipping_postcode",
        "shipping_city",
        "shipping_country",
    )
    any_part = present(o[parts[0]])
    for part in parts[1:]:
        any_part = any_part | present(o[part])
    o = o.filter(o.customer_id.notnull() & any_part)
    return o.group_by("customer_id", "_source", *parts).aggregate(
        at=o.ordered_at.max(),
        created=o.ordered_at.min(),
        key=ibis.coalesce(o.order_id.argmax(o.ordered_at), o.order_id.max()),
    )


def _unnamed_orders(orders: ir.Table, reference: ir.Table) -> ir.Table:
    """The order groups of customers whose reference records carry no name at all.

    Only they take their name from a shipping address: a given name from the CRM and a family
    name from a parcel (perhaps a gift) would make a person who does not exist.
    """
    named = reference.filter(present(reference.first_name) | present(reference.last_name))
    return orders.anti_join(named.select("customer_id").distinct(), "customer_id")


def _split_names(engine: Engine, unnamed: ir.Table) -> ir.Table | None:
    """Given and family names of those customers' distinct shipping names (split in Python)."""
    wanted = unnamed.filter(present(unnamed.shipping_name)).select("shipping_name").distinct()
    names = engine.to_pyarrow(wanted)
    if names.num_rows == 0:
        return None
    column = names.column("shipping_name").combine_chunks()
    parts = nz.split_names(column)
    given = parts.column("given").combine_chunks()
    family = parts.column("family").combine_chunks()
    return ibis.memtable(pa.table({"_name": column, "_given": given, "_family": family}))


def _orders(orders: ir.Table, names: ir.Table | None, unnamed: ir.Table) -> ir.Table:
    o = orders
    given: ir.Value | None = None
    family: ir.Value | None = None
    if names is not None:
        takers = unnamed.select(_taker=unnamed.customer_id).distinct()
        o = o.left_join(names, o.shipping_name == names._name)
        o = o.left_join(takers, o.customer_id == takers._taker)
        given = ibis.ifelse(o._taker.notnull(), o._given, ibis.null("string"))
        family = ibis.ifelse(o._taker.notnull(), o._family, ibis.null("string"))
    return o.select(
        **_shaped(
            customer_id=o.customer_id,
            tier=ibis.literal(ORDERS),
            prio=ibis.literal(0),
            at=o.at,
            seen=o.at,
            created=o.created,
            source=o._source,
            key=o.key,
            first_name=given,
            last_name=family,
            email=o.email,
            street=o.shipping_street,
            postcode=o.shipping_postcode,
            city=o.shipping_city,
            country=o.shipping_country,
        )
    )


def _guests(engine: Engine) -> ir.Table:
    m = engine.table("customer_map")
    g = m.filter(m.source == GUEST)
    return g.select(
        **_shaped(
            customer_id=g.customer_id,
            tier=ibis.literal(IDENTIFIER),
            prio=ibis.literal(0),
            at=g.assigned_at,
            seen=g.assigned_at,
            created=g.assigned_at,
            source=g.source,
            key=g.source_key,
            email=g.source_key,
        )
    )


def candidates(engine: Engine, config: IdentityConfig) -> ir.Table:
    """Every candidate value of every customer, in :data:`CANDIDATE_COLUMNS`.

    Runs one query first: the shipping names to split (see the module docstring).
    """
    reference = _reference(engine, config.source_priority)
    orders = _order_groups(engine, config)
    unnamed = _unnamed_orders(orders, reference)
    names = _split_names(engine, unnamed)
    every = reference.union(_orders(orders, names, unnamed)).union(_guests(engine))
    return _identifying_contacts(engine, every)


def _identifying_contacts(engine: Engine, cands: ir.Table) -> ir.Table:
    """E-mails and phones that identify nobody are no candidates: a placeholder
    (``noemail@store…``), a store's phone, a value shared by several families, or one that two
    customers hold equally; identity resolution left them out of the identifier map."""
    idm = engine.table("identifier_map")
    for column in ("email", "phone"):
        known = idm.filter(idm.id_type == column).select(_known=idm.id_value).distinct()
        j = cands.left_join(known, cands[column] == known._known)
        kept = ibis.ifelse(j._known.notnull(), j[column], ibis.null(cands[column].type()))
        cands = j.select(*[kept.name(c) if c == column else j[c] for c in CANDIDATE_COLUMNS])
    return cands
