"""Caveats where the data undermines a number (issue 19): RFM scores decided by the tie rule,
split baskets, collapsed segments, small populations; each counted on a hand-made table."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from custseg.profile.caveats import (
    collapsed_segment_caveats,
    rfm_tie_caveats,
    small_population_caveats,
    split_basket_caveat,
)


def test_frequency_ties_decide_scores_and_champions_who_bought_once():
    # 90 one-order customers spread over F scores 1-3 by the tie rule, 10 repeat buyers
    frequency = np.r_[np.ones(90, int), np.full(10, 3)]
    customers = pd.DataFrame({
        "frequency": frequency, "frequency_score": np.r_[np.repeat([1, 2, 3], 30), np.full(10, 3)],
        "recency": np.arange(100), "recency_score": np.repeat([3, 2, 1], [34, 33, 33]),
        "monetary": np.arange(100.0), "monetary_score": np.repeat([1, 2, 3], [34, 33, 33]),
        "rfm_segment": ["Champions" if i >= 60 else "Other" for i in range(100)],
    })
    (line,) = rfm_tie_caveats(customers)  # recency and monetary have no ties: no line for them
    assert line.startswith("Frequency score: 90 % of the scored customers")
    assert line.endswith("; 75 % of the 'Champions' bought once.")  # 30 of the 40 Champions have one order


def test_split_baskets_count_second_orders_within_the_hours():
    gaps_days = pd.Series([0.01, 0.04, 0.5, 30.0, np.nan, np.nan])  # 14 min, 58 min, 12 h, 30 days
    (line,) = split_basket_caveat(pd.DataFrame({"from_first_to_second_days": gaps_days}), hours=1)
    assert line.startswith("Split baskets: 2 of the 4 repeat customers (50 %) placed their second order within 1 hour")
    assert split_basket_caveat(pd.DataFrame({"from_first_to_second_days": gaps_days}), hours=0) == []
    assert "3 of the 4" in split_basket_caveat(pd.DataFrame({"from_first_to_second_days": gaps_days}), hours=13)[0]


def test_collapsed_segment_and_small_population():
    customers = pd.DataFrame({"buys_cnt": [1.0] * 99 + [np.nan], "activity_segment": ["One Time"] * 95 + ["Core"] * 4 + ["Never Converted"]})
    (line,) = collapsed_segment_caveats(customers, ["activity_segment"])
    assert line == "Activity Segment: 96 % of the buyers are 'One Time'; it separates few customers."
    pops = [SimpleNamespace(title="Big", n_customers=500), SimpleNamespace(title="Tiny", n_customers=57)]
    assert small_population_caveats(pops, 100) == [
        "Tiny: 57 customers, fewer than 100; its clusters are indicative only (setting: [report] min_population)."]
