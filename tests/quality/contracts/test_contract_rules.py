"""Contract definitions: defaults per entity, configuration, and errors reported all at once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from insightloop.errors import InsightloopError
from insightloop.ingest.normalise.reasons import REASONS
from insightloop.quality.contracts import (
    DEFAULT_FORMAT_SEVERITIES,
    ENTITY_TABLES,
    AllowedValuesRule,
    ContractError,
    RangeRule,
    ReferenceRule,
    UniqueKeyRule,
    contract_from_config,
    contracts_from_config,
    default_contract,
    parse_contract,
)
from insightloop.store.schema import table_spec


def test_contract_error_is_an_insightloop_error_with_its_code() -> None:
    assert issubclass(ContractError, InsightloopError)
    assert ContractError.code == "contract_error"


@pytest.mark.parametrize("entity", list(ENTITY_TABLES))
def test_every_default_contract_requires_a_unique_key_of_real_columns(entity: str) -> None:
    contract = default_contract(entity)
    columns = {c.name for c in table_spec(ENTITY_TABLES[entity]).columns}
    ids = [r.id for r in contract.rules]
    assert len(ids) == len(set(ids))
    unique = [r for r in contract.rules if isinstance(r, UniqueKeyRule)]
    assert len(unique) == 1
    for col in unique[0].columns:
        assert f"required:{col}" in ids
    for rule in contract.rules:
        assert set(rule.columns_checked) <= columns
    assert "format:*" in ids


def test_defaults_encode_the_documented_domains() -> None:
    feedback = default_contract("feedback")
    assert (feedback.rule("range:nps").min, feedback.rule("range:nps").max) == (0, 10)
    assert (feedback.rule("range:csat").min, feedback.rule("range:csat").max) == (1, 5)
    assert (feedback.rule("range:ces").min, feedback.rule("range:ces").max) == (1, 7)
    group = default_contract("campaign_members").rule("allowed_values:group_name")
    assert isinstance(group, AllowedValuesRule)
    assert set(group.values) == {"treatment", "control"}
    status = default_contract("consents").rule("allowed_values:status")
    assert isinstance(status, AllowedValuesRule)
    assert set(status.values) == {"granted", "withdrawn"}
    amount = default_contract("orders").rule("range:total_amount")
    assert isinstance(amount, RangeRule)
    assert (amount.min, amount.max) == (0, None)
    for column in ("quantity", "unit_price", "line_amount"):
        line = default_contract("order_items").rule(f"range:{column}")
        assert isinstance(line, RangeRule)
        assert (line.min, line.max) == (0, None)
    reference = default_contract("orders").rule("reference:source_customer_key")
    assert isinstance(reference, ReferenceRule)
    assert reference.severity == "warn"
    assert reference.references == "customers"


def test_format_severities_agree_with_the_normalisers() -> None:
    warns = {code for code, reason in REASONS.items() if reason.severity == "warn"}
    # A junk phone (0000000) is a placeholder: its value is dropped, its row still loads.
    assert REASONS["phone_junk"].severity == "reject"
    assert set(DEFAULT_FORMAT_SEVERITIES) == warns | {"phone_junk"}
    assert set(DEFAULT_FORMAT_SEVERITIES.values()) == {"warn"}


def test_config_replaces_disables_and_adds_rules() -> None:
    contract = contract_from_config(
        "customers",
        {
            "disable": ["unique_key:source_key"],
            "rules": [
                {"kind": "required", "column": "source_key", "severity": "warn"},
                {"kind": "pattern", "column": "country", "regex": "[A-Z]{2}"},
            ],
        },
    )
    ids = [r.id for r in contract.rules]
    assert "unique_key:source_key" not in ids
    assert contract.rule("required:source_key").severity == "warn"
    assert "pattern:country" in ids


def test_replace_defaults_starts_from_nothing() -> None:
    contract = contract_from_config(
        "events", {"replace_defaults": True, "rules": [{"kind": "required", "column": "event"}]}
    )
    assert [r.id for r in contract.rules] == ["required:event"]


def test_contracts_load_from_toml() -> None:
    text = """
    [orders]
    disable = ["reference:source_customer_key"]

    [[orders.rules]]
    kind = "range"
    column = "ordered_at"
    min = 2000-01-01
    severity = "warn"

    [[feedback.rules]]
    kind = "format"
    severities = { email_placeholder = "reject" }
    """
    contracts = contracts_from_config(tomllib.loads(text))
    assert set(contracts) == set(ENTITY_TABLES)
    assert contracts["orders"].rule("range:ordered_at").severity == "warn"
    assert contracts["feedback"].rule("format:*").severities == {"email_placeholder": "reject"}


def test_every_definition_problem_is_reported_at_once() -> None:
    config = {
        "feedback": {
            "rules": [
                {"kind": "required"},
                {"kind": "range", "column": "nps", "min": 10, "max": 0},
                {"kind": "range", "column": "comment", "min": 1},
                {"kind": "pattern", "column": "comment", "regex": "(unclosed"},
                {"kind": "allowed_values", "column": "no_such_column", "values": ["x"]},
                {"kind": "sometimes"},
                {"kind": "range", "column": "nps", "severity": "fatal", "min": 0},
            ],
            "disable": ["range:nothing"],
            "colour": "blue",
        },
        "nonsense": {},
    }
    with pytest.raises(ContractError) as info:
        contracts_from_config(config)
    problems = info.value.problems
    assert len(problems) == 10, problems
    text = str(info.value)
    for fragment in (
        "feedback rule 0",
        "min` is greater",
        "numeric, date or timestamp",
        "does not compile",
        "no_such_column",
        "rule 5",
        "rule 6",
        "range:nothing",
        "colour",
        "nonsense",
    ):
        assert fragment in text
    assert info.value.hint


def test_range_bounds_must_fit_the_column() -> None:
    with pytest.raises(ContractError, match="must be a number"):
        parse_contract("feedback", [{"kind": "range", "column": "nps", "min": "low"}])
    with pytest.raises(ContractError, match="date or ISO 8601"):
        parse_contract("feedback", [{"kind": "range", "column": "responded_at", "max": "soon"}])
    with pytest.raises(ContractError, match="give `min`, `max`"):
        parse_contract("feedback", [{"kind": "range", "column": "nps"}])


def test_unknown_entity_names_the_choices() -> None:
    with pytest.raises(ContractError, match="Unknown entity") as info:
        default_contract("widgets")
    assert "customers" in (info.value.hint or "")


def test_the_documented_configuration_example_is_valid() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "data-contracts.md").read_text("utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    contracts = contracts_from_config(tomllib.loads(example))
    assert [r.id for r in contracts["events"].rules] == ["required:message_id"]
    assert "reference:source_customer_key" not in [r.id for r in contracts["orders"].rules]
