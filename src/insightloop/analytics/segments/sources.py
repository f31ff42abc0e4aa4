"""What segments are computed from: the customer attributes, the behaviour tables and as_of."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import ibis.expr.types as ir

__all__ = ["SegmentSources"]


@dataclass(frozen=True)
class SegmentSources:
    """The Ibis tables a segment definition is compiled against.

    Parameters
    ----------
    attributes
        One row per customer: ``customer_id`` (string) and attribute columns of any type. Its
        customers are the universe: every segment is a subset of them, ``not`` included.
    as_of
        The moment the segment is computed for (UTC; an aware time is converted). Behaviour rows
        after it are ignored, and ``within_days: N`` means ``as_of - N days < at <= as_of``.
    orders, purchases, events, contacts, feedback, campaigns
        Behaviour tables, each with ``customer_id`` (string), ``at`` (timestamp) and the columns
        conditions filter on; ``None`` when there is no such data (a condition using it is then
        refused when it is validated).
    """

    attributes: ir.Table
    as_of: dt.datetime
    orders: ir.Table | None = None
    purchases: ir.Table | None = None
    events: ir.Table | None = None
    contacts: ir.Table | None = None
    feedback: ir.Table | None = None
    campaigns: ir.Table | None = None

    def __post_init__(self) -> None:
        as_of = pd.Timestamp(self.as_of).to_pydatetime()
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(dt.UTC).replace(tzinfo=None)
        object.__setattr__(self, "as_of", as_of)

    def behaviour(self, name: str) -> ir.Table | None:
        """The behaviour table ``name`` (``None`` when it is missing)."""
        table: ir.Table | None = getattr(self, name)
        return table

    def behaviour_names(self) -> list[str]:
        return [f.name for f in fields(self) if f.name not in ("attributes", "as_of")]

    def restricted_to(self, customers: ir.Table) -> SegmentSources:
        """The same sources holding only the customers of ``customers`` (a ``customer_id``
        table): what an incremental refresh evaluates."""
        changes: dict[str, ir.Table | None] = {
            "attributes": self.attributes.semi_join(customers, "customer_id")
        }
        for name in self.behaviour_names():
            table = self.behaviour(name)
            changes[name] = None if table is None else table.semi_join(customers, "customer_id")
        return replace(self, **changes)  # type: ignore[arg-type]
