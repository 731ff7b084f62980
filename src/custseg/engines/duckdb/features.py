"""DuckDB runs the feature SQL (:mod:`custseg.features`: the templates, their parameters and rules)
on a dataset's connection and hands the customer tables to pandas."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from custseg.engines.duckdb.connection import fetch_one, run_sql, to_pandas
from custseg.errors import InputError
from custseg.features import (LAST_READ_BY, SQL_FILES, FeatureParams, check_attribute_names, feature_context, render_feature_sql,
                              rule_tables, segments_for)
from custseg.features.as_of import check_as_of, order_span_sql
from custseg.dialect import IN_MEMORY_LISTS_UP_TO
from custseg.sources.dataset import Dataset

if TYPE_CHECKING:  # pandas is imported where a frame is made (it takes ~0.25 s)
    import pandas as pd


def _title_label(values: pa.Array) -> pa.Array:
    """'credit_card' -> 'Credit Card': underscores to spaces, then Title Case (spec section 2)."""
    return pc.utf8_title(pc.replace_substring(pc.utf8_trim_whitespace(values), "_", " "))


def _register_rule_tables(con: duckdb.DuckDBPyConnection, bins: int) -> None:
    for table, rows in rule_tables(bins).items():
        frame = pa.Table.from_pylist(rows) if rows else pa.table({})
        con.register(f"_{table}_arrow", frame)
        run_sql(con, f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _{table}_arrow")
        con.unregister(f"_{table}_arrow")


def run_feature_sql(dataset: Dataset, params: FeatureParams | None = None, *, in_memory_lists: bool | None = None, drop_inputs: bool = False) -> None:
    """Create every derived table (clean_*, purchases, order_metrics, customer_*, customers).

    ``in_memory_lists`` (default: up to IN_MEMORY_LISTS_UP_TO orders) picks how sorted values
    are joined (see :mod:`custseg.dialect`); either way the tables are the same (tested).
    ``drop_inputs`` (the caller owns the dataset and needs only the customer tables): each input
    and intermediate table is dropped as soon as no later file reads it (:data:`LAST_READ_BY`).
    """
    params = params or FeatureParams.for_dataset(dataset)
    con = dataset.con
    n_orders = fetch_one(con, "SELECT count(*) FROM orders")[0]
    if n_orders == 0:
        raise InputError(f"{dataset.source}: there are no orders; nothing to analyse")
    if params.as_of:
        first, last = fetch_one(con, order_span_sql(params.window_start, params.window_end))
        check_as_of(params.as_of, first, last, dataset.source, windowed=bool(params.window_start or params.window_end))
    if in_memory_lists is None:
        in_memory_lists = n_orders <= IN_MEMORY_LISTS_UP_TO
    try:
        types = getattr(duckdb, "sqltypes", None) or duckdb.typing
        con.create_function("title_label", _title_label, [types.VARCHAR], types.VARCHAR, type="arrow")
    except duckdb.Error:
        pass  # already registered on this connection
    _register_rule_tables(con, params.rfm_bins)
    context = feature_context(dataset, params, dialect="duckdb", columns=lambda table: con.table(table).columns,
                              in_memory_lists=in_memory_lists)
    for name in SQL_FILES:
        if name.startswith("08_"):
            # Segments need to know which metric columns exist.
            context["segments"] = segments_for(con.table("customer_metrics").columns, params)
        try:
            run_sql(con, render_feature_sql(name, context))
        except duckdb.Error as exc:  # a bug in a template, not the user's input
            raise RuntimeError(f"feature SQL {name} failed: {exc}") from exc
        if name.startswith("01_") and fetch_one(con, "SELECT count(*) FROM clean_orders")[0] == 0:
            raise InputError(
                f"{dataset.source}: no order falls in the window {params.window_start} .. {params.window_end}; "
                "widen the window in the config"
            )
        for table in LAST_READ_BY.get(name, ()) if drop_inputs else ():
            run_sql(con, f"DROP TABLE IF EXISTS {table}")
    check_attribute_names(dataset, [con.table(t).columns for t in ("customer_metrics", "customer_segments", "customer_rfm")])


def reference_time(con):
    """The instant recency was counted from by the last :func:`run_feature_sql` on ``con``: the
    end of the as-of day, or the latest purchase (None: no purchase). See features/as_of.py."""
    return fetch_one(con, "SELECT now_ts FROM analysis_reference")[0]


#: Above this many customers, ``release=True`` hands the tables over through Parquet files.
RELEASE_THROUGH_PARQUET_ABOVE = 1_000_000


def compute_customer_tables(dataset: Dataset, config, progress=None, *, release: bool = False,
                            parquet_above: int = RELEASE_THROUGH_PARQUET_ABOVE,
                            ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """The customer table and the excluded customers of ``dataset`` under an analysis config.

    Returns (customers, excluded customers, {"features": seconds}). ``release=True`` (the
    caller owns the dataset) closes its DuckDB connection before pandas builds the frames.
    Above ``parquet_above`` customers the tables go through Parquet files in the temporary
    folder, so DuckDB's memory is given back before the Arrow copy exists (at 10M customers:
    ~6 GB each, no longer at the same time); below it they come as Arrow tables, which skips
    writing and reading the files (0.5 s at 96k customers).
    The customers' segment and dimension columns are pandas ``category`` columns (the same
    values in a fraction of the memory; see :func:`custseg.engines.duckdb.connection.arrow_to_pandas`).
    """
    started = time.perf_counter()
    if progress:
        progress("features: orders, customers, segments, RFM")
    params = FeatureParams.for_dataset(dataset, **dict(config.features))
    run_feature_sql(dataset, params, drop_inputs=release)
    if not release or fetch_one(dataset.con, "SELECT count(*) FROM customer_metrics")[0] <= parquet_above:
        customers = to_pandas(dataset.con.table("customers"), categorical_text=True)
        excluded = to_pandas(dataset.con.table("excluded_customers"))
        if release:
            dataset.con.close()
        return customers, excluded, {"features": time.perf_counter() - started}
    from custseg.engines.duckdb import handover  # rows sorted by pandas, not DuckDB (issue 24)

    folder = tempfile.mkdtemp(prefix="custseg-tables-")
    try:
        columns = handover.write_tables(dataset.con, folder)
        # closing gives back DuckDB's memory and deletes its spilled files (~4 s at 10M customers):
        # beside the read, which needs little memory at first
        closing = threading.Thread(target=dataset.con.close, name="custseg-duckdb-close")
        closing.start()
        try:
            customers, excluded = handover.read_tables(folder, columns)
        finally:
            closing.join()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return customers, excluded, {"features": time.perf_counter() - started}


def build_customer_table(dataset: Dataset, params: FeatureParams | None = None) -> pd.DataFrame:
    """One row per customer with every metric, dimension, segment and RFM score."""
    run_feature_sql(dataset, params)
    return dataset.con.table("customers").df()


def build_order_table(dataset: Dataset) -> pd.DataFrame:
    """The order-level metrics (call after :func:`run_feature_sql`)."""
    return dataset.con.table("order_metrics").df()
