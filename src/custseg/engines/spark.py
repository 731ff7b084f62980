"""The Spark engine: the same analysis when the order history does not fit one machine.

What runs where:

* **Spark (executors)** — reading the input (CSV/Parquet on any path Spark reads) into the
  canonical tables with their validation (:mod:`custseg.engines.spark_sources`); every feature
  table, segment and RFM score, from the *same* SQL files as the DuckDB engine rendered for Spark
  SQL (:mod:`custseg.features.dialect`); KMeans (Spark MLlib, k-means||) for the final fit, for
  the evidence for k (inertia = Spark's training cost) and for Ward's micro-clusters
  (:mod:`custseg.engines.spark_cluster`).
* **Driver** — the customer table, collected (one row per customer: fine up to a few million
  customers), then everything that works on it as in the DuckDB engine: population filters,
  feature preparation, a *sampled* Euclidean silhouette with its 95 % interval, Calinski–Harabasz
  and Davies–Bouldin of Spark's labels, Ward on the collected micro-clusters, profiles, views
  and the report.

Entry points: :func:`spark_session`, :func:`load_spark`, :func:`build_customer_table_spark`,
:func:`run_analysis_spark` (what ``custseg run --engine spark`` and
``custseg.run(..., engine="spark")`` call).
"""

from __future__ import annotations

import os
import re
import shutil
import time
import warnings
from typing import Any, Callable

import pandas as pd

from custseg._duck import to_pandas
from custseg.engines.spark_sources import (
    SparkDataset,
    first_line,
    load_spark,
    q,
    spark_error_types,
)
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
from custseg.features.dialect import split_statements

__all__ = [
    "PYSPARK_MISSING",
    "SparkDataset",
    "build_customer_table_spark",
    "collect_pandas",
    "load_spark",
    "require_pyspark",
    "run_analysis_spark",
    "run_feature_sql_spark",
    "spark_session",
]

PYSPARK_MISSING = "the Spark engine needs PySpark: pip install 'custseg[spark]' (and a Java runtime)"
DEFAULT_MASTER = "local[*]"
# Settings for a Spark that custseg starts itself (a local master); a cluster's own settings
# (spark-submit --conf, spark-defaults.conf) are left alone.
LOCAL_CONF = {
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "16",
    "spark.sql.adaptive.enabled": "true",
}
# What every session needs for the results to equal the DuckDB engine's.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",  # timestamps are wall-clock times, as in DuckDB
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # fast collect / createDataFrame
}
# A Spark that custseg starts prints only errors (no start-up chatter around custseg's own lines).
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.submit.name = org.apache.spark.deploy.SparkSubmit
logger.submit.level = error
logger.context.name = org.apache.spark.SparkContext
logger.context.level = error
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = error
"""
_CREATE = re.compile(r"^CREATE\s+OR\s+REPLACE\s+(?:TABLE|VIEW)\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)


def require_pyspark() -> None:
    """Raise the one-line InputError saying how to get PySpark when it is not installed."""
    try:
        import pyspark  # noqa: F401
        import pyspark.sql  # noqa: F401
    except ImportError:
        raise InputError(PYSPARK_MISSING) from None


def spark_session(master: str | None = None, *, conf: dict[str, str] | None = None):
    """The SparkSession to run on.

    An active session (``spark-submit``, a notebook) is used; a `master` other than its own is an
    InputError (Spark runs one SparkContext per process). Else one is started on `master`
    (default ``local[*]``). Under ``spark-submit`` the
    master comes from spark-submit. The session's time zone is set to UTC (the SQL treats
    timestamps as wall-clock times, as DuckDB does).
    """
    require_pyspark()
    # PySpark 4 warns on import that pandas 3 is "not yet fully supported"; custseg moves data
    # between Spark and Python with Arrow, not PySpark's pandas conversions.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None and master is not None and master != session.sparkContext.master:
        # Spark keeps one SparkContext per process: the builder would hand back this session
        # and silently ignore the master asked for.
        raise InputError(
            f"a Spark session on {session.sparkContext.master} is already running in this process, so custseg "
            f"cannot start one on {master}; leave out the master to use it, or stop it first (spark.stop())"
        )
    if session is None or master is not None:
        under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit
        builder = SparkSession.builder.appName("custseg")
        chosen = master or (None if under_submit else DEFAULT_MASTER)
        if chosen is not None:
            builder = builder.master(chosen)
        if chosen is not None and chosen.startswith("local"):
            for key, value in LOCAL_CONF.items():
                builder = builder.config(key, value)
            if "spark.driver.extraJavaOptions" not in (conf or {}) and not os.environ.get("SPARK_CONF_DIR"):
                builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{_log4j2_file()}")
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        if not under_submit and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
            raise InputError(
                "the Spark engine needs a Java runtime (Java 17 or newer): install one "
                "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
            )
        try:
            session = builder.getOrCreate()
        except spark_error_types() + (RuntimeError, OSError) as exc:
            raise InputError(
                f"Spark could not start on {chosen or 'the spark-submit master'} ({first_line(exc)}); "
                "check the master URL and that a Java runtime (17+) is installed"
            ) from None
        if chosen is not None and chosen.startswith("local"):
            # Failures reach custseg as exceptions and are reported in one line; Spark's own log
            # lines (an executor's stack trace for a bad CSV row) only with CUSTSEG_DEBUG=1.
            session.sparkContext.setLogLevel("WARN" if os.environ.get("CUSTSEG_DEBUG") else "OFF")
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session


def _log4j2_file() -> str:
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"custseg-spark-log4j2-{os.getuid()}.properties")
    if not os.path.exists(path) or open(path, encoding="utf-8").read() != _LOG4J2:
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.write(_LOG4J2)
        os.replace(path + ".tmp", path)
    return path


# ----------------------------------------------------------------------------- collecting


def collect_arrow(frame):
    """A Spark DataFrame on the driver as a pyarrow Table (naive timestamps, as DuckDB's)."""
    import pyarrow as pa

    if hasattr(frame, "toArrow"):  # Spark >= 4.0
        table = frame.toArrow()
    else:  # Spark 3.5
        from pyspark.sql.pandas.types import to_arrow_schema

        batches = frame._collect_as_arrow()
        schema = to_arrow_schema(frame.schema)
        table = pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
    fields = []
    for f in table.schema:
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            fields.append(pa.field(f.name, pa.timestamp("us")))  # UTC wall-clock (session time zone)
        elif pa.types.is_large_string(f.type):
            fields.append(pa.field(f.name, pa.string()))
        else:
            fields.append(f)
    return table.cast(pa.schema(fields))


def collect_pandas(frame, *, categorical_text: bool = False) -> pd.DataFrame:
    """A Spark DataFrame on the driver as pandas, with the DuckDB engine's dtypes.

    ``categorical_text``: as the DuckDB engine's customer table (:func:`custseg._duck.arrow_to_pandas`).
    """
    import duckdb

    table = collect_arrow(frame)
    con = duckdb.connect()
    try:
        return to_pandas(con.from_arrow(table), categorical_text=categorical_text)
    finally:
        con.close()


# ----------------------------------------------------------------------------- features


def _register_rule_tables(ds: SparkDataset, bins: int) -> None:
    for table, rows in rule_tables(bins).items():
        cols = list(rows[0]) if rows else ["_empty"]
        schema = ", ".join(f"{q(c)} STRING" for c in cols)
        frame = ds.spark.createDataFrame([tuple(r.get(c) for c in cols) for r in rows], schema)
        ds.materialise(table, frame)


def run_feature_sql_spark(ds: SparkDataset, params: FeatureParams | None = None, progress: Callable[[str], None] | None = None) -> None:
    """Create every derived table as a cached view, from the feature SQL rendered for Spark SQL.

    The files are the DuckDB engine's (``custseg/features/sql``): each statement
    ``CREATE OR REPLACE TABLE t AS <query>`` (or ``VIEW``) runs as ``spark.sql(<query>)``, cached and
    registered as the temporary view ``t`` (materialised before the next file reads it).
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
            context["segments"] = segments_for(spark.table("customer_metrics").columns, params)
        for statement in split_statements(render_feature_sql(name, context)):
            body = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--")).strip()
            match = _CREATE.match(body)
            if match is None:
                raise RuntimeError(f"feature SQL {name}: only 'CREATE OR REPLACE TABLE t AS query' (or VIEW) statements run on Spark")
            table, query = match.groups()
            t0 = time.perf_counter()
            try:
                ds.materialise(table, spark.sql(query))
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


def customer_table_spark(data, *, preset=None, mapping=None, master=None, spark=None, rfm_bins: int = 3,
                         progress=None, as_of: str | None = None, **log_options) -> tuple[pd.DataFrame, dict[str, int]]:
    """``custseg features --engine spark``: the customer table and the input rows left out
    (`log_options`: date_format, decimal, sheet, dimensions, as for custseg.sources.load)."""
    session = spark or spark_session(master)
    ds = load_spark(data, spark=session, preset=preset, mapping=mapping, **log_options)
    try:
        customers = build_customer_table_spark(ds, FeatureParams.for_dataset(ds, rfm_bins=rfm_bins, as_of=as_of), progress=progress)
        return customers, dict(ds.excluded)
    finally:
        ds.release()


def build_order_table_spark(ds: SparkDataset) -> pd.DataFrame:
    """The order-level metrics (call after :func:`run_feature_sql_spark`)."""
    return collect_pandas(ds.spark.table("order_metrics").orderBy("order_id"))


# ----------------------------------------------------------------------------- the analysis


def run_analysis_spark(
    data,
    config,
    *,
    preset: str | None = None,
    mapping: str | None = None,
    master: str | None = None,
    spark: Any = None,
    progress: Callable[[str], None] | None = None,
    **log_options,
):
    """The whole analysis with Spark: load, features and RFM on Spark, clustering with Spark
    MLlib, then the views and report stages on the collected customer table."""
    from custseg.engines.spark_cluster import SparkClustering
    from custseg.pipeline import analyse_customers

    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    session = spark or spark_session(master)
    timings["spark_start"] = time.perf_counter() - t0
    say(f"spark: {session.sparkContext.master} (Spark {session.version})")
    t0 = time.perf_counter()
    ds = load_spark(data, spark=session, preset=preset, mapping=mapping, **log_options)
    backend = SparkClustering(session)
    try:
        timings["load"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        say("features on Spark: orders, customers, segments, RFM")
        params = FeatureParams.for_dataset(ds, **dict(config.features))
        run_feature_sql_spark(ds, params)
        customers = collect_pandas(session.table("customers").orderBy("customer_id"), categorical_text=True)
        excluded = _excluded_customers(ds)
        timings["features"] = time.perf_counter() - t0
        return analyse_customers(
            customers, config, source=ds.source, excluded_rows=ds.excluded, excluded_customers=excluded,
            progress=say, backend=backend, timings=timings, attributes=ds.attributes,
            currency=ds.currency,
        )
    finally:
        backend.release()
        ds.release()


def _excluded_customers(ds: SparkDataset) -> pd.DataFrame | None:
    if "excluded_customers" not in ds.frames:
        return None
    return collect_pandas(ds.spark.table("excluded_customers").orderBy("customer_id"))
