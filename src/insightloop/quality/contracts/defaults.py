"""The default contract of every entity, and how configuration overrides and extends it.

Every default contract requires the entity's key and keeps it unique, turns the normalisers'
reason columns into violations (``format``), and adds the ranges and value sets that the canonical
model documents (amounts >= 0, NPS 0-10, CSAT 1-5, CES 1-7, campaign group treatment/control,
consent status granted/withdrawn). References to other entities warn by default, and so do
malformed contact details (e-mail, phone, shipping address) on orders, contacts and survey
responses: the value is dropped, the record kept.

Configuration (a dict, e.g. the ``[contracts.<entity>]`` tables of a TOML file) may add rules,
replace a default rule by giving one with the same id (``<kind>:<columns>``), ``disable`` default
rules by id, or start from nothing with ``replace_defaults = true``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from insightloop.quality.contracts.reasons import ContractError
from insightloop.quality.contracts.rules import (
    ENTITY_TABLES,
    AllowedValuesRule,
    Contract,
    FormatRule,
    PatternRule,
    RangeRule,
    ReferenceRule,
    RequiredRule,
    Rule,
    UniqueKeyRule,
    entity_table,
    parse_rule,
)

__all__ = ["contract_from_config", "contracts_from_config", "default_contract"]

_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("source_key",),
    "orders": ("order_id",),
    "order_items": ("order_id", "line_number"),
    "products": ("sku",),
    "events": ("message_id",),
    "interactions": ("interaction_id",),
    "feedback": ("response_id",),
    "campaigns": ("campaign_id",),
    "campaign_members": ("campaign_id", "source_customer_key"),
    "consents": ("source_customer_key", "channel", "purpose", "recorded_at"),
}

_NON_NEGATIVE = (
    "total_amount",
    "discount_amount",
    "shipping_amount",
    "returned_amount",
    "quantity",
    "returned_quantity",
    "unit_price",
    # Returns have their own columns (returned_quantity, returned_amount), so a line's amount,
    # like its quantity and unit price, is never negative.
    "line_amount",
    "price",
    "unit_cost",
    "duration_seconds",
)

#: Contact-detail codes that only warn on transactions: an order, contact or survey response
#: whose e-mail, phone or shipping address is malformed is still a good record (the value is
#: dropped, and the customer found by other means), unlike a customer record's.
_CONTACT_CODES = (
    "address_empty",
    "country_empty",
    "country_unknown",
    "email_empty",
    "email_invalid_syntax",
    "email_missing_at",
    "name_empty",
    "name_no_letters",
    "phone_empty",
    "phone_invalid",
    "phone_invalid_country_code",
    "phone_local_only",
    "phone_missing_country_code",
    "phone_too_long",
    "phone_too_short",
    "phone_unparseable",
    "postcode_empty",
    "postcode_invalid",
)
_CONTACT_DETAILS_WARN = ("orders", "interactions", "feedback")

_EXTRA: dict[str, tuple[Rule, ...]] = {
    "orders": (
        RequiredRule(column="ordered_at"),
        PatternRule(column="currency", regex="[A-Z]{3}"),
        AllowedValuesRule(column="channel", values=("web", "app", "store"), severity="warn"),
        ReferenceRule(column="source_customer_key", references="customers"),
    ),
    "order_items": (
        RequiredRule(column="sku"),
        ReferenceRule(column="order_id", references="orders"),
        ReferenceRule(column="sku", references="products"),
    ),
    "products": (PatternRule(column="currency", regex="[A-Z]{3}"),),
    "events": (
        RequiredRule(column="type"),
        RequiredRule(column="timestamp"),
        AllowedValuesRule(
            column="type", values=("track", "page", "screen", "identify", "group", "alias")
        ),
    ),
    "interactions": (
        AllowedValuesRule(column="direction", values=("inbound", "outbound")),
        ReferenceRule(column="source_customer_key", references="customers"),
    ),
    "feedback": (
        RangeRule(column="nps", min=0, max=10),
        RangeRule(column="csat", min=1, max=5),
        RangeRule(column="ces", min=1, max=7),
        ReferenceRule(column="source_customer_key", references="customers"),
    ),
    "campaigns": (RangeRule(column="control_share", min=0, max=1),),
    "campaign_members": (
        RequiredRule(column="group_name"),
        AllowedValuesRule(column="group_name", values=("treatment", "control")),
        ReferenceRule(column="campaign_id", references="campaigns"),
        ReferenceRule(column="source_customer_key", references="customers"),
    ),
    "consents": (
        RequiredRule(column="status"),
        AllowedValuesRule(column="status", values=("granted", "withdrawn")),
        ReferenceRule(column="source_customer_key", references="customers"),
    ),
}


def default_contract(entity: str) -> Contract:
    """The contract ``entity`` gets when configuration says nothing.

    Examples
    --------
    >>> [r.id for r in default_contract("feedback").rules][:3]
    ['required:response_id', 'unique_key:response_id', 'format:*']
    >>> default_contract("feedback").rule("range:nps").max
    10
    """
    spec = entity_table(entity)
    columns = {c.name for c in spec.columns}
    keys = _KEYS[entity]
    rules: list[Rule] = [RequiredRule(column=k) for k in keys]
    rules.append(UniqueKeyRule(columns=keys))
    if entity in _CONTACT_DETAILS_WARN:
        rules.append(FormatRule(severities=dict.fromkeys(_CONTACT_CODES, "warn")))
    else:
        rules.append(FormatRule())
    rules.extend(RangeRule(column=c, min=0) for c in _NON_NEGATIVE if c in columns)
    rules.extend(_EXTRA.get(entity, ()))
    return Contract(entity=entity, rules=tuple(rules))


_SETTINGS = {"rules", "disable", "replace_defaults"}


def contract_from_config(entity: str, config: Mapping[str, Any] | None = None) -> Contract:
    """The default contract of ``entity`` changed by ``config``; all problems reported at once.

    Parameters
    ----------
    entity
        One of the canonical entities (``customers``, ``orders``, ...).
    config
        ``rules``: rule definitions to add (one with the id of a default rule replaces it);
        ``disable``: ids of default rules to drop; ``replace_defaults``: start from no rules.

    Examples
    --------
    >>> c = contract_from_config("feedback", {
    ...     "rules": [{"kind": "range", "column": "nps", "min": 0, "max": 10, "severity": "warn"}],
    ...     "disable": ["range:ces"]})
    >>> c.rule("range:nps").severity, "range:ces" in [r.id for r in c.rules]
    ('warn', False)
    """
    base = default_contract(entity)
    config = dict(config or {})
    problems = [
        f"{entity}: unknown setting {key!r}; use {', '.join(sorted(_SETTINGS))}."
        for key in config
        if key not in _SETTINGS
    ]
    rules: dict[str, Rule] = {}
    if not config.get("replace_defaults", False):
        rules = {r.id: r for r in base.rules}
    for rule_id in config.get("disable", []):
        if rules.pop(str(rule_id), None) is None:
            problems.append(
                f"{entity}: `disable` names {rule_id!r}, which is not a default rule; "
                f"use one of {', '.join(r.id for r in base.rules)}."
            )
    for i, data in enumerate(config.get("rules", [])):
        if not isinstance(data, Mapping):
            problems.append(f"{entity} rule {i}: give a table of settings (kind, column, ...).")
            continue
        try:
            rule = parse_rule(data, entity=entity, where=f"rule {i}")
        except ContractError as exc:
            problems.extend(exc.problems)
            continue
        rules[rule.id] = rule
    if problems:
        raise ContractError(
            f"The contract configuration of {entity!r} has {len(problems)} problem(s):",
            problems=problems,
            hint="Fix the settings listed; see docs/data-contracts.md.",
        )
    return Contract(entity=entity, rules=tuple(rules.values()))


def contracts_from_config(config: Mapping[str, Any] | None = None) -> dict[str, Contract]:
    """The contract of every entity from a ``{entity: settings}`` mapping (e.g. ``[contracts]``).

    Problems of all entities are reported together in one :class:`ContractError`.

    Examples
    --------
    >>> settings = {"orders": {"disable": ["reference:source_customer_key"]}}
    >>> contracts = contracts_from_config(settings)
    >>> sorted(contracts) == sorted(ENTITY_TABLES)
    True
    """
    config = dict(config or {})
    problems = [
        f"unknown entity {name!r}; use one of {', '.join(ENTITY_TABLES)}."
        for name in config
        if name not in ENTITY_TABLES
    ]
    contracts: dict[str, Contract] = {}
    for entity in ENTITY_TABLES:
        try:
            contracts[entity] = contract_from_config(entity, config.get(entity))
        except ContractError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContractError(
            f"The data contracts have {len(problems)} problem(s):",
            problems=problems,
            hint="Fix the settings listed; see docs/data-contracts.md.",
        )
    return contracts
