"""Shared fixtures: backends, workspaces and the one Spark session of a test run."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from insightloop import Workspace

#: The Redis server of the machine (and of CI), without a password.
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[Any]:
    """A client of the local Redis server: skipped locally without one, failed under CI
    (``CI=true``), where the server is part of the environment."""
    import redis

    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        conn.ping()
    except redis.exceptions.RedisError as exc:
        conn.close()
        reason = f"no Redis server at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the Redis server is part of the CI environment)")
        pytest.skip(reason)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The test run's Spark session (Spark allows one per process; workspaces get databases)."""
    if shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("Java is missing on CI: `make test` should have installed it (make java).")
        pytest.skip("Spark tests need Java 17+ (run `make java`)")
    from insightloop.store.spark import get_spark_session

    # Few shuffle partitions and one local core per task: the fixtures are tiny, and Spark's
    # default of 200 partitions would spend seconds scheduling empty tasks.
    session = get_spark_session(
        tmp_path_factory.mktemp("spark"),
        master="local[2]",
        driver_memory="1g",
        shuffle_partitions=2,
        # Adaptive query execution adds planning overhead that is pure cost on the tiny
        # fixtures of the test suite; so does Spark's default parallelism.
        extra_config={
            "spark.sql.adaptive.enabled": "false",
            "spark.default.parallelism": "2",
            "spark.sql.files.maxPartitionBytes": "16m",
        },
    )
    yield session
    session.stop()


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The engine a parametrised test runs on (see tests/decorator.py)."""
    name: str = request.param
    if name == "spark":
        request.getfixturevalue("spark_session")
    return name


@pytest.fixture
def workspace(tmp_path: Path, backend: str) -> Iterator[Workspace]:
    """A new, migrated workspace on the test's backend."""
    ws = Workspace.init(tmp_path / "ws", backend=backend)
    yield ws
    ws.close()


@pytest.fixture
def duckdb_workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()
