"""Silhouette scores computed by custseg: exact (fast) and sampled (with a confidence interval).
(Over 400 lines: the exact and the sampled value share the row compression, the cells, the
thread lanes and the final formula; each is a few lines on top of them.)

Why not ``sklearn.metrics.silhouette_score``: it builds the n×n distance matrix in row chunks
and reduces every row with a Python-level ``np.bincount`` loop; at 93k customers that is about a
minute per k. The exact value here is the same number (tested to 1e-9) computed differently:

* identical rows (same features and same labels) are merged into one row with a weight — RFM
  matrices have many duplicates, and a duplicate's distances are the same numbers;
* rows are sorted by label, so along a row of the distance matrix the clusters come in runs;
* each unordered pair is visited once (the matrix is symmetric) by a compiled kernel
  (:mod:`custseg.cluster._kernels`, Numba): the distance ``sqrt(sum((x - y)²))`` from the
  coordinate differences — the same value as sklearn's ``|x|² + |y|² − 2x·y`` formula up to
  its rounding, never negative, exactly 0 for identical rows — is added at once to the
  per-cluster sums of both rows; no distance matrix or tile is ever stored;
* blocks of rows are shared between threads (the kernel releases the GIL), each thread owns a
  fixed set of row blocks and its own accumulators, so a result is bit-for-bit reproducible for
  a given ``n_jobs``.

Several labellings of the same matrix (one per k, the evidence table) are scored in one pass
over the distances (:func:`silhouette_exact_many`); there each distance feeds many cluster
sums, so tiles of distances are reduced with BLAS products instead (see that section below).

Cost: n²/2 float64 square roots are unavoidable for an exact Euclidean silhouette; on the
benchmark machine a pair costs about 1.3 ns per thread (scikit-learn: ~16 ns).
See ``bench/results/cluster.md``.

Above a size limit the *sampled* silhouette evaluates the exact silhouette of a uniform random
sample of customers (each against all customers, not against the sample only) and reports the
sample mean with a normal 95 % confidence interval (finite-population corrected). It is always
labelled ``sampled`` with its sample size and interval — see :class:`SilhouetteResult`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

from custseg.cluster.ward import sorted_groups

#: Above this many rows :func:`silhouette` switches from exact to sampled (configurable per call).
DEFAULT_EXACT_LIMIT = 100_000
#: Customers evaluated by the sampled silhouette.
DEFAULT_SAMPLE_SIZE = 10_000
#: Columns visited together by a block of rows (1024 points × a few features stay in L1/L2 cache).
DEFAULT_BLOCK_SIZE = 1024

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "DEFAULT_SAMPLE_SIZE",
    "SilhouetteResult",
    "measure_silhouette",
    "measure_silhouettes",
    "silhouette_exact",
    "silhouette_exact_many",
    "silhouette_samples_exact",
    "silhouette_sampled",
    "silhouette_sampled_many",
]


@dataclass(frozen=True)
class SilhouetteResult:
    """A silhouette value and how it was obtained.

    ``method`` is ``'exact'`` (all customers) or ``'sampled'`` (``n_evaluated`` of ``n_total``
    customers, with ``ci`` the confidence interval of the mean at ``confidence``).
    """

    value: float
    method: str
    n_evaluated: int
    n_total: int
    ci: tuple[float, float] | None = None
    confidence: float | None = None
    # mean silhouette of each cluster, in the sorted order of the label values (a sampled
    # result: of its sampled members; NaN for a cluster without one)
    per_cluster: tuple[float, ...] | None = None
    # a sampled result scored against a random reference of this many customers, not all of
    # them (custseg.cluster.sampling); None: against all
    n_reference: int | None = None

    def label(self, digits: int = 3) -> str:
        """The value with its provenance, for tables and reports (never a bare sampled number)."""
        if self.method == "exact":
            return f"{self.value:.{digits}f} (exact)"
        lo, hi = self.ci if self.ci is not None else (float("nan"), float("nan"))
        against = "" if self.n_reference is None else f" against a random {self.n_reference:,}"
        return (
            f"{self.value:.{digits}f} (sampled: {self.n_evaluated:,} of {self.n_total:,} customers{against}, "
            f"{round(100 * (self.confidence or 0.95))}% CI {lo:.{digits}f}–{hi:.{digits}f})"
        )

    def __str__(self) -> str:
        return self.label()


# ----------------------------------------------------------------------------- validation


def _check_matrix(X) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D matrix, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values; drop or impute them first")
    return np.ascontiguousarray(X)


def _encode_labels(labels, n_rows: int) -> tuple[np.ndarray, int]:
    """Labels as codes 0..k-1 (sorted order of the label values) and k; checks 2 <= k <= n-1."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise ValueError(f"labels must be 1-D with {n_rows} entries, got shape {labels.shape}")
    if labels.dtype.kind in "iu" and n_rows and 0 <= labels.min() and labels.max() < 4 * n_rows + 1024:
        present = np.bincount(labels) > 0  # small non-negative integers: rank without sorting
        codes = (np.cumsum(present) - 1)[labels]
    else:
        _, codes = np.unique(labels, return_inverse=True)
    k = int(codes.max()) + 1 if n_rows else 0
    if not 2 <= k <= n_rows - 1:
        raise ValueError(
            f"the silhouette needs between 2 and n_rows - 1 = {n_rows - 1} clusters, got {k}"
        )
    return codes.astype(np.intp), k


def _n_jobs(n_jobs: int | None) -> int:
    if n_jobs is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1 or None, got {n_jobs}")
    return int(n_jobs)


# ----------------------------------------------------------------------------- the kernel


@dataclass
class _Compressed:
    """Distinct (row, labels) combinations, sorted by labels, with their multiplicities."""

    points: np.ndarray  # (m, d) distinct rows
    weights: np.ndarray  # (m,) how many input rows each stands for
    inverse: np.ndarray  # (n,) input row -> distinct row
    codes: list[np.ndarray]  # per labelling, (m,) label code of each distinct row
    n_clusters: list[int]
    sizes: list[np.ndarray]  # per labelling, (k,) cluster sizes in input rows


def _compress(X: np.ndarray, labelings: Sequence[np.ndarray], dedupe: bool) -> _Compressed:
    """Distinct (labels, row) combinations sorted by labels then row, with multiplicities.

    The sort keys are the separate label and feature columns (no stacked copy of the matrix:
    at 10M customers and 13 labellings that copy alone would be 1.3 GB, twice).
    """
    coded = [_encode_labels(lab, X.shape[0]) for lab in labelings]
    label_codes = [c for c, _ in coded]
    keys = [X[:, j] for j in range(X.shape[1])][::-1] + label_codes[::-1]  # lexsort: last key is primary
    order, new = sorted_groups(keys) if dedupe else (np.lexsort(keys), None)
    inverse = np.empty_like(order)
    if dedupe:  # equal rows (as floats: -0.0 == 0.0, same distances) are adjacent once sorted
        group = np.cumsum(new) - 1
        keep = order[new]  # one input row per distinct combination, in sorted order
        inverse[order] = group
        counts = np.bincount(group)
    else:
        keep = order
        inverse[order] = np.arange(order.size)
        counts = np.ones(order.size, dtype=np.int64)
    sizes = [np.bincount(c, minlength=k).astype(np.float64) for c, k in coded]
    return _Compressed(
        points=np.ascontiguousarray(X[keep]),
        weights=counts.astype(np.float64),
        inverse=inverse,
        codes=[c[keep].astype(np.intp) for c in label_codes],
        n_clusters=[k for _, k in coded],
        sizes=sizes,
    )


def _cells(comp: _Compressed) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """The common refinement of all labellings: cell of every point, cell count, cell -> cluster.

    Points are sorted by their label tuple, so each cell is one run of points. KMeans partitions
    for k = 2..14 of 93k customers share about 140 cells: distances are summed per cell once,
    and every labelling's cluster sums are sums of cell sums.
    """
    m = comp.points.shape[0]
    change = np.zeros(m, dtype=bool)
    for codes in comp.codes:
        change[1:] |= codes[1:] != codes[:-1]
    cell = np.cumsum(change).astype(np.int64)
    first = np.flatnonzero(np.r_[True, change[1:]])
    return cell, first.size, [codes[first] for codes in comp.codes]


def _cluster_sums(cell_sums: np.ndarray, cluster_of_cell: np.ndarray, k: int) -> np.ndarray:
    """Per-cluster sums from per-cell sums (columns of cells added into their cluster)."""
    onehot = np.zeros((cluster_of_cell.size, k))
    onehot[np.arange(cluster_of_cell.size), cluster_of_cell] = 1.0
    return cell_sums @ onehot


def _balanced_assignment(costs: Sequence[float], n_lanes: int) -> list[list[int]]:
    """Deterministic longest-processing-time assignment of tasks to lanes."""
    lanes: list[list[int]] = [[] for _ in range(n_lanes)]
    load = [0.0] * n_lanes
    for task in sorted(range(len(costs)), key=lambda t: (-costs[t], t)):
        lane = min(range(n_lanes), key=lambda i: (load[i], i))
        lanes[lane].append(task)
        load[lane] += costs[task]
    return [sorted(lane) for lane in lanes]


def _run_lanes(work, lanes: list) -> None:
    if len(lanes) == 1:
        work(lanes[0])
        return
    errors: list[BaseException] = []

    def guarded(tasks):
        try:
            work(tasks)
        except BaseException as exc:  # re-raised in the calling thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


#: Rows per task when the work is shared between threads.
_ROW_BLOCK = 128


def _run_ends(cell: np.ndarray) -> np.ndarray:
    """For each point, the end (exclusive) of the run of its cell."""
    m = cell.size
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    ends = np.r_[starts[1:], m]
    return np.repeat(ends, np.diff(np.r_[starts, m])).astype(np.int64)


def _all_pairs_cell_sums(comp: _Compressed, cell: np.ndarray, n_cells: int, *, block: int, n_jobs: int) -> np.ndarray:
    """S[i, c] = sum_j w_j ||p_i - p_j|| over the points j of cell c, for every distinct point i.

    Each unordered pair is visited once (upper triangle); the kernel adds it to both rows.
    """
    from custseg.cluster import _kernels

    points_t = np.ascontiguousarray(comp.points.T)
    run_end = _run_ends(cell)
    m = points_t.shape[1]
    bounds = [(s, min(s + _ROW_BLOCK, m)) for s in range(0, m, _ROW_BLOCK)]
    costs = [(m - s) * (e - s) - (e - s) ** 2 / 2 for s, e in bounds]
    lanes = _balanced_assignment(costs, min(n_jobs, len(bounds)))
    sums = [np.zeros((m, n_cells)) for _ in lanes]
    backs = [np.zeros((n_cells, m)) for _ in lanes]

    def lane_work(lane_and_tasks):
        lane, tasks = lane_and_tasks
        buf = np.empty(block)
        for task in tasks:
            s, e = bounds[task]
            _kernels.upper_block_row(points_t, comp.weights, cell, run_end, s, e, block, sums[lane], backs[lane], buf)

    _run_lanes(lane_work, list(enumerate(lanes)))
    total = sums[0]
    for extra in sums[1:]:
        total += extra
    for back in backs:
        total += back.T
    return total


def _sample_cell_sums(
    comp: _Compressed, cell: np.ndarray, n_cells: int, rows: np.ndarray, *, block: int, n_jobs: int
) -> np.ndarray:
    """S[r, c] = sum_j w_j ||p_rows[r] - p_j|| over the points j of cell c."""
    from custseg.cluster import _kernels

    points_t = np.ascontiguousarray(comp.points.T)
    run_end = _run_ends(cell)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.zeros((rows.size, n_cells))
    bounds = [(s, min(s + _ROW_BLOCK, rows.size)) for s in range(0, rows.size, _ROW_BLOCK)]
    lanes = _balanced_assignment([e - s for s, e in bounds], min(n_jobs, max(1, len(bounds))))

    def lane_work(tasks):
        buf = np.empty(block)
        for task in tasks:
            s, e = bounds[task]
            _kernels.rows_against_all(points_t, comp.weights, cell, run_end, rows, s, e, block, out, buf)

    _run_lanes(lane_work, lanes)
    return out


def _silhouette_from_sums(S, own, sizes) -> np.ndarray:
    """Per-row silhouette from distance sums to each cluster (sklearn's formula, incl. s=0 alone)."""
    rows = np.arange(own.size)
    intra = S[rows, own].copy()
    other = S / sizes
    other[rows, own] = np.inf
    inter = other.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        intra /= sizes[own] - 1
        s = (inter - intra) / np.maximum(intra, inter)
    return np.nan_to_num(s)


# ----------------------------------------------------------------------------- exact


def _exact_per_distinct(X, labelings, *, dedupe, block, n_jobs):
    X = _check_matrix(X)
    comp = _compress(X, labelings, dedupe)
    cell, n_cells, cluster_of_cell = _cells(comp)
    S = _all_pairs_cell_sums(comp, cell, n_cells, block=block, n_jobs=_n_jobs(n_jobs))
    per_distinct = [
        _silhouette_from_sums(_cluster_sums(S, of_cell, k), codes, sizes)
        for of_cell, k, codes, sizes in zip(cluster_of_cell, comp.n_clusters, comp.codes, comp.sizes)
    ]
    return comp, per_distinct


def silhouette_samples_exact(
    X, labels, *, dedupe: bool = True, block_size: int = DEFAULT_BLOCK_SIZE, n_jobs: int | None = None
) -> np.ndarray:
    """Exact silhouette of every row (Euclidean); equals ``sklearn.metrics.silhouette_samples``."""
    comp, (s,) = _exact_per_distinct(X, [labels], dedupe=dedupe, block=block_size, n_jobs=n_jobs)
    return s[comp.inverse]


def silhouette_exact_many(
    X,
    labelings: Sequence,
    *,
    dedupe: bool = True,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_jobs: int | None = None,
) -> list[float]:
    """Exact mean silhouette of several labellings of the same rows, in one pass over distances."""
    labelings = list(labelings)
    if not labelings:
        return []
    comp, per_distinct = _exact_per_distinct(X, labelings, dedupe=dedupe, block=block_size, n_jobs=n_jobs)
    n = comp.inverse.size
    return [float(np.dot(comp.weights, s) / n) for s in per_distinct]


def silhouette_exact(
    X, labels, *, dedupe: bool = True, block_size: int = DEFAULT_BLOCK_SIZE, n_jobs: int | None = None
) -> float:
    """Exact mean silhouette; equals ``sklearn.metrics.silhouette_score(X, labels)`` to ~1e-12."""
    return silhouette_exact_many(X, [labels], dedupe=dedupe, block_size=block_size, n_jobs=n_jobs)[0]


# ----------------------------------------------------------------------------- sampled


def silhouette_sampled_many(
    X,
    labelings: Sequence,
    *,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int = 0,
    confidence: float = 0.95,
    block_size: int = DEFAULT_BLOCK_SIZE,
    n_jobs: int | None = None,
) -> list[SilhouetteResult]:
    """Mean silhouette estimated from a uniform sample of rows, each scored against *all* rows.

    The same sample serves every labelling. Each sampled row's value is its exact silhouette,
    so the sample mean is unbiased for the exact score; the interval is the normal interval of
    a mean with the finite-population correction (sampling without replacement).
    """
    X = _check_matrix(X)
    labelings = list(labelings)
    n = X.shape[0]
    if sample_size < 2:
        raise ValueError(f"sample_size must be >= 2, got {sample_size}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    size = min(int(sample_size), n)
    rng = np.random.default_rng(random_state)
    sample = np.sort(rng.choice(n, size=size, replace=False))
    comp = _compress(X, labelings, dedupe=True)
    rows = comp.inverse[sample]
    cell, n_cells, cluster_of_cell = _cells(comp)
    S = _sample_cell_sums(comp, cell, n_cells, rows, block=block_size, n_jobs=_n_jobs(n_jobs))
    z = stats.norm.ppf(0.5 + confidence / 2)
    fpc = np.sqrt((n - size) / (n - 1)) if n > 1 else 0.0
    results = []
    for of_cell, k, codes, sizes in zip(cluster_of_cell, comp.n_clusters, comp.codes, comp.sizes):
        s = _silhouette_from_sums(_cluster_sums(S, of_cell, k), codes[rows], sizes)
        mean = float(s.mean())
        half = float(z * s.std(ddof=1) / np.sqrt(size) * fpc)
        counts = np.bincount(codes[rows], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_cluster = np.bincount(codes[rows], weights=s, minlength=k) / counts
        results.append(
            SilhouetteResult(mean, "sampled", size, n, (mean - half, mean + half), confidence, tuple(map(float, per_cluster)))
        )
    return results


def silhouette_sampled(X, labels, **kwargs) -> SilhouetteResult:
    """Sampled silhouette of one labelling; see :func:`silhouette_sampled_many`."""
    return silhouette_sampled_many(X, [labels], **kwargs)[0]


# ----------------------------------------------------------------------------- dispatch


def measure_silhouettes(
    X,
    labelings: Sequence,
    *,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
    random_state: int = 0,
    n_jobs: int | None = None,
    reference_size: int | None = None,
) -> list[SilhouetteResult]:
    """Exact silhouettes up to ``exact_limit`` rows, sampled (with a 95 % CI) above it; above
    ``reference_size`` rows the sampled customers are scored against a random reference of that
    many (:mod:`custseg.cluster.sampling`)."""
    X = _check_matrix(X)
    n = X.shape[0]
    if n <= exact_limit:
        comp, per_distinct = _exact_per_distinct(X, labelings, dedupe=True, block=DEFAULT_BLOCK_SIZE, n_jobs=n_jobs)
        results = []
        for s, codes, sizes in zip(per_distinct, comp.codes, comp.sizes):
            per_cluster = np.bincount(codes, weights=comp.weights * s, minlength=sizes.size) / sizes
            results.append(SilhouetteResult(float(np.dot(comp.weights, s) / n), "exact", n, n, per_cluster=tuple(map(float, per_cluster))))
        return results
    if reference_size and n > reference_size:
        from .sampling import silhouettes_against_sample

        return silhouettes_against_sample(X, labelings, reference_size=reference_size, sample_size=sample_size,
                                          random_state=random_state, n_jobs=n_jobs)
    return silhouette_sampled_many(
        X, labelings, sample_size=sample_size, random_state=random_state, n_jobs=n_jobs
    )


def measure_silhouette(X, labels, **kwargs) -> SilhouetteResult:
    """Silhouette of one labelling, exact or sampled by size; see :func:`measure_silhouettes`."""
    return measure_silhouettes(X, [labels], **kwargs)[0]
