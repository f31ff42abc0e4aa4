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

__all__ = [
    "IDENTIFIER_MAP",
    "TRANSACTION_TABLES",
    "key_type_expr",
    "lookup_value",
    "with_customer",
]

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


def lookup_value(column: str, table: ir.Table) -> ir.StringValue:
    """The value of identifier ``column`` that :func:`with_customer` looks up in the identifier
    map: trimmed, and a customer key that holds an e-mail address in lower case."""
    raw = table[column].cast("string")
    if column in ("source_customer_key",):
        # Trimming changes no letter and no "@": the test and the lower case can come first,
        # so each branch trims only its own rows.
        return ibis.ifelse(raw.contains("@"), trim(raw.lower()), trim(raw))
    return trim(raw)


def with_customer(
    engine: Engine,
    config: IdentityConfig,
    table_name: str,
    rows: ir.Table | None = None,
    identifiers: ir.Table | None = None,
) -> ir.Table:
    """``table_name`` with two more columns: ``customer_id`` and ``matched_by``.

    ``matched_by`` names the identifier that found the customer (``customer_key``,
    ``loyalty_number``, ``user_id``, ``email``, ...) or is null when none did. ``rows``: some
    rows of ``table_name`` (a filter of it) to attach customers to instead of all, so the
    look-ups join only those. ``identifiers``: the rows of ``identifier_map`` to look up in
    (default: all), which must hold every value (:func:`lookup_value`) that ``rows`` carry.
    """
    if table_name not in TRANSACTION_TABLES:
        raise ValueError(f"{table_name!r} is not a table of customer transactions")
    table = engine.table(table_name) if rows is None else rows
    ids = engine.table(IDENTIFIER_MAP) if identifiers is None else identifiers
    ids = ids.select("id_type", "id_value", "customer_id")
    columns = [c for c in TRANSACTION_TABLES[table_name] if c in table.columns]
    # Each look-up joins only the identifiers of its own type(s): a smaller table to build, and
    # for a column of one type a join on the value alone.
    key_types = sorted({"customer_key", "email", *config.customer_keys.values()})
    joined = table
    kinds: list[tuple[str, bool]] = []  # per column: its type, or the helper column holding it
    helpers: list[str] = []
    for i, column in enumerate(columns):
        value = lookup_value(column, joined)
        if column == "source_customer_key":
            kind = key_type_expr(joined, config)
            joined = joined.mutate(**{f"_t{i}": kind})
            look = ids.filter(ids.id_type.isin(key_types)).rename(
                **{f"_c{i}": "customer_id", f"_it{i}": "id_type", f"_iv{i}": "id_value"}
            )
            joined = joined.left_join(
                look, [joined[f"_t{i}"] == look[f"_it{i}"], value == look[f"_iv{i}"]]
            ).drop(f"_it{i}", f"_iv{i}")
            kinds.append((f"_t{i}", True))
            helpers.append(f"_t{i}")
        else:
            look = ids.filter(ids.id_type == column).select(
                **{f"_iv{i}": "id_value", f"_c{i}": "customer_id"}
            )
            joined = joined.left_join(look, value == look[f"_iv{i}"]).drop(f"_iv{i}")
            kinds.append((column, False))
        helpers.append(f"_c{i}")
    customer = ibis.coalesce(*(joined[f"_c{i}"] for i in range(len(columns))))
    matched = ibis.cases(
        *(
            (joined[f"_c{i}"].notnull(), joined[kind] if held else ibis.literal(kind))
            for i, (kind, held) in enumerate(kinds)
        ),
        else_=ibis.null("string"),
    )
    return joined.mutate(customer_id=customer, matched_by=matched).drop(*helpers)
