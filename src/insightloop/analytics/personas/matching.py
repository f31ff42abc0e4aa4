"""Keeping persona ids across re-runs: Hungarian matching of new clusters to previous personas.

New clusters and previous personas live in the same standardised space (a re-run applies the
previous model's transform), so they are compared by the Euclidean distance between centroids.
The assignment minimising the total distance (Kuhn 1955, the Hungarian method;
:func:`scipy.optimize.linear_sum_assignment`) pairs them one to one. A pair is **accepted** only
when the new centroid lies closer to the previous one than half the distance from that previous
persona to its nearest other persona, i.e. on its side of the midpoint: a cluster that moved that
far describes different customers and gets a new id. Unpaired or rejected clusters get new ids;
unmatched previous personas retire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["Match", "match_centroids"]


@dataclass(frozen=True)
class Match:
    """For each new cluster, the index of its previous persona (or ``None``) and the distance."""

    previous: tuple[int | None, ...]
    distance: tuple[float | None, ...]


def match_centroids(new: np.ndarray, previous: np.ndarray) -> Match:
    """Match new centroids (``(k, d)``) to previous centroids (``(m, d)``).

    Examples
    --------
    >>> old = np.array([[0.0, 0.0], [4.0, 0.0]])
    >>> new = np.array([[4.1, 0.0], [0.0, 9.0], [0.1, 0.0]])
    >>> match_centroids(new, old).previous
    (1, None, 0)
    """
    diff = new[:, None, :] - previous[None, :, :]
    cost = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    if previous.shape[0] > 1:
        gaps = previous[:, None, :] - previous[None, :, :]
        between = np.sqrt(np.einsum("ijk,ijk->ij", gaps, gaps))
        np.fill_diagonal(between, np.inf)
        radius = 0.5 * between.min(axis=1)
    else:
        radius = np.full(previous.shape[0], np.inf)
    rows, cols = linear_sum_assignment(cost)
    matched: list[int | None] = [None] * new.shape[0]
    distance: list[float | None] = [None] * new.shape[0]
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        if cost[r, c] <= radius[c]:
            matched[r] = c
            distance[r] = float(cost[r, c])
    return Match(tuple(matched), tuple(distance))
