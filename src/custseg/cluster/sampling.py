"""Statistics estimated from a uniform random sample of customers above a size (issue 24).

Which statistics allow it, and why:

* **The evidence for k** (:func:`custseg.cluster.evidence.evaluate_k`, ``sample_size``): inertia,
  silhouette, Calinski-Harabasz, Davies-Bouldin, stability and the no-structure reference describe
  how the population's customers group for each k. A uniform random sample of a million customers
  has the same structure: KMeans' centres on a sample converge to the population's (Pollard,
  "Strong consistency of k-means clustering", 1981), and each criterion is an average over
  customers (or pairs of them) that the sample estimates with an error of order 1/sqrt(sample).
  The table describes the sample's fits, and says so; the k it points to is then fitted on all.
* **A sampled silhouette's reference** (:func:`silhouettes_against_sample`): a sampled silhouette
  already scores a random 5,000 customers; each one's score needs its mean distance to every
  cluster. Against a uniform random reference of a million customers each of those means is
  estimated without bias from ~a million × the cluster's share of members (a 1 %-cluster: ~10,000
  of them), an error far below the interval the 5,000 customers give.

What is never sampled: the final partition (every customer gets the cluster of a fit on all
customers: no sample can assign them), and the sizes, profiles and comparisons of the clusters.
Exact silhouettes (n² distances) stay under their configured limits, and exact Ward under its
memory budget, so no step does n² work on a large population.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

__all__ = ["DEFAULT_EVIDENCE_SAMPLE_SIZE", "DEFAULT_REFERENCE_SIZE", "silhouettes_against_sample", "uniform_rows"]

#: The evidence for k is measured on at most this many customers (config: evidence_sample_size).
DEFAULT_EVIDENCE_SAMPLE_SIZE = 1_000_000
#: A sampled silhouette scores its customers against at most this many (config: silhouette_reference_size).
DEFAULT_REFERENCE_SIZE = 1_000_000


def uniform_rows(n: int, size: int | None, random_state: int) -> np.ndarray | None:
    """Row numbers (sorted) of a uniform random sample of ``size`` of ``n`` rows without
    replacement, or None when there are no more than ``size`` rows (or no size is set)."""
    if not size or n <= size:
        return None
    # a generator of its own: the draws of the statistics after it stay those of the unsampled run
    return np.sort(np.random.default_rng([int(random_state), 24]).choice(n, size=int(size), replace=False))


def silhouettes_against_sample(X: np.ndarray, labelings: Sequence, *, reference_size: int, sample_size: int,
                               random_state: int, n_jobs: int | None = None) -> list:
    """Sampled silhouettes (see :func:`custseg.cluster.silhouette.silhouette_sampled_many`) whose
    customers are scored against a uniform random reference of ``reference_size`` customers
    instead of all ``n``; the results say so (``n_reference``). A cluster with no customer in the
    reference has no per-cluster value (NaN)."""
    from .silhouette import silhouette_sampled_many

    n = X.shape[0]
    rows = uniform_rows(n, reference_size, random_state)
    labelings = [np.asarray(labels) for labels in labelings]
    if rows is None:
        return silhouette_sampled_many(X, labelings, sample_size=sample_size, random_state=random_state, n_jobs=n_jobs)
    results = silhouette_sampled_many(X[rows], [labels[rows] for labels in labelings], sample_size=sample_size,
                                      random_state=random_state, n_jobs=n_jobs)
    out = []
    for labels, result in zip(labelings, results):
        present = np.unique(labels[rows])
        per_cluster = dict(zip(present.tolist(), result.per_cluster or ()))
        full = tuple(float(per_cluster.get(c, np.nan)) for c in np.unique(labels).tolist())
        out.append(replace(result, n_total=n, n_reference=int(rows.size), per_cluster=full))
    return out


def kmeans_from_sample(X: np.ndarray, centres: np.ndarray, *, max_iter: int = 300) -> tuple[np.ndarray, np.ndarray, float]:
    """KMeans on every row of X (Lloyd's iterations to convergence) started from the centres of
    the evidence's fit on a sample of X: (codes 0..k-1, centres, inertia).

    A full fit: every customer is assigned and every centre is the mean of its customers, as a
    fit from k-means++ seeds would end; started where the sample's fit (seeded by k-means++ on a
    million customers) ended, it needs a few passes over the rows instead of ~30 (a full fit on
    10M customers took ~20 s).
    """
    from sklearn.cluster import KMeans

    from .threads import single_threaded

    km = KMeans(n_clusters=len(centres), init=np.asarray(centres, dtype=np.float64), n_init=1, max_iter=max_iter)
    with single_threaded():  # as every fit of custseg: the same numbers on every machine
        km.fit(X)
    return km.labels_.astype(np.intp), km.cluster_centers_, float(km.inertia_)
