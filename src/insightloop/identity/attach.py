"""Find the customer of every transaction and event through the identifier map.

A row is matched by its source's customer key first (a CRM number, a loyalty card, a web-shop
account id: whatever ``[identity.customer_keys]`` says the source's key is), then by its e-mail,
then by its phone. Events are matched by ``user_id``, then ``anonymous_id``. The identifier map
holds only values that belong to one customer, so every match is unambiguous; a row none of
whose identifiers is known keeps a null ``customer_id``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine
from insightloop.store.text import trim

__all__ = ["IDENTIFIER_MAP", "TRANSACTION_TABLES", "key_type_expr", "with_customer"]

IDENTIFIER_MAP = "identifier_map"

#: Tables whose rows belong to a customer, and the identifier columns tried in order.
TRANSACTION_TABLES: dict[str, tuple[str, ...]] = {
    "orders": ("source_customer_key", "email"),
    "interactions": ("source_customer_key", "email", "phone"),
    "feedback": ("source_customer_key", "email"),
    "campaign_members": ("source_customer_key",),
    "consents": ("source_customer_key",),
    "events": ("user_id", "anonymous_id"),
}


def key_type_expr(table: ir.Table, config: IdentityConfig) -> ir.StringValue:
    """The identifier type of each row's ``source_customer_key``.

    A key that looks like an e-mail address is an e-mail (consent logs often record the address
    instead of a customer number); otherwise the source's configured key type.
    """
    key = table.source_customer_key
    by_source: ir.StringValue = ibis.literal("customer_key")
    if config.customer_keys:
        by_source = ibis.cases(
            *((table._source == name, kind) for name, kind in config.customer_keys.items()),
            else_="customer_key",
        )
    return ibis.ifelse(key.contains("@"), "email", by_source)


def _key_value(column: str, table: ir.Table) -> ir.StringValue:
    value = trim(table[column].cast("string"))
    if column in ("source_customer_key",):
        return ibis.ifelse(value.contains("@"), value.lower(), value)
    return value


def with_customer(engine: Engine, config: IdentityConfig, table_name: str) -> ir.Table:
    """``table_name`` with two more columns: ``customer_id`` and ``matched_by``.

    ``matched_by`` names the identifier that found the customer (``customer_key``,
    ``loyalty_number``, ``user_id``, ``email``, ...) or is null when none did.
    """
    if table_name not in TRANSACTION_TABLES:
        raise ValueError(f"{table_name!r} is not a table of customer transactions")
    table = engine.table(table_name)
    ids = engine.table(IDENTIFIER_MAP).select("id_type", "id_value", "customer_id")
    columns = [c for c in TRANSACTION_TABLES[table_name] if c in table.columns]

    def id_type(column: str) -> ir.StringValue:
        if column == "source_customer_key":
            return key_type_expr(table, config)
        return ibis.literal(column)

    keyed = table.mutate(
        **{f"_t{i}": id_type(c) for i, c in enumerate(columns)},
        **{f"_v{i}": _key_value(c, table) for i, c in enumerate(columns)},
    )
    joined = keyed
    for i in range(len(columns)):
        look = ids.rename(**{f"_c{i}": "customer_id", f"_it{i}": "id_type", f"_iv{i}": "id_value"})
        joined = joined.left_join(
            look,
            [joined[f"_t{i}"] == look[f"_it{i}"], joined[f"_v{i}"] == look[f"_iv{i}"]],
        ).drop(f"_it{i}", f"_iv{i}")
    customer = ibis.coalesce(*(joined[f"_c{i}"] for i in range(len(columns))))
    matched = ibis.cases(
        *((joined[f"_c{i}"].notnull(), joined[f"_t{i}"]) for i in range(len(columns))),
        else_=ibis.null("string"),
    )
    helpers = [f"_{p}{i}" for i in range(len(columns)) for p in ("t", "v", "c")]
    return joined.mutate(customer_id=customer, matched_by=matched).drop(*helpers)
