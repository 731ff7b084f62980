"""A driver that holds a bounded number of customers, however many the executors have.

With ``driver_customers = n`` (``custseg run --driver-customers N``) and a customer table larger
than n, the driver collects:

* a **uniform sample** of about n customers (:func:`uniform_sample`): those whose hash of the id
  falls in the lowest n/N of its range, the same customers on every run. The report is this
  sample's analysis, and says so;
* the whole table's **headline numbers** (:func:`summary_groups`: customers and revenue per RFM
  segment and kind of buyer, a few dozen rows).

Every customer's clusters are then assigned **on the executors** (:func:`assigned_labels`): each
population's filter in Spark SQL, and the fitted model's preparation and nearest cluster centre
(what :meth:`custseg.cluster.ClusterModel.assign` does, and ``custseg assign`` with a saved model),
in a pandas UDF over Arrow batches. The driver sends the models (centres and scaling), never
receives the assignments. The UDF is NumPy only: executors need no custseg installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custseg.summary import BUYERS, SUMMARY_GROUPS

__all__ = ["HASH_RANGE", "SAMPLED_BY", "assigned_labels", "nearest_cluster", "summary_groups", "uniform_sample"]

#: Customers are sampled by ``pmod(xxhash64(id), HASH_RANGE)`` below a threshold.
HASH_RANGE = 1_000_000_000
#: How the sample was drawn, as the report says it.
SAMPLED_BY = "chosen by a hash of their id, the same on every run"


def summary_groups(customers) -> pd.DataFrame:
    """The Spark customer table's :data:`custseg.summary.SUMMARY_GROUPS`, computed by the executors."""
    from pyspark.sql import functions as F

    columns = set(customers.columns)
    segment = F.col("rfm_segment").cast("string") if "rfm_segment" in columns else F.lit(None).cast("string")
    never, one, repeat = BUYERS
    buyer = F.when(F.col("buys_cnt").isNull(), never).when(F.col("buys_cnt") >= 2, repeat).otherwise(one)
    revenue = F.coalesce(F.sum(F.col("monetary").cast("double")), F.lit(0.0)) if "monetary" in columns else F.lit(0.0)
    grouped = (customers.groupBy(segment.alias("rfm_segment"), buyer.alias("buyer"))
               .agg(F.count(F.lit(1)).alias("customers"), revenue.alias("revenue")))
    rows = grouped.collect()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(SUMMARY_GROUPS))


def uniform_sample(customers, total: int, size: int):
    """About `size` of the `total` customers, chosen by a hash of the id (:data:`SAMPLED_BY`)."""
    from pyspark.sql import functions as F

    threshold = -(-size * HASH_RANGE // total)  # ceil: about `size` customers
    hashed = F.pmod(F.xxhash64(F.col("customer_id").cast("string")), F.lit(HASH_RANGE))
    return customers.where(hashed < threshold)


def assigned_labels(customers, populations):
    """Every customer's cluster and cluster name in each population, computed on the executors:
    customer_id, then cluster_<population> and cluster_name_<population> (NULL where a customer
    is not in the population or lacks a feature)."""
    from pyspark.sql import functions as F

    labelled = customers.select("customer_id")
    key_type = dict(customers.dtypes)["customer_id"]
    for pop in populations:
        model = pop.model
        cluster, name = f"cluster_{pop.name}", f"cluster_name_{pop.name}"
        members = customers.where(F.expr(f"coalesce(({pop.filter}), false)")).select("customer_id", *model.transform.features)
        assigned = members.mapInPandas(nearest_cluster(model, cluster), f"customer_id {key_type}, {cluster} bigint")
        names = F.create_map(*[x for c, n in sorted(pop.cluster_names.items()) for x in (F.lit(int(c)), F.lit(str(n)))])
        labelled = labelled.join(assigned.withColumn(name, names[F.col(cluster)]), "customer_id", "left")
    return labelled


def nearest_cluster(model, column: str):
    """A mapInPandas function: each batch's customers with a value for every feature, and their
    cluster (1..k) under `model` (its preparation, then the nearest centre; ties: the lowest
    cluster), as :meth:`custseg.cluster.ClusterModel.assign`. Only NumPy arrays are captured."""
    t = model.transform
    features = list(t.features)
    low = None if t.clip_low is None else np.asarray(t.clip_low, dtype=np.float64)
    high = None if t.clip_high is None else np.asarray(t.clip_high, dtype=np.float64)
    log1p = t.transform == "log1p"
    center, scale = np.asarray(t.center, dtype=np.float64), np.asarray(t.scale, dtype=np.float64)
    centres = np.asarray(model.centroids, dtype=np.float64)

    def assign(batches):
        for batch in batches:
            values = batch[features].astype("float64").to_numpy()
            complete = ~np.isnan(values).any(axis=1)
            values = values[complete]
            if low is not None:
                values = np.clip(values, low, high)
            if log1p:
                values = np.log1p(values)
            values = (values - center) / scale
            distances = ((values[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            yield pd.DataFrame({"customer_id": batch["customer_id"].to_numpy()[complete],
                                column: distances.argmin(axis=1).astype(np.int64) + 1})

    return assign
