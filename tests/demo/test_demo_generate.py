"""generate_company: arguments, output layout, report, manifest and reproducibility."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from insightloop.demo import GeneratedFile, GenerationReport, generate_company
from insightloop.errors import DemoError
from tests.demo.companies import Company


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_report_lists_every_source_file_with_its_row_count(company: Company) -> None:
    report = company.report
    assert isinstance(report, GenerationReport)
    assert report.customers == 2_000
    assert report.seconds > 0
    on_disk = {str(p.relative_to(company.root)) for p in (company.root / "sources").rglob("*.*")}
    assert {f.path for f in report.files} == on_disk
    for f in report.files:
        assert isinstance(f, GeneratedFile)
        assert f.rows > 0, f.path
        if f.format == "csv":
            assert len(company.records(f.path)) == f.rows, f.path
        else:
            assert len(company.json_lines(f.path)) == f.rows, f.path


def test_the_manifest_matches_the_report(company: Company) -> None:
    manifest = company.manifest()
    assert manifest["seed"] == 7
    assert manifest["customers"] == 2_000
    assert manifest["period_start"] == "2022-01-01"
    assert manifest["period_end"] == "2024-12-31"
    assert manifest["generator_version"]
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == {f.path for f in company.report.files}
    for f in company.report.files:
        entry = listed[f.path]
        assert (entry["rows"], entry["encoding"], entry["delimiter"]) == (
            f.rows,
            f.encoding,
            f.delimiter,
        )
        if f.format == "csv":
            assert entry["columns"] == list(company.records(f.path)[0][1])
    for name in manifest["truth"]:
        assert (company.root / name).is_file(), name


def test_the_same_seed_gives_byte_identical_output(tmp_path: Path) -> None:
    first = generate_company(tmp_path / "a", 300, seed=3)
    second = generate_company(tmp_path / "b", 300, seed=3)
    other = generate_company(tmp_path / "c", 300, seed=4)
    assert _digests(first.out) == _digests(second.out)
    different = _digests(other.out)
    same_seed = _digests(first.out)
    assert different.keys() == same_seed.keys()
    changed = [name for name in same_seed if same_seed[name] != different[name]]
    # Everything that depends on the persons changes; nothing but the manifest/params
    # metadata could stay equal by construction.
    assert "sources/crm/customers_hq.csv" in changed
    assert "sources/events/part-0000.jsonl" in changed
    assert "truth/persons.parquet" in changed


def test_progress_is_reported_after_each_chunk(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    generate_company(tmp_path / "p", 150, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(150, 150)]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"customers": 99}, "between 100 and 5,000,000"),
        ({"customers": 5_000_001}, "between 100 and 5,000,000"),
        ({"customers": True}, "must be an integer"),
        ({"customers": 1000.0}, "must be an integer"),
        ({"customers": 1000, "seed": -1}, "non-negative"),
    ],
)
def test_bad_arguments_raise_a_demo_error_with_a_hint(
    tmp_path: Path, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(DemoError, match=fragment) as caught:
        generate_company(tmp_path / "x", **kwargs)
    assert caught.value.hint
    assert not (tmp_path / "x").exists()


def test_a_non_empty_directory_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(DemoError, match="not empty") as caught:
        generate_company(out, 100)
    assert "overwrite" in (caught.value.hint or "")
    first = generate_company(out, 100, overwrite=True)
    again = generate_company(out, 120, overwrite=True)
    assert again.customers == 120
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert {f.path for f in first.files} == {f.path for f in again.files}


def test_an_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(DemoError, match="is a file") as caught:
        generate_company(target, 100)
    assert caught.value.hint
