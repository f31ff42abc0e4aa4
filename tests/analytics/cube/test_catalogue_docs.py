"""docs/slicing.md lists every measure and dimension of the catalogue, as the catalogue says."""

from __future__ import annotations

from pathlib import Path

from insightloop.analytics.cube import DIMENSIONS, MEASURES, catalogue

DOC = Path(__file__).resolve().parents[3] / "docs" / "slicing.md"


def test_the_tables_of_the_doc_match_the_catalogue() -> None:
    lines = set(DOC.read_text(encoding="utf-8").splitlines())
    cat = catalogue()
    for m in cat["measures"]:
        row = f"| `{m['name']}` | {m['kind']} | {m['source']} | {m['unit']} | {m['description']} |"
        assert row in lines, f"docs/slicing.md: the row of {m['name']} should read {row}"
    for d in cat["dimensions"]:
        splits = ", ".join(d["applies_to"])
        row = f"| `{d['name']}` | {d['kind']} | {splits} | {d['description']} |"
        assert row in lines, f"docs/slicing.md: the row of {d['name']} should read {row}"
    assert len(cat["measures"]) == len(MEASURES)
    assert len(cat["dimensions"]) == len(DIMENSIONS)


def test_measure_and_dimension_names_do_not_clash() -> None:
    # A name is looked up as a dimension before a customer attribute: none may be both a
    # dimension and a measure, or a query could mean two things.
    assert not set(MEASURES) & set(DIMENSIONS)
