"""The layer rule of ARCHITECTURE.md holds: lower layers never import upper ones."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    # import-linter configures logging with disable_existing_loggers, which would silence every
    # logger already created for the rest of the test run (and tests that read the logs).
    loggers = [x for x in logging.root.manager.loggerDict.values() if isinstance(x, logging.Logger)]
    enabled = [x for x in loggers if not x.disabled]
    try:
        assert lint_imports(config_filename=str(ROOT / "pyproject.toml")) == 0
    finally:
        for logger in enabled:
            logger.disabled = False


def test_every_subpackage_says_what_it_is() -> None:
    for init in (ROOT / "src" / "insightloop").rglob("__init__.py"):
        text = init.read_text(encoding="utf-8").lstrip()
        assert text.startswith('"""'), f"{init} needs a docstring saying what the package is"
