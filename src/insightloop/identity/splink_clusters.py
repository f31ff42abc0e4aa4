"""Clusters of linked records (Splink's connected components), repaired where a guard objects.

Linked pairs (``decision == "link"``) are clustered with Splink's connected components. A guard
forbids a *pair*; connected components could still join the two records through a third (a
record that has one person's first name and the other's birth date). Each cluster is therefore
checked against the guarded pairs whose first names *and* birth dates both conflict: a cluster
holding both ends of such a pair is rebuilt from its links, strongest first, skipping any link
that would put the two together (greedy clustering with cannot-link constraints). Such clusters
are rare and small, so the repair is plain Python over just them.

Examples
--------
>>> edges = [("a", "b", 0.999), ("b", "c", 0.995)]
>>> split_cluster(["a", "b", "c"], edges, cannot_link={("a", "c")})
{'a': 'a', 'b': 'a', 'c': 'c'}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from insightloop.identity.splink_backend import quiet_splink

if TYPE_CHECKING:
    from insightloop.identity.splink_model import MatchModel

__all__ = ["cluster_pairs", "split_cluster"]


def cluster_pairs(model: MatchModel, pairs: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    """Cluster the model's records on the linked ``pairs``.

    Returns the table ``record_id, [input,] cluster_id`` over every record (singletons
    included) and a report: clusters, records in clusters of two or more, clusters repaired.
    """
    linked = pairs.filter(pc.equal(pairs["decision"], "link"))
    edges = {
        "unique_id_l": linked["left_id"],
        "unique_id_r": linked["right_id"],
        "match_probability": linked["match_probability"],
    }
    if model.link:
        position = {name: f"input_{i}" for i, name in enumerate(model._input_names)}
        for side, column in (("l", "left_source"), ("r", "right_source")):
            values = [position[v] for v in linked[column].to_pylist()]
            edges[f"source_dataset_{side}"] = pa.array(values, pa.string())
    with quiet_splink():
        registered = model.backend.register(pa.table(edges), "linked_pairs")
        clustered = model.linker.clustering.cluster_pairwise_predictions_at_threshold(
            registered, threshold_match_probability=model.settings.link_threshold
        )
        columns = "cluster_id, unique_id" + (", source_dataset" if model.link else "")
        table = model.backend.to_arrow(f"SELECT {columns} FROM {clustered.physical_name}")
    ids = table["unique_id"]
    if model.link:
        names = pa.array(model._input_names)
        index = pc.cast(pc.replace_substring(table["source_dataset"], "input_", ""), pa.int64())
        sources = names.take(index)
        node = pc.binary_join_element_wise(sources, ids, "\x1f")
    else:
        sources, node = None, ids
    nodes = pa.table({"node": node, "cluster_id": table["cluster_id"].cast(pa.string())})
    changes = _repair(nodes, pairs, model.link)
    cluster_id = nodes["cluster_id"]
    if changes.num_rows:
        joined = nodes.join(changes, "node", join_type="left outer")
        # The join reorders rows: map back through the node order.
        order = pc.index_in(node, joined["node"])
        cluster_id = pc.coalesce(joined["new_cluster_id"], joined["cluster_id"]).take(order)
    out = {"record_id": ids}
    if sources is not None:
        out["input"] = sources
    out["cluster_id"] = cluster_id.cast(pa.string())
    result = pa.table(out)
    sizes = pc.value_counts(result["cluster_id"]).field("counts")
    report = {
        "clusters": len(sizes),
        "records_in_clusters": int(pc.sum(sizes.filter(pc.greater(sizes, 1))).as_py() or 0),
        "largest_cluster": int(pc.max(sizes).as_py() or 0),
        "clusters_repaired": len(pc.unique(changes["old_cluster_id"])) if changes.num_rows else 0,
    }
    return result, report


def _node_keys(pairs: pa.Table, link: bool) -> tuple[pa.Array, pa.Array]:
    if not link:
        return pairs["left_id"], pairs["right_id"]
    left = pc.binary_join_element_wise(pairs["left_source"], pairs["left_id"], "\x1f")
    right = pc.binary_join_element_wise(pairs["right_source"], pairs["right_id"], "\x1f")
    return left, right


def _repair(nodes: pa.Table, pairs: pa.Table, link: bool) -> pa.Table:
    """New cluster ids for the records of clusters holding both ends of a guarded pair.

    Returns ``node, new_cluster_id, old_cluster_id`` for the records that move (often none).
    """
    empty = pa.table(
        {"node": pa.array([], pa.string()), "new_cluster_id": pa.array([], pa.string()),
         "old_cluster_id": pa.array([], pa.string())}
    )  # fmt: skip
    guarded = pairs.filter(pc.equal(pairs["decision"], "guarded"))
    evidence = guarded["evidence"]
    # Cannot-link: both people-level fields conflict. A pair guarded on one field alone may be
    # one person with a field entered wrong on one record, which another record can confirm.
    both = pc.and_(
        pc.match_substring(evidence, '"first_name": "different"'),
        pc.or_(
            pc.match_substring(evidence, '"birth_date": "different"'),
            pc.match_substring(evidence, '"birth_date": "year"'),
        ),
    )
    guarded = guarded.filter(both)
    if guarded.num_rows == 0:
        return empty
    left, right = _node_keys(guarded, link)
    lookup = nodes.select(["node", "cluster_id"])
    conflicts = (
        pa.table({"a": left, "b": right})
        .join(lookup.rename_columns(["a", "cluster_a"]), "a")
        .join(lookup.rename_columns(["b", "cluster_b"]), "b")
    )
    conflicts = conflicts.filter(pc.equal(conflicts["cluster_a"], conflicts["cluster_b"]))
    if conflicts.num_rows == 0:
        return empty
    bad = pc.unique(conflicts["cluster_a"])
    members = nodes.filter(pc.is_in(nodes["cluster_id"], value_set=bad))
    linked = pairs.filter(pc.equal(pairs["decision"], "link"))
    l_keys, r_keys = _node_keys(linked, link)
    involved = pc.is_in(l_keys, value_set=members["node"])
    edges_by: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    cluster_of = dict(
        zip(members["node"].to_pylist(), members["cluster_id"].to_pylist(), strict=True)
    )
    for a, b, p in zip(
        l_keys.filter(involved).to_pylist(),
        r_keys.filter(involved).to_pylist(),
        linked["match_probability"].filter(involved).to_pylist(),
        strict=True,
    ):
        edges_by[cluster_of[a]].append((a, b, p))
    cannot_by: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for a, b, c in zip(
        conflicts["a"].to_pylist(),
        conflicts["b"].to_pylist(),
        conflicts["cluster_a"].to_pylist(),
        strict=True,
    ):
        cannot_by[str(c)].add((a, b))
    members_by: dict[str, list[str]] = defaultdict(list)
    for node, cluster in cluster_of.items():
        members_by[str(cluster)].append(node)
    moved_node, moved_new, moved_old = [], [], []
    for cluster, cannot in cannot_by.items():
        roots = split_cluster(members_by[cluster], edges_by[cluster], cannot)
        numbers = {root: i for i, root in enumerate(dict.fromkeys(roots.values()))}
        for node, root in roots.items():
            if numbers[root]:
                moved_node.append(node)
                moved_new.append(f"{cluster}-{numbers[root]}")
                moved_old.append(cluster)
    return pa.table(
        {
            "node": pa.array(moved_node, pa.string()),
            "new_cluster_id": pa.array(moved_new, pa.string()),
            "old_cluster_id": pa.array(moved_old, pa.string()),
        }
    )


def split_cluster(
    members: Sequence[str],
    edges: Iterable[tuple[str, str, float]],
    cannot_link: set[tuple[str, str]],
) -> dict[str, str]:
    """Greedy clustering of ``members``: strongest links first, never joining a cannot-link pair.

    Returns each member's representative (the first member of its new cluster, in input order).
    """
    order = {m: i for i, m in enumerate(members)}
    parent = {m: m for m in members}
    groups = {m: {m} for m in members}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    forbidden = cannot_link | {(b, a) for a, b in cannot_link}
    for a, b, _ in sorted(edges, key=lambda e: -e[2]):
        ra, rb = find(a), find(b)
        if ra == rb or any((x, y) in forbidden for x in groups[ra] for y in groups[rb]):
            continue
        keep, drop = (ra, rb) if order[ra] <= order[rb] else (rb, ra)
        parent[drop] = keep
        groups[keep] |= groups.pop(drop)
    return {m: find(m) for m in members}
