"""Fixtures of the auth tests: a store with cheap argon2 parameters, no caches and a clock the
test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from insightloop.auth import AuthStore

#: Argon2 at its cheapest: the tests check behaviour, not resistance to cracking.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


class Clock:
    """A clock that stands still until the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> AuthStore:
    return AuthStore(
        tmp_path / "auth.sqlite",
        hasher=FAST_HASHER,
        clock=clock,
        token_cache_seconds=0,
        write_key_cache_seconds=0,
    )
