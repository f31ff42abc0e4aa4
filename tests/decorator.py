"""Run one behavioural test on every backend (in the manner of Splink's tests/decorator.py).

``@mark_with_backends_excluding()`` parametrises a test over the ``backend`` fixture, one case per
engine, each marked with the engine's name so ``-m duckdb`` / ``-m "not spark"`` select them.
Name a backend to leave it out of a test that cannot run there; always say why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

BACKENDS = ("duckdb", "spark")


def mark_with_backends_excluding(
    *excluded: str, reason: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    unknown = set(excluded) - set(BACKENDS)
    if unknown:
        raise ValueError(f"unknown backends {sorted(unknown)}; known: {BACKENDS}")
    if excluded and not reason:
        raise ValueError("say why the test excludes a backend (reason=...)")
    params = [
        pytest.param(name, marks=getattr(pytest.mark, name), id=name)
        for name in BACKENDS
        if name not in excluded
    ]
    return pytest.mark.parametrize("backend", params, indirect=True)


mark_with_all_backends = mark_with_backends_excluding()
