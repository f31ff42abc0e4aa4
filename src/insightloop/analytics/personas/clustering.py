"""k-means on the standardised sample, the choice of k by silhouette, nearest-centroid assignment.

The number of personas is the k in ``2..k_max`` with the highest **mean silhouette** (Rousseeuw
1987, "Silhouettes: a graphical aid to the interpretation and validation of cluster analysis",
J. Comput. Appl. Math. 20) of its k-means partition of the fitting sample. The silhouette rewards
personas that are both tight and apart, needs no distributional assumption, and, unlike inertia,
does not always improve with k. A k whose smallest persona holds less than ``min_cluster_share``
of the sample is not eligible: a handful of extreme customers is not a strategic segment. Ties go
to the smaller k.

The silhouettes of all candidate k are computed exactly on up to :data:`SILHOUETTE_ROWS`
customers in one pass: the pairwise distances of the sample do not depend on k, so each block of
distances is computed once and multiplied by the one-hot memberships of every candidate partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans

from insightloop.analytics.personas.settings import PersonaSettings

__all__ = ["SILHOUETTE_ROWS", "KChoice", "choose_k", "nearest", "silhouette_scores"]

SILHOUETTE_ROWS = 20_000
# Above this many sample rows k-means runs in mini-batches; below it, full Lloyd iterations are
# fast enough and more exact.
MINIBATCH_ROWS = 50_000
_BLOCK = 1024


@dataclass(frozen=True)
class KChoice:
    """The result of the k search.

    Attributes
    ----------
    k
        The chosen number of personas.
    centroids
        ``(k, d)`` centroids in the standardised space.
    scores
        Mean silhouette per candidate k.
    eligible
        The candidate k whose smallest persona met ``min_cluster_share``.
    """

    k: int
    centroids: np.ndarray
    scores: dict[int, float]
    eligible: tuple[int, ...]


def silhouette_scores(z: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette of each partition of the same rows ``z`` (Euclidean distance).

    Computed in float32: enough to rank partitions, and twice as fast as float64. A customer
    alone in its cluster scores 0, as in scikit-learn.

    Examples
    --------
    >>> z = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> [round(s, 3) for s in silhouette_scores(z, [np.array([0, 0, 1, 1])])]
    [0.98]
    """
    n = z.shape[0]
    offsets = [0]
    for labels in labelings:
        offsets.append(offsets[-1] + int(labels.max()) + 1)
    onehot = np.zeros((n, offsets[-1]), dtype=np.float32)
    rows = np.arange(n)
    for labels, start in zip(labelings, offsets, strict=False):
        onehot[rows, start + labels] = 1.0
    x = z.astype(np.float32)
    squares = np.einsum("ij,ij->i", x, x)
    sums = np.empty((n, offsets[-1]), dtype=np.float64)
    for s in range(0, n, _BLOCK):
        e = min(n, s + _BLOCK)
        d = x[s:e] @ x.T
        d *= -2.0
        d += squares[s:e, None]
        d += squares[None, :]
        np.maximum(d, 0.0, out=d)
        np.sqrt(d, out=d)
        sums[s:e] = d @ onehot
    scores = []
    for i, labels in enumerate(labelings):
        block = sums[:, offsets[i] : offsets[i + 1]]
        counts = np.bincount(labels, minlength=block.shape[1]).astype(np.float64)
        own = block[rows, labels] / np.maximum(counts[labels] - 1.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            means = block / counts
        means[:, counts == 0] = np.inf
        means[rows, labels] = np.inf
        other = means.min(axis=1)
        denom = np.maximum(own, other)
        with np.errstate(divide="ignore", invalid="ignore"):
            each = np.where((counts[labels] > 1) & (denom > 0), (other - own) / denom, 0.0)
        scores.append(float(each.mean()))
    return scores


def _kmeans(z: np.ndarray, k: int, settings: PersonaSettings) -> tuple[np.ndarray, np.ndarray]:
    if z.shape[0] > MINIBATCH_ROWS:
        model: KMeans | MiniBatchKMeans = MiniBatchKMeans(
            n_clusters=k, n_init=settings.n_init, random_state=settings.seed, batch_size=4096
        )
    else:
        model = KMeans(n_clusters=k, n_init=settings.n_init, random_state=settings.seed)
    # float32 runs k-means several times faster than float64 (memory bandwidth), and the
    # centroids only seed the float64 nearest-centroid assignment of every customer.
    model.fit(z.astype(np.float32))
    return np.asarray(model.cluster_centers_, dtype=np.float64), np.asarray(model.labels_)


def choose_k(z: np.ndarray, settings: PersonaSettings) -> KChoice:
    """Fit k-means for each candidate k on the sample ``z`` and keep the best by silhouette.

    ``z`` must hold more than ``k`` (or 2) rows, at least as many of them distinct (the caller
    checks).
    """
    distinct = np.unique(z, axis=0).shape[0]
    if settings.k is not None:
        candidates = [settings.k]
    else:
        candidates = list(range(2, min(settings.k_max, distinct, z.shape[0] - 1) + 1))
    fits = {k: _kmeans(z, k, settings) for k in candidates}
    rows = slice(0, min(z.shape[0], SILHOUETTE_ROWS))
    labelings = [fits[k][1][rows] for k in candidates]
    scores = dict(zip(candidates, silhouette_scores(z[rows], labelings), strict=True))
    floor = settings.min_cluster_share * z.shape[0]
    eligible = tuple(k for k in candidates if np.bincount(fits[k][1], minlength=k).min() >= floor)
    pool = eligible or tuple(candidates)
    best = max(pool, key=lambda k: (scores[k], -k))
    return KChoice(best, fits[best][0], scores, eligible)


def nearest(z: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of and Euclidean distance to the nearest centroid, for every row of ``z``.

    Examples
    --------
    >>> z = np.array([[0.0, 0.0], [3.0, 4.0]])
    >>> labels, dist = nearest(z, np.array([[0.0, 0.0], [3.0, 3.0]]))
    >>> labels.tolist(), dist.tolist()
    ([0, 1], [0.0, 1.0])
    """
    n = z.shape[0]
    labels = np.empty(n, dtype=np.int64)
    distances = np.empty(n, dtype=np.float64)
    c_squares = np.einsum("ij,ij->i", centroids, centroids)
    step = 1 << 17
    for s in range(0, n, step):
        block = z[s : s + step]
        d = block @ centroids.T
        d *= -2.0
        d += c_squares[None, :]
        d += np.einsum("ij,ij->i", block, block)[:, None]
        best = np.argmin(d, axis=1)
        labels[s : s + step] = best
        distances[s : s + step] = np.sqrt(np.maximum(d[np.arange(block.shape[0]), best], 0.0))
    return labels, distances
