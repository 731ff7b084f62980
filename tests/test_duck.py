"""custseg.engines.duckdb.connection.to_pandas equals DuckDB's own .df(), on every table the feature stage builds;
with ``categorical_text`` the same values, low-cardinality text as pandas categories."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from custseg.engines.duckdb.connection import CATEGORICAL_MAX_VALUES, to_pandas
from custseg.features import FeatureParams
from custseg.engines.duckdb.features import run_feature_sql
from custseg.engines.duckdb import load

from .olist_fixture import write_olist_fixture
from .test_features_vs_pandas import ONLINE_RETAIL

FEATURE_TABLES = ["clean_orders", "purchases", "order_metrics", "customer_metrics", "customer_dimensions",
                  "customer_segments", "rfm", "customers", "excluded_customers"]


def _assert_same(con, name):
    expected = con.table(name).df()
    got = to_pandas(con.table(name))
    pd.testing.assert_frame_equal(got, expected)


def as_plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with every categorical column back as its categories' dtype (plain text)."""
    return frame.astype({c: t.categories.dtype for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)})


def _categorical_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c, t in frame.dtypes.items() if isinstance(t, pd.CategoricalDtype)]


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if frame[c].dtype == "str"]


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


def test_dictionary_encoded_text_becomes_the_same_categories_as_plain_text():
    """A column read from Parquet as dictionary-encoded (chunks with their own dictionaries, values
    no row uses, NULLs) gives the categories and codes that hashing its plain text gives."""
    import pyarrow as pa
    from custseg.engines.duckdb.connection import sorted_dictionary

    chunks = [pa.DictionaryArray.from_arrays(pa.array([2, 0, None, 2], pa.int32()), pa.array(["b", "unused", "a"])),
              pa.DictionaryArray.from_arrays(pa.array([1, 1, 0], pa.int32()), pa.array(["c", "a"]))]
    encoded = pa.chunked_array(chunks)
    plain = encoded.cast(pa.string())
    assert plain.to_pylist() == ["a", "b", None, "a", "a", "a", "c"]
    got, expected = sorted_dictionary(encoded), sorted_dictionary(plain)
    assert got.dictionary.to_pylist() == expected.dictionary.to_pylist() == ["a", "b", "c"]
    assert got.indices.to_pylist() == expected.indices.to_pylist() == [0, 1, None, 0, 0, 0, 2]
    assert sorted_dictionary(pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["x", "y"]))])) is None  # one value a row


def test_key_order_is_argsort_of_unique_keys():
    import numpy as np
    from custseg.engines.duckdb.handover import key_order

    rng = np.random.default_rng(7)
    keys = rng.permutation(np.arange(1, 5001))[:3000]  # unique, with gaps, as customer_key in the customer table
    assert (key_order(keys) == np.argsort(keys)).all()
    assert len(key_order(np.array([], dtype=np.int64))) == 0
    with pytest.raises(RuntimeError, match="customer_key is not unique"):
        key_order(np.array([3, 1, 3]))


def test_positions_find_each_wanted_key_or_minus_one():
    import numpy as np
    from custseg.engines.duckdb.handover import positions

    rng = np.random.default_rng(11)
    keys = rng.permutation(np.arange(1, 2001))[:1500]  # a table's keys, unordered, some missing
    wanted = np.arange(1, 2101)  # the customer table's keys, sorted, some beyond every key
    got = positions(keys, wanted)
    expected = [int(np.flatnonzero(keys == k)[0]) if k in set(keys.tolist()) else -1 for k in wanted]
    assert got.tolist() == expected
    assert (got >= 0).sum() == 1500


@pytest.mark.parametrize("parquet_above", [0, 10**9], ids=["through-parquet", "as-arrow"])
def test_released_tables_equal_duckdbs_frames(tmp_path, parquet_above):
    # custseg run's path: the tables through Parquet (large data) or Arrow, DuckDB closed after
    from custseg.config import reference
    from custseg.engines.duckdb.features import compute_customer_tables

    write_olist_fixture(tmp_path)
    kept = load(tmp_path)
    run_feature_sql(kept, FeatureParams.for_dataset(kept))
    released = load(tmp_path)
    customers, excluded, _ = compute_customer_tables(released, reference(), release=True, parquet_above=parquet_above)
    pd.testing.assert_frame_equal(as_plain_text(customers), kept.con.table("customers").df())
    pd.testing.assert_frame_equal(excluded, kept.con.table("excluded_customers").df())
    with pytest.raises(duckdb.ConnectionException):
        released.con.execute("SELECT 1")


def test_released_tables_equal_duckdbs_frames_on_online_retail():
    from custseg.config import reference
    from custseg.engines.duckdb.features import compute_customer_tables

    kept = load(ONLINE_RETAIL, preset="online_retail")
    run_feature_sql(kept, FeatureParams.for_dataset(kept))
    customers, excluded, _ = compute_customer_tables(load(ONLINE_RETAIL, preset="online_retail"), reference(), release=True,
                                                     parquet_above=0)
    pd.testing.assert_frame_equal(as_plain_text(customers), kept.con.table("customers").df())
    pd.testing.assert_frame_equal(excluded, kept.con.table("excluded_customers").df())


@pytest.fixture(scope="module")
def generated_olist(tmp_path_factory):
    from custseg.generate.olist import generate_olist

    folder = tmp_path_factory.mktemp("olist-generated")
    generate_olist(3000, 5, folder)
    return folder


@pytest.mark.parametrize("release, parquet_above", [(True, 0), (True, 10**9), (False, 10**9)],
                         ids=["released-through-parquet", "released-as-arrow", "kept"])
def test_customer_table_text_is_categorical_on_generated_olist(generated_olist, release, parquet_above):
    """Every segment and dimension becomes a category column, sorted, with the plain values;
    customer_id (one value per row) stays text."""
    from custseg.config import reference
    from custseg.engines.duckdb.features import compute_customer_tables

    kept = load(generated_olist)
    run_feature_sql(kept, FeatureParams.for_dataset(kept))
    expected = kept.con.table("customers").df()
    customers, _, _ = compute_customer_tables(load(generated_olist), reference(), release=release, parquet_above=parquet_above)
    assert len(customers) > 2500
    text = _text_columns(expected)
    assert _categorical_columns(customers) == [c for c in text if c != "customer_id"]
    assert {"rfm_segment", "activity_segment", "customer_payment_types", "customer_top_product_categories",
            "customer_city", "customer_state"} <= set(_categorical_columns(customers))
    assert customers["customer_id"].dtype == expected["customer_id"].dtype
    for name in _categorical_columns(customers):
        categories = list(customers[name].cat.categories)
        assert categories == sorted(expected[name].dropna().unique()), name  # only values that occur, in text order
        assert not customers[name].cat.ordered
    pd.testing.assert_frame_equal(as_plain_text(customers), expected)


def test_customer_table_text_is_categorical_on_online_retail():
    from custseg.config import reference
    from custseg.engines.duckdb.features import compute_customer_tables

    expected = load(ONLINE_RETAIL, preset="online_retail")
    run_feature_sql(expected, FeatureParams.for_dataset(expected))
    expected = expected.con.table("customers").df()
    customers, _, _ = compute_customer_tables(load(ONLINE_RETAIL, preset="online_retail"), reference(), release=True)
    assert _categorical_columns(customers) == [c for c in _text_columns(expected) if c != "customer_id"]
    assert "customer_country" in _categorical_columns(customers)
    pd.testing.assert_frame_equal(as_plain_text(customers), expected)


def test_categorical_text_rule():
    """A text column becomes categorical with at most half as many distinct values as rows and
    fewer than CATEGORICAL_MAX_VALUES; all-NULL text stays None objects, as DuckDB's .df()."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE small AS SELECT
        'id' || range AS unique_text,
        'half' || (range // 2) AS half_distinct,
        'more' || (range * 2 // 3) AS over_half_distinct,
        CASE WHEN range % 3 = 0 THEN 'b' WHEN range % 3 = 1 THEN 'a' END AS few_with_nulls,
        NULL::VARCHAR AS only_nulls,
        range AS i
        FROM range(10)""")
    limit = CATEGORICAL_MAX_VALUES
    con.execute(f"""CREATE TABLE big AS SELECT 'v' || (range % {limit}) AS limit_values,
        'w' || (range % {limit - 1}) AS fewer_values FROM range({3 * limit})""")
    for name, categorical in [("small", ["half_distinct", "few_with_nulls"]), ("big", ["fewer_values"])]:
        got = to_pandas(con.table(name), categorical_text=True)
        assert _categorical_columns(got) == categorical
        pd.testing.assert_frame_equal(as_plain_text(got), con.table(name).df())
    assert list(to_pandas(con.table("small"), categorical_text=True)["few_with_nulls"].cat.categories) == ["a", "b"]
