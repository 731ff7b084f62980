"""Compiled inner loops of the silhouette (Numba): Euclidean distances reduced to cluster sums.

One call handles one block of rows against a range of columns, so Python threads can share the
work (the kernels release the GIL). The distance of a pair is computed from the coordinate
differences, ``sqrt(sum((x - y)²))`` — never negative, exactly 0 for a point and itself — and
is immediately added to per-cluster sums; no distance matrix is ever stored.

Layout: ``points_t`` is the (d, m) transposed matrix of distinct points (contiguous rows per
feature, so the loop over columns vectorises); ``codes`` is (L, m): for each of L labellings
the cluster of every point plus ``offsets[L]``, i.e. the column of the sums matrix it adds to.
Points are sorted by the first labelling, so along a row its codes form a few runs; the other
labellings are scattered.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Reassociation lets LLVM vectorise the reductions (the sums are then added in another order,
# a difference of ~1e-16 relative); no approximate square roots or reciprocals.
_FAST = {"reassoc", "nsz", "contract"}


@njit(fastmath=_FAST, nogil=True, cache=True, boundscheck=False)
def _row_distances(points_t, i, j0, j1, out):
    """out[:j1-j0] = distances from point i to points j0..j1-1."""
    n = j1 - j0
    dist = out[:n]
    for t in range(n):
        dist[t] = 0.0
    for f in range(points_t.shape[0]):
        centre = points_t[f, i]
        coords = points_t[f, j0:j1]
        for t in range(n):
            diff = coords[t] - centre
            dist[t] += diff * diff
    return dist


@njit(fastmath=_FAST, nogil=True, cache=True, boundscheck=False)
def _add_row(points_t, weights, codes, run_end, i, j0, j1, weight_i, sums_row, back, buf):
    """Add point i's distances to j0..j1-1 into ``sums_row`` (by the columns' clusters).

    ``back`` (may be empty) receives the symmetric contribution: back[code of i, j] += w_i d_ij.
    """
    dist = _row_distances(points_t, i, j0, j1, buf)
    n_labelings = codes.shape[0]
    with_back = back.shape[0] > 0
    # first labelling: columns come in runs of one cluster
    a = j0
    while a < j1:
        code = codes[0, a]
        b = min(run_end[code], j1)
        w = weights[a:b]
        d = dist[a - j0 : b - j0]
        acc = 0.0
        if with_back:
            back_row = back[codes[0, i], a:b]
            for t in range(b - a):
                r = np.sqrt(d[t])
                d[t] = r
                acc += w[t] * r
                back_row[t] += weight_i * r
        else:
            for t in range(b - a):
                r = np.sqrt(d[t])
                d[t] = r
                acc += w[t] * r
        sums_row[code] += acc
        a = b
    # further labellings: scattered columns
    for lab in range(1, n_labelings):
        code_row = codes[lab, j0:j1]
        w = weights[j0:j1]
        for t in range(j1 - j0):
            sums_row[code_row[t]] += w[t] * dist[t]
        if with_back:
            back_row = back[codes[lab, i], j0:j1]
            for t in range(j1 - j0):
                back_row[t] += weight_i * dist[t]


@njit(nogil=True, cache=True, boundscheck=False)
def upper_block_row(points_t, weights, codes, run_end, i0, i1, block, sums, back, buf):
    """All pairs (i, j) with i in i0..i1-1 and j > i: sums[i] += w_j d_ij, back[:, j] += w_i d_ij.

    ``sums`` is (m, groups) and ``back`` (groups, m); the caller adds ``back.T`` to ``sums``.
    Columns are visited in blocks so that they stay in cache for all rows of the block.
    """
    m = points_t.shape[1]
    j0 = i0
    while j0 < m:
        j1 = min(j0 + block, m)
        for i in range(i0, min(i1, j1)):
            start = max(i + 1, j0)
            if start < j1:
                _add_row(points_t, weights, codes, run_end, i, start, j1, weights[i], sums[i], back, buf)
        j0 = j1


@njit(nogil=True, cache=True, boundscheck=False)
def rows_against_all(points_t, weights, codes, run_end, rows, r0, r1, block, sums, buf):
    """sums[r] += sum_j w_j d(rows[r], j) over all points j, for r in r0..r1-1."""
    m = points_t.shape[1]
    no_back = np.zeros((0, 0))
    j0 = 0
    while j0 < m:
        j1 = min(j0 + block, m)
        for r in range(r0, r1):
            _add_row(points_t, weights, codes, run_end, rows[r], j0, j1, 0.0, sums[r], no_back, buf)
        j0 = j1


def compile_now() -> None:
    """Compile (or load from Numba's cache) every kernel, so a first analysis does not wait."""
    points_t = np.zeros((1, 3))
    weights = np.ones(3)
    codes = np.zeros((1, 3), dtype=np.int64)
    run_end = np.array([3], dtype=np.int64)
    sums = np.zeros((3, 1))
    buf = np.empty(4)
    upper_block_row(points_t, weights, codes, run_end, 0, 3, 4, sums, np.zeros((1, 3)), buf)
    rows_against_all(points_t, weights, codes, run_end, np.arange(3, dtype=np.int64), 0, 3, 4, sums, buf)


if __name__ == "__main__":  # scripts/setup.sh runs this once after installing
    compile_now()
