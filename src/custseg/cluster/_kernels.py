"""Compiled inner loops of the silhouette (Numba): Euclidean distances reduced to cluster sums.

One call handles one block of rows against a range of columns, so Python threads can share the
work (the kernels release the GIL). The distance of a pair is computed from the coordinate
differences, ``sqrt(sum((x - y)²))`` — never negative, exactly 0 for a point and itself — and
is immediately added to per-cluster sums; no distance matrix is ever stored.

Layout: ``points_t`` is the (d, m) transposed matrix of distinct points (contiguous rows per
feature, so the loop over columns vectorises); ``cell`` (m,) is the group each point's distance
is summed into, ``run_end[j]`` where the run of equal cells containing j ends (points come
sorted by cell, so a row of distances is a few long runs).
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
def _add_row(points_t, weights, cell, run_end, i, j0, j1, weight_i, sums_row, back, buf):
    """Add point i's distances to j0..j1-1 into ``sums_row`` (by the columns' cells).

    ``back`` (may be empty) receives the symmetric contribution: back[cell of i, j] += w_i d_ij.
    """
    dist = _row_distances(points_t, i, j0, j1, buf)
    with_back = back.shape[0] > 0
    a = j0
    while a < j1:  # the columns come in runs of one cell
        b = min(run_end[a], j1)
        w = weights[a:b]
        d = dist[a - j0 : b - j0]
        acc = 0.0
        if with_back:
            back_row = back[cell[i], a:b]
            for t in range(b - a):
                r = np.sqrt(d[t])
                acc += w[t] * r
                back_row[t] += weight_i * r
        else:
            for t in range(b - a):
                acc += w[t] * np.sqrt(d[t])
        sums_row[cell[a]] += acc
        a = b


@njit(nogil=True, cache=True, boundscheck=False)
def upper_block_row(points_t, weights, cell, run_end, i0, i1, block, sums, back, buf):
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
                _add_row(points_t, weights, cell, run_end, i, start, j1, weights[i], sums[i], back, buf)
        j0 = j1


@njit(nogil=True, cache=True, boundscheck=False)
def rows_against_all(points_t, weights, cell, run_end, rows, r0, r1, block, sums, buf):
    """sums[r] += sum_j w_j d(rows[r], j) over all points j, for r in r0..r1-1."""
    m = points_t.shape[1]
    no_back = np.zeros((0, 0))
    j0 = 0
    while j0 < m:
        j1 = min(j0 + block, m)
        for r in range(r0, r1):
            _add_row(points_t, weights, cell, run_end, rows[r], j0, j1, 0.0, sums[r], no_back, buf)
        j0 = j1


@njit(nogil=True, cache=True, boundscheck=False)
def nearest_centre(X, centres, out):
    """out[i] = index of the centre nearest to row i (squared distances; ties -> lowest index)."""
    n, d = X.shape
    k = centres.shape[0]
    for i in range(n):
        best = np.inf
        best_c = 0
        for c in range(k):
            dist = 0.0
            for f in range(d):
                diff = X[i, f] - centres[c, f]
                dist += diff * diff
            if dist < best:
                best = dist
                best_c = c
        out[i] = best_c
    return out


def compile_now() -> None:
    """Compile (or load from Numba's cache) every kernel, so a first analysis does not wait."""
    points_t = np.zeros((1, 3))
    weights = np.ones(3)
    cell = np.zeros(3, dtype=np.int64)
    run_end = np.full(3, 3, dtype=np.int64)
    sums = np.zeros((3, 1))
    buf = np.empty(4)
    upper_block_row(points_t, weights, cell, run_end, 0, 3, 4, sums, np.zeros((1, 3)), buf)
    rows_against_all(points_t, weights, cell, run_end, np.arange(3, dtype=np.int64), 0, 3, 4, sums, buf)
    nearest_centre(np.zeros((3, 1)), np.zeros((2, 1)), np.empty(3, dtype=np.intp))


if __name__ == "__main__":  # scripts/setup.sh runs this once after installing
    compile_now()
