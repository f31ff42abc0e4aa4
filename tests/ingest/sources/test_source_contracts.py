"""A source's own data contract: validated with the declaration, applied over the workspace's."""

from __future__ import annotations

import tomllib
from typing import Any

import pyarrow as pa
import pytest

from insightloop.errors import ConfigError
from insightloop.ingest.sources import SourceDeclaration, apply_mapping, parse_sources
from insightloop.quality.contracts import ContractError, default_contract, evaluate

TOML = """
[sources.tills]
kind = "file"
path = "pos/*.csv"
entity = "order_items"

[sources.tills.contract]
disable = ["reference:order_id"]

[[sources.tills.contract.rules]]
kind = "range"
column = "quantity"
min = 1
max = 99
"""


def _tills(contract: dict[str, Any], **settings: Any) -> SourceDeclaration:
    return SourceDeclaration.model_validate(
        {"name": "tills", "kind": "file", "path": "t.csv", "entity": "order_items"}
        | {"contract": contract, **settings}
    )


def _ids(source: SourceDeclaration, config: dict[str, Any] | None = None) -> list[str]:
    return [rule.id for rule in source.contract(config).rules]


def test_a_source_contract_changes_the_entity_default() -> None:
    tills = parse_sources(tomllib.loads(TOML)["sources"])["tills"]
    defaults = [rule.id for rule in default_contract("order_items").rules]
    assert _ids(tills) == [i for i in defaults if i != "reference:order_id"]
    quantity = tills.contract().rule("range:quantity")
    assert (quantity.min, quantity.max) == (1, 99)  # type: ignore[union-attr]


def test_without_a_contract_table_a_source_gets_the_workspace_contract() -> None:
    plain = _tills({})
    assert plain.contract() == default_contract("order_items")
    workspace = {"disable": ["reference:sku"]}
    assert "reference:sku" not in _ids(plain, workspace)
    assert "reference:order_id" in _ids(plain, workspace)


def test_the_source_applies_on_top_of_the_workspace() -> None:
    workspace = {
        "disable": ["reference:sku"],
        "rules": [{"kind": "range", "column": "quantity", "min": 0, "max": 10}],
    }
    tills = _tills(
        {
            # Already dropped by the workspace: nothing left to drop, and no error.
            "disable": ["reference:sku", "reference:order_id"],
            "rules": [{"kind": "range", "column": "quantity", "min": 1, "max": 99}],
        }
    )
    contract = tills.contract(workspace)
    ids = [rule.id for rule in contract.rules]
    assert "reference:sku" not in ids
    assert "reference:order_id" not in ids
    assert ids.count("range:quantity") == 1
    assert contract.rule("range:quantity").max == 99  # type: ignore[union-attr]


def test_replace_defaults_starts_from_nothing_not_even_the_workspace() -> None:
    tills = _tills(
        {"replace_defaults": True, "rules": [{"kind": "required", "column": "order_id"}]}
    )
    workspace = {"rules": [{"kind": "required", "column": "sku"}]}
    assert _ids(tills, workspace) == ["required:order_id"]


def test_the_workspace_settings_are_one_entitys_table() -> None:
    with pytest.raises(ContractError, match="unknown setting 'order_items'"):
        _tills({}).contract({"order_items": {"disable": ["reference:sku"]}})


def test_a_warning_key_rule_loads_repeated_keys() -> None:
    tills = _tills({"rules": [{"kind": "unique_key", "columns": ["order_id"], "severity": "warn"}]})
    batch = pa.table(
        {
            "order_id": ["R1", "R1"],
            "line_number": [1, 2],
            "sku": ["A", "B"],
            "_record": [1, 2],
            "_line": [2, 3],
        }
    )
    result = evaluate(tills.contract(), batch)
    assert result.rejected.to_pylist() == [False, False]
    assert result.warn_codes.to_pylist() == [[], ["duplicate_key:order_id"]]


@pytest.mark.parametrize(
    ("contract", "expected"),
    [
        ({"disable": ["reference:orderid"]}, "sources.s.contract: order_items: `disable` names"),
        ({"rules": [{"kind": "range", "column": "qty", "min": 0}]}, "column 'qty' is not in"),
        ({"rules": [{"kind": "sometimes"}]}, "sources.s.contract: order_items rule 0"),
        ({"disable": "reference:sku"}, "sources.s.contract.disable: Input should be a valid list"),
        ({"rules": {"kind": "required"}}, "sources.s.contract.rules: Input should be a valid list"),
        ({"severity": "warn"}, "sources.s.contract.severity: Extra inputs are not permitted"),
    ],
)
def test_contract_problems_are_reported_with_the_source(
    contract: dict[str, Any], expected: str
) -> None:
    settings = {"kind": "file", "path": "a.csv", "entity": "order_items", "contract": contract}
    with pytest.raises(ConfigError) as error:
        parse_sources({"s": settings, "t": {"kind": "file", "entity": "orders"}})
    assert expected in str(error.value)
    assert "sources.t.path" in str(error.value)  # and the other sources' problems with it


def test_apply_mapping_output_is_unchanged_by_a_contract() -> None:
    batch = pa.table({"id": ["R1"], "qty": ["2"], "_record": [1], "_line": [2]})
    mapping = {"order_id": "id", "quantity": "qty"}
    plain = _tills({}, mapping=mapping)
    strict = _tills({"disable": ["reference:sku"]}, mapping=mapping)
    assert apply_mapping(plain, batch) == apply_mapping(strict, batch)
