"""The generated reference docs match the code (run `make docs` after changing either)."""

from __future__ import annotations

from pathlib import Path

import pytest

from insightloop.cli.reference import generated_docs

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", ["cli.md", "configuration.md", "data-model.md"])
def test_generated_doc_is_current(name: str) -> None:
    expected = generated_docs()[name]
    actual = (DOCS / name).read_text(encoding="utf-8") if (DOCS / name).exists() else ""
    assert actual == expected, f"docs/{name} is stale: run `make docs`"


def test_the_readme_shows_the_two_commands_and_links_every_doc() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    assert "make demo" in readme
    assert "make test" in readme
    for doc in DOCS.glob("*.md"):
        assert f"docs/{doc.name}" in readme, f"README does not link docs/{doc.name}"
