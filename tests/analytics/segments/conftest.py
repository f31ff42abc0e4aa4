"""Fixtures: the hand-checked shop on an in-memory DuckDB engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from insightloop.analytics.segments import SegmentSources, compile_segment
from insightloop.store import Engine
from insightloop.store.schema import table_spec
from tests.analytics.segments.data import load_shop


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine.in_memory()
    for name in ("segments", "segment_members"):
        engine.create_table(name, table_spec(name).schema())
    yield engine
    engine.close()


@pytest.fixture
def shop(engine: Engine) -> SegmentSources:
    return load_shop(engine)


@pytest.fixture
def members(engine: Engine, shop: SegmentSources) -> Callable[..., set[str]]:
    """The ids of the members of a definition on the shop."""

    def run(definition: Any, sources: SegmentSources = shop, **kwargs: Any) -> set[str]:
        table = engine.to_pyarrow(compile_segment(definition, sources, **kwargs))
        ids = table["customer_id"].to_pylist()
        assert len(ids) == len(set(ids)), "members must be distinct"
        return set(ids)

    return run
