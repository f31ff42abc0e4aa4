"""Deterministic stitching: which records share an identifier that proves they are one person.

Rules, each a guard against over-merging:

- **Keys** (``customer_key``, ``loyalty_number``, ``user_id`` and any configured key type) link
  records of *different* sources that carry the same value (a CRM record that stores the loyalty
  card number and the card's own record). A value held by more than ``limits[type]`` records of
  one source is a conflict, not evidence, and links nothing.
- **Devices** join the account they logged in as (Segment identify, alias, or any call with
  both ids) when they logged in as at most ``limits.anonymous_id`` accounts. A device that
  logged in as more joins them only once the rest of the evidence has put all those accounts in
  one customer (a person's old and new account, :func:`one_person_device_edges`); a family's
  shared computer, whose accounts stay different customers, joins no one.
- **E-mails and phones** never link reference records on their own (a household's family
  e-mail or shared landline would merge different people); probabilistic matching weighs them
  with names and birth dates. They do find the customer of transactions (``identifier_map``).
- **Junk**: a value on the blocklist, held by more records of one source than its limit, or by
  records with three or more different family names, is junk: it links nothing, matching
  ignores it, and no transaction finds a customer through it.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from insightloop.identity.config import IdentityConfig
from insightloop.identity.decisions import node_id
from insightloop.identity.records import ACCOUNT, DEVICE

__all__ = [
    "KEY_TYPES",
    "ONE_PERSON_DEVICE_RULE",
    "deterministic_edges",
    "junk_values",
    "one_person_device_edges",
]

#: Identifier types that name one record in their own system.
KEY_TYPES = ("customer_key", "loyalty_number", "user_id")

#: The rule of a device's links to several accounts of one customer.
ONE_PERSON_DEVICE_RULE = "device of one customer's accounts"

#: Records with this many different family names sharing one e-mail or phone make it junk.
_JUNK_FAMILY_NAMES = 3


def _limit_expr(
    id_type: ir.StringValue, config: IdentityConfig, types: set[str]
) -> ir.IntegerValue:
    return ibis.cases(*((id_type == t, config.limit(t)) for t in sorted(types)), else_=1)


def junk_values(identifiers: ir.Table, records: ir.Table, config: IdentityConfig) -> ir.Table:
    """``(id_type, id_value, reason)`` of the e-mails and phones that identify no one.

    ``identifiers`` is :func:`~insightloop.identity.records.person_identifiers`; ``records``
    the person records (for family names).
    """
    contact = identifiers.filter(identifiers.id_type.isin(["email", "phone"]))
    per_source = contact.group_by(["id_type", "id_value", "record_source"]).aggregate(
        n=contact.count()
    )
    limits = _limit_expr(per_source.id_type, config, {"email", "phone"})
    crowded = per_source.filter(per_source.n > limits).select("id_type", "id_value").distinct()
    named = contact.join(
        records.select("record_source", "record_key", "last_name"),
        ["record_source", "record_key"],
    )
    families = named.group_by(["id_type", "id_value"]).aggregate(
        names=named.last_name.lower().nunique()
    )
    mixed = families.filter(families.names >= _JUNK_FAMILY_NAMES).select("id_type", "id_value")
    parts = [
        crowded.mutate(reason=ibis.literal("shared by too many records")),
        mixed.mutate(reason=ibis.literal("shared by different families")),
    ]
    blocked = config.blocked()
    if blocked:
        listed = contact.filter(contact.id_value.lower().isin(sorted(blocked)))
        parts.append(
            listed.select("id_type", "id_value")
            .distinct()
            .mutate(reason=ibis.literal("blocklisted"))
        )
    union = parts[0]
    for part in parts[1:]:
        union = union.union(part)
    return union.group_by(["id_type", "id_value"]).aggregate(reason=union.reason.min())


def _key_edges(identifiers: ir.Table, config: IdentityConfig) -> ir.Table:
    types = set(KEY_TYPES) | set(config.customer_keys.values())
    keys = identifiers.filter(identifiers.id_type.isin(sorted(types)))
    counts = keys.group_by(["id_type", "id_value", "record_source"]).aggregate(n=keys.count())
    bad = counts.filter(counts.n > _limit_expr(counts.id_type, config, types))
    bad = bad.select("id_type", "id_value").distinct()
    good = keys.anti_join(bad, ["id_type", "id_value"])
    left = good.rename(left_source="record_source", left_key="record_key")
    right = good.rename(
        right_source="record_source", right_key="record_key", r_type="id_type", r_value="id_value"
    )
    pairs = left.join(
        right,
        [
            left.id_type == right.r_type,
            left.id_value == right.r_value,
            left.left_source < right.right_source,
        ],
    )
    return pairs.select(
        "left_source",
        "left_key",
        "right_source",
        "right_key",
        rule=ibis.literal("shared ") + pairs.id_type,
    )


def _accounts_per_device(devices: ir.Table) -> ir.Table:
    return devices.group_by("anonymous_id").aggregate(users=devices.user_id.nunique())


def _login_edges(logins: ir.Table, rule: str) -> ir.Table:
    """``logins`` (``anonymous_id, user_id``) as links from the device to the account."""
    return logins.select(
        left_source=ibis.literal(DEVICE),
        left_key=logins.anonymous_id,
        right_source=ibis.literal(ACCOUNT),
        right_key=logins.user_id,
        rule=ibis.literal(rule),
    )


def _device_edges(devices: ir.Table, config: IdentityConfig) -> ir.Table:
    users = _accounts_per_device(devices)
    single = users.filter(users.users <= config.limit("anonymous_id"))
    return _login_edges(devices.semi_join(single, "anonymous_id"), "device logged in")


def one_person_device_edges(
    devices: ir.Table, components: ir.Table, config: IdentityConfig
) -> ir.Table:
    """Links of the devices that logged in as several accounts, all of one customer.

    ``devices`` is :func:`~insightloop.identity.records.device_links`; ``components`` the
    ``node_id, component_id`` of a clustering without these devices' links. A device whose
    accounts are more than ``limits.anonymous_id`` (so :func:`deterministic_edges` left it out)
    is linked to each of them when every one sits in the same component: a person who opened a
    second account on their own phone. Accounts of different customers (a family's tablet) keep
    the device apart, and so does an account the clustering does not know.
    """
    users = _accounts_per_device(devices)
    several = users.filter(users.users > config.limit("anonymous_id"))
    kept = devices.semi_join(several, "anonymous_id")
    placed = kept.left_join(
        components, components.node_id == node_id(ibis.literal(ACCOUNT), kept.user_id)
    )
    per = placed.group_by("anonymous_id").aggregate(
        placed=placed.component_id.count(),
        accounts=placed.user_id.nunique(),
        customers=placed.component_id.nunique(),
    )
    one = per.filter((per.customers == 1) & (per.placed == per.accounts))
    return _login_edges(kept.semi_join(one, "anonymous_id"), ONE_PERSON_DEVICE_RULE)


def deterministic_edges(
    identifiers: ir.Table, devices: ir.Table, config: IdentityConfig
) -> ir.Table:
    """``(left_source, left_key, right_source, right_key, rule)``: links no one needs to score."""
    return _key_edges(identifiers, config).union(_device_edges(devices, config)).distinct()
