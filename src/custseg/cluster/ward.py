"""Ward's hierarchical clustering that stays within a memory budget.

``scipy.cluster.hierarchy.linkage(X, 'ward')`` (what ``AgglomerativeClustering`` runs) keeps two
condensed distance matrices: 8·n² bytes, 69 GB at 93k customers. :func:`ward_tree` therefore has
two paths:

* **exact** — when 8·n² bytes fit ``memory_budget`` it calls scipy on every row, so the tree,
  and the partition at every k, are the reference's;
* **on micro-clusters** — otherwise the rows are first summarised by at most
  ``n_micro_clusters`` weighted points ("atoms"): the distinct rows when there are few enough
  (then the tree is still exact Ward, because identical rows merge first at height 0), else the
  member means of a KMeans with that many centroids. Ward then runs on the weighted atoms with
  :func:`weighted_ward_linkage` and each customer takes the cluster of its atom (its nearest
  micro-centroid). The method label says which path was taken.

Weighted Ward. Ward's merge cost depends only on cluster sizes and means,
``Δ(A, B) = |A||B| / (|A|+|B|) · ‖μ_A − μ_B‖²``, so a set of weighted points behaves exactly as
the clusters it stands for. The merges are found with the nearest-neighbour-chain algorithm
(Ward is reducible), O(m²) time and O(m) memory, and reported in scipy's linkage format with
scipy's height ``sqrt(2Δ)`` (equal to the Euclidean distance for two single points).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import linkage
from sklearn.cluster import KMeans, kmeans_plusplus

from .centroids import nearest_centroid
from .threads import single_threaded

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "DEFAULT_MICRO_CLUSTERS",
    "WardTree",
    "cut_linkage",
    "exact_ward_bytes",
    "ward_tree",
    "weighted_ward_linkage",
]

#: Largest memory the exact (scipy) Ward may take: 2 GiB, i.e. up to 16,384 customers.
DEFAULT_MEMORY_BUDGET = 2 * 1024**3
#: Atoms used for Ward when the exact path does not fit the budget.
DEFAULT_MICRO_CLUSTERS = 2000


def exact_ward_bytes(n_rows: int) -> int:
    """Peak memory of ``scipy.cluster.hierarchy.linkage(X, 'ward')``: two condensed matrices."""
    return 8 * n_rows * (n_rows - 1)


def weighted_ward_linkage(points, weights) -> np.ndarray:
    """Ward linkage of weighted points (weight = number of customers a point stands for).

    Returns a scipy linkage matrix over ``len(points)`` leaves (column 3 counts leaves, as
    scipy requires). With unit weights it equals ``linkage(points, 'ward')`` (up to ties).
    """
    points = np.asarray(points, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    m = points.shape[0]
    if m < 2:
        raise ValueError("Ward needs at least two points")
    if weights.shape != (m,) or (weights <= 0).any():
        raise ValueError("weights must be positive, one per point")
    cent = points.copy()
    w = weights.copy()
    active = np.ones(m, dtype=bool)
    rep = np.arange(m)  # a leaf inside the cluster held by each slot (for scipy's relabelling)
    merges = np.empty((m - 1, 3))
    chain: list[int] = []
    n_merged = 0
    while n_merged < m - 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        x = chain[-1]
        diff = cent - cent[x]
        cost = np.einsum("ij,ij->i", diff, diff) * (w * w[x] / (w + w[x]))
        cost[~active] = np.inf
        cost[x] = np.inf
        y = int(np.argmin(cost))
        if len(chain) > 1 and cost[chain[-2]] <= cost[y]:
            y = chain[-2]  # reciprocal nearest neighbours: merge
            chain.pop()
            chain.pop()
            merges[n_merged] = (rep[x], rep[y], np.sqrt(2.0 * cost[y]))
            n_merged += 1
            total = w[x] + w[y]
            cent[y] = (w[x] * cent[x] + w[y] * cent[y]) / total
            w[y] = total
            active[x] = False
        else:
            chain.append(y)
    return _to_scipy_linkage(merges, m)


def _to_scipy_linkage(merges: np.ndarray, m: int) -> np.ndarray:
    """Sort merges by height and name clusters as scipy does (leaf ids, then m + row)."""
    order = np.argsort(merges[:, 2], kind="mergesort")
    parent = np.arange(2 * m - 1)
    size = np.zeros(2 * m - 1)
    size[:m] = 1
    Z = np.empty((m - 1, 4))

    def find(a: int) -> int:
        root = a
        while parent[root] != root:
            root = parent[root]
        while parent[a] != root:
            parent[a], a = root, parent[a]
        return root

    for i, row in enumerate(order):
        a, b = find(int(merges[row, 0])), find(int(merges[row, 1]))
        lo, hi = (a, b) if a < b else (b, a)
        new = m + i
        parent[a] = parent[b] = new
        size[new] = size[a] + size[b]
        Z[i] = (lo, hi, merges[row, 2], size[new])
    return Z


def cut_linkage(Z: np.ndarray, k: int) -> np.ndarray:
    """Leaf labels 0..k-1 after the first ``n - k`` merges (sklearn's ``_hc_cut`` partition).

    Labels are numbered by each cluster's smallest leaf, so they are deterministic.
    """
    n = Z.shape[0] + 1
    if not 1 <= k <= n:
        raise ValueError(f"cannot cut a tree of {n} leaves into {k} clusters")
    parent = np.arange(2 * n - 1)
    for i in range(n - k):
        a, b = int(Z[i, 0]), int(Z[i, 1])
        parent[a] = parent[b] = n + i
    # resolve every leaf to its top node among the first n-k merges
    root = parent.copy()
    for _ in range(64):  # pointer jumping: depth halves each round
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    else:  # pragma: no cover - a tree deeper than 2**64 cannot exist
        raise RuntimeError("linkage matrix is not a tree")
    leaf_root = root[:n]
    _, first, inverse = np.unique(leaf_root, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.intp)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)  # numbered by smallest leaf
    return rank[inverse.reshape(-1)]


@dataclass
class WardTree:
    """A Ward tree over ``n_leaves`` atoms and the atom of every customer row.

    ``exact`` is true when the tree is the reference Ward tree over all rows (leaves = rows,
    or distinct rows with weights). ``method_label`` is the human-readable provenance.
    """

    linkage: np.ndarray
    leaf_of_row: np.ndarray
    leaf_weights: np.ndarray
    leaf_centers: np.ndarray
    exact: bool
    method_label: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_leaves(self) -> int:
        return self.linkage.shape[0] + 1

    def cut(self, k: int) -> np.ndarray:
        """Cluster of every customer row (0..k-1, unordered) at ``k`` clusters."""
        return cut_linkage(self.linkage, k)[self.leaf_of_row]


def sorted_groups(keys) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by ``keys`` (1-D columns, the last one primary, as ``np.lexsort``) and where
    each run of equal rows starts (as floats: -0.0 equals 0.0, where ``np.unique`` compares bytes)."""
    order = np.lexsort(keys)
    new = np.zeros(order.size, dtype=bool)
    new[:1] = True
    for column in keys:
        ordered = column[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    return order, new


def distinct_rows(X: np.ndarray):
    """``np.unique(X, axis=0, return_inverse=True, return_counts=True)``, several times faster."""
    order, new = sorted_groups([X[:, j] for j in range(X.shape[1])][::-1])
    group = np.cumsum(new) - 1
    inverse = np.empty(X.shape[0], dtype=np.intp)
    inverse[order] = group
    return X[order[new]], inverse, np.bincount(group).astype(np.float64)


def micro_clusters(X: np.ndarray, n_micro_clusters: int, random_state: int, max_iter: int = 10,
                   fit_rows: int | None = None):
    """Weighted atoms summarising ``X``: (centers, weights, atom of each row, exact?, rows the
    atoms were placed on: ``fit_rows`` when they were placed on a sample, else None).

    The distinct rows when there are at most ``n_micro_clusters`` of them (exact), else a
    quick KMeans on the distinct rows weighted by their counts: plain k-means++ seeding (one
    trial per centre) and ``max_iter`` Lloyd iterations. The atoms only need to be small and
    compact, not converged; Ward then works on their member means.

    ``fit_rows``: when X has more rows, the KMeans is fitted on that many rows drawn at random
    (seeded) and every row then takes its nearest centre; weights and member means are still
    over all rows. For a drawing (the dendrogram), where the atoms' exact placement does not
    show: 200 atoms placed on 10,000 of 93,000 customers take 0.10 s instead of 0.35 s.
    """

    sample = None
    if fit_rows is not None and X.shape[0] > fit_rows >= n_micro_clusters:
        rows = np.random.default_rng(random_state).choice(X.shape[0], size=fit_rows, replace=False)
        sample = distinct_rows(X[np.sort(rows)])
        if sample[0].shape[0] <= n_micro_clusters:
            sample = None  # too few distinct rows in the sample: fit on all of them
    if sample is not None:
        # more distinct rows in the sample than atoms, so in X too: atoms placed on the sample,
        # every row joins its nearest, with no sort of every row (~10 s and 0.7 GB at 10M customers)
        km = _atoms(sample[0], sample[2], n_micro_clusters, random_state, max_iter)
        centers, weights, lab = _member_means(X, nearest_centroid(X, km.cluster_centers_))
        return centers, weights, lab, False, fit_rows
    uniq, inverse, counts = distinct_rows(X)
    if uniq.shape[0] <= n_micro_clusters:
        return uniq, counts, inverse, True, None
    km = _atoms(uniq, counts, n_micro_clusters, random_state, max_iter)
    centers, weights, lab = _member_means(uniq, km.labels_, counts)
    return centers, weights, lab[inverse], False, None


def _atoms(rows: np.ndarray, counts: np.ndarray, n_atoms: int, random_state: int, max_iter: int) -> KMeans:
    """A quick weighted KMeans: plain k-means++ seeding (one trial per centre), ``max_iter`` Lloyd iterations."""
    with single_threaded():  # same atoms on every machine
        seeds, _ = kmeans_plusplus(rows, n_atoms, sample_weight=counts, random_state=random_state, n_local_trials=1)
        return KMeans(n_clusters=n_atoms, init=seeds, n_init=1, max_iter=max_iter).fit(rows, sample_weight=counts)


def _member_means(rows: np.ndarray, lab: np.ndarray, counts: np.ndarray | None = None):
    """(member means, weights, atom of each row) with empty atoms dropped; ``counts``: each row's
    weight (None: 1). Ward's cost on the atoms is then exact for the atoms."""
    present = np.bincount(lab) > 0
    lab = (np.cumsum(present) - 1)[lab]  # atoms renumbered 0.. in order, as np.unique's inverse
    weights = np.bincount(lab, weights=counts).astype(np.float64)
    sums = [np.bincount(lab, weights=rows[:, j] if counts is None else counts * rows[:, j]) for j in range(rows.shape[1])]
    return np.column_stack(sums) / weights[:, None], weights, lab


def ward_tree(
    X,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    n_micro_clusters: int = DEFAULT_MICRO_CLUSTERS,
    random_state: int = 42,
    fit_rows: int | None = None,
) -> WardTree:
    """Ward tree of the rows of ``X``, exact when it fits ``memory_budget`` bytes (see module doc).

    ``fit_rows``: see :func:`micro_clusters` (for drawings; the clustering fits on every row).
    """
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    n = X.shape[0]
    if n < 2:
        raise ValueError("Ward needs at least two rows")
    need = exact_ward_bytes(n)
    if need <= memory_budget:
        Z = linkage(X, method="ward")
        return WardTree(Z, np.arange(n), np.ones(n), X, True, "ward")
    if n_micro_clusters < 2:
        raise ValueError("n_micro_clusters must be at least 2")
    centers, weights, leaf_of_row, exact, placed_on = micro_clusters(X, n_micro_clusters, random_state, fit_rows=fit_rows)
    Z = weighted_ward_linkage(centers, weights)
    gb = need / 1024**3
    budget_gb = memory_budget / 1024**3
    if exact:
        label = f"ward (exact, on {centers.shape[0]:,} distinct rows)"
        note = (
            f"Ward on {n:,} customers would need {gb:.1f} GB for distances (budget {budget_gb:.1f} GB); "
            f"it ran on the {centers.shape[0]:,} distinct rows with their counts as weights, which "
            "gives the same tree above height 0."
        )
    else:
        label = f"ward (on {centers.shape[0]:,} micro-clusters)"
        note = (
            f"Ward on {n:,} customers would need {gb:.1f} GB for distances (budget {budget_gb:.1f} GB); "
            f"it ran on {centers.shape[0]:,} KMeans micro-clusters weighted by their sizes, and each "
            "customer takes the cluster of its micro-cluster (its nearest micro-centroid)."
            + (f" The micro-clusters were placed on {placed_on:,} customers drawn at random." if placed_on else "")
        )
    return WardTree(Z, leaf_of_row, weights, centers, exact, label, [note])
