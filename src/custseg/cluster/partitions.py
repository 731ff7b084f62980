"""The fits behind the evidence: one partition per k (KMeans fits side by side, or one Ward tree cut at every k)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .centroids import cluster_means, within_ss
from .fit import kmeans_fit
from .threads import limit_this_thread, single_threaded
from .ward import ward_tree

__all__ = ["fit_partitions", "kmeans_for", "map_in_threads"]


def kmeans_for(X, k, seed, n_init, max_iter, limit_threads=True):
    return kmeans_fit(X, k, random_state=seed, n_init=n_init, max_iter=max_iter, limit_threads=limit_threads)


def map_in_threads(func, items: list, n_jobs: int) -> list:
    """``[func(x) for x in items]`` on ``n_jobs`` threads, results in order.

    Each call is an independent single-threaded fit (native pools limited to one thread), so
    the results do not depend on ``n_jobs``; KMeans and BLAS release the GIL. OpenMP's thread
    count is a per-thread setting: each worker limits its own once, when it starts.
    """
    with single_threaded():
        if n_jobs <= 1 or len(items) <= 1:
            return [func(x) for x in items]
        with ThreadPoolExecutor(max_workers=n_jobs, initializer=limit_this_thread) as pool:
            return list(pool.map(func, items))


def fit_partitions(X, ks, method, *, random_state, n_init, max_iter, memory_budget, n_micro_clusters, limit_threads=True,
                n_jobs=1):
    """Codes, centres and inertia per k; for Ward one tree cut at every k.

    ``n_jobs`` > 1 fits the k's side by side (each fit single-threaded, so the same result);
    ``limit_threads=False`` when the caller already limits native pools (inside a thread pool).
    """
    out: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}
    tree = None
    if method == "ward":
        tree = ward_tree(X, memory_budget=memory_budget, n_micro_clusters=n_micro_clusters, random_state=random_state)
        for k in ks:
            codes = tree.cut(k)
            centres = cluster_means(X, codes, k)
            out[k] = (codes, centres, within_ss(X, codes, centres))
        return out, tree
    if n_jobs > 1 and limit_threads:
        # largest k first: the longest fits start first and the short ones fill the end
        descending = sorted(ks, reverse=True)
        fitted = dict(zip(descending, map_in_threads(lambda k: kmeans_for(X, k, random_state, n_init, max_iter, False), descending, n_jobs)))
        fits = [fitted[k] for k in ks]
    else:
        fits = [kmeans_for(X, k, random_state, n_init, max_iter, limit_threads) for k in ks]
    for k, km in zip(ks, fits):
        out[k] = (km.labels_.astype(np.intp), km.cluster_centers_, float(km.inertia_))
    return out, tree
