"""The Spark engine: the same analysis when the order history does not fit one machine.

What runs where:

* **Spark (executors)** — reading the input (CSV/Parquet on any path Spark reads) into the
  canonical tables with their validation (:mod:`.sources`); every feature table, segment and
  RFM score, from the *same* SQL files as the DuckDB engine rendered for Spark SQL
  (:mod:`.features`, :mod:`custseg.dialect`); KMeans (Spark MLlib, k-means||) for the
  final fit, for the evidence for k (inertia = Spark's training cost) and for Ward's
  micro-clusters (:mod:`.cluster`).
* **Driver** — the customer table, collected (one row per customer: fine up to a few million
  customers), then everything that works on it as in the DuckDB engine: population filters,
  feature preparation, a *sampled* Euclidean silhouette with its 95 % interval, Calinski–Harabasz
  and Davies–Bouldin of Spark's labels, Ward on the collected micro-clusters, profiles, views
  and the report. With ``driver_customers`` the driver collects a uniform sample of about that
  many customers and the whole table's headline numbers instead, and the executors assign every
  customer's clusters (:mod:`.sample`).

:class:`SparkEngine` is what ``custseg run --engine spark`` and ``custseg.run(..., engine="spark")``
use; :mod:`.session` starts or borrows the session.
"""

from __future__ import annotations

import time
from contextlib import ExitStack

from custseg.engines import CustomerTables
from custseg.engines.spark.features import (
    build_customer_table_spark,
    build_order_table_spark,
    excluded_customers,
    run_feature_sql_spark,
)
from custseg.engines.spark.session import PYSPARK_MISSING, collect_pandas, quiet_planner, require_pyspark, run_session, spark_session
from custseg.engines.spark.sources import SparkDataset, load_spark
from custseg.features import FeatureParams

__all__ = [
    "PYSPARK_MISSING", "SparkDataset", "SparkEngine", "build_customer_table_spark", "build_order_table_spark",
    "collect_pandas", "load_spark", "require_pyspark", "run_feature_sql_spark", "run_session", "spark_session",
]


class SparkEngine:
    """Load, features and RFM on Spark; the clustering's heavy steps on Spark MLlib."""

    name = "spark"

    def __init__(self, master: str | None = None, spark=None, driver_customers: int | None = None) -> None:
        require_pyspark()
        self.master, self.spark = master, spark
        self.driver_customers = driver_customers  # above it the driver holds a uniform sample (.sample)
        self._sampled = False
        self.session = None  # this run's own session on the caller's SparkContext (run_session)
        self._dataset: SparkDataset | None = None
        self._backend = None
        self._scope = ExitStack()

    def customer_tables(self, data, config, *, preset=None, mapping=None, log_options=None, progress=None,
                        contacts: bool = False) -> CustomerTables:
        say = progress or (lambda _m: None)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self.spark = self.spark or spark_session(self.master)
        session = self.session = run_session(self.spark)
        self._scope.enter_context(quiet_planner(session))
        timings["spark_start"] = time.perf_counter() - t0
        say(f"spark: {session.sparkContext.master} (Spark {session.version}), started in {timings['spark_start']:.1f} s")
        t0 = time.perf_counter()
        ds = self._dataset = load_spark(data, spark=session, preset=preset, mapping=mapping, **(log_options or {}))
        timings["load"] = time.perf_counter() - t0
        say(f"spark: read and checked {ds.source} in {timings['load']:.1f} s")
        t0 = time.perf_counter()
        say("features on Spark: orders, customers, segments, RFM")
        run_feature_sql_spark(ds, FeatureParams.for_dataset(ds, **dict(config.features)), progress=say)
        # stored once: collected now, joined with the labels later (write_labels)
        stored = ds.materialise("customers", session.table("customers"))
        total = stored.count() if self.driver_customers is not None else None
        sample = None
        if total is not None and total > self.driver_customers:
            from custseg.engines.spark.sample import SAMPLED_BY, summary_groups, uniform_sample
            from custseg.result import Sample
            from custseg.summary import summary_of_groups

            kept = uniform_sample(stored, total, self.driver_customers)
            sample = Sample(total, summary_of_groups(summary_groups(stored), ds.excluded, has_rfm="rfm_segment" in stored.columns,
                                                     has_revenue="monetary" in stored.columns), SAMPLED_BY)
            say(f"spark: the driver takes a uniform sample of about {self.driver_customers:,} of the {total:,} customers (--driver-customers)")
        else:
            kept = stored
        self._sampled = sample is not None
        customers = collect_pandas(kept.orderBy("customer_id"), categorical_text=True)
        excluded = excluded_customers(ds)
        timings["features"] = time.perf_counter() - t0
        return CustomerTables(customers, excluded, ds.excluded, ds.source, ds.attributes, ds.currency, timings, sample=sample)

    def write_labels(self, result, target: str, progress=None) -> None:
        """The customer table with every population's cluster and cluster name (the columns of
        customers.parquet), joined and written by the executors: Parquet at `target` (any path
        Spark writes; replaced), or the catalog table ``table:db.t`` (replaced). Only the labels
        (customer id, cluster, name) go from the driver to the executors; when the driver holds a
        sample, only the models: the executors assign every customer (:mod:`.sample`)."""
        from custseg.engines.spark.labels import labels_frame, write_labelled_customers
        from custseg.engines.spark.sample import assigned_labels

        if self._dataset is None or "customers" not in self._dataset.frames:
            raise RuntimeError("write_labels: call customer_tables first (the customer table lives on the executors)")
        t0 = time.perf_counter()
        customers = self._dataset.frames["customers"]
        labels = (assigned_labels(customers, result.populations) if self._sampled
                  else labels_frame(self.session, result.populations))
        write_labelled_customers(customers, labels, target)
        if progress:
            progress(f"spark: labelled customer table written to {target} in {time.perf_counter() - t0:.1f} s")

    def clustering(self):
        from custseg.engines.spark.cluster import SparkClustering

        self._backend = self._backend or SparkClustering(self.session or run_session(self.spark or spark_session(self.master)))
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.release()
            self._backend = None
        if self._dataset is not None:
            self._dataset.release()
            self._dataset = None
        self._scope.close()

    def __enter__(self) -> "SparkEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
