"""One sliceable shop per module (DuckDB): queries only read it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from insightloop import Workspace
from insightloop.analytics.activity_marts import build_activity_marts, marts_current
from insightloop.analytics.cube import Query, QueryResult, run_query
from tests.analytics.cube.data import CONFIG, IDENTITY, build_cube_data

Ask = Callable[..., QueryResult]


@pytest.fixture(scope="module", params=["live", "activity step"])
def shop(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Workspace]:
    """The shop, sliced from the live tables and from the ``activity`` step's: every figure
    must be the same both ways."""
    ws = Workspace.init(tmp_path_factory.mktemp("cube") / "ws")
    build_cube_data(ws.engine)
    if request.param == "activity step":
        build_activity_marts(ws.engine, IDENTITY, CONFIG, run_id="test")
        assert marts_current(ws.engine, CONFIG)
    yield ws
    ws.close()


@pytest.fixture
def ask(shop: Workspace) -> Ask:
    """Run a query given as the model's fields (``min_group_size`` passed through)."""

    def run(min_group_size: int = 0, **fields: Any) -> QueryResult:
        return run_query(
            shop.engine,
            Query.model_validate(fields),
            identity=IDENTITY,
            config=CONFIG,
            min_group_size=min_group_size,
        )

    return run
