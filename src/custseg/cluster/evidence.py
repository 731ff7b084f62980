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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from custseg.errors import InputError

from .fit import METHODS, canonical_rows, cluster_means, kmeans_fit, limit_this_thread, nearest_centroid, single_threaded, within_ss
from .silhouette import (
    DEFAULT_EXACT_LIMIT,
    DEFAULT_SAMPLE_SIZE,
    SilhouetteResult,
    _n_jobs,
    measure_silhouettes,
    silhouette_exact_many,
)
from .ward import DEFAULT_MEMORY_BUDGET, DEFAULT_MICRO_CLUSTERS, WardTree, exact_ward_bytes, ward_tree

__all__ = [
    "Elbow",
    "Evidence",
    "Recommendation",
    "evaluate_k",
    "find_elbow",
    "recommend_k",
    "ward_linkage",
]

DEFAULT_K_RANGE = range(2, 15)
DEFAULT_STABILITY_RESAMPLES = 10
DEFAULT_NULL_RESAMPLES = 3
DEFAULT_NULL_SAMPLE_SIZE = 2000
#: Mean bootstrap ARI from which a k counts as stable: the one threshold of custseg (k choice,
#: the stability chart's line, the report's wording). Hennig's "stable" range starts near
#: 0.75-0.85; 0.8 is its middle, and k is chosen with it, so chart and text must use it too.
DEFAULT_STABILITY_THRESHOLD = 0.8
#: The adjusted Rand index lies in [-0.5, 1] (Chacón & Rastrojo 2023): error bars are clipped to it.
ARI_RANGE = (-0.5, 1.0)
#: Customers per micro-cluster on which the dendrogram's micro-clusters are placed (ward_linkage).
DRAWING_ROWS_PER_LEAF = 50
#: Smallest margin by which the silhouette must beat the no-structure reference.
NULL_MARGIN = 0.02


@dataclass(frozen=True)
class Elbow:
    """Elbow of the inertia curve: ``k`` (None when the curve has no bend) and ``strength``.

    ``strength`` is the largest gap between the chord and the curve once both axes are scaled
    to [0, 1]: 0 for a straight line, up to 1 for an L shape.
    """

    k: int | None
    strength: float


def find_elbow(ks: Sequence[int], inertia: Sequence[float]) -> Elbow:
    """Kneedle-style elbow: the point of the normalised curve farthest below the chord.

    Both axes are scaled to [0, 1]; for a decreasing convex curve the chord runs from (0, 1) to
    (1, 0) and the elbow is the k maximising ``(1 - x) - y``. Needs three or more points.
    """
    ks = np.asarray(ks, dtype=float)
    y = np.asarray(inertia, dtype=float)
    ok = np.isfinite(y)
    ks, y = ks[ok], y[ok]
    if ks.size < 3 or y.max() == y.min():
        return Elbow(None, 0.0)
    order = np.argsort(ks)
    ks, y = ks[order], y[order]
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    yn = (y - y.min()) / (y.max() - y.min())
    gap = (1 - x) - yn
    i = int(np.argmax(gap))
    if gap[i] <= 1e-9:  # a straight (or concave) curve has no elbow
        return Elbow(None, 0.0)
    return Elbow(int(ks[i]), float(gap[i]))


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


@dataclass
class Recommendation:
    """``k`` (None = no clear k), the reason in words, and the criteria's preferences.

    ``votes``: one row per criterion with the k it prefers and its value there.
    ``checks``: per k, whether it is stable and above the no-structure reference, and which
    criteria prefer it.
    """

    k: int | None
    reason: str
    votes: pd.DataFrame
    checks: pd.DataFrame


# ----------------------------------------------------------------------------- fitting helpers


def _kmeans(X, k, seed, n_init, max_iter, limit_threads=True):
    return kmeans_fit(X, k, random_state=seed, n_init=n_init, max_iter=max_iter, limit_threads=limit_threads)


def _map_in_threads(func, items: list, n_jobs: int) -> list:
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


def _partitions(X, ks, method, *, random_state, n_init, max_iter, memory_budget, n_micro_clusters, limit_threads=True,
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
        fitted = dict(zip(descending, _map_in_threads(lambda k: _kmeans(X, k, random_state, n_init, max_iter, False), descending, n_jobs)))
        fits = [fitted[k] for k in ks]
    else:
        fits = [_kmeans(X, k, random_state, n_init, max_iter, limit_threads) for k in ks]
    for k, km in zip(ks, fits):
        out[k] = (km.labels_.astype(np.intp), km.cluster_centers_, float(km.inertia_))
    return out, tree


def _null_shape(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What the null models keep of X: mean, covariance, principal axes and the range along them."""
    mean = X.mean(axis=0)
    centred = X - mean
    cov = np.atleast_2d(np.cov(centred, rowvar=False))
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    rotated = centred @ vt.T
    return mean, cov, vt, rotated.min(axis=0), rotated.max(axis=0)


def _null_samples(shape: tuple, size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Featureless data with X's spread (``shape`` = :func:`_null_shape` of X): Gaussian (same
    mean, covariance) and PCA-aligned uniform box, drawn in that order from ``rng``."""
    mean, cov, vt, lo, hi = shape
    gauss = rng.multivariate_normal(mean, cov, size=size, method="eigh")
    box = rng.uniform(lo, hi, size=(size, len(mean))) @ vt + mean
    return {"gaussian": gauss, "uniform": box}


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
) -> Evidence:
    """Evidence for every k in ``k_range`` (k = 1 gets inertia only); see the module docstring.

    ``X`` may be a :class:`~custseg.cluster.prepare.PreparedData`. ``stability_resamples=0`` or
    ``null_resamples=0`` skip those columns (then :func:`recommend_k` cannot vouch for a k).
    """
    from .prepare import PreparedData

    if isinstance(X, PreparedData):
        X, index = X.X, X.index
    if method not in METHODS:
        raise InputError(f"clustering method must be one of {', '.join(METHODS)}; got {method!r}")
    Xs, _, _ = canonical_rows(X, index)
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
    parts, tree = _partitions(
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
    stab = _stability(
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
        },
        timings=timings,
        notes=notes,
    )


def calinski_davies(X: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(Calinski–Harabasz, Davies–Bouldin) as ``sklearn.metrics`` computes them, in one pass.

    The same formulas (clusters = the label values present), from per-cluster sums by
    ``bincount`` rather than one boolean mask and copy per cluster: 13 values of k on 93k
    customers take 0.05 s instead of 0.5 s.
    """
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    present, codes = np.unique(labels, return_inverse=True) if labels.dtype.kind not in "iu" else (None, None)
    if codes is None:
        seen = np.bincount(labels) > 0
        codes = (np.cumsum(seen) - 1)[labels]
    k = int(codes.max()) + 1
    if not 2 <= k <= n - 1:
        raise ValueError(f"Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive)")
    counts = np.bincount(codes, minlength=k).astype(np.float64)
    centres = np.column_stack([np.bincount(codes, weights=X[:, j], minlength=k) for j in range(d)]) / counts[:, None]
    diff = X - centres[codes]
    within = float(np.einsum("ij,ij->", diff, diff))
    between = float(counts @ ((centres - X.mean(axis=0)) ** 2).sum(axis=1))
    ch = 1.0 if within == 0.0 else between * (n - k) / (within * (k - 1.0))
    intra = np.bincount(codes, weights=np.sqrt(np.einsum("ij,ij->i", diff, diff)), minlength=k) / counts
    gaps = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
    if np.all(np.isclose(intra, 0.0)) or np.all(np.isclose(gaps, 0.0)):
        return float(ch), 0.0
    gaps[gaps == 0] = np.inf
    db = float(np.mean(np.max((intra[:, None] + intra[None, :]) / gaps, axis=1)))
    return float(ch), db


def adjusted_rand_codes(a: np.ndarray, b: np.ndarray, k: int) -> float:
    """``sklearn.metrics.adjusted_rand_score(a, b)`` for two codings 0..k-1 of the same rows.

    The same formula as scikit-learn (pair confusion matrix from the contingency table), with
    the table counted by one ``bincount`` instead of two ``np.unique`` sorts: the stability
    column computes ~130 of these on every row of the population.
    """
    n = a.size
    table = np.bincount(a.astype(np.int64) * k + b, minlength=k * k).reshape(k, k).astype(np.int64)
    sum_squares = int((table * table).sum())
    rows = table.sum(axis=1)
    cols = table.sum(axis=0)
    tp = sum_squares - n
    fp = int(cols @ cols) - sum_squares  # sklearn's C[0, 1]: pairs together in b only
    fn = int(rows @ rows) - sum_squares  # sklearn's C[1, 0]: pairs together in a only
    tn = n * n - fp - fn - sum_squares
    if fn == 0 and fp == 0:
        return 1.0
    return float(2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)))


def _stability(X, ks, parts, method, rng, n_resamples, *, n_jobs, sample_size=None, **fit_kw) -> dict[int, tuple[float, float]]:
    """Mean and std of the ARI between full-data and bootstrap fits (nearest-centre partitions).

    With ``sample_size`` below n, each resample draws that many rows with replacement (the
    m-out-of-n bootstrap): the fits get cheaper, and the ARI is still measured on every row.
    """
    multi = [k for k in ks if k >= 2]
    if n_resamples <= 0 or not multi:
        return {}
    n = X.shape[0]
    m = n if not sample_size else min(n, int(sample_size))
    reference = {k: nearest_centroid(X, parts[k][1]) for k in multi}
    seeds = [int(rng.integers(2**31 - 1)) for _ in range(n_resamples)]

    def one_resample(seed: int) -> dict[int, float]:
        sample = X[np.random.default_rng(seed).integers(0, n, size=m)]
        if method == "ward":
            tree = ward_tree(
                sample, memory_budget=fit_kw["memory_budget"], n_micro_clusters=fit_kw["n_micro_clusters"],
                random_state=seed,
            )
        out = {}
        for k in multi:
            if method == "ward":
                codes = tree.cut(k)
                centres = cluster_means(sample, codes, k)
            else:
                # inside _map_in_threads: native pools are limited already
                centres = _kmeans(sample, k, seed, fit_kw["n_init"], fit_kw["max_iter"], limit_threads=False).cluster_centers_
            out[k] = adjusted_rand_codes(reference[k], nearest_centroid(X, centres), k)
        return out

    # Ward's exact path holds up to memory_budget bytes per fit: never run two side by side.
    exact_ward = method == "ward" and exact_ward_bytes(n) <= fit_kw["memory_budget"]
    jobs = 1 if exact_ward else n_jobs
    per_resample = _map_in_threads(one_resample, seeds, jobs)
    scores = {k: [r[k] for r in per_resample] for k in multi}
    return {k: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0) for k, v in scores.items()}


def null_reference(X, ks, method, rng, n_resamples, sample_size, *, n_jobs, **fit_kw):
    """Per k: (largest mean null silhouette, threshold) over the Gaussian and uniform null models."""
    if n_resamples <= 0 or not ks:
        return {}
    size = min(X.shape[0], sample_size)
    seeds = [int(rng.integers(2**31 - 1)) for _ in range(n_resamples)]
    with single_threaded():  # one BLAS thread, as the fits: the same numbers on every machine
        shape = _null_shape(X)  # once: every draw of both models starts from it

    def one_model(task: tuple[int, str]) -> dict[int, float]:
        seed, name = task  # one task per (draw, null model): six tasks balance two threads better than three
        data = _null_samples(shape, size, np.random.default_rng(seed))[name]
        parts, _ = _partitions(data, ks, method, random_state=seed, limit_threads=False, **fit_kw)
        usable = [k for k in ks if len(np.unique(parts[k][0])) >= 2]
        sils = silhouette_exact_many(data, [parts[k][0] for k in usable], n_jobs=1)
        return dict(zip(usable, sils))

    models = ("gaussian", "uniform")
    tasks = [(seed, name) for seed in seeds for name in models]
    results = _map_in_threads(one_model, tasks, n_jobs)
    draws = [dict(zip(models, results[i : i + len(models)])) for i in range(0, len(results), len(models))]
    out = {}
    for k in ks:
        means, uppers = [], []
        for model in ("gaussian", "uniform"):
            v = np.asarray([d[model][k] for d in draws if k in d[model]])
            if v.size:
                sd = v.std(ddof=1) if v.size > 1 else 0.0
                means.append(v.mean())
                uppers.append(v.mean() + max(2 * sd, NULL_MARGIN))
        if means:
            out[k] = (float(max(means)), float(max(uppers)))
    return out


# ----------------------------------------------------------------------------- recommendation


def recommend_k(evidence: Evidence, *, stability_threshold: float = DEFAULT_STABILITY_THRESHOLD) -> Recommendation:
    """Recommend a k only when the criteria agree on a k that is stable and beats no-structure data.

    Rule. Four criteria each name their preferred k: highest silhouette, highest
    Calinski–Harabasz, lowest Davies–Bouldin, and the elbow of the inertia curve. A k is
    *eligible* when its mean bootstrap ARI is at least ``stability_threshold`` and its
    silhouette (the low end of the CI when sampled) is above the no-structure reference
    (``null_silhouette_upper``). The
    recommendation is the eligible k preferred by the most criteria, if at least two criteria
    prefer it and no other eligible k has as many. Otherwise the answer is "no clear k", and
    ``votes``/``checks`` show who prefers what. Missing stability or null columns make every k
    ineligible (nothing vouches for it).
    """
    t = evidence.table
    scored = t[t["silhouette"].notna()]
    pref: list[dict] = []

    def add(criterion, k, value, direction):
        pref.append({"criterion": criterion, "preferred_k": None if k is None else int(k), "value": value, "direction": direction})

    if len(scored):
        k_sil = int(scored["silhouette"].idxmax())
        add("silhouette", k_sil, float(scored.loc[k_sil, "silhouette"]), "highest")
        k_ch = int(scored["calinski_harabasz"].idxmax())
        add("calinski_harabasz", k_ch, float(scored.loc[k_ch, "calinski_harabasz"]), "highest")
        k_db = int(scored["davies_bouldin"].idxmin())
        add("davies_bouldin", k_db, float(scored.loc[k_db, "davies_bouldin"]), "lowest")
    elbow_k = evidence.elbow.k if evidence.elbow.k is not None and evidence.elbow.k >= 2 else None
    add("elbow", elbow_k, evidence.elbow.strength, "bend of the inertia curve")
    votes = pd.DataFrame(pref)

    checks = pd.DataFrame(index=scored.index)
    checks["silhouette"] = scored["silhouette"]
    checks["stability_ari_mean"] = scored["stability_ari_mean"]
    checks["stable"] = scored["stability_ari_mean"] >= stability_threshold
    checks["null_silhouette_upper"] = scored["null_silhouette_upper"]
    # a sampled silhouette must beat the reference with the low end of its interval
    silhouette_low = scored["silhouette_ci_low"].fillna(scored["silhouette"])
    checks["beats_no_structure"] = silhouette_low > scored["null_silhouette_upper"]
    checks["eligible"] = checks["stable"] & checks["beats_no_structure"]
    checks["preferred_by"] = [
        ", ".join(v["criterion"] for v in pref if v["preferred_k"] == k) for k in checks.index
    ]
    checks["n_votes"] = [sum(v["preferred_k"] == k for v in pref) for k in checks.index]

    eligible = checks[checks["eligible"]]
    best = eligible["n_votes"].max() if len(eligible) else 0
    winners = list(eligible.index[eligible["n_votes"] == best]) if best else []
    if best >= 2 and len(winners) == 1:
        k = int(winners[0])
        return Recommendation(k, _reason_for(k, evidence, checks, stability_threshold), votes, checks)
    return Recommendation(None, _reason_none(evidence, votes, checks, stability_threshold), votes, checks)


_CRITERION_TEXT = {
    "silhouette": "highest silhouette",
    "calinski_harabasz": "highest Calinski–Harabasz",
    "davies_bouldin": "lowest Davies–Bouldin",
    "elbow": "elbow of the inertia curve",
}


def _and_join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _criteria_text(preferred_by: str) -> str:
    return _and_join([_CRITERION_TEXT[c] for c in preferred_by.split(", ")])


def _sil_text(evidence: Evidence, k: int) -> str:
    s = evidence.silhouettes.get(k)
    return s.label() if s is not None else "n/a"


def _reason_for(k: int, evidence: Evidence, checks: pd.DataFrame, threshold: float) -> str:
    row = evidence.table.loc[k]
    who = _criteria_text(checks.loc[k, "preferred_by"])
    n_resamples = evidence.params.get("stability_resamples")
    return (
        f"k = {k}: preferred by {int(checks.loc[k, 'n_votes'])} of 4 criteria ({who}); "
        f"silhouette {_sil_text(evidence, k)} against {row['null_silhouette']:.3f} on data without clusters "
        f"of the same spread; stable under resampling (mean adjusted Rand index "
        f"{row['stability_ari_mean']:.2f} over {n_resamples} bootstrap resamples, threshold {threshold:g})."
    )


def _why_not(k: int, checks: pd.DataFrame, threshold: float) -> str:
    row = checks.loc[k]
    problems = []
    if pd.isna(row["stability_ari_mean"]) or pd.isna(row["null_silhouette_upper"]):
        return "stability or the no-structure reference was not computed"
    if not row["stable"]:
        problems.append(f"it is not stable under resampling (mean adjusted Rand index {row['stability_ari_mean']:.2f} < {threshold:g})")
    if not row["beats_no_structure"]:
        problems.append(
            f"its silhouette ({row['silhouette']:.3f}) does not beat data without clusters ({row['null_silhouette_upper']:.3f})"
        )
    return " and ".join(problems)


def _reason_none(evidence: Evidence, votes: pd.DataFrame, checks: pd.DataFrame, threshold: float) -> str:
    prefs = "; ".join(
        f"{_CRITERION_TEXT[r.criterion]} at {'no k' if r.preferred_k is None else f'k = {r.preferred_k}'}"
        for r in votes.itertuples()
    )
    if checks.empty:
        return "No clear k: no k in the range could be scored."
    if checks["stability_ari_mean"].isna().all() or checks["null_silhouette_upper"].isna().all():
        return f"No clear k: stability or the no-structure reference was not computed, so no k can be vouched for. Criteria: {prefs}."
    if not checks["beats_no_structure"].any():
        return (
            "No clear k: no k has a silhouette above what the same method finds in data without "
            f"clusters, so the data show no cluster structure. Criteria: {prefs}."
        )
    best = checks["n_votes"].max()
    top = [int(k) for k in checks.index[checks["n_votes"] == best]]
    if best >= 2:
        who = {k: _criteria_text(checks.loc[k, "preferred_by"]) for k in top}
        if len(top) == 1:
            k = top[0]
            detail = f"k = {k} is preferred by {who[k]}, but {_why_not(k, checks, threshold)}"
        else:
            detail = "the criteria split between " + " and ".join(f"k = {k} ({who[k]})" for k in top)
            ineligible = [k for k in top if not checks.loc[k, "eligible"]]
            detail += "".join(f"; k = {k}: {_why_not(k, checks, threshold)}" for k in ineligible)
        return f"No clear k: {detail}. Criteria: {prefs}."
    return f"No clear k: no two criteria prefer the same k. Criteria: {prefs}."


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
