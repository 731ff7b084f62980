"""Evidence for choosing the number of clusters, and a recommendation that can say "no clear k".

For every k in the range, :func:`evaluate_k` reports

* ``inertia`` — within-cluster sum of squares (KMeans' ``inertia_``; for Ward the same sum
  around the Ward cluster means), with an automatic elbow (:func:`find_elbow`);
* ``silhouette`` — exact (custseg's own, equal to scikit-learn's) up to ``exact_limit`` rows,
  else sampled with a 95 % CI; the ``silhouette_method`` column says which;
* ``calinski_harabasz`` and ``davies_bouldin`` — scikit-learn's;
* ``stability_ari_mean``/``_std`` — the clustering is refitted on bootstrap resamples of the
  customers; every customer is assigned to the nearest centre of the resample's fit and of the
  full fit, and the two partitions are compared with the adjusted Rand index (1 = identical);
* ``null_silhouette`` — the silhouette the same method reaches on data *without* clusters that
  has the same size (up to ``null_sample_size`` rows) and spread: a Gaussian with the data's
  mean and covariance, and a uniform box aligned with the data's principal axes (the gap
  statistic's reference). ``null_silhouette_upper`` is the larger of the two models'
  mean + 2 standard deviations over ``null_resamples`` draws (at least mean + 0.02).

Fits inside the table are the same as :func:`~custseg.cluster.fit.fit_clusters` makes for that
k (same canonical row order and seed), so the table's numbers describe the final model.

:func:`recommend_k` turns the table into a k, or ``None`` ("no clear k"), with a plain-English
reason and the table of which criterion prefers which k. The rule is documented there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from custseg.errors import InputError

from .criteria import adjusted_rand_codes, calinski_davies, null_reference, stability
from .fit import METHODS, canonical_rows
from .partitions import fit_partitions
from .recommend import DEFAULT_STABILITY_THRESHOLD, Elbow, find_elbow
from .sampling import uniform_rows
from .silhouette import DEFAULT_EXACT_LIMIT, DEFAULT_SAMPLE_SIZE, SilhouetteResult, _n_jobs, measure_silhouettes
from .ward import DEFAULT_MEMORY_BUDGET, DEFAULT_MICRO_CLUSTERS, WardTree, ward_tree

__all__ = ["ARI_RANGE", "DEFAULT_STABILITY_THRESHOLD", "Evidence", "evaluate_k", "evidence_table", "ward_linkage"]

DEFAULT_K_RANGE = range(2, 15)
DEFAULT_STABILITY_RESAMPLES = 10
DEFAULT_NULL_RESAMPLES = 3
DEFAULT_NULL_SAMPLE_SIZE = 2000
#: The adjusted Rand index lies in [-0.5, 1] (Chacón & Rastrojo 2023): error bars are clipped to it.
ARI_RANGE = (-0.5, 1.0)
#: Customers per micro-cluster on which the dendrogram's micro-clusters are placed (ward_linkage).
DRAWING_ROWS_PER_LEAF = 50


@dataclass
class Evidence:
    """Per-k evidence (``table``, indexed by k) and how it was obtained."""

    table: pd.DataFrame
    method: str
    method_label: str
    n_rows: int
    elbow: Elbow
    silhouettes: dict[int, SilhouetteResult]
    ward_tree: WardTree | None
    params: dict
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: per k, the cluster code (0..k-1) of every row in customer-id order: lets a final fit that
    #: found the same partition reuse this k's silhouette instead of computing it again
    partitions: dict[int, np.ndarray] = field(default_factory=dict)
    #: per k (KMeans), the centres and inertia of the fit on every row: the final fit of a chosen
    #: k with the same parameters is this very fit (same rows, order and seed), not a second one
    kmeans_fits: dict[int, tuple[np.ndarray, float]] = field(default_factory=dict)
    #: the population's size when the evidence was measured on a uniform random sample of
    #: ``n_rows`` of its rows (:mod:`custseg.cluster.sampling`); None: on every row
    sampled_from: int | None = None

    def kmeans_fit_for(self, k: int, *, n_rows: int, random_state: int, n_init, max_iter: int
                       ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """(codes, centres, inertia) of this k's KMeans fit on the same ``n_rows`` rows with the
        same parameters, or None when the evidence did not make that fit."""
        p = self.params
        if k not in self.kmeans_fits or self.n_rows != n_rows:  # kmeans_fits has the k's of partitions
            return None
        if (p.get("random_state"), p.get("n_init"), p.get("max_iter")) != (random_state, n_init, max_iter):
            return None
        centres, inertia = self.kmeans_fits[k]
        return self.partitions[k].astype(np.intp), centres, inertia

    def silhouette_if_same(self, codes: np.ndarray, k: int, *, exact_limit: int, sample_size: int,
                           random_state: int) -> SilhouetteResult | None:
        """This k's silhouette when ``codes`` (customer-id order) is the same partition, measured
        the same way (limit, sample size and seed); else None."""
        known, result = self.partitions.get(k), self.silhouettes.get(k)
        p = self.params
        if known is None or result is None or known.shape != codes.shape:
            return None
        if (p.get("exact_limit"), p.get("silhouette_sample_size"), p.get("random_state")) != (exact_limit, sample_size, random_state):
            return None
        return result if adjusted_rand_codes(known.astype(np.int64), codes.astype(np.int64), k) == 1.0 else None


# ----------------------------------------------------------------------------- evaluate_k


def evidence_table(ks, partitions: dict, silhouettes: dict, ch: dict, db: dict, stability: dict, null: dict) -> pd.DataFrame:
    """The per-k evidence table (indexed by k) from what each criterion measured.

    ``partitions``: k -> (codes 0..k-1, inertia); the dicts map k to a value (``stability`` and
    ``null`` to pairs); a k a criterion did not measure gets NaN. Shared by every engine.
    """
    rows = []
    for k in ks:
        codes, inertia = partitions[k]
        sizes = np.bincount(codes, minlength=k)
        s = silhouettes.get(k)
        rows.append(
            {
                "k": k,
                "inertia": inertia,
                "silhouette": np.nan if s is None else s.value,
                "silhouette_method": None if s is None else s.method,
                "silhouette_ci_low": np.nan if s is None or s.ci is None else s.ci[0],
                "silhouette_ci_high": np.nan if s is None or s.ci is None else s.ci[1],
                "calinski_harabasz": ch.get(k, np.nan),
                "davies_bouldin": db.get(k, np.nan),
                "stability_ari_mean": stability.get(k, (np.nan, np.nan))[0],
                "stability_ari_std": stability.get(k, (np.nan, np.nan))[1],
                "null_silhouette": null.get(k, (np.nan, np.nan))[0],
                "null_silhouette_upper": null.get(k, (np.nan, np.nan))[1],
                "smallest_cluster": int(sizes.min()),
                "largest_cluster": int(sizes.max()),
            }
        )
    return pd.DataFrame(rows).set_index("k")


def evaluate_k(
    X,
    k_range: Sequence[int] = DEFAULT_K_RANGE,
    *,
    method: str = "kmeans",
    index=None,
    random_state: int = 42,
    n_init: int | str = "auto",
    max_iter: int = 300,
    stability_resamples: int = DEFAULT_STABILITY_RESAMPLES,
    stability_sample_size: int | None = None,
    null_resamples: int = DEFAULT_NULL_RESAMPLES,
    null_sample_size: int = DEFAULT_NULL_SAMPLE_SIZE,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    silhouette_sample_size: int = DEFAULT_SAMPLE_SIZE,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    n_micro_clusters: int = DEFAULT_MICRO_CLUSTERS,
    n_jobs: int | None = None,
    sample_size: int | None = None,
) -> Evidence:
    """Evidence for every k in ``k_range`` (k = 1 gets inertia only); see the module docstring.

    ``X`` may be a :class:`~custseg.cluster.prepare.PreparedData`. ``stability_resamples=0`` or
    ``null_resamples=0`` skip those columns (then :func:`recommend_k` cannot vouch for a k).
    Above ``sample_size`` rows every criterion is measured on a uniform random sample of that
    many (why the criteria allow it: :mod:`custseg.cluster.sampling`); the notes say so, and a
    final fit is then made on every row (:func:`~custseg.cluster.fit.fit_clusters`).
    """
    from .prepare import PreparedData

    if isinstance(X, PreparedData):
        X, index = X.X, X.index
    if method not in METHODS:
        raise InputError(f"clustering method must be one of {', '.join(METHODS)}; got {method!r}")
    Xs, _, _ = canonical_rows(X, index)
    population = Xs.shape[0]
    sample = uniform_rows(population, sample_size, random_state)
    if sample is not None:
        Xs = Xs[sample]
    n = Xs.shape[0]
    ks = sorted({int(k) for k in k_range})
    if not ks or ks[0] < 1 or ks[-1] > n - 1:
        raise InputError(f"k range must lie between 1 and {n - 1} (customers - 1); got {ks[0] if ks else 'nothing'}..{ks[-1] if ks else ''}")
    if method == "ward" and ks[-1] > n_micro_clusters:
        raise InputError(f"k up to {ks[-1]} needs at least that many Ward micro-clusters; raise n_micro_clusters")
    timings: dict[str, float] = {}
    rng = np.random.default_rng(random_state)
    jobs = _n_jobs(n_jobs)

    t0 = time.perf_counter()
    parts, tree = fit_partitions(
        Xs, ks, method, random_state=random_state, n_init=n_init, max_iter=max_iter,
        memory_budget=memory_budget, n_micro_clusters=n_micro_clusters, n_jobs=jobs,
    )
    timings["fit"] = time.perf_counter() - t0
    multi = [k for k in ks if k >= 2 and len(np.unique(parts[k][0])) >= 2]

    t0 = time.perf_counter()
    sil_list = measure_silhouettes(
        Xs, [parts[k][0] for k in multi], exact_limit=exact_limit, sample_size=silhouette_sample_size,
        random_state=random_state, n_jobs=n_jobs,
    )
    silhouettes = dict(zip(multi, sil_list))
    timings["silhouette"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ch, db = {}, {}
    for k in multi:
        ch[k], db[k] = calinski_davies(Xs, parts[k][0])
    timings["calinski_davies"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    stab = stability(
        Xs, ks, parts, method, rng, stability_resamples, n_init=n_init, max_iter=max_iter,
        memory_budget=memory_budget, n_micro_clusters=n_micro_clusters, n_jobs=jobs,
        sample_size=stability_sample_size,
    )
    timings["stability"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    null = null_reference(
        Xs, multi, method, rng, null_resamples, null_sample_size, n_init=n_init, max_iter=max_iter,
        memory_budget=memory_budget, n_micro_clusters=n_micro_clusters, n_jobs=jobs,
    )
    timings["null_reference"] = time.perf_counter() - t0

    table = evidence_table(ks, {k: (parts[k][0], parts[k][2]) for k in ks}, silhouettes, ch, db, stab, null)
    elbow = find_elbow(table.index, table["inertia"])
    notes = list(tree.notes) if tree is not None else []
    if sample is not None:
        notes.append(
            f"The evidence for k is measured on a uniform random sample of {n:,} of the {population:,} customers "
            f"(above {sample_size:,} a sample shows the same structure; the chosen k is then fitted on all of them)."
        )
    if sil_list and sil_list[0].method == "sampled":
        notes.append(
            f"The evidence's silhouette for each k is sampled ({sil_list[0].n_evaluated:,} of {n:,} customers, 95% CI shown): "
            f"the population exceeds the evidence's exact limit of {exact_limit:,}."
        )
    return Evidence(
        table=table,
        method=method,
        method_label=tree.method_label if tree is not None else "kmeans",
        n_rows=n,
        elbow=elbow,
        silhouettes=silhouettes,
        partitions={k: parts[k][0].astype(np.int16 if k < 2**15 else np.int64) for k in multi},
        kmeans_fits={k: (parts[k][1], parts[k][2]) for k in multi} if method == "kmeans" else {},
        ward_tree=tree,
        params={
            "k_range": ks,
            "random_state": random_state,
            "n_init": n_init,
            "max_iter": max_iter,
            "stability_resamples": stability_resamples,
            "stability_sample_size": stability_sample_size,
            "null_resamples": null_resamples,
            "null_sample_size": null_sample_size,
            "exact_limit": exact_limit,
            "silhouette_sample_size": silhouette_sample_size,
            "memory_budget": memory_budget,
            "n_micro_clusters": n_micro_clusters,
            "sample_size": sample_size,
        },
        timings=timings,
        notes=notes,
        sampled_from=population if sample is not None else None,
    )


# ----------------------------------------------------------------------------- dendrogram


def ward_linkage(
    X,
    *,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    max_leaves: int = DEFAULT_MICRO_CLUSTERS,
    random_state: int = 42,
    index=None,
    rows_per_leaf: int | None = DRAWING_ROWS_PER_LEAF,
) -> WardTree:
    """Ward tree for the dendrogram: scipy's on all rows when it fits ``memory_budget``, else on
    at most ``max_leaves`` weighted micro-clusters (``WardTree.method_label`` says which).

    The micro-clusters are placed on ``rows_per_leaf`` x ``max_leaves`` customers drawn at random
    (None: on all), and every customer joins its nearest one (see ``micro_clusters``): at 10M
    customers the drawing's tree then costs one nearest-centre pass instead of a KMeans.
    Pass ``WardTree.linkage`` to ``scipy.cluster.hierarchy.dendrogram`` (truncate for display).
    ``X`` may be a :class:`~custseg.cluster.prepare.PreparedData`.
    """
    from .prepare import PreparedData

    if isinstance(X, PreparedData):
        X, index = X.X, X.index
    Xs, _, _ = canonical_rows(X, index)
    return ward_tree(Xs, memory_budget=memory_budget, n_micro_clusters=max_leaves, random_state=random_state,
                     fit_rows=None if rows_per_leaf is None else rows_per_leaf * max_leaves)
