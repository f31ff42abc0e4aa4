"""Clusters that contradict themselves are taken apart (insightloop.identity.consistency)."""

from __future__ import annotations

import pandas as pd

from insightloop.identity.consistency import consistent_links, records_conflict


def _links(*rows: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["left_id", "right_id", "match_weight"]).assign(evidence="{}")


def _records(**attrs: dict[str, str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"record_id": k, "birth_date": None, "email": None, "phone": None, **v}
         for k, v in attrs.items()]
    )  # fmt: skip


def _pairs(frame: pd.DataFrame) -> set[frozenset[str]]:
    return {frozenset(p) for p in zip(frame["left_id"], frame["right_id"], strict=True)}


def test_conflicts_are_different_birth_dates_or_every_contact_different() -> None:
    assert records_conflict({"birth_date": "1958-06-30"}, {"birth_date": "2002-02-16"})
    assert not records_conflict({"birth_date": "1958-06-30"}, {"birth_date": "1958-06-03"})
    assert not records_conflict({"birth_date": "1958-06-03"}, {"birth_date": "1958-03-06"})
    assert not records_conflict({"birth_date": None}, {"birth_date": "2002-02-16"})
    assert records_conflict({"email": "a", "phone": "1"}, {"email": "b", "phone": "2"})
    assert not records_conflict({"email": "a", "phone": "1"}, {"email": "b", "phone": "1"})
    assert not records_conflict({"email": "a", "phone": None}, {"email": "b", "phone": "2"})


def test_an_account_that_fits_parent_and_child_equally_joins_neither() -> None:
    # Father and son of one name at one address; the son's account has no birth date or phone
    # and an e-mail of its own: it matches both about equally.
    records = _records(
        father={"birth_date": "1958-06-30", "email": "f@x", "phone": "+461"},
        father_card={"birth_date": "1958-06-30", "email": "f@x", "phone": "+461"},
        son={"birth_date": "2002-02-16", "email": "s@x", "phone": "+462"},
        account={"email": "s2@x"},
    )
    links = _links(
        ("father", "father_card", 60.0),
        ("father", "account", 10.0),
        ("son", "account", 10.5),
    )
    kept, withdrawn, report = consistent_links(links, records)
    assert _pairs(kept) == {frozenset({"father", "father_card"})}
    assert _pairs(withdrawn) == {frozenset({"father", "account"}), frozenset({"son", "account"})}
    assert report.to_dict() == {"clusters_rebuilt": 1, "links_withdrawn": 2, "ambiguous_records": 1}


def test_a_clearly_stronger_link_places_the_record() -> None:
    records = _records(
        father={"birth_date": "1958-06-30"},
        son={"birth_date": "2002-02-16"},
        account={"email": "s@x"},
        son_card={"email": "s@x"},
    )
    links = _links(
        ("son", "son_card", 40.0),
        ("son_card", "account", 30.0),  # the same e-mail: far stronger
        ("father", "account", 9.0),
    )
    kept, withdrawn, report = consistent_links(links, records)
    assert _pairs(kept) == {frozenset({"son", "son_card"}), frozenset({"son_card", "account"})}
    assert _pairs(withdrawn) == {frozenset({"father", "account"})}
    assert report.ambiguous_records == 0


def test_clusters_without_a_conflict_are_left_alone() -> None:
    records = _records(
        a={"birth_date": "1980-01-01", "email": "a@x", "phone": "+461"},
        b={"birth_date": "1980-01-01", "email": "b@x"},
        c={"phone": "+462"},
        d={"birth_date": "1990-01-01"},
        e={"birth_date": "1991-05-05"},
    )
    links = _links(("a", "b", 20.0), ("b", "c", 5.0), ("d", "e", 8.0))
    kept, withdrawn, report = consistent_links(links, records)
    # d and e differ, but a pair has no third record joining it: pairs are judged by the model.
    assert len(kept) == 3
    assert withdrawn.empty
    assert report.clusters_rebuilt == 0


def test_no_links_gives_no_work() -> None:
    kept, withdrawn, report = consistent_links(_links(), _records(a={}))
    assert kept.empty
    assert withdrawn.empty
    assert report.links_withdrawn == 0
