"""The feature SQL on Spark: the DuckDB engine's SQL files rendered for Spark SQL, each table
materialised on the executors; the customer table collected to the driver."""

from __future__ import annotations

import re
import time
from typing import Callable

import pandas as pd

from custseg.engines.spark.session import collect_pandas, first_line, spark_error_types
from custseg.engines.spark.sources import SparkDataset, q
from custseg.errors import InputError
from custseg.features import (
    SQL_FILES,
    FeatureParams,
    check_attribute_names,
    feature_context,
    render_feature_sql,
    rule_tables,
    segments_for,
)
from custseg.features.as_of import check_as_of, order_span_sql
from custseg.dialect import split_statements

__all__ = ["build_customer_table_spark", "build_order_table_spark", "excluded_customers", "run_feature_sql_spark"]

_CREATE = re.compile(r"^CREATE\s+OR\s+REPLACE\s+(TABLE|VIEW)\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)


def created(statement: str) -> tuple[str, str, str] | None:
    """("TABLE" or "VIEW", name, query) of a ``CREATE OR REPLACE TABLE|VIEW name AS query``
    statement of the feature SQL (its comment lines left out), or None for any other statement."""
    body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--")).strip()
    match = _CREATE.match(body)
    return None if match is None else (match.group(1).upper(), match.group(2), match.group(3))



def _register_rule_tables(ds: SparkDataset, bins: int) -> None:
    for table, rows in rule_tables(bins).items():
        cols = list(rows[0]) if rows else ["_empty"]
        schema = ", ".join(f"{q(c)} STRING" for c in cols)
        frame = ds.spark.createDataFrame([tuple(r.get(c) for c in cols) for r in rows], schema)
        ds.materialise(table, frame)


def run_feature_sql_spark(ds: SparkDataset, params: FeatureParams | None = None, progress: Callable[[str], None] | None = None) -> None:
    """Create every derived table as a stored view, from the feature SQL rendered for Spark SQL.

    The files are the DuckDB engine's (``custseg/features/sql``): each statement
    ``CREATE OR REPLACE TABLE t AS <query>`` runs as ``spark.sql(<query>)``, stored and registered
    as the temporary view ``t`` (materialised before the next file reads it); a ``VIEW`` is
    registered as it is, computed where it is read (as in DuckDB: at 1M customers, storing the
    order table no step reads took 25 s of 121).
    """
    params = params or FeatureParams.for_dataset(ds)
    spark = ds.spark
    say = progress or (lambda _m: None)
    if spark.table("orders").limit(1).count() == 0:
        raise InputError(f"{ds.source}: there are no orders; nothing to analyse")
    if params.as_of:
        first, last = spark.sql(order_span_sql(params.window_start, params.window_end)).first()
        check_as_of(params.as_of, first, last, ds.source, windowed=bool(params.window_start or params.window_end))
    _register_rule_tables(ds, params.rfm_bins)
    context = feature_context(ds, params, dialect="spark", columns=lambda table: spark.table(table).columns)
    for name in SQL_FILES:
        if name.startswith("08_"):
            context["segments"] = segments_for(spark.table("customer_metrics").columns, params, "spark")
        for statement in split_statements(render_feature_sql(name, context)):
            parts = created(statement)
            if parts is None:
                raise RuntimeError(f"feature SQL {name}: only 'CREATE OR REPLACE TABLE t AS query' (or VIEW) statements run on Spark")
            kind, table, query = parts
            t0 = time.perf_counter()
            try:
                (ds.view if kind == "VIEW" else ds.materialise)(table, spark.sql(query))
            except spark_error_types() as exc:  # a bug in a template, not the user's input
                raise RuntimeError(f"feature SQL {name} failed on Spark: {first_line(exc)}") from exc
            say(f"spark: {table} in {time.perf_counter() - t0:.1f} s")
        if name.startswith("01_") and spark.table("clean_orders").limit(1).count() == 0:
            raise InputError(
                f"{ds.source}: no order falls in the window {params.window_start} .. {params.window_end}; "
                "widen the window in the config"
            )
    check_attribute_names(ds, [spark.table(t).columns for t in ("customer_metrics", "customer_segments", "customer_rfm")])


def build_customer_table_spark(ds: SparkDataset, params: FeatureParams | None = None, progress=None) -> pd.DataFrame:
    """One row per customer with every metric, dimension, segment and RFM score (collected)."""
    run_feature_sql_spark(ds, params, progress=progress)
    return collect_pandas(ds.spark.table("customers").orderBy("customer_id"))


def build_order_table_spark(ds: SparkDataset) -> pd.DataFrame:
    """The order-level metrics (call after :func:`run_feature_sql_spark`)."""
    return collect_pandas(ds.spark.table("order_metrics").orderBy("order_id"))


# ----------------------------------------------------------------------------- the analysis


def excluded_customers(ds: SparkDataset) -> pd.DataFrame | None:
    if "excluded_customers" not in ds.frames:
        return None
    return collect_pandas(ds.spark.table("excluded_customers").orderBy("customer_id"))
