"""Fit the final clustering, name clusters 1..k canonically, predict, save and load.

Canonical labels. Cluster 1 is the largest, then by decreasing size; equal sizes are ordered by
the smallest customer id they contain. Rows are fitted in customer-id order (the order
:func:`~custseg.cluster.prepare.prepare_features` returns; :func:`fit_clusters` sorts again when
given an unsorted index), so shuffling the input rows gives the same clusters *and* the same
numbers. On the same matrix in the same order the partition is exactly scikit-learn's
``KMeans(n_clusters=k, init='k-means++', random_state=...)`` or
``AgglomerativeClustering(n_clusters=k)`` (Ward), only renamed.

Prediction for new customers is "nearest cluster centre" for both methods (Ward's centres are
its cluster means). The saved model is a folder with ``model.json`` and ``centroids.npy``: no
pickle, readable by anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from custseg.errors import InputError
from custseg.ids import strictly_increasing

from .centroids import canonical_order, canonical_relabel, cluster_means, nearest_centroid, within_ss
from .prepare import FeatureTransform, PreparedData
from .threads import single_threaded
from .ward import DEFAULT_MEMORY_BUDGET, DEFAULT_MICRO_CLUSTERS, ward_tree

__all__ = [
    "METHODS",
    "ClusterModel",
    "canonical_order",
    "canonical_relabel",
    "canonical_rows",
    "cluster_means",
    "fit_clusters",
    "nearest_centroid",
    "within_ss",
]

from custseg.config import METHODS  # noqa: E402 - one list for the config check and this stage
MODEL_FORMAT = "custseg.cluster_model"
MODEL_VERSION = 1


def kmeans_fit(
    X: np.ndarray, k: int, *, random_state: int, n_init: int | str = "auto", max_iter: int = 300,
    limit_threads: bool = True,
) -> KMeans:
    """``KMeans(n_clusters=k, init='k-means++', random_state=...)`` fitted single-threaded.

    ``limit_threads=False`` when the caller already holds :func:`single_threaded` (entering it
    costs ~3 ms, as much as fitting 5,000 rows; the stability resamples fit 130 times).
    """
    km = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=max_iter, random_state=random_state)
    if not limit_threads:
        return km.fit(X)
    with single_threaded():
        return km.fit(X)


@dataclass
class ClusterModel:
    """A fitted segmentation: cluster centres in the prepared feature space, and labels 1..k.

    ``labels`` is indexed by customer id (in the order the rows were given). ``centroids[c-1]``
    is the centre of cluster ``c``. ``method_label`` says how the fit was made, e.g.
    ``'ward (on 2,000 micro-clusters)'``; ``notes`` explain any approximation in plain words.
    """

    method: str
    method_label: str
    k: int
    centroids: np.ndarray
    sizes: np.ndarray
    inertia: float
    random_state: int
    features: list[str]
    labels: pd.Series | None = None
    transform: FeatureTransform | None = None
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def predict(self, X) -> np.ndarray:
        """Cluster (1..k) of each row of a prepared matrix: the nearest centre."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.centroids.shape[1]:
            raise InputError(
                f"expected {self.centroids.shape[1]} prepared features ({', '.join(self.features)}), "
                f"got a matrix of shape {X.shape}"
            )
        if not np.isfinite(X).all():
            raise InputError("the prepared matrix has missing or infinite values")
        return nearest_centroid(X, self.centroids) + 1

    def assign(self, frame: pd.DataFrame) -> pd.Series:
        """Cluster of each new customer (raw features, index = customer id).

        Customers with a missing feature get ``<NA>``. Needs the model's fitted preparation.
        """
        if self.transform is None:
            raise InputError("this model was saved without its feature preparation; cannot assign raw data")
        X, kept, missing = self.transform.transform_frame(frame)
        labels = pd.Series(pd.NA, index=frame.index, dtype="Int64", name="cluster")
        if len(kept):
            labels.loc[kept] = self.predict(X)
        return labels

    # -------------------------------------------------------------------------- persistence

    def save(self, directory) -> Path:
        """Write ``model.json`` and ``centroids.npy`` into ``directory`` (created if needed)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "centroids.npy", np.ascontiguousarray(self.centroids), allow_pickle=False)
        meta = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "method": self.method,
            "method_label": self.method_label,
            "k": self.k,
            "features": list(self.features),
            "sizes": [int(s) for s in self.sizes],
            "inertia": self.inertia,
            "random_state": self.random_state,
            "params": self.params,
            "notes": list(self.notes),
            "transform": None if self.transform is None else self.transform.to_dict(),
            "centroids_file": "centroids.npy",
        }
        (path / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory) -> "ClusterModel":
        """Read a model written by :meth:`save`; labels of the training customers are not stored."""
        path = Path(directory)
        meta_path = path / "model.json"
        if not meta_path.is_file():
            raise InputError(f"{path} is not a saved custseg model (no model.json); pass the model folder")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{meta_path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if meta.get("format") != MODEL_FORMAT:
            raise InputError(f"{meta_path} is not a custseg cluster model")
        if meta.get("version") != MODEL_VERSION:
            raise InputError(
                f"{meta_path} has model version {meta.get('version')}; this custseg reads version {MODEL_VERSION}"
            )
        centroids = np.load(path / meta["centroids_file"], allow_pickle=False)
        if centroids.shape != (meta["k"], len(meta["features"])):
            raise InputError(f"{path / meta['centroids_file']} does not match model.json (shape {centroids.shape})")
        return cls(
            method=meta["method"],
            method_label=meta["method_label"],
            k=int(meta["k"]),
            centroids=centroids,
            sizes=np.asarray(meta["sizes"], dtype=np.int64),
            inertia=float(meta["inertia"]),
            random_state=int(meta["random_state"]),
            features=list(meta["features"]),
            labels=None,
            transform=None if meta["transform"] is None else FeatureTransform.from_dict(meta["transform"]),
            params=dict(meta["params"]),
            notes=list(meta["notes"]),
        )


def canonical_rows(X, index) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Rows sorted by customer id, the sorted ids, and the position of each sorted row in the input."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"expected a 2-D feature matrix, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InputError("the feature matrix has missing or infinite values; prepare the features first")
    if index is None:
        index = pd.RangeIndex(X.shape[0])
    index = pd.Index(index)
    if len(index) != X.shape[0]:
        raise InputError(f"{len(index)} customer ids for {X.shape[0]} rows")
    if strictly_increasing(index):  # sorted and unique already (the customer table's order)
        return np.ascontiguousarray(X), index, np.arange(X.shape[0])
    if not index.is_unique:
        raise InputError(f"customer id {index[index.duplicated()][0]!r} appears more than once")
    try:
        order = index.argsort(kind="mergesort")
    except TypeError as exc:
        raise InputError("customer ids cannot be sorted (mixed types?)") from exc
    return np.ascontiguousarray(X[order]), index[order], order


def fit_codes(
    X: np.ndarray,
    k: int,
    *,
    method: str,
    random_state: int,
    n_init: int | str = "auto",
    max_iter: int = 300,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    n_micro_clusters: int = DEFAULT_MICRO_CLUSTERS,
) -> tuple[np.ndarray, np.ndarray, float, str, list[str]]:
    """Fit on rows in the given order: (codes 0..k-1, centres, inertia, method label, notes)."""
    if method == "kmeans":
        km = kmeans_fit(X, k, random_state=random_state, n_init=n_init, max_iter=max_iter)
        return km.labels_.astype(np.intp), km.cluster_centers_, float(km.inertia_), "kmeans", []
    tree = ward_tree(X, memory_budget=memory_budget, n_micro_clusters=n_micro_clusters, random_state=random_state)
    codes = tree.cut(k)
    centres = cluster_means(X, codes, k)
    return codes, centres, within_ss(X, codes, centres), tree.method_label, list(tree.notes)


def fit_clusters(
    X,
    index=None,
    *,
    k: int,
    method: str = "kmeans",
    random_state: int = 42,
    n_init: int | str = "auto",
    max_iter: int = 300,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    n_micro_clusters: int = DEFAULT_MICRO_CLUSTERS,
    features: list[str] | None = None,
    transform: FeatureTransform | None = None,
    evidence=None,
) -> ClusterModel:
    """Fit ``k`` clusters with KMeans (k-means++) or Ward and label them 1..k canonically.

    ``X`` may be a :class:`PreparedData` (then ``index``, ``features`` and ``transform`` come
    from it). Ward runs exactly while ``8·n²`` bytes fit ``memory_budget``, else on
    ``n_micro_clusters`` micro-clusters (see :mod:`custseg.cluster.ward`). With the
    :class:`~custseg.cluster.evidence.Evidence` of the same rows, a KMeans fit it already made
    with the same parameters is taken from it instead of being made again.
    """
    if isinstance(X, PreparedData):
        prepared = X
        X, index = prepared.X, prepared.index
        features = features or list(prepared.features)
        transform = transform or prepared.transform
    if method not in METHODS:
        raise InputError(f"clustering method must be one of {', '.join(METHODS)}; got {method!r}")
    Xs, ids, order = canonical_rows(X, index)
    n = Xs.shape[0]
    if not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise InputError(f"number of clusters k must be an integer between 1 and {n} (customers); got {k!r}")
    k = int(k)
    if method == "ward" and k > n_micro_clusters:
        raise InputError(f"k={k} is more than the {n_micro_clusters} Ward micro-clusters; raise n_micro_clusters")
    if features is None:
        features = [f"x{j}" for j in range(Xs.shape[1])]
    if len(features) != Xs.shape[1]:
        raise InputError(f"{len(features)} feature names for {Xs.shape[1]} columns")

    known = None
    if evidence is not None and method == "kmeans" and evidence.method == "kmeans":
        known = evidence.kmeans_fit_for(k, n_rows=n, random_state=random_state, n_init=n_init, max_iter=max_iter)
    if known is not None:
        (codes, centres, inertia), label, notes = known, "kmeans", []
    elif (evidence is not None and method == "kmeans" and evidence.method == "kmeans" and evidence.sampled_from == n
          and k in evidence.kmeans_fits):
        # the evidence was measured on a sample (custseg.cluster.sampling): fitted on all, from its centres
        from .sampling import kmeans_from_sample

        codes, centres, inertia = kmeans_from_sample(Xs, evidence.kmeans_fits[k][0], max_iter=max_iter)
        label = "kmeans"
        notes = [f"The clusters are fitted on all {n:,} customers, starting from the centres of the evidence's fit on a sample."]
    else:
        codes, centres, inertia, label, notes = fit_codes(
            Xs, k, method=method, random_state=random_state, n_init=n_init, max_iter=max_iter,
            memory_budget=memory_budget, n_micro_clusters=n_micro_clusters,
        )
    if np.bincount(codes, minlength=k).min() == 0:
        notes.append(f"only {len(np.unique(codes))} of {k} clusters have customers (too few distinct rows?)")
    labels_sorted, old_of_new = canonical_relabel(codes, k)
    labels_input_order = np.empty(n, dtype=np.int64)
    labels_input_order[order] = labels_sorted
    input_index = pd.Index(index) if index is not None else pd.RangeIndex(n)
    return ClusterModel(
        method=method,
        method_label=label,
        k=k,
        centroids=np.ascontiguousarray(centres[old_of_new]),
        sizes=np.bincount(labels_sorted, minlength=k + 1)[1:],
        inertia=inertia,
        random_state=random_state,
        features=list(features),
        labels=pd.Series(labels_input_order, index=input_index, name="cluster"),
        transform=transform,
        params={
            "n_init": n_init,
            "max_iter": max_iter,
            "memory_budget": int(memory_budget),
            "n_micro_clusters": int(n_micro_clusters),
            "row_order": "sorted by customer id before fitting",
        },
        notes=notes,
    )
