"""Shared fixtures of the source tests: one demo company per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from insightloop.demo import generate_company


@pytest.fixture(scope="session")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``sources`` folder of a 1,000-customer demo company (seed 3)."""
    root = tmp_path_factory.mktemp("demo") / "c"
    generate_company(root, 1000, seed=3)
    return root / "sources"
