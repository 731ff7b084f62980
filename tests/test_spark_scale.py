"""The Spark engine's steps that must scale past one task or the driver: global ranks on range
partitions, persistence, the labelled customer table written by the executors.

Shares tests/test_spark.py's local[2] session (4 shuffle partitions) and generated data.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.test_spark import requires_spark, spark  # noqa: F401 - fixtures


@requires_spark
@pytest.mark.parametrize("order", ["v NULLS LAST, id", "v, id", "w DESC, v DESC NULLS FIRST, id", "abs(w - 3), id DESC"])
def test_ranks_on_range_partitions_equal_spark_global_row_number(spark, order):  # noqa: F811
    """add_ranks against Spark's own single-task ``row_number() OVER (ORDER BY ...)``: the same
    rank on every row, with ties (broken by id), NULLs first and last, descending orders."""
    from custseg.engines.spark import run_session
    from custseg.engines.spark.ranks import add_ranks

    session = run_session(spark)
    rng = np.random.default_rng(5)
    n = 3000
    v = rng.integers(0, 40, n).astype(float)
    v[rng.random(n) < 0.1] = np.nan
    rows = [(int(i), None if np.isnan(a) else float(a), int(b)) for i, a, b in zip(rng.permutation(n), v, rng.integers(0, 7, n))]
    frame = session.createDataFrame(rows, "id BIGINT, v DOUBLE, w BIGINT").repartition(3)
    frame.createOrReplaceTempView("t")
    expected = dict(session.sql(f"SELECT id, row_number() OVER (ORDER BY {order}) AS r FROM t").collect())
    steps = []

    def keep(f):
        steps.append(f.rdd.getNumPartitions())
        return f.localCheckpoint(eager=True)

    got = dict(add_ranks(frame, [(order, "r")], keep, partitions=4).select("id", "r").collect())
    assert steps == [4]  # the ranks came from 4 range partitions, not one task
    assert len(got) == n and got == expected
    assert sorted(got.values()) == list(range(1, n + 1))


@requires_spark
def test_rfm_statement_runs_on_range_partitions(spark, tmp_path):  # noqa: F811
    """The feature SQL's RFM ranks take the range-partition path (not Spark's one-task window);
    the customer table then equals DuckDB's (tests/test_spark.py, on three data sets)."""
    from custseg.engines.spark import load_spark, run_feature_sql_spark, run_session
    from tests.olist_fixture import write_olist_fixture

    write_olist_fixture(tmp_path)
    said = []
    ds = load_spark(tmp_path, spark=run_session(spark))
    try:
        run_feature_sql_spark(ds, progress=said.append)
    finally:
        ds.release()
    rfm = [line for line in said if line.startswith("spark: customer_rfm in ")]
    assert len(rfm) == 1 and rfm[0].endswith("(ranks over all customers on 4 range partitions)"), said


def test_split_ctes_of_the_rfm_statement():
    from custseg.engines.spark.ranks import split_ctes

    ctes, final = split_ctes("WITH a AS (SELECT '(' AS x), b AS (SELECT count(*) OVER () AS n FROM a) SELECT * FROM b")
    assert ctes == [("a", "SELECT '(' AS x"), ("b", "SELECT count(*) OVER () AS n FROM a")]
    assert final.strip() == "SELECT * FROM b"
    assert split_ctes("SELECT 1") is None
