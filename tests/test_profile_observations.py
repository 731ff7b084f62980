"""Observations and cluster names on constructed examples where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import linkage

from custseg.profile.compare import cross_tab
from custseg.profile.evidence import dendrogram_cut, elbow_k
from custseg.profile.observations import (
    compare_observations,
    evidence_observations,
    metric_standouts,
    polar_observations,
    profile_observations,
    rfm_observations,
)
from custseg.profile.names import name_clusters
from custseg.profile.tables import SHARE_ROW, overall_values, profile_table

METRICS = ["recency", "frequency", "monetary", "avg_unique_products_cnt"]
#: cluster -> (recency, frequency, monetary, products); each cluster has 101 customers whose
#: values are the base times 1 +/- up to 5 %, symmetric, so the median is exactly the base.
BASES = {1: (10, 5, 1000, 1), 2: (300, 1, 50, 1), 3: (100, 2, 200, 1)}


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rows = []
    spread = 1 + 0.001 * np.arange(-50, 51)
    for c, (r, f, m, p) in BASES.items():
        for i, s in enumerate(spread):
            rows.append({"customer_id": f"{c}-{i}", "cluster": c, "recency": r * s, "frequency": f,
                         "monetary": m * s, "avg_unique_products_cnt": p})
    return pd.DataFrame(rows)


def test_overall_medians_are_the_middle_cluster(customers):
    overall = overall_values(customers, METRICS)
    assert overall.tolist() == pytest.approx([100, 2, 200, 1])


def test_standouts_by_ratio(customers):
    table = profile_table(customers, METRICS)
    st = metric_standouts(table, overall_values(customers, METRICS)).set_index(["cluster", "metric"])
    assert st.loc[(1, "recency"), "ratio"] == pytest.approx(0.1)
    assert st.loc[(1, "recency"), "side"] == "below"
    assert st.loc[(1, "recency"), "good"]  # lower recency is better
    assert st.loc[(2, "recency"), "side"] == "above" and not st.loc[(2, "recency"), "good"]
    assert st.loc[(2, "monetary"), "ratio"] == pytest.approx(0.25)
    assert (st.xs(3, level="cluster")["side"] == "typical").all()
    assert (st.xs("avg_unique_products_cnt", level="metric")["side"] == "typical").all()


def test_names_know_metric_direction(customers):
    """Words relative to the population (medians 100 days, 2 orders, 200): "lapsed" needs a year
    without an order (cluster 2: 300 days is "less recent"), and "one-time" is weaker than spend
    and recency; the typical cluster is called typical."""
    table = profile_table(customers, METRICS)
    names = name_clusters(table, overall_values(customers, METRICS))
    assert names == {1: "More recent higher-spending customers", 2: "Less recent lower-spending customers",
                     3: "Typical customers"}
    long = name_clusters(table, overall_values(customers, METRICS), max_words=3)
    assert long[1] == "More recent more frequent higher-spending customers"  # recency x10, spend x5, frequency x2.5
    assert long[2] == "Less recent one-time lower-spending customers"  # one order: literally true, population's is 2


def test_names_from_a_profile_alone_and_other_vocabulary():
    """A word the typical member has ("one-time" where the population median is one order)
    distinguishes nothing; unknown metrics get comparative words after the noun."""
    table = pd.DataFrame(
        {1: [50.0, 3, 100, 1, 100], 2: [50.0, 1, 100, 1, 100]},
        index=[SHARE_ROW, "avg_unique_products_cnt", "recency", "frequency", "monetary"],
    )
    names = name_clusters(table, overall={"avg_unique_products_cnt": 1, "recency": 100, "frequency": 1,
                                          "monetary": 100})
    assert names == {1: "Multi-product customers", 2: "Typical customers"}
    custom = pd.DataFrame({1: [50.0, 9.0], 2: [50.0, 2.0]}, index=[SHARE_ROW, "review_score"])
    named = name_clusters(custom, overall={"review_score": 4.0},
                          config={"review_score": {"label": "Review Score"}})
    assert named == {1: "Customers with higher Review Score", 2: "Customers with lower Review Score"}
    lower = name_clusters(custom, overall={"review_score": 4.0},
                          config={"review_score": {"direction": "lower_is_better", "above": "noisy",
                                                   "below": "calm", "role": "adjective"}})
    assert lower == {1: "Noisy customers", 2: "Calm customers"}


def test_duplicate_names_are_told_apart():
    """Two clusters with the same words and nothing else to tell them apart: their size rank."""
    table = pd.DataFrame({1: [30.0, 500.0], 2: [50.0, 500.0], 3: [20.0, 100.0]},
                         index=[SHARE_ROW, "monetary"])
    names = name_clusters(table, overall={"monetary": 100.0})
    assert names == {1: "Higher-spending customers (2nd largest)", 2: "Higher-spending customers (largest)",
                     3: "Typical customers"}


def test_profile_observations_carry_their_figures(customers):
    obs = profile_observations(customers, METRICS)
    summary = obs[0]
    assert summary.kind == "summary" and summary.confidence == "high"
    assert summary.figure_values["n_customers"] == 303
    assert summary.figure_values["largest_share_pct"] == pytest.approx(100 / 3)

    highest = {o.figure_values["metric"]: o for o in obs if o.kind == "highest"}
    spend = highest["monetary"]
    assert spend.figure_values["highest"] == [1]
    assert spend.figure_values["highest_value"] == pytest.approx(1000)
    assert spend.figure_values["runner_up"] == 3
    assert spend.text.startswith(
        "Cluster 1 (More recent higher-spending customers) has the highest median Monetary (total spend): 1,000, "
        "against 200 for the next (cluster 3); the lowest is cluster 2 (50)")
    assert spend.cluster == 1
    assert spend.confidence == "high"  # 101 vs 101 customers, fully separated
    assert "lower is better" in highest["recency"].text
    assert highest["recency"].figure_values["lowest"] == [1]
    assert "All clusters have the same median Avg Unique Products: 1." in highest["avg_unique_products_cnt"].text

    standouts = {o.cluster: o for o in obs if o.kind == "standout"}
    one = standouts[1]
    assert one.figure_values["name"] == "More recent higher-spending customers"
    assert one.figure_values["metrics"]["monetary"]["ratio"] == pytest.approx(5.0)
    # values carry their unit (issue 19: "(mean 237.77)" said nothing about days)
    assert "5.0x the overall median of 200" in one.text
    assert "median recency 10 days, 90% below the overall median of 100 days" in one.text
    assert one.confidence == "high"
    assert "no metric's median differs" in standouts[3].text
    assert not standouts[3].finding  # a non-finding: kept to the statistics, never shown


def test_profile_observations_with_the_callers_table_say_the_same(customers):
    for agg in ("median", "mean"):
        table = profile_table(customers, METRICS, agg=agg)
        given = profile_observations(customers, METRICS, agg=agg, table=table)
        assert [o.text for o in given] == [o.text for o in profile_observations(customers, METRICS, agg=agg)]


def test_small_clusters_lower_the_confidence():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"customer_id": range(26), "cluster": [1] * 20 + [2] * 6,
                          "monetary": np.r_[rng.uniform(90, 110, 20), rng.uniform(95, 160, 6)]})
    obs = profile_observations(frame, ["monetary"])
    assert all(o.confidence != "high" for o in obs if o.kind in ("highest", "standout"))


def test_compare_observations_name_the_significant_cells():
    rng = np.random.default_rng(7)
    n = 600
    cluster = np.repeat([1, 2, 3], n // 3)
    pay = np.where(cluster == 1, "Credit Card", rng.choice(["Boleto", "Credit Card", "Voucher"], n))
    ct = cross_tab(pd.DataFrame({"customer_id": range(n), "cluster": cluster, "customer_payment_types": pay}),
                   "cluster", "customer_payment_types")
    obs = compare_observations(ct, names={1: "Card lovers"})
    summary = obs[0]
    assert summary.figure_values["cramers_v"] == pytest.approx(ct.cramers_v)
    assert "Payment Types" in summary.text and summary.confidence == "high"
    over = [o for o in obs if o.kind == "over_represented"]
    top = over[0]
    assert (top.cluster, top.figure_values["value"]) == (1, "Credit Card")
    assert top.figure_values["share_within_cluster"] == 1.0
    assert top.figure_values["adjusted_residual"] == pytest.approx(ct.residuals.loc[1, "Credit Card"])
    assert "100% of cluster 1 (Card lovers) have Payment Types 'Credit Card'" in top.text
    flagged = {(o.cluster, o.figure_values["value"]) for o in obs if o.kind.endswith("represented")}
    # every significant cell that has customers, and only those: cluster 1's empty Boleto and
    # Voucher cells are the mirror of its 100 % Credit Card (issue 19: no sentences on 0 customers)
    expected = {(c, v) for c in ct.counts.index for v in ct.counts.columns
                if ct.significance.loc[c, v] != 0 and ct.counts.loc[c, v] > 0}
    assert flagged == expected
    assert all(o.figure_values["count"] > 0 for o in obs if o.kind.endswith("represented"))
    assert any(o.kind == "under_represented" and o.cluster == 2 for o in obs)


def test_compare_observations_warn_on_small_expected_counts():
    frame = pd.DataFrame({"customer_id": range(12), "cluster": [1] * 6 + [2] * 6,
                          "dim": ["a"] * 5 + ["b"] + ["b"] * 5 + ["a"]})
    obs = compare_observations(cross_tab(frame, "cluster", "dim"))
    assert obs[0].confidence == "low"
    assert "expected counts are small" in obs[0].text


def test_polar_observation():
    table = pd.DataFrame({1: [90.0, 10, 100], 2: [10.0, 300, 900]}, index=[SHARE_ROW, "recency", "monetary"])
    (obs,) = polar_observations(table, n_customers=1000)
    # issue 20: the better value is outward on every axis; recency counts days, so its fewest (cluster 1) is
    assert obs.figure_values["top_by_metric"] == {"recency": 1, "monetary": 2}
    assert obs.figure_values["largest"] == 1
    assert "Recency (days) (the fewest): cluster 1" in obs.text
    assert obs.confidence == "high"
    (small,) = polar_observations(table, n_customers=100)  # cluster 2 would be 10 customers
    assert small.confidence == "low"


def test_rfm_observations():
    rfm = pd.DataFrame({
        "recency": [10, 20, 30, 40, 400], "frequency": [1, 1, 1, 2, 5], "monetary": [10, 20, 30, 40, 1000],
        "recency_score": [5, 5, 4, 4, 1], "frequency_score": [1, 1, 1, 2, 5], "monetary_score": [1, 2, 3, 4, 5],
        "rfm_segment": ["New", "New", "Promising", "Promising", "Champions"],
    })
    obs = {o.view: o for o in rfm_observations(rfm, min_cell=1)}
    assert obs["rfm_histograms"].figure_values["one_time_share"] == pytest.approx(0.6)
    assert obs["rfm_histograms"].figure_values["monetary_median"] == 30
    assert obs["rfm_rf_heatmap"].figure_values["highest_cell"] == [1, 5]
    assert obs["rfm_score_heatmaps"].figure_values["RxF"] == {"cell": [5, 1], "count": 2, "share": 0.4}
    assert obs["rfm_fm_by_r"].figure_values["r_score"] == 5
    assert obs["rfm_segment_bar"].figure_values["smallest"] == "Champions"
    assert obs["rfm_segment_treemap"].figure_values["top_share"] == pytest.approx(1.0)
    assert obs["rfm_histograms"].confidence == "low"  # five customers


def test_rfm_segments_as_categories_give_the_same_observations_and_summary():
    """A categorical rfm_segment (as in the customer table) with a category no customer has, and
    tied counts: the same words as plain text (ties in order of first appearance)."""
    from custseg.summary import customer_summary

    rfm = pd.DataFrame({
        "recency": [10, 20, 30, 40, 400, 50], "frequency": [1, 1, 1, 2, 5, 1], "monetary": [10, 20, 30, 40, 1000, 5],
        "recency_score": [5, 5, 4, 4, 1, 3], "frequency_score": [1, 1, 1, 2, 5, 1], "monetary_score": [1, 2, 3, 4, 5, 1],
        "rfm_segment": pd.array(["Promising", "New", "Promising", "New", "Lost", None], dtype="str"),
        "buys_cnt": [1, 1, 1, 2, 5, None],
    })
    categorical = rfm.assign(rfm_segment=rfm["rfm_segment"].astype(pd.CategoricalDtype(["Champions", "Lost", "New", "Promising"])))
    plain = [(o.text, o.figure_values) for o in rfm_observations(rfm, min_cell=1)]
    assert [(o.text, o.figure_values) for o in rfm_observations(categorical, min_cell=1)] == plain
    assert customer_summary(categorical) == customer_summary(rfm)


def test_elbow_and_dendrogram_helpers():
    assert elbow_k(range(2, 9), [100, 60, 20, 16, 12, 8, 4]) == 4
    assert elbow_k([2, 3, 4, 5], [40, 30, 20, 10]) is None  # a straight line has no elbow
    assert elbow_k([2, 3], [10, 5]) is None
    from scipy.cluster.hierarchy import fcluster

    z = linkage(np.random.default_rng(0).normal(size=(40, 2)), "ward")
    for k in range(2, 8):
        assert len(set(fcluster(z, t=dendrogram_cut(z, k), criterion="distance"))) == k
    assert dendrogram_cut(z, 1) is None


def test_evidence_observations():
    ev = pd.DataFrame({
        "k": [2, 3, 4, 5, 6, 7, 8], "inertia": [100, 60, 20, 16, 12, 8, 4],
        "silhouette": [0.30, 0.35, 0.62, 0.50, 0.45, 0.40, 0.38],
        "silhouette_ci_low": [np.nan] * 7, "silhouette_ci_high": [np.nan] * 7,
        "silhouette_method": ["exact"] * 7,
        "calinski_harabasz": [10, 20, 50, 40, 30, 20, 10], "davies_bouldin": [1.2, 1.0, 0.5, 0.7, 0.8, 0.9, 1.0],
        "stability_ari_mean": [0.9, 0.8, 0.95, 0.7, np.nan, np.nan, np.nan],
        "stability_ari_std": [0.01, 0.05, 0.02, 0.1, np.nan, np.nan, np.nan],
    })
    obs = {o.view: o for o in evidence_observations(ev, chosen_k=4)}
    assert obs["elbow"].figure_values["elbow_k"] == 4
    assert obs["silhouette"].figure_values["best_k"] == 4
    assert obs["silhouette"].confidence == "high"  # 0.12 ahead of the next k
    assert "reasonable structure" in obs["silhouette"].text
    assert obs["stability"].figure_values == {"k": 4, "ari_mean": 0.95, "ari_std": 0.02, "most_stable_k": 4,
                                              "most_stable_ari": 0.95}
    assert "highly stable" in obs["stability"].text
    assert "the two agree" in obs["validity_indices"].text
    sampled = ev.assign(silhouette_method="sampled", silhouette_ci_low=ev["silhouette"] - 0.15,
                        silhouette_ci_high=ev["silhouette"] + 0.15)
    sil = next(o for o in evidence_observations(sampled) if o.view == "silhouette")
    assert sil.confidence == "low" and sil.figure_values["within_ci"] == [5]


def test_ranks_vs_rest_give_scipys_mann_whitney_p_on_real_customers():
    """One ranking per metric, then each group against the rest: SciPy's asymptotic two-sided
    Mann-Whitney p of the group's finite values against the others', on the Online Retail
    customers (4,372, many ties, NaN for one-time buyers) grouped by an RFM segment."""
    from scipy import stats

    from custseg.engines.duckdb.features import build_customer_table
    from custseg.profile.observations import _RanksVsRest
    from custseg.engines.duckdb import load

    from .test_features_vs_pandas import ONLINE_RETAIL

    table = build_customer_table(load(ONLINE_RETAIL, preset="online_retail"))
    groups = table["rfm_segment"].astype(object).fillna("none").to_numpy()
    checked = 0
    for metric in ("monetary", "frequency", "recency", "avg_buys_diff_days", "avg_unique_products_cnt", "canceled_share"):
        values = table[metric].to_numpy(dtype=float)
        ranked = _RanksVsRest(values)
        for group in np.unique(groups):
            in_group = groups == group
            a, b = values[in_group], values[~in_group]
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            if a.size == 0 or b.size == 0:
                assert np.isnan(ranked.p_value(in_group))
                continue
            expected = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue
            assert ranked.p_value(in_group) == pytest.approx(expected, rel=1e-12, abs=1e-300), (metric, group)
            checked += 1
    assert checked >= 30


def test_ranks_vs_rest_by_hand():
    """values 1, 2, 2, 3 (NaN left out), group = {1, 2 (first)}: ranks 1, 2.5, 2.5, 4; R1 = 3.5,
    U1 = 3.5 - 3 = 0.5, U = max(0.5, 4 - 0.5) = 3.5; ties 2 -> t^3 - t = 6;
    s = sqrt(2 * 2 / 12 * (5 - 6 / 12)) = sqrt(1.5); z = (3.5 - 2 - 0.5) / sqrt(1.5); p = 2 * (1 - Phi(z))."""
    import math

    from custseg.profile.observations import _RanksVsRest

    values = np.array([1.0, 2.0, np.nan, 2.0, 3.0])
    in_group = np.array([True, True, True, False, False])
    z = 1 / math.sqrt(1.5)
    assert _RanksVsRest(values).p_value(in_group) == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-12)
    assert _RanksVsRest(np.array([4.0, 4.0, 4.0])).p_value(np.array([True, False, False])) == 1.0
