"""Properties of the feature and RFM layers on random flat logs (hypothesis).

Each example is a small transaction log: a few customers (ids with stray spaces and mixed case),
orders of one to three lines, timestamps with ties, amounts, and some cancelled orders (status
spelled in several ways, negative amounts allowed on them). It goes through the real source and
feature code in-process (`load_flat` + `build_customer_table`) and the result must satisfy:

- every input customer is in the table exactly once (ids trimmed);
- orders_cnt, canceled_orders_cnt and buys_cnt match a direct count of the log, buys_cnt <= orders_cnt,
  canceled_share in [0, 1]; customers with no purchase have no buys_cnt and no RFM;
- recency is a whole number of days >= 0, frequency = buys_cnt, monetary >= 0;
- every score is in 1..bins (bins 3 and 5), and each score's bins hold exactly the counts of the
  rank rule of docs/metrics.md: with n converted customers ranked 1..n (ties by customer id), rank r
  is in the smallest bin b with (r - 1) * bins <= (n - 1) * b, so bin b holds
  floor(m * b / bins) - floor(m * (b - 1) / bins) customers, plus 1 for bin 1 (m = n - 1): sizes
  differ by at most one. One customer: every score = bins. Scores never decrease along the ranking
  (recency: never increase);
- rfm_segment is never null for a converted customer; segment shares sum to 1;
- shuffling the input rows gives an identical table.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from custseg.features import FeatureParams
from custseg.engines.duckdb.features import build_customer_table
from custseg.sources.flat import ColumnMapping
from custseg.engines.duckdb.flat import load_flat
from custseg.summary import customer_summary

MAPPING = "customer=c,order=o,timestamp=t,amount=a,status=s"
START = dt.datetime(2020, 1, 1)
CANCELLED = ["canceled", "CANCELLED", " refunded ", "Void"]
DONE = ["complete", "shipped", ""]
IDS = ["c1", "c2", "c10", "C1", "x", " c2", "c3 ", "u-9", "é", "7"]
SEGMENT_COLUMNS = ["value_segment", "activity_segment", "purchase_freq_segment", "repeat_segment",
                   "risk_segment", "weekday_segment", "products_cnt_segment"]


@st.composite
def order_logs(draw) -> pd.DataFrame:
    """A flat log: one row per order line (customer, order, timestamp, amount, status)."""
    n_orders = draw(st.integers(1, 14))
    rows = []
    for i in range(n_orders):
        customer = draw(st.sampled_from(IDS))
        cancelled = draw(st.booleans()) if draw(st.integers(0, 3)) == 0 else False
        status = draw(st.sampled_from(CANCELLED if cancelled else DONE))
        # Few distinct instants, so that equal timestamps (and equal recencies) are common.
        base = START + dt.timedelta(days=draw(st.integers(0, 700)), seconds=draw(st.sampled_from([0, 1, 3600, 86399])))
        for line in range(draw(st.integers(1, 3))):
            ts = base + dt.timedelta(minutes=draw(st.integers(0, 90)) * (line > 0))
            cents = draw(st.integers(-5000 if cancelled else 0, 50_000))
            rows.append((customer, f"o{i}", ts.strftime("%Y-%m-%d %H:%M:%S"), f"{cents / 100:.2f}", status))
    return pd.DataFrame(rows, columns=["c", "o", "t", "a", "s"])


def customer_table(log: pd.DataFrame, bins: int) -> tuple[pd.DataFrame, dict]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        log.to_csv(path, index=False)
        dataset = load_flat(path, ColumnMapping.parse(MAPPING))
        table = build_customer_table(dataset, FeatureParams.for_dataset(dataset, rfm_bins=bins))
        excluded = dict(dataset.excluded)
        dataset.con.close()
    return table, excluded


def expected_bin_sizes(n: int, bins: int) -> list[int]:
    """Customers per bin 1..bins under the rank rule (n >= 2)."""
    m = n - 1
    return [m * b // bins - m * (b - 1) // bins + (b == 1) for b in range(1, bins + 1)]


def reference_counts(log: pd.DataFrame) -> pd.DataFrame:
    orders = log.assign(customer=log["c"].str.strip(), cancelled=log["s"].str.strip().str.lower().isin(
        ["canceled", "cancelled", "cancel", "void", "refunded", "returned"]))
    per_order = orders.groupby("o").agg(customer=("customer", "first"), cancelled=("cancelled", "any"))
    return per_order.groupby("customer").agg(
        orders_cnt=("cancelled", "size"), canceled_orders_cnt=("cancelled", "sum"),
        buys=("cancelled", lambda s: int((~s).sum())),
    )


def check_table(log: pd.DataFrame, table: pd.DataFrame, bins: int) -> None:
    ref = reference_counts(log)
    # Every customer once, ids trimmed, sorted as text.
    assert list(table["customer_id"]) == sorted(ref.index)
    t = table.set_index("customer_id")
    assert (t["orders_cnt"] == ref["orders_cnt"]).all()
    assert (t["canceled_orders_cnt"] == ref["canceled_orders_cnt"]).all()
    buys = t["buys_cnt"].astype("Float64")
    assert (buys.fillna(0) == ref["buys"]).all()
    converted = t["buys_cnt"].notna()
    assert (t.loc[converted, "buys_cnt"] <= t.loc[converted, "orders_cnt"]).all()
    assert t["canceled_share"].between(0, 1).all()
    assert np.allclose(t["canceled_share"], t["canceled_orders_cnt"] / t["orders_cnt"])

    rfm_cols = ["recency", "frequency", "monetary", "recency_score", "frequency_score", "monetary_score", "rfm_score", "rfm_segment"]
    assert t.loc[~converted, rfm_cols].isna().all().all(), "no RFM without a purchase"
    c = t.loc[converted].reset_index()
    n = len(c)
    if n == 0:
        return
    recency = c["recency"].astype("float64")
    assert (recency >= 0).all() and (recency == np.floor(recency)).all()
    assert (c["frequency"].astype(int) == c["buys_cnt"].astype(int)).all()
    assert (c["monetary"].astype(float) >= 0).all()
    assert recency.min() == 0, "the latest purchase defines now"

    for name, value, reverse in (("recency", "recency", True), ("frequency", "frequency", False), ("monetary", "monetary", False)):
        score = c[f"{name}_score"].astype(int)
        assert score.between(1, bins).all(), (name, score.tolist())
        if n == 1:
            assert score.iloc[0] == bins
            continue
        rank_bin = (bins + 1 - score) if reverse else score
        sizes = [int((rank_bin == b).sum()) for b in range(1, bins + 1)]
        assert sizes == expected_bin_sizes(n, bins), (name, sizes)
        assert max(sizes) - min(sizes) <= 1
        ordered = c.assign(_v=c[value].astype(float)).sort_values(["_v", "customer_id"], kind="stable")
        steps = np.diff(((bins + 1 - ordered[f"{name}_score"].astype(int)) if reverse else ordered[f"{name}_score"].astype(int)).to_numpy())
        assert (steps >= 0).all(), f"{name} scores must follow the ranking"
    assert (c["rfm_score"] == c["recency_score"].astype(str) + c["frequency_score"].astype(str) + c["monetary_score"].astype(str)).all()
    assert c["rfm_segment"].notna().all(), "every score combination has a named segment"

    for column in SEGMENT_COLUMNS:
        if column in t:
            assert t[column].notna().all(), column
            assert math.isclose(t[column].value_counts(normalize=True).sum(), 1.0)
    shares = customer_summary(table)["rfm_segments"]
    assert math.isclose(sum(s["share"] for s in shares.values()), 1.0)
    assert sum(s["customers"] for s in shares.values()) == n


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(log=order_logs(), bins=st.sampled_from([3, 5]), seed=st.integers(0, 2**32 - 1))
@example(log=pd.DataFrame([("solo", "o1", "2021-01-01 10:00:00", "5.00", "")], columns=["c", "o", "t", "a", "s"]), bins=5, seed=0)
@example(log=pd.DataFrame([(f"c{i}", f"o{i}", "2021-01-01 10:00:00", "5.00", "") for i in range(7)], columns=["c", "o", "t", "a", "s"]), bins=3, seed=1)
@example(log=pd.DataFrame([("a", "o1", "2021-01-01 10:00:00", "5.00", "canceled"), ("b", "o2", "2021-01-02 10:00:00", "-5.00", "void")],
                          columns=["c", "o", "t", "a", "s"]), bins=3, seed=2)
def test_customer_table_properties(log, bins, seed):
    table, _ = customer_table(log, bins)
    check_table(log, table, bins)
    shuffled = log.iloc[np.random.default_rng(seed).permutation(len(log))].reset_index(drop=True)
    again, _ = customer_table(shuffled, bins)
    pd.testing.assert_frame_equal(table, again, check_exact=True)


@pytest.mark.parametrize("n", range(2, 40))
@pytest.mark.parametrize("bins", [3, 5])
def test_bin_sizes_of_the_rank_rule(n, bins):
    """The closed form above is the rank rule itself (and pandas' qcut of the ranks)."""
    ranks = np.arange(1, n + 1)
    rule = [min(b for b in range(1, bins + 1) if (r - 1) * bins <= (n - 1) * b) for r in ranks]
    assert [rule.count(b) for b in range(1, bins + 1)] == expected_bin_sizes(n, bins)
    qcut = pd.qcut(pd.Series(ranks), bins, labels=False, duplicates="drop") + 1 if n >= bins else None
    if qcut is not None:
        assert list(qcut) == rule
