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
  and the report.

:class:`SparkEngine` is what ``custseg run --engine spark`` and ``custseg.run(..., engine="spark")``
use; :mod:`.session` starts or borrows the session.
"""

from __future__ import annotations

import time

from custseg.engines import CustomerTables
from custseg.engines.spark.features import (
    build_customer_table_spark,
    build_order_table_spark,
    excluded_customers,
    run_feature_sql_spark,
)
from custseg.engines.spark.session import PYSPARK_MISSING, collect_pandas, require_pyspark, spark_session
from custseg.engines.spark.sources import SparkDataset, load_spark
from custseg.features import FeatureParams

__all__ = [
    "PYSPARK_MISSING", "SparkDataset", "SparkEngine", "build_customer_table_spark", "build_order_table_spark",
    "collect_pandas", "load_spark", "require_pyspark", "run_feature_sql_spark", "spark_session",
]


class SparkEngine:
    """Load, features and RFM on Spark; the clustering's heavy steps on Spark MLlib."""

    name = "spark"

    def __init__(self, master: str | None = None, spark=None) -> None:
        require_pyspark()
        self.master, self.spark = master, spark
        self._dataset: SparkDataset | None = None
        self._backend = None

    def customer_tables(self, data, config, *, preset=None, mapping=None, log_options=None, progress=None,
                        contacts: bool = False) -> CustomerTables:
        say = progress or (lambda _m: None)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        session = self.spark = self.spark or spark_session(self.master)
        timings["spark_start"] = time.perf_counter() - t0
        say(f"spark: {session.sparkContext.master} (Spark {session.version})")
        t0 = time.perf_counter()
        ds = self._dataset = load_spark(data, spark=session, preset=preset, mapping=mapping, **(log_options or {}))
        timings["load"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        say("features on Spark: orders, customers, segments, RFM")
        run_feature_sql_spark(ds, FeatureParams.for_dataset(ds, **dict(config.features)))
        customers = collect_pandas(session.table("customers").orderBy("customer_id"), categorical_text=True)
        excluded = excluded_customers(ds)
        timings["features"] = time.perf_counter() - t0
        return CustomerTables(customers, excluded, ds.excluded, ds.source, ds.attributes, ds.currency, timings)

    def clustering(self):
        from custseg.engines.spark.cluster import SparkClustering

        self._backend = self._backend or SparkClustering(self.spark)
        return self._backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.release()
            self._backend = None
        if self._dataset is not None:
            self._dataset.release()
            self._dataset = None

    def __enter__(self) -> "SparkEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
