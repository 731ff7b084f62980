"""Small, pure helpers for the clustering-evidence views (elbow, dendrogram cut)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def elbow_k(ks: Sequence[float], inertia: Sequence[float]) -> int | None:
    """The elbow of a decreasing inertia curve, or None when there is none.

    Kneedle-style: scale k and inertia to [0, 1], draw the chord from the first to the last
    point and take the k whose point lies furthest *below* the chord. Needs three or more
    points with a finite inertia; a straight or concave curve has no elbow.
    """
    k = np.asarray(ks, dtype=float)
    y = np.asarray(inertia, dtype=float)
    keep = np.isfinite(k) & np.isfinite(y)
    k, y = k[keep], y[keep]
    if k.size < 3:
        return None
    order = np.argsort(k)
    k, y = k[order], y[order]
    if k[-1] == k[0] or y.max() == y.min():
        return None
    x = (k - k[0]) / (k[-1] - k[0])
    yn = (y - y.min()) / (y.max() - y.min())
    chord = yn[0] + (yn[-1] - yn[0]) * x
    gap = chord - yn
    i = int(np.argmax(gap))
    if gap[i] <= 1e-12:
        return None
    return int(k[i])


def dendrogram_cut(linkage: np.ndarray, k: int) -> float | None:
    """Height at which cutting the tree leaves ``k`` clusters (midway between two merges).

    With n observations and merge heights sorted h_0 <= ... <= h_{n-2}, k clusters remain
    after n - k merges, so the cut lies between h_{n-k-1} (0 when k = n) and h_{n-k}.
    None when k is outside 2..n.
    """
    z = np.asarray(linkage, dtype=float)
    if z.ndim != 2 or z.shape[0] < 1:
        return None
    n = z.shape[0] + 1
    if not 2 <= k <= n:
        return None
    h = np.sort(z[:, 2])
    lower = h[n - k - 1] if n - k - 1 >= 0 else 0.0
    upper = h[n - k]
    return float((lower + upper) / 2)
