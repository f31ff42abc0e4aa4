"""Data-quality contracts: declarative rules per entity, vectorised checks, quarantine records.

A :class:`Contract` lists the rules a batch of one canonical entity must satisfy;
:func:`default_contract` derives one from the canonical model and :func:`contract_from_config`
changes it from configuration. :func:`evaluate` checks a batch with pyarrow.compute and returns a
:class:`ContractResult`; :func:`quarantine_rows` turns its rejected rows into rows of the
``quarantine`` table, and :class:`LoadAccount` checks that every row read is accounted for.
See docs/data-contracts.md.
"""

from __future__ import annotations

from insightloop.quality.contracts.accounting import LoadAccount
from insightloop.quality.contracts.defaults import (
    contract_from_config,
    contracts_from_config,
    default_contract,
)
from insightloop.quality.contracts.evaluate import (
    LOCATION_COLUMNS,
    REASON_SUFFIX,
    ContractResult,
    Keys,
    evaluate,
)
from insightloop.quality.contracts.quarantine import (
    quarantine_id,
    quarantine_rows,
    quarantine_schema,
)
from insightloop.quality.contracts.reasons import (
    DEFAULT_FORMAT_SEVERITIES,
    EXACT_DUPLICATE,
    RULE_CODES,
    ContractError,
    Severity,
)
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
    parse_contract,
    parse_rule,
)

__all__ = [
    "DEFAULT_FORMAT_SEVERITIES",
    "ENTITY_TABLES",
    "EXACT_DUPLICATE",
    "LOCATION_COLUMNS",
    "REASON_SUFFIX",
    "RULE_CODES",
    "AllowedValuesRule",
    "Contract",
    "ContractError",
    "ContractResult",
    "FormatRule",
    "Keys",
    "LoadAccount",
    "PatternRule",
    "RangeRule",
    "ReferenceRule",
    "RequiredRule",
    "Rule",
    "Severity",
    "UniqueKeyRule",
    "contract_from_config",
    "contracts_from_config",
    "default_contract",
    "evaluate",
    "parse_contract",
    "parse_rule",
    "quarantine_id",
    "quarantine_rows",
    "quarantine_schema",
]
