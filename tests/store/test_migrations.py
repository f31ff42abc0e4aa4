"""Numbered migrations bring any workspace to the canonical model, on every backend."""

from __future__ import annotations

from dataclasses import replace

import ibis
import ibis.expr.datatypes as dt
import pytest

from insightloop import Workspace
from insightloop.errors import MigrationError
from insightloop.store import (
    CANONICAL_MODEL,
    MIGRATIONS,
    Engine,
    Migration,
    applied_migrations,
    current_version,
    latest_version,
    migrate,
    schema_at,
)
from insightloop.store.schema import Column, TableSpec
from tests.decorator import mark_with_all_backends


def _normalise(dtype: dt.DataType) -> dt.DataType:
    # Backends report timestamps with their precision (DuckDB: microseconds); compare the type.
    if dtype.is_timestamp():
        return dt.Timestamp(nullable=dtype.nullable)
    return dtype


def _same_types(actual: ibis.Schema, expected: ibis.Schema) -> bool:
    return list(actual.names) == list(expected.names) and all(
        _normalise(a).copy(nullable=True) == _normalise(e).copy(nullable=True)
        for a, e in zip(actual.types, expected.types, strict=True)
    )


def test_migrations_are_numbered_consecutively_and_cover_the_model() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    introduced = {s.added_in for s in CANONICAL_MODEL} | {
        s.column_version(c) for s in CANONICAL_MODEL for c in s.columns
    }
    assert introduced <= {m.version for m in MIGRATIONS}
    names = [s.name for s in CANONICAL_MODEL]
    assert len(names) == len(set(names))


def test_the_canonical_model_has_the_architecture_tables() -> None:
    # ARCHITECTURE.md, "Canonical model (first version)".
    expected = {
        "src_customers", "orders", "order_items", "products", "events", "interactions",
        "feedback", "campaigns", "campaign_members", "consents", "quarantine", "identifiers",
        "identity_links", "customer_map", "merge_log", "customers", "customer_features",
        "segments", "segment_members", "scores", "text_annotations", "cases", "actions_log",
        "models", "audit_log",
    }  # fmt: skip
    assert expected <= {s.name for s in CANONICAL_MODEL}
    for spec in CANONICAL_MODEL:
        if spec.layer == "source" and spec.name != "quarantine":
            assert {"_source", "_batch_id", "_loaded_at"} <= set(spec.schema().names), spec.name


@mark_with_all_backends
def test_a_new_workspace_has_exactly_the_canonical_model(workspace: Workspace) -> None:
    engine = workspace.engine
    assert current_version(engine) == latest_version()
    expected = schema_at(latest_version())
    assert set(engine.tables()) == set(expected)
    for name, schema in expected.items():
        assert _same_types(engine.table(name).schema(), schema), name


@mark_with_all_backends
def test_migrating_twice_changes_nothing(workspace: Workspace) -> None:
    before = applied_migrations(workspace.engine)
    assert migrate(workspace.engine) == []
    assert applied_migrations(workspace.engine) == before
    assert [a.version for a in before] == [m.version for m in MIGRATIONS]


NEXT = latest_version() + 1


def _model_with_next() -> tuple[TableSpec, ...]:
    customers = next(s for s in CANONICAL_MODEL if s.name == "customers")
    extended = replace(
        customers, columns=(*customers.columns, Column("nickname", "string", "Test.", NEXT))
    )
    new_table = TableSpec(
        "test_notes", "unified", "tests", "Test.", NEXT, (Column("note", "string", "Test."),)
    )
    model = tuple(extended if s.name == "customers" else s for s in CANONICAL_MODEL)
    return (*model, new_table)


@mark_with_all_backends
def test_a_later_migration_adds_columns_and_tables_to_existing_data(
    workspace: Workspace,
) -> None:
    engine = workspace.engine
    engine.insert("customers", [{"customer_id": "c1", "first_name": "Ada"}])
    model = _model_with_next()
    migrations = (
        *(replace(m, model=model) for m in MIGRATIONS),
        Migration(NEXT, "test", model=model),
    )
    applied = migrate(engine, migrations)
    assert [m.version for m in applied] == [NEXT]
    assert "nickname" in engine.table("customers").schema()
    assert engine.has_table("test_notes")
    rows = engine.records(engine.table("customers").select("customer_id", "nickname"))
    assert rows == [{"customer_id": "c1", "nickname": None}]
    assert current_version(engine) == NEXT


def test_a_workspace_newer_than_the_release_is_refused(duckdb_workspace: Workspace) -> None:
    model = _model_with_next()
    newer = (*(replace(m, model=model) for m in MIGRATIONS), Migration(NEXT, "future", model=model))
    migrate(duckdb_workspace.engine, newer)
    with pytest.raises(MigrationError, match="newer than this release") as info:
        migrate(duckdb_workspace.engine)
    assert info.value.hint is not None
    assert "Upgrade insightloop" in info.value.hint


def test_an_edited_migration_is_detected() -> None:
    engine = Engine.in_memory()
    migrate(engine)
    edited_model = tuple(
        replace(s, columns=(*s.columns, Column("sneaky", "string", "x")))
        if s.name == "orders"
        else s
        for s in CANONICAL_MODEL
    )
    edited = tuple(replace(m, model=edited_model) for m in MIGRATIONS)
    with pytest.raises(MigrationError, match="checksum"):
        migrate(engine, edited)


def test_migration_numbers_must_be_consecutive() -> None:
    with pytest.raises(MigrationError, match="consecutive"):
        migrate(Engine.in_memory(), (MIGRATIONS[0], Migration(NEXT + 1, "gap")))


def test_migrating_down_is_refused() -> None:
    engine = Engine.in_memory()
    migrate(engine)
    with pytest.raises(MigrationError, match="down"):
        migrate(engine, target=1)
