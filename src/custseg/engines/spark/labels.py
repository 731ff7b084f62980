"""The labelled customer table written where the data lives, by the executors.

The clusters are named on the driver (profiles, names); the customer table itself stays on the
executors. Only each population's labels (customer id, cluster, cluster name) are sent to the
executors, joined there to the customer table and written as Parquet (any path Spark writes:
``hdfs://``, ``s3a://``, ``gs://``, a local path on a one-machine Spark) or saved as a catalog table.
"""

from __future__ import annotations

from custseg.engines.spark.session import first_line, spark_error_types
from custseg.engines.spark.sources import catalog_name
from custseg.errors import InputError

__all__ = ["labels_frame", "write_labelled_customers"]


def labels_frame(spark, populations):
    """One Spark row per labelled customer: customer_id, then cluster_<population> (int) and
    cluster_name_<population> for each population (NULL where a customer is not in it)."""
    import pyarrow as pa

    frame = None
    for pop in populations:
        a = pop.assignments
        table = pa.table({
            "customer_id": pa.array(a["customer_id"].astype(str).to_numpy(), pa.string()),
            f"cluster_{pop.name}": pa.array(a["cluster"].to_numpy(dtype="int64"), pa.int64()),
            f"cluster_name_{pop.name}": pa.array(a["cluster_name"].astype(str).to_numpy(), pa.string()),
        })
        try:  # Spark >= 4.0 takes Arrow directly
            part = spark.createDataFrame(table)
        except (TypeError, ValueError):
            part = spark.createDataFrame(table.to_pandas())
        frame = part if frame is None else frame.join(part, "customer_id", "full_outer")
    return frame if frame is not None else spark.createDataFrame([], "customer_id STRING")


def write_labelled_customers(customers, labels, target: str) -> None:
    """`customers` (the Spark customer table) left-joined with `labels` (:func:`labels_frame`'s
    columns), written to `target`."""
    key = dict(customers.dtypes)["customer_id"]
    if key != "string":  # integer customer keys: the labels' ids are their text
        labels = labels.withColumn("customer_id", labels["customer_id"].cast(key))
    table = customers.join(labels, "customer_id", "left").orderBy("customer_id")
    name = catalog_name(target)
    try:
        if name is not None:
            table.write.mode("overwrite").saveAsTable(name)
        else:
            table.write.mode("overwrite").parquet(target)
    except spark_error_types() as exc:
        raise InputError(f"{name or target}: the labelled customer table cannot be written ({first_line(exc)}); "
                         "check the path or table name and the cluster's write permissions") from None
