"""09_rfm.sql finds each bin's cut customer instead of ranking every customer (issue 24); here its
scores are checked against the rank rule itself, computed in pandas: customers sorted by value
(NULL last) then customer_key, rank r in the smallest bin b with (r - 1) * bins <= (n - 1) * b.

The data are made for the cases the cut search has: heavy ties (a few values, one shared by most
customers, as frequency 1 is), NULL values (a customer whose purchases have no date has no
recency), one customer, fewer customers than bins, and blocks of customer_key from 1 to all of
them, so that a cut's value spans many blocks."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from custseg.dialect import sql_macros
from custseg.features import RFM_BLOCK, render_feature_sql, rule_tables
from tests.test_spark import requires_spark, spark  # noqa: F401 - the shared local[2] session

NOW = dt.datetime(2021, 1, 1)


def rank_rule_scores(values: pd.Series, keys: pd.Series, bins: int, *, reverse: bool = False) -> pd.Series:
    """Scores 1..bins by the spec's rule on ranks (ties by key, NULL last), indexed by key;
    ``reverse`` (recency): bins + 1 - the bin. One customer scores bins either way."""
    order = pd.DataFrame({"v": values.to_numpy(), "k": keys.to_numpy()}).sort_values(["v", "k"], na_position="last", kind="stable")
    n = len(order)
    rank = np.arange(1, n + 1)
    score = np.array([min(b for b in range(1, bins + 1) if (r - 1) * bins <= (n - 1) * b) for r in rank])
    score = np.full(n, bins) if n == 1 else bins + 1 - score if reverse else score
    return pd.Series(score, index=order["k"].to_numpy()).sort_index()


def customer_rfm(facts: pd.DataFrame, bins: int, block: int) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("facts", facts)
    con.execute("CREATE TABLE order_facts AS SELECT customer_key, purchase_ts, CAST(total_payment AS DECIMAL(18, 2)) AS total_payment, "
                "is_purchase FROM facts")
    con.register("segment_rows", pd.DataFrame(rule_tables(bins)["rfm_segment_map"]))
    con.execute("CREATE TABLE rfm_segment_map AS SELECT * FROM segment_rows")
    context = {**sql_macros("duckdb"), "bins": bins, "rfm_block": block, "as_of_end": None}
    con.execute(render_feature_sql("09_rfm.sql", context))
    return con.sql("SELECT * FROM customer_rfm ORDER BY customer_key").df().set_index("customer_key")


def order_facts(n_customers: int, seed: int) -> pd.DataFrame:
    """Orders of customers 1..n: most buy once; few distinct days and amounts; some dates missing."""
    rng = np.random.default_rng(seed)
    orders = rng.choice([1, 1, 1, 1, 1, 1, 2, 3], size=n_customers)
    keys = np.repeat(np.arange(1, n_customers + 1), orders)
    days = rng.integers(0, 5, size=len(keys))
    ts = pd.Series(NOW - pd.to_timedelta(days, unit="D"))
    undated_customers = rng.random(n_customers) < 0.1
    ts[undated_customers[keys - 1]] = pd.NaT
    return pd.DataFrame({"customer_key": keys, "purchase_ts": ts,
                         "total_payment": rng.choice([5.0, 5.0, 5.0, 12.5, 99.99], size=len(keys)),
                         "is_purchase": rng.random(len(keys)) < 0.95})


@pytest.mark.parametrize("bins", [3, 5])
@pytest.mark.parametrize("n_customers, seed", [(1, 0), (2, 1), (4, 2), (37, 3), (400, 4), (400, 5)])
@pytest.mark.parametrize("block", [1, 3, 50, RFM_BLOCK])
def test_cut_scores_equal_the_rank_rule(bins, n_customers, seed, block):
    facts = order_facts(n_customers, seed)
    got = customer_rfm(facts, bins, block)
    bought = facts[facts["is_purchase"]]
    per = bought.groupby("customer_key").agg(last=("purchase_ts", "max"), frequency=("customer_key", "size"),
                                             monetary=("total_payment", lambda s: round(s.sum(), 2)))
    recency = (pd.Timestamp(bought["purchase_ts"].max()) - per["last"]).dt.days
    assert list(got.index) == list(per.index)
    assert got["recency"].isna().sum() == recency.isna().sum() > (0 if n_customers >= 37 else -1)
    want_recency = rank_rule_scores(recency, per.index.to_series(), bins, reverse=True)
    assert got["recency_score"].tolist() == want_recency.tolist()
    assert got["frequency_score"].tolist() == rank_rule_scores(per["frequency"], per.index.to_series(), bins).tolist()
    assert got["monetary_score"].tolist() == rank_rule_scores(per["monetary"], per.index.to_series(), bins).tolist()
    assert got["rfm_segment"].notna().all()


def test_no_window_orders_all_customers():
    """The only windows without PARTITION BY run over one row per value (the ``*_values`` CTEs),
    not over every customer: on Spark such a window is one task, on DuckDB one thread."""
    import re

    sql = render_feature_sql("09_rfm.sql", {**sql_macros("spark"), "bins": 5, "rfm_block": RFM_BLOCK, "as_of_end": None})
    windows = [m.start() for m in re.finditer(r"OVER\s*\(", sql)]
    unpartitioned = [w for w in windows if not sql[w:w + 40].split("(", 1)[1].lstrip().upper().startswith("PARTITION")]
    assert len(windows) == 9 and len(unpartitioned) == 3
    for start in unpartitioned:
        cte = sql[:start].rsplit(" AS (", 1)[0].split()[-1]
        assert cte.endswith("_values"), cte
        assert re.search(rf"{cte} AS \(.*?count\(\*\) AS c FROM rfm_values GROUP BY \w+\) t\s*\)", sql, re.S)


def spark_customer_rfm(spark, facts: pd.DataFrame, bins: int, block: int) -> pd.DataFrame:
    """The same file run by Spark SQL (its dialect: ``div``, its window and NULL-safe join), each
    table a temporary view of a session of its own."""
    from custseg.dialect import split_statements
    from custseg.engines.spark.features import created

    session = spark.newSession()
    session.conf.set("spark.sql.session.timeZone", "UTC")
    import pyarrow as pa

    # Arrow in and out (Spark 4), not pandas: PySpark warns about pandas 3
    session.createDataFrame(pa.Table.from_pandas(facts.astype({"total_payment": str}), preserve_index=False)).selectExpr(
        "customer_key", "purchase_ts", "CAST(total_payment AS DECIMAL(18, 2)) AS total_payment", "is_purchase",
    ).createOrReplaceTempView("order_facts")
    session.createDataFrame(pa.Table.from_pylist(rule_tables(bins)["rfm_segment_map"])).createOrReplaceTempView("rfm_segment_map")
    context = {**sql_macros("spark"), "bins": bins, "rfm_block": block, "as_of_end": None}
    for statement in split_statements(render_feature_sql("09_rfm.sql", context)):
        _, table, query = created(statement)
        session.sql(query).createOrReplaceTempView(table)
    return session.table("customer_rfm").toArrow().to_pandas().sort_values("customer_key").set_index("customer_key")


@requires_spark
@pytest.mark.parametrize("bins", [3, 5])
def test_spark_finds_the_same_cuts(spark, bins):  # noqa: F811
    """On Spark, with cuts spread over blocks of 3 customer keys: the same table as DuckDB's."""
    facts = order_facts(400, 4)
    duck = customer_rfm(facts, bins, 3)
    theirs = spark_customer_rfm(spark, facts, bins, 3)
    assert list(theirs.index) == list(duck.index)
    for column in ("recency_score", "frequency_score", "monetary_score", "rfm_score", "rfm_segment"):
        assert theirs[column].tolist() == duck[column].tolist(), column
    assert duck["recency"].isna().any()
