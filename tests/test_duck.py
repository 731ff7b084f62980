"""custseg._duck.to_pandas equals DuckDB's own .df(), on every table the feature stage builds."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from custseg._duck import to_pandas
from custseg.features import FeatureParams, run_feature_sql
from custseg.sources import load

from .olist_fixture import write_olist_fixture
from .test_features_vs_pandas import ONLINE_RETAIL

FEATURE_TABLES = ["clean_orders", "purchases", "order_metrics", "customer_metrics", "customer_dimensions",
                  "customer_segments", "rfm", "customers", "excluded_customers"]


def _assert_same(con, name):
    expected = con.table(name).df()
    got = to_pandas(con.table(name))
    pd.testing.assert_frame_equal(got, expected)


def test_olist_fixture_tables(tmp_path):
    write_olist_fixture(tmp_path)
    ds = load(tmp_path)
    run_feature_sql(ds, FeatureParams.for_dataset(ds))
    tables = {row[0] for row in ds.con.execute("SHOW TABLES").fetchall()}
    for name in FEATURE_TABLES:
        if name in tables:
            _assert_same(ds.con, name)


def test_online_retail_tables():
    ds = load(ONLINE_RETAIL, preset="online_retail")
    run_feature_sql(ds, FeatureParams.for_dataset(ds))
    tables = {row[0] for row in ds.con.execute("SHOW TABLES").fetchall()}
    for name in FEATURE_TABLES:
        if name in tables:
            _assert_same(ds.con, name)


@pytest.mark.parametrize("sql", [
    "SELECT NULL::VARCHAR AS s, 1 AS i, NULL::BOOLEAN AS b, true AS b2, NULL::DOUBLE AS d, NULL::INTEGER AS ni, "
    "NULL::TIMESTAMP AS ts, 1.5::DECIMAL(10, 2) AS dec, NULL::BIGINT AS nb FROM range(3)",
    "SELECT CASE WHEN range % 2 = 0 THEN 'a' END AS s, CASE WHEN range > 0 THEN range END AS i, range > 1 AS b FROM range(5)",
    "SELECT 'x' AS s, 1 AS i FROM range(0)",
])
def test_dtype_rules(sql):
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS {sql}")
    _assert_same(con, "t")


@pytest.mark.parametrize("parquet_above", [0, 10**9], ids=["through-parquet", "as-arrow"])
def test_released_tables_equal_duckdbs_frames(tmp_path, parquet_above):
    # custseg run's path: the tables through Parquet (large data) or Arrow, DuckDB closed after
    from custseg.config import reference
    from custseg.features import compute_customer_tables

    write_olist_fixture(tmp_path)
    kept = load(tmp_path)
    run_feature_sql(kept, FeatureParams.for_dataset(kept))
    released = load(tmp_path)
    customers, excluded, _ = compute_customer_tables(released, reference(), release=True, parquet_above=parquet_above)
    pd.testing.assert_frame_equal(customers, kept.con.table("customers").df())
    pd.testing.assert_frame_equal(excluded, kept.con.table("excluded_customers").df())
    with pytest.raises(duckdb.ConnectionException):
        released.con.execute("SELECT 1")


def test_released_tables_equal_duckdbs_frames_on_online_retail():
    from custseg.config import reference
    from custseg.features import compute_customer_tables

    kept = load(ONLINE_RETAIL, preset="online_retail")
    run_feature_sql(kept, FeatureParams.for_dataset(kept))
    customers, excluded, _ = compute_customer_tables(load(ONLINE_RETAIL, preset="online_retail"), reference(), release=True,
                                                     parquet_above=0)
    pd.testing.assert_frame_equal(customers, kept.con.table("customers").df())
    pd.testing.assert_frame_equal(excluded, kept.con.table("excluded_customers").df())
