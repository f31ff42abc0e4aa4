"""Clusters that contradict themselves are taken apart: links are kept only where they do not
join two records that are clearly different people.

Pairwise matching judges two records at a time. Transitivity then joins records no pair
judged: a parent and child of one name at one address each match a web account that carries
neither birth date nor phone, and the account joins them. The clusters are checked:

- Two records **conflict** when both have a birth date and the dates differ by more than a typo
  (one character, two neighbouring characters exchanged, or day and month exchanged), or when
  both have an e-mail and a phone and both differ. A cluster holding a conflicting pair is rebuilt.
- **Rebuilding** adds the cluster's links strongest first (by match weight), skipping a link
  that would put two conflicting records together.
- A record whose skipped link was about as strong as the link that placed it (less than
  ``margin`` match weight, a factor of ``2**margin`` in the odds, apart) fits two different
  people equally well: it is **ambiguous**, all its links are withdrawn, and they go to the
  review queue instead. The rebuild is then run again without it.

Only clusters with a conflict are touched, so the cost is small however many records there are.
Records are ``record_id`` strings; the checks read ``birth_date``, ``email`` and ``phone``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["ConsistencyReport", "consistent_links", "links_touching", "records_conflict"]

#: Links closer than this in match weight (log2 of the Bayes factor) are "about as strong".
DEFAULT_MARGIN = 3.0


@dataclass(frozen=True)
class ConsistencyReport:
    """What the check did: clusters rebuilt, links withdrawn, records found ambiguous."""

    clusters_rebuilt: int
    links_withdrawn: int
    ambiguous_records: int

    def to_dict(self) -> dict[str, int]:
        return {
            "clusters_rebuilt": self.clusters_rebuilt,
            "links_withdrawn": self.links_withdrawn,
            "ambiguous_records": self.ambiguous_records,
        }


def _dates_conflict(a: object, b: object) -> bool:
    if a is None or b is None or pd.isna(a) or pd.isna(b):
        return False
    x, y = str(a), str(b)
    if x == y:
        return False
    if len(x) == len(y):
        diff = [i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q]
        if len(diff) <= 1:
            return False  # one mistyped digit
        i = diff[0]
        if len(diff) == 2 and diff[1] == i + 1 and x[i] == y[i + 1] and x[i + 1] == y[i]:
            return False  # two neighbouring digits exchanged
    # 1980-02-01 and 1980-01-02: day and month exchanged
    return not (
        len(x) == len(y) == 10 and x[:4] == y[:4] and x[5:7] == y[8:10] and x[8:10] == y[5:7]
    )


def _both_differ(a: object, b: object) -> bool:
    present = a is not None and b is not None and not pd.isna(a) and not pd.isna(b)
    return bool(present and a != b)


def records_conflict(left: dict[str, object], right: dict[str, object]) -> bool:
    """Whether two records are clearly different people (see the module rules).

    Examples
    --------
    >>> records_conflict({"birth_date": "1965-09-04"}, {"birth_date": "2003-10-16"})
    True
    >>> records_conflict({"birth_date": "1965-09-04"}, {"birth_date": "1965-09-14"})
    False
    >>> a, b = {"email": "a@x", "phone": "+461"}, {"email": "b@x", "phone": "+462"}
    >>> records_conflict(a, b), records_conflict(a, {"email": "b@x"})
    (True, False)
    """
    if _dates_conflict(left.get("birth_date"), right.get("birth_date")):
        return True
    return _both_differ(left.get("email"), right.get("email")) and _both_differ(
        left.get("phone"), right.get("phone")
    )


class _Groups:
    """Union-find over the records of one cluster, refusing unions that join a conflict."""

    def __init__(self, members: Iterable[str], conflicts: set[frozenset[str]]) -> None:
        self.parent = {m: m for m in members}
        self.members = {m: {m} for m in self.parent}
        self.conflicts = conflicts

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if any(
            frozenset((x, y)) in self.conflicts for x in self.members[ra] for y in self.members[rb]
        ):
            return False
        self.parent[rb] = ra
        self.members[ra] |= self.members.pop(rb)
        return True


def _rebuild(
    links: pd.DataFrame, members: list[str], conflicts: set[frozenset[str]], margin: float
) -> tuple[pd.Series, set[str]]:
    """Rebuild one cluster; returns which links are kept and the ambiguous records."""
    ambiguous: set[str] = set()
    while True:
        usable = links[~(links["left_id"].isin(ambiguous) | links["right_id"].isin(ambiguous))]
        groups = _Groups([m for m in members if m not in ambiguous], conflicts)
        placed: dict[str, float] = {}  # record -> weight of the link that placed it
        refused: dict[str, float] = {}  # record -> strongest link refused
        for left, right, weight in usable[["left_id", "right_id", "match_weight"]].itertuples(
            index=False
        ):
            if groups.union(left, right):
                for r in (left, right):
                    placed[r] = max(placed.get(r, -np.inf), weight)
            else:
                for r in (left, right):
                    refused[r] = max(refused.get(r, -np.inf), weight)
        # A record that two different people claim about equally: neither gets it. Records in a
        # conflicting pair themselves are anchors and stay.
        anchors = {r for pair in conflicts for r in pair}
        fresh = {
            r
            for r, w in refused.items()
            if r not in anchors and r not in ambiguous and placed.get(r, -np.inf) - w < margin
        }
        if not fresh:
            root = {m: groups.find(m) for m in groups.parent}
            same = [
                root[a] == root[b]
                for a, b in zip(usable["left_id"], usable["right_id"], strict=True)
            ]
            kept = pd.Series(same, index=usable.index, dtype=bool)
            return kept.reindex(links.index, fill_value=False).astype(bool), ambiguous
        ambiguous |= fresh


def links_touching(links: pd.DataFrame, ids: Iterable[str]) -> pd.Series:
    """Which ``links`` are in a cluster (under all of ``links``) that holds one of ``ids``.

    An incremental run checks only these: the other clusters are made of the last run's links,
    which passed the check then, between records that did not change (fewer links can only
    split a cluster that had no conflict).
    """
    if links.empty:
        return pd.Series(False, index=links.index, dtype=bool)
    nodes = pd.Index(pd.unique(links[["left_id", "right_id"]].to_numpy().ravel()))
    left, right = nodes.get_indexer(links["left_id"]), nodes.get_indexer(links["right_id"])
    graph = coo_matrix((np.ones(len(links)), (left, right)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    found = nodes.get_indexer(pd.Index(list(ids)))
    near = np.zeros(labels.max() + 1, dtype=bool)
    near[labels[found[found >= 0]]] = True
    return pd.Series(near[labels[left]], index=links.index, dtype=bool)


def consistent_links(
    links: pd.DataFrame, records: pd.DataFrame, *, margin: float = DEFAULT_MARGIN
) -> tuple[pd.DataFrame, pd.DataFrame, ConsistencyReport]:
    """Split ``links`` into those kept and those withdrawn (see the module rules).

    Parameters
    ----------
    links
        ``left_id, right_id, match_weight`` and any other columns (kept as they are).
    records
        ``record_id`` with ``birth_date``, ``email`` and ``phone`` (any may be missing).
    margin
        Match weight within which a refused link makes its record ambiguous.

    Returns
    -------
    kept, withdrawn, report
    """
    empty = ConsistencyReport(0, 0, 0)
    if links.empty:
        return links, links.iloc[0:0], empty
    ids = pd.Index(pd.unique(links[["left_id", "right_id"]].to_numpy().ravel()))
    left, right = ids.get_indexer(links["left_id"]), ids.get_indexer(links["right_id"])
    graph = coo_matrix((np.ones(len(links)), (left, right)), shape=(len(ids), len(ids)))
    _, labels = connected_components(graph, directed=False)
    component = pd.Series(labels, index=ids)
    fields = [c for c in ("birth_date", "email", "phone") if c in records.columns]
    attrs = records.set_index("record_id")[fields].reindex(ids)
    # Candidate conflicts: clusters of three or more records (a pair has no third record to
    # join it through) whose records disagree on something checked.
    sizes = component.value_counts()
    frame = attrs.assign(_c=component.to_numpy())
    frame = frame[frame["_c"].map(sizes).to_numpy() >= 3]
    spread = frame.groupby("_c").nunique()
    doubtful = pd.Series(False, index=spread.index)
    if "birth_date" in spread:
        doubtful |= spread["birth_date"] >= 2
    if "email" in spread and "phone" in spread:
        doubtful |= (spread["email"] >= 2) & (spread["phone"] >= 2)
    suspects = component[component.isin(doubtful[doubtful].index)]
    kept = pd.Series(True, index=links.index)
    rebuilt = ambiguous_total = 0
    link_component = pd.Series(labels[left], index=links.index)
    # Read once for every suspect (thousands of clusters at a million records), not per cluster.
    rows = attrs.loc[suspects.index].to_dict("index")
    in_suspects = link_component.isin(suspects.unique())
    suspect_links = links[in_suspects].groupby(link_component[in_suspects]).groups
    for comp, members in suspects.groupby(suspects).groups.items():
        names = list(members)
        conflicts = {
            frozenset((a, b))
            for i, a in enumerate(names)
            for b in names[i + 1 :]
            if records_conflict(rows[a], rows[b])
        }
        if not conflicts:
            continue
        mine = links.loc[suspect_links[comp]].sort_values("match_weight", ascending=False)
        keep, ambiguous = _rebuild(mine, names, conflicts, margin)
        kept.loc[keep.index] = keep
        rebuilt += 1
        ambiguous_total += len(ambiguous)
    report = ConsistencyReport(rebuilt, int((~kept).sum()), ambiguous_total)
    return links[kept], links[~kept], report
