"""The cluster stage on Spark MLlib, with the single-machine stage's result types.

:class:`SparkClustering` is the clustering backend :func:`custseg.pipeline.cluster_population`
calls when the engine is Spark. It returns what :mod:`custseg.cluster` returns
(:class:`~custseg.cluster.Evidence`, :class:`~custseg.cluster.ClusterModel`,
:class:`~custseg.cluster.SilhouetteResult`, :class:`~custseg.cluster.WardTree`), so the views,
the report and the saved models are the same.

* **KMeans** — Spark MLlib's KMeans runs the Lloyd iterations on the executors, over the
  prepared matrix with rows in customer-id order; labels 1..k canonically (largest first), as
  :func:`custseg.cluster.fit_clusters` names them. The fit of each k in the evidence is reused for
  the final model. Two initialisations (``init``):

  - ``"k-means++"`` (default): the single-machine engine's seeding — scikit-learn's k-means++
    with the same seed, on the driver (one pass per centre over the prepared matrix, which the
    driver holds anyway) — handed to MLlib as its initial model. Lloyd's iterations then reach
    the single-machine engine's local optimum, so both engines give the same clusters (tested
    by the adjusted Rand index).
  - ``"k-means||"``: Spark's own parallel initialisation (``pyspark.ml.clustering.KMeans``).
    Just as valid, but a different seeding finds a different local optimum: on generated data
    its clusters agree with the single-machine ones only to an adjusted Rand index of about 0.9.
* **Evidence for k** — inertia is Spark's training cost; the silhouette is custseg's
  *sampled* Euclidean silhouette (each sampled customer against all customers, 95 % CI),
  computed on the driver from Spark's labels — never Spark's ``ClusteringEvaluator``
  silhouette, which is squared-Euclidean and a different number. Calinski–Harabasz and
  Davies–Bouldin are scikit-learn's on Spark's labels; the no-structure reference is the
  single-machine one (scikit-learn on 2,000 synthetic rows). Bootstrap stability is not
  computed (it would refit every k on every resample), so the recommendation cannot vouch for
  a k: set k in the config, or read the evidence.
* **Ward** — on micro-clusters: Spark KMeans with up to 2,000 centres, the centres' member
  means and sizes collected to the driver, :func:`custseg.cluster.weighted_ward_linkage` on
  them, every customer in the cluster of its micro-cluster. With at most 2,000 distinct rows the
  tree is exact (distinct rows weighted by their counts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from custseg.cluster import (
    ClusterModel,
    Evidence,
    SilhouetteResult,
    WardTree,
    canonical_relabel,
    find_elbow,
    silhouette_sampled,
    silhouette_sampled_many,
    weighted_ward_linkage,
)
from custseg.cluster.criteria import null_reference
from custseg.cluster.evidence import DEFAULT_NULL_RESAMPLES, DEFAULT_NULL_SAMPLE_SIZE, evidence_table
from custseg.cluster.centroids import cluster_means, nearest_centroid, within_ss
from custseg.cluster.fit import canonical_rows
from custseg.cluster.silhouette import DEFAULT_SAMPLE_SIZE
from custseg.cluster.ward import DEFAULT_MEMORY_BUDGET, DEFAULT_MICRO_CLUSTERS
from custseg.errors import InputError

KMEANS_LABELS = {
    "k-means++": "kmeans (Spark MLlib; k-means++ seeding as on one machine)",
    "k-means||": "kmeans (Spark MLlib, k-means||)",
}
INITS = tuple(KMEANS_LABELS)


@dataclass
class _Data:
    prepared: object
    X: np.ndarray  # rows in customer-id order
    ids: pd.Index
    order: np.ndarray  # position in the prepared matrix of each sorted row
    frame: object  # Spark DataFrame: row (int), features (vector), cached
    vectors: object = None  # JVM RDD of MLlib vectors (rows in the same order), cached on first use


@dataclass
class _Fit:
    codes: np.ndarray  # 0..k-1 per sorted row
    centres: np.ndarray
    cost: float
    iterations: int


class SparkClustering:
    """KMeans and Ward micro-clusters on Spark MLlib; see the module docstring."""

    name = "spark"

    def __init__(self, spark, *, init: str = "k-means++", max_iter: int = 300, tol: float = 1e-4, micro_max_iter: int = 10):
        if init not in INITS:
            raise InputError(f"Spark KMeans init = {init!r}: use one of {', '.join(INITS)}")
        self.spark = spark
        self.init = init
        self.max_iter = max_iter
        self.tol = tol
        self.micro_max_iter = micro_max_iter
        self._data: dict[int, _Data] = {}
        self._fits: dict[tuple[int, int, int], _Fit] = {}
        self._trees: dict[tuple[int, int], WardTree] = {}

    # -------------------------------------------------------------------------- data

    def data(self, prepared) -> _Data:
        """The prepared matrix as a cached Spark DataFrame (rows in customer-id order)."""
        key = id(prepared)
        if key not in self._data:
            from pyspark.ml.feature import VectorAssembler

            Xs, ids, order = canonical_rows(prepared.X, prepared.index)
            cols = [f"x{j}" for j in range(Xs.shape[1])]
            import pyarrow as pa

            table = pa.table({"row": np.arange(Xs.shape[0], dtype=np.int64), **{c: Xs[:, j] for j, c in enumerate(cols)}})
            try:  # Spark >= 4.0 takes Arrow directly
                frame = self.spark.createDataFrame(table)
            except (TypeError, ValueError):
                frame = self.spark.createDataFrame(table.to_pandas())
            frame = VectorAssembler(inputCols=cols, outputCol="features").transform(frame).select("row", "features")
            parts = max(1, min(self.spark.sparkContext.defaultParallelism, Xs.shape[0] // 1000 + 1))
            frame = frame.repartition(parts).cache()
            frame.count()
            self._data[key] = _Data(prepared, Xs, ids, order, frame)
        return self._data[key]

    def release(self) -> None:
        for d in self._data.values():
            d.frame.unpersist()
            if d.vectors is not None:
                d.vectors.unpersist()
        self._data.clear()
        self._fits.clear()
        self._trees.clear()

    # -------------------------------------------------------------------------- KMeans

    def _collect_codes(self, predictions, n: int) -> np.ndarray:
        from custseg.engines.spark.session import collect_arrow

        table = collect_arrow(predictions.select("row", "prediction"))
        rows = table.column("row").to_numpy()
        codes = np.empty(n, dtype=np.intp)
        codes[rows] = table.column("prediction").to_numpy()
        return codes

    def _vectors(self, data: _Data):
        """The prepared rows as a cached JVM RDD of MLlib vectors (what MLlib's KMeans.run takes)."""
        if data.vectors is None:
            from pyspark.mllib.common import _py2java
            from pyspark.mllib.linalg import Vectors

            sc = self.spark.sparkContext
            # from the cached frame on the executors (the matrix is not shipped from the driver again)
            rows = data.frame.rdd.map(lambda r: Vectors.fromML(r.features))
            jrdd = _py2java(sc, rows)
            jrdd.persist(sc._jvm.org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK())
            jrdd.count()
            data.vectors = jrdd
        return data.vectors

    def _lloyd(self, data: _Data, init: np.ndarray, max_iter: int) -> tuple[np.ndarray, float, int]:
        """MLlib's KMeans (Lloyd iterations on the executors) from the given initial centres."""
        from pyspark.mllib.common import _java2py, _py2java
        from pyspark.mllib.linalg import _convert_to_vector

        sc = self.spark.sparkContext
        jvm = sc._jvm
        vectors = self._vectors(data)
        initial = jvm.org.apache.spark.mllib.clustering.KMeansModel([_py2java(sc, _convert_to_vector(c)) for c in init])
        algorithm = (
            jvm.org.apache.spark.mllib.clustering.KMeans()
            .setK(int(init.shape[0])).setMaxIterations(int(max_iter)).setEpsilon(float(self.tol))
            .setInitialModel(initial)
        )
        model = algorithm.run(vectors.rdd())
        centres = np.asarray([v.toArray() for v in _java2py(sc, model.clusterCenters())], dtype=np.float64)
        return centres, float(model.trainingCost()), int(model.numIter())

    def kmeans(self, data: _Data, k: int, random_state: int) -> _Fit:
        """Spark MLlib KMeans with k clusters (see ``init``), memoised per population."""
        key = (id(data.prepared), int(k), int(random_state))
        if key in self._fits:
            return self._fits[key]
        n = data.X.shape[0]
        if k == 1:
            centre = data.X.mean(axis=0, keepdims=True)
            fit = _Fit(np.zeros(n, dtype=np.intp), centre, within_ss(data.X, np.zeros(n, dtype=np.intp), centre), 0)
        elif self.init == "k-means++":
            from sklearn.cluster import kmeans_plusplus
            from threadpoolctl import threadpool_limits

            mean = data.X.mean(axis=0)
            with threadpool_limits(limits=1):  # as custseg.cluster.fit: the same seeds on every machine
                seeds, _ = kmeans_plusplus(data.X - mean, int(k), random_state=int(random_state))
            centres, cost, iterations = self._lloyd(data, seeds + mean, self.max_iter)
            fit = _Fit(nearest_centroid(data.X, centres), centres, cost, iterations)
        else:
            from pyspark.ml.clustering import KMeans

            model = KMeans(
                k=int(k), seed=int(random_state), maxIter=self.max_iter, tol=self.tol, initMode="k-means||",
                featuresCol="features", predictionCol="prediction",
            ).fit(data.frame)
            centres = np.asarray(model.clusterCenters(), dtype=np.float64)
            codes = self._collect_codes(model.summary.predictions, n)
            if centres.shape[0] < k:  # k-means|| found fewer distinct centres than k
                pad = np.repeat(centres[:1], k - centres.shape[0], axis=0)
                centres = np.vstack([centres, pad])
            fit = _Fit(codes, centres, float(model.summary.trainingCost), int(model.summary.numIter))
        self._fits[key] = fit
        return fit

    # -------------------------------------------------------------------------- Ward

    def ward_tree(self, prepared, population=None, cluster_config=None, *, n_micro_clusters: int = DEFAULT_MICRO_CLUSTERS,
                  random_state: int | None = None) -> WardTree:
        """Ward on the distinct rows (exact) when there are at most `n_micro_clusters`, else on
        Spark KMeans micro-clusters collected to the driver."""
        seed = int(random_state if random_state is not None else getattr(population, "random_state", 42))
        data = self.data(prepared)
        key = (id(prepared), seed)
        if key in self._trees:
            return self._trees[key]
        X = data.X
        n = X.shape[0]
        uniq, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
        if uniq.shape[0] < 2:
            raise InputError("Ward needs at least two different customers")
        if uniq.shape[0] <= n_micro_clusters:
            Z = weighted_ward_linkage(uniq, counts.astype(np.float64))
            tree = WardTree(
                Z, inverse.reshape(-1), counts.astype(np.float64), uniq, True,
                f"ward (exact, on {uniq.shape[0]:,} distinct rows)",
                [f"Ward ran on the driver on the {uniq.shape[0]:,} distinct rows of {n:,} customers, weighted by their counts "
                 "(the same tree as Ward on every customer above height 0)."],
            )
        else:
            from pyspark.ml.clustering import KMeans
            from pyspark.ml.stat import Summarizer
            from pyspark.sql import functions as F

            from custseg.engines.spark.session import collect_arrow

            model = KMeans(
                k=int(n_micro_clusters), seed=seed, maxIter=self.micro_max_iter, tol=self.tol, initMode="k-means||",
                featuresCol="features", predictionCol="atom",
            ).fit(data.frame)
            assigned = model.transform(data.frame).cache()
            stats = (
                assigned.groupBy("atom")
                .agg(Summarizer.mean(F.col("features")).alias("mean"), F.count(F.lit(1)).alias("n"))
                .orderBy("atom")
                .collect()
            )
            atoms = np.asarray([r["atom"] for r in stats], dtype=np.int64)
            centres = np.asarray([r["mean"].toArray() for r in stats], dtype=np.float64)
            weights = np.asarray([r["n"] for r in stats], dtype=np.float64)
            table = collect_arrow(assigned.select("row", "atom"))
            assigned.unpersist()
            compact = np.full(int(atoms.max()) + 1, -1, dtype=np.intp)
            compact[atoms] = np.arange(atoms.size)
            leaf_of_row = np.empty(n, dtype=np.intp)
            leaf_of_row[table.column("row").to_numpy()] = compact[table.column("atom").to_numpy()]
            Z = weighted_ward_linkage(centres, weights)
            tree = WardTree(
                Z, leaf_of_row, weights, centres, False,
                f"ward (on {centres.shape[0]:,} Spark KMeans micro-clusters)",
                [f"Ward on {n:,} customers ran on {centres.shape[0]:,} micro-clusters from Spark MLlib KMeans "
                 f"({self.micro_max_iter} iterations), their member means and sizes collected to the driver; each "
                 "customer takes the cluster of its micro-cluster."],
            )
        self._trees[key] = tree
        return tree

    # -------------------------------------------------------------------------- backend API

    @property
    def kmeans_label(self) -> str:
        return KMEANS_LABELS[self.init]

    def _partitions(self, data: _Data, ks, method: str, random_state: int, population):
        out = {}
        tree = None
        if method == "ward":
            tree = self.ward_tree(data.prepared, population, random_state=random_state)
            for k in ks:
                codes = tree.cut(k)
                centres = cluster_means(data.X, codes, k)
                out[k] = _Fit(codes, centres, within_ss(data.X, codes, centres), 0)
            return out, tree
        for k in ks:
            out[k] = self.kmeans(data, k, random_state)
        return out, tree

    def evaluate_k(self, prepared, ks, population, cluster_config) -> Evidence:
        """Evidence for every k (see the module docstring for what is computed where)."""
        cl = cluster_config or {}
        method = population.method
        seed = int(population.random_state)
        data = self.data(prepared)
        X = data.X
        n = X.shape[0]
        ks = sorted({int(k) for k in ks})
        if not ks or ks[0] < 1 or ks[-1] > n - 1:
            raise InputError(f"k range must lie between 1 and {n - 1} (customers - 1); got {ks[0] if ks else 'nothing'}..{ks[-1] if ks else ''}")
        parts, tree = self._partitions(data, ks, method, seed, population)
        multi = [k for k in ks if k >= 2 and len(np.unique(parts[k].codes)) >= 2]
        size = min(int(cl.get("silhouette_sample_size", DEFAULT_SAMPLE_SIZE)), n)
        sils = silhouette_sampled_many(X, [parts[k].codes for k in multi], sample_size=max(size, 2), random_state=seed) if multi else []
        silhouettes = dict(zip(multi, sils))
        ch = {k: float(calinski_harabasz_score(X, parts[k].codes)) for k in multi}
        db = {k: float(davies_bouldin_score(X, parts[k].codes)) for k in multi}
        null = null_reference(
            X, multi, method, np.random.default_rng(seed), DEFAULT_NULL_RESAMPLES, DEFAULT_NULL_SAMPLE_SIZE,
            n_init="auto", max_iter=300, memory_budget=int(cl.get("memory_budget_bytes", DEFAULT_MEMORY_BUDGET)),
            n_micro_clusters=DEFAULT_MICRO_CLUSTERS, n_jobs=1,
        )
        table = evidence_table(ks, {k: (parts[k].codes, parts[k].cost) for k in ks}, silhouettes, ch, db, {}, null)
        notes = []  # a Ward tree's provenance is in the model's notes
        if method == "kmeans":
            seeding = ("k-means++ seeding on the driver, as on one machine" if self.init == "k-means++"
                       else "Spark's k-means|| initialisation")
            notes.append(f"Engine: Spark. KMeans for every k ran on Spark MLlib ({seeding}); the inertia is Spark's training cost.")
        if sils:
            notes.append(
                f"Silhouettes are Euclidean and sampled ({sils[0].n_evaluated:,} of {n:,} customers, each against all, 95% CI shown), "
                "computed on the driver from Spark's labels (Spark's own silhouette is squared-Euclidean: not shown)."
            )
        notes.append(
            "Stability under resampling is not computed on the Spark engine (it would refit every k on every resample), "
            "so no k is recommended by the evidence alone; the no-structure reference is computed on the driver."
        )
        return Evidence(
            table=table, method=method, method_label=tree.method_label if tree is not None else self.kmeans_label, n_rows=n,
            elbow=find_elbow(table.index, table["inertia"]), silhouettes=silhouettes, ward_tree=tree,
            params={"k_range": ks, "random_state": seed, "engine": "spark", "init": self.init, "max_iter": self.max_iter, "tol": self.tol,
                    "stability_resamples": 0, "silhouette_sample_size": size},
            notes=notes,
        )

    def fit(self, prepared, k: int, population, cluster_config, evidence=None) -> ClusterModel:
        """The final clustering with k clusters, labels 1..k canonically (largest first).

        Always fitted on the executors (``evidence`` is accepted for the common backend call)."""
        data = self.data(prepared)
        n = data.X.shape[0]
        k = int(k)
        if not 1 <= k <= n:
            raise InputError(f"number of clusters k must be an integer between 1 and {n} (customers); got {k!r}")
        seed = int(population.random_state)
        notes: list[str] = []
        if population.method == "ward":
            tree = self.ward_tree(prepared, population, random_state=seed)
            codes = tree.cut(k)
            centres = cluster_means(data.X, codes, k)
            fit = _Fit(codes, centres, within_ss(data.X, codes, centres), 0)
            label, notes = tree.method_label, list(tree.notes)
        else:
            fit = self.kmeans(data, k, seed)
            label = self.kmeans_label
            if k > 1:
                notes.append(f"KMeans ran on Spark MLlib ({fit.iterations} iterations, {self.init} initialisation, seed {seed}).")
        if np.bincount(fit.codes, minlength=k).min() == 0:
            notes.append(f"only {len(np.unique(fit.codes))} of {k} clusters have customers (too few distinct rows?)")
        labels_sorted, old_of_new = canonical_relabel(fit.codes, k)
        labels_input_order = np.empty(n, dtype=np.int64)
        labels_input_order[data.order] = labels_sorted
        return ClusterModel(
            method=population.method, method_label=label, k=k,
            centroids=np.ascontiguousarray(fit.centres[old_of_new]),
            sizes=np.bincount(labels_sorted, minlength=k + 1)[1:], inertia=fit.cost,
            random_state=seed, features=list(prepared.features),
            labels=pd.Series(labels_input_order, index=pd.Index(prepared.index), name="cluster"),
            transform=prepared.transform,
            params={"engine": "spark", "max_iter": self.max_iter, "tol": self.tol, "init": self.init,
                    "row_order": "sorted by customer id before fitting"},
            notes=notes,
        )

    def silhouette(self, prepared, labels, population, cluster_config, evidence=None) -> SilhouetteResult:
        """custseg's sampled Euclidean silhouette (95 % CI) of the final labels, on the driver
        (``evidence`` is accepted for the common backend call)."""
        cl = cluster_config or {}
        n = prepared.X.shape[0]
        size = min(int(cl.get("silhouette_sample_size", DEFAULT_SAMPLE_SIZE)), n)
        return silhouette_sampled(prepared.X, labels, sample_size=max(size, 2), random_state=int(population.random_state))
