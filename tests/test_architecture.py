"""The layer rule of ARCHITECTURE.md holds: lower layers never import upper ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0


def test_every_subpackage_says_what_it_is() -> None:
    for init in (ROOT / "src" / "insightloop").rglob("__init__.py"):
        text = init.read_text(encoding="utf-8").lstrip()
        assert text.startswith('"""'), f"{init} needs a docstring saying what the package is"
