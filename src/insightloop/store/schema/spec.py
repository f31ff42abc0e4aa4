"""How a table of the canonical model is declared: columns, tables, and the shared conventions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import ibis

__all__ = ["MONEY", "Column", "Layer", "TableSpec"]

Layer = Literal["system", "source", "unified"]
MONEY = "decimal(18, 4)"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    added_in: int | None = None  # None: the table's own migration


@dataclass(frozen=True)
class TableSpec:
    name: str
    layer: Layer
    owner: str
    description: str
    added_in: int
    columns: tuple[Column, ...] = field(default_factory=tuple)

    def column_version(self, column: Column) -> int:
        return column.added_in if column.added_in is not None else self.added_in

    def schema(self, version: int | None = None) -> ibis.Schema:
        """The table's schema as of migration ``version`` (default: the latest).

        Columns come in the order a migrated database has them: the table's own columns, then
        those of each later migration (which appends them), in declaration order.
        """
        ordered = sorted(self.columns, key=self.column_version)
        return ibis.schema(
            {
                c.name: c.dtype
                for c in ordered
                if version is None or self.column_version(c) <= version
            }
        )


def _c(name: str, dtype: str, description: str, added_in: int | None = None) -> Column:
    return Column(name, dtype, description, added_in)


_LINEAGE = (
    _c("_source", "string", "Name of the source the row was loaded from."),
    _c("_batch_id", "string", "Load batch that wrote the row."),
    _c("_loaded_at", "timestamp", "When the row was loaded (UTC)."),
)
_CUSTOMER_KEY = _c("source_customer_key", "string", "The customer's key in the same source system.")


def _source_table(name: str, owner: str, description: str, *columns: Column) -> TableSpec:
    return TableSpec(name, "source", owner, description, 2, (*columns, *_LINEAGE))
