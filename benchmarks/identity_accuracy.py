"""Identity resolution scored against the demo company's truth (``truth/record_map.parquet``).

Used by the tests (tests/demo/test_demo_identity.py) and the benchmark (benchmarks/identity.py).
Person records are the customer records of the three CRM files and the loyalty file, the web
accounts, and the devices that ever logged in (a device that never did cannot be known).
Transactions (web orders, till receipts, contacts, survey responses) are checked when they carry
an identifier; a receipt without a loyalty card is anonymous and only counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow.parquet as pq

from insightloop.identity.attach import with_customer
from insightloop.identity.config import IdentityConfig
from insightloop.store import Engine

__all__ = ["IdentityScore", "person_owners", "score_identity"]

_CUSTOMER_FILES = {
    "sources/crm/customers_hq.csv": "crm_hq",
    "sources/crm/customers_nordics.csv": "crm_nordics",
    "sources/crm/customers_china.csv": "crm_china",
}
# Truth entity → (canonical table, key column) of the transactions checked.
_TRANSACTIONS = {
    ("ecommerce", "order"): ("orders", "order_id"),
    ("pos", "receipt"): ("orders", "order_id"),
    ("contact_centre", "interaction"): ("interactions", "interaction_id"),
    ("surveys", "response"): ("feedback", "response_id"),
}


@dataclass(frozen=True)
class IdentityScore:
    records: int
    persons: int
    precision: float
    recall: float
    f1: float
    persons_exact: float
    households_merged: int
    customers_with_several_persons: int
    transactions: int
    transactions_right: float
    transactions_unresolved: int
    transactions_anonymous: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pairs(frame: pd.DataFrame, by: list[str]) -> int:
    sizes = frame.groupby(by).size()
    return int((sizes * (sizes - 1) // 2).sum())


def _person_records(truth: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in truth.itertuples(index=False):
        if r.entity == "customer":
            rows.append((_CUSTOMER_FILES[r.file], r.source_key, r.person_id))
        elif r.entity == "card" and r.system == "loyalty":
            rows.append(("loyalty_members", r.source_key, r.person_id))
        elif r.entity == "account":
            rows.append(("id:user_id", r.source_key, r.person_id))
        elif r.entity == "anonymous_id":
            rows.append(("id:anonymous_id", r.source_key, r.person_id))
    return pd.DataFrame(rows, columns=["source", "source_key", "person_id"]).drop_duplicates()


def person_owners(engine: Engine, company: Path) -> pd.DataFrame:
    """``person_id`` -> ``customer_id``: the customer most of a truth person's records went to."""
    truth = pq.read_table(company / "truth" / "record_map.parquet").to_pandas()
    cmap = engine.to_pyarrow(engine.table("customer_map")).to_pandas()
    records = _person_records(truth).merge(cmap, on=["source", "source_key"], how="inner")
    return _owners(records).rename("customer_id").reset_index()


def _owners(records: pd.DataFrame) -> pd.Series:
    return records.groupby("person_id")["customer_id"].agg(lambda s: s.value_counts().index[0])


def score_identity(engine: Engine, config: IdentityConfig, company: Path) -> IdentityScore:
    """Pairwise precision, recall and F1 of the resolved person records against the truth."""
    truth = pq.read_table(company / "truth" / "record_map.parquet").to_pandas()
    persons = pq.read_table(company / "truth" / "persons.parquet").to_pandas()
    cmap = engine.to_pyarrow(engine.table("customer_map")).to_pandas()
    records = _person_records(truth).merge(cmap, on=["source", "source_key"], how="inner")
    tp = _pairs(records, ["person_id", "customer_id"])
    predicted = _pairs(records, ["customer_id"])
    actual = _pairs(records, ["person_id"])
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_customer = records.groupby("customer_id")["person_id"].nunique()
    per_person = records.groupby("person_id")["customer_id"].nunique()
    pure = set(per_customer[per_customer == 1].index)
    first = records.groupby("person_id")["customer_id"].first()
    exact = (per_person == 1) & first.isin(pure)
    household = persons.set_index("person_id")["household_id"]
    mixed = records[records["customer_id"].isin(per_customer[per_customer > 1].index)]
    mixed = mixed.assign(household=mixed["person_id"].map(household))
    per_mixed = mixed.groupby("customer_id").agg(
        persons=("person_id", "nunique"), households=("household", "nunique")
    )
    households_merged = int((per_mixed["households"] < per_mixed["persons"]).sum())
    # Transactions: attached to the customer that the truth person's records mostly went to.
    owner = _owners(records)
    checked = right = unresolved = anonymous = 0
    for (system, entity), (table, key) in _TRANSACTIONS.items():
        want = truth[(truth["system"] == system) & (truth["entity"] == entity)]
        rows = with_customer(engine, config, table)
        ids = [c for c in ("source_customer_key", "email", "phone") if c in rows.columns]
        known = ibis.coalesce(*(rows[c].cast("string") for c in ids)).notnull()
        got = engine.to_pyarrow(rows.select(key, "customer_id", identified=known))
        got_df = got.to_pandas().drop_duplicates(key)
        joined = want.merge(got_df, left_on="source_key", right_on=key, how="inner")
        anonymous += int((~joined["identified"]).sum())
        joined = joined[joined["identified"]]
        checked += len(joined)
        unresolved += int(joined["customer_id"].isna().sum())
        right += int((joined["customer_id"] == joined["person_id"].map(owner)).sum())
    return IdentityScore(
        records=len(records),
        persons=int(records["person_id"].nunique()),
        precision=round(precision, 5),
        recall=round(recall, 5),
        f1=round(f1, 5),
        persons_exact=round(float(exact.mean()), 5),
        households_merged=households_merged,
        customers_with_several_persons=int((per_customer > 1).sum()),
        transactions=checked,
        transactions_right=round(right / checked, 5) if checked else 1.0,
        transactions_unresolved=unresolved,
        transactions_anonymous=anonymous,
    )
