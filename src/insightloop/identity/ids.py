"""Stable customer ids: clusters of this run get the ids their records had before.

The rules (docs/identity.md):

- A cluster whose records all belonged to one customer keeps that customer's id.
- **Merge**: a cluster holding records of several earlier customers keeps the id of the one
  that contributes most records (ties: the id assigned first, then the smaller id); the others
  are retired and the merge is logged.
- **Split**: when an earlier customer's records end up in several clusters, the cluster with
  most of them keeps the id; each other cluster gets a new id, and the split is logged.
- A new cluster's id is derived from its smallest record (``cus_`` and 16 hex digits of a
  SHA-1 of ``source|key``), so the same records always give the same new id.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

__all__ = ["IdAssignment", "assign_ids", "new_customer_id"]


def new_customer_id(record: str, taken: set[str] | None = None) -> str:
    """The id of a new customer whose smallest record is ``record`` (``source|key``).

    Examples
    --------
    >>> new_customer_id("crm|C1") == new_customer_id("crm|C1")
    True
    """
    salt = 0
    while True:
        text = record if salt == 0 else f"{record}#{salt}"
        candidate = "cus_" + hashlib.sha1(text.encode()).hexdigest()[:16]
        if taken is None or candidate not in taken:
            return candidate
        salt += 1


@dataclass
class IdAssignment:
    """Customer per record, and what changed since the last run."""

    records: pd.DataFrame  # record_source, record_key, customer_id, assigned_at
    merges: list[dict[str, object]] = field(default_factory=list)
    splits: list[dict[str, object]] = field(default_factory=list)
    new_customers: int = 0
    kept_customers: int = 0

    def log_rows(self, now: datetime, actor: str = "pipeline") -> list[dict[str, object]]:
        rows = []
        for kind, items in (("merge", self.merges), ("split", self.splits)):
            for item in items:
                rows.append(
                    {
                        "merge_id": str(uuid.uuid4()),
                        "kind": kind,
                        "before_ids": item["before"],
                        "after_ids": item["after"],
                        "reason": item["reason"],
                        "actor": actor,
                        "at": now,
                    }
                )
        return rows


def _first_per(frame: pd.DataFrame, key: str, order: dict[str, bool]) -> pd.DataFrame:
    """Per value of ``key``, the row that comes first in ``order`` (column -> ascending).

    Only the values with several rows are sorted: at a million customers almost every key has
    one row, and sorting them all by strings takes seconds.
    """
    several = frame.duplicated(key, keep=False)
    ranked = frame[several].sort_values(
        [key, *order], ascending=[True, *order.values()], kind="stable"
    )
    return pd.concat([frame[~several], ranked.drop_duplicates(key)])


def assign_ids(
    clusters: pd.DataFrame,
    previous: pd.DataFrame,
    now: datetime,
    *,
    taken: Iterable[str] = (),
) -> IdAssignment:
    """Give every cluster a customer id, keeping earlier ids (see the module rules).

    ``clusters``: ``record_source, record_key, component``; ``previous``: the earlier
    ``customer_map`` (``source, source_key, customer_id, assigned_at``), possibly empty.
    ``taken``: ids in use besides those of ``previous`` (a new id never takes one).
    """
    df = clusters[["record_source", "record_key", "component"]].copy()
    prev = previous.rename(columns={"source": "record_source", "source_key": "record_key"})
    prev = prev[["record_source", "record_key", "customer_id", "assigned_at"]]
    df = df.merge(prev, on=["record_source", "record_key"], how="left")
    known = df.dropna(subset=["customer_id"])
    counts = (
        known.groupby(["customer_id", "component"], sort=False)
        .agg(n=("record_key", "size"), first=("assigned_at", "min"))
        .reset_index()
    )
    # Each earlier customer's heir: the cluster holding most of its records.
    heirs = _first_per(counts, "customer_id", {"n": False, "component": True})
    # Each cluster keeps the strongest of the ids it inherits.
    ranked = _first_per(heirs, "component", {"n": False, "first": True, "customer_id": True})
    survivor = ranked.set_index("component")["customer_id"]
    in_use = set(prev["customer_id"].dropna()).union(taken)
    components = df["component"].drop_duplicates()
    ids: dict[str, str] = survivor.to_dict()
    new = 0
    for component in components[~components.isin(survivor.index)]:
        ids[component] = new_customer_id(component, in_use)
        in_use.add(ids[component])
        new += 1
    df["new_id"] = df["component"].map(ids)
    # Merges and splits are few: only the clusters and customers concerned are grouped (a
    # million one-row groups would take pandas most of a minute).
    merges: list[dict[str, object]] = []
    merged = heirs[heirs.duplicated("component", keep=False)]
    for component, group in merged.groupby("component", sort=True):
        before = sorted(group["customer_id"])
        merges.append({"before": before, "after": [ids[component]], "reason": "records linked"})
    splits: list[dict[str, object]] = []
    split = counts[counts.duplicated("customer_id", keep=False)]
    for customer_id, group in split.groupby("customer_id", sort=True):
        after = sorted({ids[c] for c in group["component"]})
        splits.append({"before": [customer_id], "after": after, "reason": "records unlinked"})
    same = df["customer_id"] == df["new_id"]
    assigned = df["assigned_at"].where(same, pd.Timestamp(now))
    out = pd.DataFrame(
        {
            "record_source": df["record_source"],
            "record_key": df["record_key"],
            "customer_id": df["new_id"],
            "assigned_at": assigned,
        }
    )
    return IdAssignment(out, merges, splits, new_customers=new, kept_customers=len(survivor))
