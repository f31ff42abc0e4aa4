"""The demo company, generated once per test session."""

from __future__ import annotations

import pytest

from insightloop.demo import generate_company
from tests.demo.companies import Company

SESSION_CUSTOMERS = 2_000
SESSION_SEED = 7


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    """A 2,000-customer company (one chunk), shared by every test that only reads it."""
    out = tmp_path_factory.mktemp("demo") / "company"
    return Company(generate_company(out, SESSION_CUSTOMERS, SESSION_SEED))
