"""Profile table values, column order and polar normalisation on hand-checked inputs,
including the seed's two worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.errors import InputError
from custseg.profile.colors import shade
from custseg.profile.tables import (
    SHARE_ROW,
    column_order,
    format_number,
    order_scores,
    overall_values,
    polar_values,
    profile_table,
    style_profile,
)

METRICS = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]

# Seed example 1: cluster -> (share %, aup, recency, frequency, monetary medians)
SEED_1 = {
    1: (52.66, 1, 128, 1, 101.75),
    2: (38.95, 1, 372, 1, 99.43),
    3: (2.42, 1, 218.5, 1, 966.53),
    4: (3.03, 2, 221, 1, 187.81),
    5: (2.95, 1, 197.5, 2, 223.66),
}
# Seed example 2 (repeat customers): cluster -> (share %, aup, recency, frequency, monetary)
SEED_2 = {
    1: (8.33, 1, 107, 3, 480.52),
    2: (3.97, 1, 67, 2, 1308.12),
    3: (33.47, 1, 28, 2, 291.46),
    4: (42.72, 1, 103, 2, 266.76),
    5: (8.47, 1.5, 80, 2, 311.05),
    6: (0.13, 1, 8, 15, 879.27),
    7: (2.91, 2, 83.5, 2, 432.62),
}


def seed_table(seed: dict) -> pd.DataFrame:
    return pd.DataFrame(seed, index=[SHARE_ROW, *METRICS], dtype=float)


def seed_frame(seed: dict, counts: list[int]) -> pd.DataFrame:
    """Customers whose per-cluster medians are exactly the seed's (every row = the median)."""
    rows = []
    cid = 0
    for (cluster, values), n in zip(seed.items(), counts, strict=True):
        for _ in range(n):
            rows.append({"customer_id": f"c{cid}", "cluster": cluster, **dict(zip(METRICS, values[1:], strict=True))})
            cid += 1
    return pd.DataFrame(rows)


def test_seed_example_1_orders_clusters_3_4_5_2_1():
    table = seed_table(SEED_1)
    assert column_order(table) == [3, 4, 5, 2, 1]
    # hand computation: aup/2, recency/372, frequency/2, monetary/966.53, summed
    by_hand = {
        1: 0.5 + 128 / 372 + 0.5 + 101.75 / 966.53,
        2: 0.5 + 1.0 + 0.5 + 99.43 / 966.53,
        3: 0.5 + 218.5 / 372 + 0.5 + 1.0,
        4: 1.0 + 221 / 372 + 0.5 + 187.81 / 966.53,
        5: 0.5 + 197.5 / 372 + 1.0 + 223.66 / 966.53,
    }
    assert order_scores(table).to_dict() == pytest.approx(by_hand)


def test_share_row_does_not_take_part_in_the_order():
    """With the share row normalised and summed too, the seed would read 2, 3, 1, 4, 5."""
    table = seed_table(SEED_1)
    with_share = order_scores(table) + table.loc[SHARE_ROW] / table.loc[SHARE_ROW].max()
    assert list(with_share.sort_values(ascending=False).index) == [2, 3, 1, 4, 5]
    assert column_order(table) != list(with_share.sort_values(ascending=False).index)


def test_seed_example_2_orders_clusters_2_6_7_1_5_4_3():
    table = seed_table(SEED_2)
    assert column_order(table) == [2, 6, 7, 1, 5, 4, 3]
    # the top three are close: 2.2595 > 2.2469 > 2.2444 (aup/2, rec/107, freq/15, mon/1308.12)
    scores = order_scores(table)
    assert scores[2] == pytest.approx(0.5 + 67 / 107 + 2 / 15 + 1.0)
    assert scores[6] == pytest.approx(0.5 + 8 / 107 + 1.0 + 879.27 / 1308.12)
    assert scores[7] == pytest.approx(1.0 + 83.5 / 107 + 2 / 15 + 432.62 / 1308.12)


@pytest.mark.parametrize(
    ("seed", "counts", "order"),
    [
        (SEED_1, [1198, 886, 55, 69, 67], [3, 4, 5, 2, 1]),  # 2,275 customers
        (SEED_2, [63, 30, 253, 323, 64, 1, 22], [2, 6, 7, 1, 5, 4, 3]),  # 756 customers
    ],
)
def test_profile_table_reproduces_the_seed_end_to_end(seed, counts, order):
    table = profile_table(seed_frame(seed, counts), METRICS)
    assert list(table.columns) == order
    assert list(table.index) == [SHARE_ROW, *METRICS]
    text = style_profile(table).text
    for cluster, values in seed.items():
        assert text.loc[SHARE_ROW, cluster] == f"{values[0]:.2f}%"
        assert table.loc[METRICS, cluster].tolist() == pytest.approx(list(values[1:]))


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Six customers with an id (one without a cluster) plus a row without an id."""
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5", "c6", None],
            "cluster": [1, 1, 1, 2, 2, None, 1],
            "recency": [10, 20, 30, 100, 200, 5, 1000],
            "monetary": [100, 300, 200, 50, 70, 999, 1],
        }
    )


def test_tiny_profile_by_hand(tiny):
    table = profile_table(tiny, ["recency", "monetary"])
    # share: over the 6 customers with an id (c6 has no cluster but counts)
    assert table.loc[SHARE_ROW].to_dict() == pytest.approx({1: 50.0, 2: 100 * 2 / 6})
    assert table.loc["recency"].to_dict() == {1: 20.0, 2: 150.0}
    assert table.loc["monetary"].to_dict() == {1: 200.0, 2: 60.0}
    # cluster 1: 20/150 + 200/200 = 1.133; cluster 2: 1 + 60/200 = 1.3
    assert list(table.columns) == [2, 1]
    assert order_scores(table).to_dict() == pytest.approx({1: 20 / 150 + 1.0, 2: 1.0 + 0.3})


@pytest.mark.parametrize(
    ("agg", "fn"),
    [
        ("mean", np.mean),
        ("sum", np.sum),
        ("min", np.min),
        ("max", np.max),
        ("p90", lambda v: np.quantile(v, 0.9)),
        ("p25", lambda v: np.quantile(v, 0.25)),
    ],
)
def test_other_aggregates_match_numpy(tiny, agg, fn):
    table = profile_table(tiny, ["recency", "monetary"], agg=agg)
    assert table.loc["recency", 1] == pytest.approx(fn([10, 20, 30]))
    assert table.loc["monetary", 2] == pytest.approx(fn([50, 70]))
    assert table.loc[SHARE_ROW, 1] == pytest.approx(50.0)  # the share never changes with agg


def test_overall_values_use_every_customer_with_an_id(tiny):
    overall = overall_values(tiny, ["recency", "monetary"])
    assert overall["recency"] == pytest.approx(np.median([10, 20, 30, 100, 200, 5]))


def test_input_errors(tiny):
    with pytest.raises(InputError, match="unknown aggregate"):
        profile_table(tiny, ["recency"], agg="mode")
    with pytest.raises(InputError, match="missing column"):
        profile_table(tiny, ["nope"])
    with pytest.raises(InputError, match="one row per customer"):
        profile_table(pd.concat([tiny, tiny.iloc[:1]]), ["recency"])
    with pytest.raises(InputError, match="numeric"):
        profile_table(tiny.assign(recency="x"), ["recency"])


def test_polar_values_divide_by_the_maximum():
    table = seed_table(SEED_1)
    polar = polar_values(table)
    assert SHARE_ROW not in polar.index
    assert polar.loc["monetary"].to_dict() == pytest.approx({c: v[4] / 966.53 for c, v in SEED_1.items()})
    assert polar.loc["avg_unique_products_cnt"].to_dict() == {1: 0.5, 2: 0.5, 3: 0.5, 4: 1.0, 5: 0.5}
    assert polar.to_numpy().max() == 1.0


def test_polar_sign_rules_and_single_values():
    table = pd.DataFrame(
        {"a": [10.0, -2.0, 3.0, 7.0], "b": [20.0, 0.0, 3.0, 7.0], "c": [30.0, 2.0, 3.0, 14.0]},
        index=[SHARE_ROW, "negative", "constant", "plain"],
    )
    polar = polar_values(table)
    assert polar.loc["negative"].tolist() == [0.0, 0.5, 1.0]  # min-max because of -2
    assert polar.loc["constant"].tolist() == [0.5, 0.5, 0.5]  # a single value sits mid-axis
    assert polar.loc["plain"].tolist() == [0.5, 0.5, 1.0]
    one_cluster = polar_values(table[["a"]])
    assert one_cluster["a"].tolist() == [0.5, 0.5, 0.5]
    # the ordering keeps a constant row as it is (3 each), adding the same to every cluster
    assert order_scores(table).tolist() == pytest.approx([0 + 3 + 0.5, 0.5 + 3 + 0.5, 1 + 3 + 1])


def test_shading_is_per_row_min_max():
    table = seed_table(SEED_1)[[3, 4, 5, 2, 1]]
    styled = style_profile(table)
    bg = styled.background
    assert bg.loc["monetary", 3] == shade(1.0) == "#006d2c"  # row maximum: darkest
    assert bg.loc["monetary", 2] == shade(0.0) == "#e5f5e0"  # row minimum: lightest
    t = (223.66 - 99.43) / (966.53 - 99.43)
    assert bg.loc["monetary", 5] == shade(t)
    assert bg.loc[SHARE_ROW, 1] == shade(1.0)  # the share row is shaded too
    assert styled.font_color.loc["monetary", 3] == "#ffffff"
    assert styled.font_color.loc["monetary", 2] == "#000000"
    assert styled.row_labels["recency"] == "Recency (days)"
    assert styled.column_labels[3] == "Cluster 3"
    text, colours = styled.display()
    assert list(text.columns) == ["Cluster 3", "Cluster 4", "Cluster 5", "Cluster 2", "Cluster 1"]
    assert text.loc["Monetary (total spend)", "Cluster 3"] == "966.53"
    assert colours.loc["Monetary (total spend)", "Cluster 3"] == "#006d2c"


def test_number_formatting():
    assert [format_number(v) for v in (1.0, 218.5, 101.754, 1234.5, -0.001)] == [
        "1", "218.5", "101.75", "1,234.5", "0"
    ]


def test_darker_is_better_in_every_row_recency_reversed():
    """Issue 20: a better value is always the same way on the scale. Recency counts days since
    the last order, so its smallest value is the darkest cell; spend's largest is."""
    from custseg.profile.colors import SHADE_DARK, SHADE_LIGHT, shade
    from custseg.profile.tables import style_profile

    table = pd.DataFrame({1: [50.0, 10.0, 100.0], 2: [30.0, 300.0, 900.0], 3: [20.0, 120.0, 400.0]},
                         index=["% of Total Count", "recency", "monetary"])
    background = style_profile(table).background
    dark, light = shade(1.0), shade(0.0)
    assert (dark, light) == ("#{:02x}{:02x}{:02x}".format(*SHADE_DARK), "#{:02x}{:02x}{:02x}".format(*SHADE_LIGHT))
    assert background.loc["recency", 1] == dark and background.loc["recency", 2] == light   # 10 days: best
    assert background.loc["monetary", 2] == dark and background.loc["monetary", 1] == light  # 900: best
