"""Stable customer ids: kept, merged, split and new (insightloop.identity.ids)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from insightloop.identity.ids import assign_ids, new_customer_id

NOW = datetime(2025, 1, 1)
EARLIER = pd.Timestamp("2024-01-01")
LATER = pd.Timestamp("2024-06-01")


def _clusters(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["record_source", "record_key", "component"])


def _previous(*rows: tuple[str, str, str, pd.Timestamp]) -> pd.DataFrame:
    if not rows:
        return pd.DataFrame(columns=["source", "source_key", "customer_id", "assigned_at"])
    return pd.DataFrame(rows, columns=["source", "source_key", "customer_id", "assigned_at"])


def _ids(result: pd.DataFrame) -> dict[str, str]:
    return dict(zip(result["record_key"], result["customer_id"], strict=True))


def test_first_run_derives_ids_from_the_smallest_record() -> None:
    out = assign_ids(_clusters(("crm", "1", "crm|1"), ("crm", "2", "crm|1")), _previous(), NOW)
    ids = _ids(out.records)
    assert ids["1"] == ids["2"] == new_customer_id("crm|1")
    assert out.new_customers == 1
    assert out.merges == out.splits == []


def test_a_record_joining_a_customer_keeps_the_id() -> None:
    previous = _previous(("crm", "1", "cus_a", EARLIER))
    clusters = _clusters(("crm", "1", "crm|1"), ("web", "9", "crm|1"))
    out = assign_ids(clusters, previous, NOW)
    assert set(_ids(out.records).values()) == {"cus_a"}
    kept = out.records.set_index("record_key")["assigned_at"]
    assert kept["1"] == EARLIER
    assert kept["9"] == pd.Timestamp(NOW)
    assert out.kept_customers == 1
    assert out.new_customers == 0


def test_a_merge_keeps_the_id_with_most_records_and_is_logged() -> None:
    previous = _previous(
        ("crm", "1", "cus_small", EARLIER),
        ("crm", "2", "cus_big", LATER),
        ("crm", "3", "cus_big", LATER),
    )
    clusters = _clusters(("crm", "1", "crm|1"), ("crm", "2", "crm|1"), ("crm", "3", "crm|1"))
    out = assign_ids(clusters, previous, NOW)
    assert set(_ids(out.records).values()) == {"cus_big"}
    assert out.merges == [
        {"before": ["cus_big", "cus_small"], "after": ["cus_big"], "reason": "records linked"}
    ]
    log = out.log_rows(NOW)
    assert [r["kind"] for r in log] == ["merge"]


def test_a_tied_merge_keeps_the_id_assigned_first() -> None:
    previous = _previous(("crm", "1", "cus_z", EARLIER), ("crm", "2", "cus_a", LATER))
    out = assign_ids(_clusters(("crm", "1", "c"), ("crm", "2", "c")), previous, NOW)
    assert set(_ids(out.records).values()) == {"cus_z"}


def test_a_split_keeps_the_id_for_the_larger_part_and_gives_the_rest_a_new_one() -> None:
    previous = _previous(
        ("crm", "1", "cus_a", EARLIER),
        ("crm", "2", "cus_a", EARLIER),
        ("crm", "3", "cus_a", EARLIER),
    )
    clusters = _clusters(("crm", "1", "crm|1"), ("crm", "2", "crm|1"), ("crm", "3", "crm|3"))
    out = assign_ids(clusters, previous, NOW)
    ids = _ids(out.records)
    assert ids["1"] == ids["2"] == "cus_a"
    assert ids["3"] == new_customer_id("crm|3")
    assert out.splits == [
        {"before": ["cus_a"], "after": sorted(["cus_a", ids["3"]]), "reason": "records unlinked"}
    ]


def test_new_ids_never_reuse_an_existing_one() -> None:
    taken = new_customer_id("crm|1")
    previous = _previous(("crm", "5", taken, EARLIER))
    clusters = _clusters(("crm", "5", "crm|5"), ("crm", "1", "crm|1"))
    out = assign_ids(clusters, previous, NOW)
    ids = _ids(out.records)
    assert ids["5"] == taken
    assert ids["1"] != taken
    assert ids["1"].startswith("cus_")


def test_the_same_clusters_give_the_same_ids_on_a_rebuild() -> None:
    clusters = _clusters(("a", "1", "a|1"), ("b", "2", "a|1"), ("c", "3", "c|3"))
    first = assign_ids(clusters, _previous(), NOW)
    again = assign_ids(clusters.iloc[::-1], _previous(), NOW)
    assert _ids(first.records) == _ids(again.records)
