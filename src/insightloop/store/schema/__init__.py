"""The canonical model, declared once.

Every table and column says which migration introduced it (``added_in``) and which module owns it.
Migrations create exactly what this declaration says for their version, the data-model reference
(docs/data-model.md) is generated from it, and a test checks that a migrated workspace matches it.
Change the model by adding columns or tables with a new ``added_in`` and a new migration number;
never edit what an applied migration created.

Conventions: timestamps are UTC without a zone; money is ``decimal(18, 4)`` in the row's currency;
free-form structures (Segment properties, provenance, reasons) are JSON text, which every backend
stores; rows of source-level tables carry their lineage (``_source``, ``_batch_id``,
``_loaded_at``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import ibis

from insightloop.store.schema.spec import MONEY, Column, Layer, TableSpec
from insightloop.store.schema.tables import CANONICAL_MODEL

__all__ = [
    "CANONICAL_MODEL",
    "ENTITIES",
    "ENTITY_TABLES",
    "MONEY",
    "Column",
    "Entity",
    "Layer",
    "TableSpec",
    "schema_at",
    "table_spec",
]

# What a source can be loaded as, and the source-level table each lands in.
Entity = Literal[
    "customers",
    "orders",
    "order_items",
    "products",
    "events",
    "interactions",
    "feedback",
    "campaigns",
    "campaign_members",
    "consents",
]
ENTITIES: tuple[Entity, ...] = get_args(Entity)
ENTITY_TABLES: Mapping[str, str] = {
    entity: "src_customers" if entity == "customers" else entity for entity in ENTITIES
}


def table_spec(name: str, model: tuple[TableSpec, ...] = CANONICAL_MODEL) -> TableSpec:
    for spec in model:
        if spec.name == name:
            return spec
    raise KeyError(name)


def schema_at(
    version: int, model: tuple[TableSpec, ...] = CANONICAL_MODEL
) -> dict[str, ibis.Schema]:
    """Every table and its columns as they stand after migration ``version``."""
    return {s.name: s.schema(version) for s in model if s.added_in <= version}
