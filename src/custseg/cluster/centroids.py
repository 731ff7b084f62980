"""Cluster centres: canonical cluster order, nearest centre, means and within-cluster sum of squares."""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_order", "canonical_relabel", "cluster_means", "nearest_centroid", "within_ss"]


def canonical_order(codes: np.ndarray, k: int) -> np.ndarray:
    """Old code of each new cluster: largest first, ties by smallest row position.

    ``codes`` (0..k-1) must follow the canonical (customer-id sorted) row order, so "smallest
    row position" is "smallest customer id".
    """
    sizes = np.bincount(codes, minlength=k)
    first = np.full(k, codes.size, dtype=np.int64)
    np.minimum.at(first, codes, np.arange(codes.size))
    return np.lexsort((first, -sizes))


def canonical_relabel(codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels 1..k in canonical order, and the old code of each new label (index label-1)."""
    order = canonical_order(codes, k)
    new_of_old = np.empty(k, dtype=np.intp)
    new_of_old[order] = np.arange(1, k + 1)
    return new_of_old[codes], order


def nearest_centroid(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each row (exact squared distances; ties -> lowest index)."""
    from ._kernels import nearest_centre

    X = np.ascontiguousarray(X, dtype=np.float64)
    centroids = np.ascontiguousarray(centroids, dtype=np.float64)
    if X.ndim != 2 or centroids.ndim != 2 or X.shape[1] != centroids.shape[1] or not len(centroids):
        raise ValueError(f"rows {X.shape} and centres {centroids.shape} must be 2-D with the same columns")
    return nearest_centre(X, centroids, np.empty(X.shape[0], dtype=np.intp))


def within_ss(X: np.ndarray, codes: np.ndarray, centroids: np.ndarray) -> float:
    """Sum of squared distances of the rows to their cluster's centre (KMeans' inertia)."""
    diff = X - centroids[codes]
    return float(np.einsum("ij,ij->", diff, diff))


def cluster_means(X: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    """Mean row of each cluster 0..k-1."""
    sizes = np.bincount(codes, minlength=k).astype(np.float64)
    sums = np.zeros((k, X.shape[1]))
    np.add.at(sums, codes, X)
    return sums / sizes[:, None]
