"""The golden record: one row per customer, each field chosen by a survivorship rule, with
field-level provenance.

The candidate values (:mod:`insightloop.profile.candidates`) compete per field group
(:mod:`insightloop.profile.fields`): reference records first, then orders, then identifiers;
among reference records, by the group's rule:

``source_priority``
    The first value in ``[identity] source_priority`` order (sources not listed come after those
    listed); ties by most recent.
``most_recent``
    The value of the record changed last (``updated_at``, else ``created_at``, ``valid_from``,
    ``_loaded_at``; ties by ``valid_from``/``_loaded_at``).
``most_frequent``
    The value most records agree on, compared without case; of its spellings the one that is
    not all capitals (a till's typing) wins; ties between values by most recent.
``most_complete``
    The longest value (for the address: the one with most parts filled in, then the longest);
    ties by most recent.

An address with a street beats one without under every rule. Orders and identifiers only fill
what no reference record has, newest first (rules ``latest_order`` and ``identifier``).

Everything runs in the engine: one window per field group over all candidates, one aggregation
per customer, and the provenance JSON built with string functions both DuckDB and Spark have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir

from insightloop.identity.config import IdentityConfig
from insightloop.profile.candidates import ORDERS, REFERENCE, candidates, present
from insightloop.profile.fields import (
    FIELD_GROUPS,
    GOLDEN_FIELDS,
    GROUP_OF,
    FieldGroup,
    survivorship_rules,
)
from insightloop.store import Engine, table_spec
from insightloop.store.text import trim

__all__ = ["GoldenReport", "build_golden_records", "golden_records_expr"]

_EPOCH = datetime(1900, 1, 1)


@dataclass(frozen=True)
class GoldenReport:
    """What :func:`build_golden_records` wrote: customers, and how many have each field."""

    run_id: str
    customers: int
    filled: dict[str, int] = field(default_factory=dict)
    empty: int = 0
    rules: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "customers": self.customers,
            "filled": dict(self.filled),
            "empty": self.empty,
            "rules": dict(self.rules),
        }


# -- survivorship -------------------------------------------------------------------------------


def _fold(values: list[ir.Value]) -> ir.Value:
    """What "the same value" means for most_frequent: case and outer spaces aside."""
    if len(values) == 1:
        v = values[0]
        return trim(v).lower() if v.type().is_string() else v
    parts = [ibis.coalesce(trim(v).lower(), ibis.literal("")) for v in values]
    return ibis.literal("\x1f").join(parts)


def _group_present(t: ir.Table, group: FieldGroup) -> ir.BooleanValue:
    found = present(t[group.columns[0]])
    for column in group.columns[1:]:
        found = found | present(t[column])
    return found


def _rule_keys(t: ir.Table, group: FieldGroup, rule: str) -> tuple[dict[str, ir.Value], list[Any]]:
    """Helper columns and sort keys that put the value ``rule`` picks first.

    Only reference records compete by the rule; orders and identifiers, which only fill gaps,
    compete by recency alone (their helper values are 0).
    """
    g = group.name
    ref = t.tier == REFERENCE
    values = [t[c] for c in group.columns]
    columns: dict[str, ir.Value] = {}
    keys: list[Any] = []
    if rule == "source_priority":
        columns[f"_p_{g}"] = ibis.ifelse(ref, t.prio, 0)
        keys.append(f"_p_{g}")
    elif rule == "most_complete":
        filled = sum((present(v).cast("int32") for v in values), ibis.literal(0))
        length = sum(
            (ibis.coalesce(trim(v.cast("string")).length(), 0) for v in values), ibis.literal(0)
        )
        columns[f"_p_{g}"] = ibis.ifelse(ref, filled * 10_000 + length, 0)
        keys.append(ibis.desc(f"_p_{g}"))
    elif rule == "most_frequent":
        agree = t.count().over(group_by=[t.customer_id, t.tier, _fold(values)])
        columns[f"_p_{g}"] = ibis.ifelse(ref & _group_present(t, group), agree, 0)
        keys.append(ibis.desc(f"_p_{g}"))
        v = values[0]
        if len(values) == 1 and v.type().is_string():
            # Of the spellings of one value, capitals typed at a till lose.
            columns[f"_s_{g}"] = ibis.ifelse(ref & (v == v.upper()) & (v != v.lower()), 1, 0)
            keys.append(f"_s_{g}")
    return columns, keys


def _ranked(cands: ir.Table, rules: dict[str, str]) -> ir.Table:
    """The candidates with ``_n_<group>``: 0 on the row whose value each group keeps."""
    t = cands.mutate(
        _at=ibis.coalesce(cands.at, ibis.literal(_EPOCH)),
        _seen=ibis.coalesce(cands.seen, ibis.literal(_EPOCH)),
        _street=present(cands.street).cast("int32"),
    )
    helpers: dict[str, ir.Value] = {}
    orders: dict[str, list[Any]] = {}
    for group in FIELD_GROUPS:
        columns, keys = _rule_keys(t, group, rules[group.name])
        helpers |= columns
        helpers[f"_has_{group.name}"] = _group_present(t, group).cast("int32")
        # Rows without a value go last; reference records before orders before identifiers;
        # an address with a street before one without.
        first = [ibis.desc(f"_has_{group.name}"), "tier"]
        if group.name == "address":
            first.append(ibis.desc("_street"))
        orders[group.name] = [*first, *keys, ibis.desc("_at"), ibis.desc("_seen"), "source", "key"]
    t = t.mutate(**helpers)
    return t.mutate(
        **{
            f"_n_{name}": ibis.row_number().over(group_by="customer_id", order_by=order)
            for name, order in orders.items()
        }
    )


def _chosen(t: ir.Table) -> ir.Table:
    """One row per customer with candidates: the kept values, their records and rules."""
    aggregates: dict[str, ir.Value] = {"_created": t.created.min()}
    for group in FIELD_GROUPS:
        g = group.name
        kept = (t[f"_n_{g}"] == 0) & (t[f"_has_{g}"] == 1)
        for column in group.columns:
            aggregates[column] = t[column].max(where=kept)
        aggregates[f"_src_{g}"] = t.source.max(where=kept)
        aggregates[f"_key_{g}"] = t.key.max(where=kept)
        aggregates[f"_at_{g}"] = t.at.max(where=kept)
        aggregates[f"_tier_{g}"] = t.tier.max(where=kept)
    return t.group_by(_cid=t.customer_id).aggregate(**aggregates)


# -- provenance as JSON, built in the engine ----------------------------------------------------


def _json_text(value: ir.StringValue) -> ir.StringValue:
    """``value`` as a JSON string literal (``null`` when null)."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .re_replace(r"[\x00-\x1f]", "")
    )
    # Keys almost never need escaping: only look for the characters, and escape those rare ones.
    text = ibis.ifelse(value.re_search(r'["\\\x00-\x1f]'), escaped, value)
    return ibis.ifelse(value.isnull(), "null", ibis.literal('"').concat(text, '"'))


def _iso(at: ir.TimestampValue) -> ir.StringValue:
    # ISO 8601 by replacing the space of the SQL text form: Spark's date_format cannot quote the
    # letter T through Ibis, and both engines print seconds' fractions only when there are any.
    text = at.cast("string").replace(" ", "T")
    return ibis.ifelse(at.isnull(), "null", ibis.literal('"').concat(text, '"'))


def _with_provenance_entries(chosen: ir.Table, rules: dict[str, str]) -> ir.Table:
    """``_pj_<group>``: the JSON object saying where each group's value came from, or null."""
    entries: dict[str, ir.Value] = {}
    for group in FIELD_GROUPS:
        g = group.name
        tier = chosen[f"_tier_{g}"]
        rule = ibis.cases(
            (tier == REFERENCE, rules[g]), (tier == ORDERS, "latest_order"), else_="identifier"
        )
        entry = ibis.literal('{"source": ').concat(
            _json_text(chosen[f"_src_{g}"]),
            ', "key": ',
            _json_text(chosen[f"_key_{g}"]),
            ', "at": ',
            _iso(chosen[f"_at_{g}"]),
            ', "rule": "',
            rule,
            '"}',
        )
        entries[f"_pj_{g}"] = ibis.ifelse(tier.isnull(), "null", entry)
    return chosen.mutate(**entries)


def _provenance(j: ir.Table) -> ir.StringValue:
    parts: list[ir.Value | str] = []
    for i, column in enumerate(GOLDEN_FIELDS):
        entry = ibis.coalesce(j[f"_pj_{GROUP_OF[column].name}"], ibis.literal("null"))
        parts += [", " if i else "", f'"{column}": ', entry]
    return ibis.literal("{").concat(*parts, "}")


# -- the golden record --------------------------------------------------------------------------


def golden_records_expr(
    engine: Engine, config: IdentityConfig, *, now: datetime | None = None
) -> ir.Table:
    """The ``customers`` table as an expression (nothing is written).

    Runs one query first: the shipping names to split for customers known from orders only.
    """
    rules = survivorship_rules(config)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    chosen = _chosen(_ranked(candidates(engine, config), rules))
    chosen = _with_provenance_entries(chosen, rules)
    m = engine.table("customer_map")
    base = m.group_by("customer_id").aggregate(_assigned=m.assigned_at.min())
    j = base.left_join(chosen, base.customer_id == chosen._cid)
    created_at = ibis.coalesce(j._created, j._assigned, ibis.literal(now))
    latest = ibis.greatest(*(j[f"_at_{g.name}"] for g in FIELD_GROUPS))
    columns: dict[str, ir.Value] = {
        "customer_id": j.customer_id,
        **{c: j[c] for c in GOLDEN_FIELDS},
        "provenance": _provenance(j),
        "created_at": created_at,
        "updated_at": ibis.coalesce(latest, created_at),
    }
    schema = table_spec("customers").schema()
    return j.select(**{name: columns[name].cast(dtype) for name, dtype in schema.items()})


def build_golden_records(
    engine: Engine, config: IdentityConfig, *, run_id: str, now: datetime | None = None
) -> GoldenReport:
    """Replace the ``customers`` table: one golden record per customer of ``customer_map``.

    Parameters
    ----------
    engine
        The workspace engine (DuckDB or Spark).
    config
        The ``[identity]`` settings: ``source_priority`` and ``survivorship``.
    run_id
        The pipeline run, for the report.
    now
        Creation time of customers no record dates (default: now, UTC).

    Returns
    -------
    GoldenReport
        Customers written, how many have each field, and the rules used.

    Examples
    --------
    >>> import tempfile
    >>> from insightloop import Workspace
    >>> from insightloop.identity.config import identity_config
    >>> ws = Workspace.init(tempfile.mkdtemp() + "/ws")
    >>> _ = ws.engine.insert("customer_map", [{"source": "crm", "source_key": "1",
    ...                                        "customer_id": "c1"}])
    >>> _ = ws.engine.insert("src_customers", [{"_source": "crm", "source_key": "1",
    ...                      "first_name": "Anna", "is_current": True}])
    >>> build_golden_records(ws.engine, identity_config({}), run_id="r1").customers
    1
    >>> ws.engine.records(ws.engine.table("customers").select("first_name"))
    [{'first_name': 'Anna'}]
    >>> ws.close()
    """
    rules = survivorship_rules(config)
    expr = golden_records_expr(engine, config, now=now)
    engine.materialise("customers", expr)
    t = engine.table("customers")
    filled = {c: t[c].notnull().sum() for c in GOLDEN_FIELDS}
    none = ibis.literal(True)
    for c in GOLDEN_FIELDS:
        none = none & t[c].isnull()
    [row] = engine.records(t.aggregate(_n=t.count(), _empty=none.sum(), **filled))
    return GoldenReport(
        run_id=run_id,
        customers=int(row["_n"]),
        filled={c: int(row[c] or 0) for c in GOLDEN_FIELDS},
        empty=int(row["_empty"] or 0),
        rules=rules,
    )
