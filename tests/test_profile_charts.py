"""Every figure builds and serialises; values on the charts are the computed ones; cluster
colours are the same everywhere; two figures render to PNG with kaleido."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy.cluster.hierarchy import dendrogram, linkage

from custseg.profile import charts, evidence_charts, rfm_charts
from custseg.profile.colors import CLUSTER_PALETTE, NOISE_COLOR, cluster_color
from custseg.profile.compare import cross_tab
from custseg.profile.labels import label
from custseg.profile.tables import SHARE_ROW, polar_values, profile_table

METRICS = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 600
    cluster = rng.integers(1, 5, n)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)], "cluster": cluster,
        "recency": rng.exponential(150, n).round(), "frequency": rng.poisson(0.4, n) + 1,
        "monetary": rng.lognormal(5, 1, n).round(2), "avg_unique_products_cnt": rng.integers(1, 3, n),
        "activity_segment": rng.choice(["Active", "Dormant", "Lapsed"], n),
        "customer_payment_types": rng.choice(
            ["Boleto", "Credit Card", "Voucher", "Debit Card", "Boleto, Credit Card", "Credit Card, Voucher",
             "Boleto, Voucher"], n),
    })
    frame.loc[frame["cluster"] == 3, "customer_payment_types"] = "Boleto"
    frame["recency_score"] = pd.qcut(frame["recency"].rank(method="first"), 5, labels=False) + 1
    frame["frequency_score"] = np.minimum(frame["frequency"], 5)
    frame["monetary_score"] = pd.qcut(frame["monetary"].rank(method="first"), 5, labels=False) + 1
    frame["rfm_segment"] = rng.choice(["Champions", "Loyal", "At Risk", "Hibernating"], n)
    return frame


@pytest.fixture(scope="module")
def evidence() -> pd.DataFrame:
    k = np.arange(2, 10)
    return pd.DataFrame({
        "k": k, "inertia": 1000 / k ** 1.2, "silhouette": [0.3, 0.45, 0.4, 0.38, 0.36, 0.35, 0.3, 0.31],
        "silhouette_ci_low": [np.nan] * 4 + [0.33, 0.32, 0.27, 0.28],
        "silhouette_ci_high": [np.nan] * 4 + [0.39, 0.38, 0.33, 0.34],
        "silhouette_method": ["exact"] * 4 + ["sampled"] * 4,
        "calinski_harabasz": np.linspace(200, 120, 8), "davies_bouldin": np.linspace(0.6, 1.2, 8),
        "stability_ari_mean": [0.9, 0.85, 0.8, 0.7, 0.6, np.nan, np.nan, np.nan],
        "stability_ari_std": [0.02, 0.03, 0.05, 0.08, 0.1, np.nan, np.nan, np.nan],
    })


@pytest.fixture(scope="module")
def figures(customers, evidence) -> dict[str, go.Figure]:
    table = profile_table(customers, METRICS)
    ct = cross_tab(customers, "cluster", "customer_payment_types", top_n=4)
    z = linkage(np.random.default_rng(1).normal(size=(120, 3)), "ward")
    return {
        "profile_table": charts.profile_table_figure(table),
        "segment_polar": charts.segment_polar(table),
        "cat_compare_2": charts.cat_compare(ct, graph=2),
        "cat_compare_3": charts.cat_compare(ct, graph=3),
        "rfm_histograms": rfm_charts.rfm_histograms(customers),
        "rfm_rf_heatmap": rfm_charts.rfm_rf_heatmap(customers),
        "rfm_score_heatmaps": rfm_charts.rfm_score_heatmaps(customers),
        "rfm_fm_by_r": rfm_charts.rfm_fm_by_r(customers),
        "rfm_segment_bar": rfm_charts.rfm_segment_bar(customers),
        "rfm_segment_treemap": rfm_charts.rfm_segment_treemap(customers),
        "elbow": evidence_charts.elbow_chart(evidence, chosen_k=4),
        "silhouette": evidence_charts.silhouette_chart(evidence, chosen_k=4),
        "stability": evidence_charts.stability_chart(evidence, chosen_k=4),
        "validity_indices": evidence_charts.validity_indices_chart(evidence, chosen_k=4),
        "dendrogram": evidence_charts.dendrogram_chart(z, chosen_k=4, p=20),
    }


def test_every_figure_builds_serialises_and_has_a_title(figures):
    for view, fig in figures.items():
        data = json.loads(fig.to_json())
        title = data["layout"]["title"]["text"]
        assert title and "_" not in title, view  # readable, not a column name
        assert data["layout"]["meta"]["view"] == view


def test_every_figure_passes_plotlys_validation(figures):
    # some builders skip Plotly's validation for speed (charts.make_figure): their specs must still be valid
    for view, fig in figures.items():
        spec = fig.to_plotly_json()
        validated = go.Figure(spec)  # raises ValueError on an unknown or invalid property
        assert json.loads(validated.to_json()) == json.loads(fig.to_json()), view


def test_polar_chart_draws_the_normalised_values(customers, figures):
    table = profile_table(customers, METRICS)
    fig = figures["segment_polar"]
    polar = [t for t in fig.data if t.type == "scatterpolar"]
    expected = polar_values(table)
    assert len(polar) == table.shape[1]
    for trace, cluster in zip(polar, table.columns, strict=True):
        r = list(trace.r)
        assert r[:-1] == pytest.approx(expected[cluster].tolist())
        assert r[-1] == r[0] and trace.theta[-1] == trace.theta[0]  # closed polygon
        assert trace.line.color == cluster_color(cluster)
        # recency counts days: reversed, so the better value is outward on every axis (issue 20)
        assert list(trace.theta[:-1]) == [label(m) + (" (reversed)" if m == "recency" else "") for m in METRICS]
    assert fig.layout.polar.radialaxis.range == (0, 1.1)
    assert fig.layout.polar.angularaxis.rotation == 90
    assert fig.layout.polar.angularaxis.direction == "clockwise"
    bar = next(t for t in fig.data if t.type == "bar")
    shares = table.loc[SHARE_ROW]
    assert list(bar.x) == sorted(shares)  # plotly draws bottom-up: largest on top
    assert bar.y[-1] == f"Cluster {shares.idxmax()}"


def test_cat_compare_bars_are_the_shares(customers, figures):
    ct = cross_tab(customers, "cluster", "customer_payment_types", top_n=4)
    fig = figures["cat_compare_2"]
    left = [t for t in fig.data if t.xaxis == "x"]
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in left] == [*ct.counts.columns[:-1], "Other"]
    totals = np.sum([np.asarray(t.x) for t in left], axis=0)
    np.testing.assert_allclose(totals, 100.0)  # each cluster's row sums to 100 %
    for t, v in zip(left, ct.counts.columns, strict=True):
        np.testing.assert_allclose(t.x, ct.share_within_cluster[v] * 100)
    for t, v in zip(right, ct.counts.columns, strict=True):
        np.testing.assert_allclose(t.x, ct.share_within_value[v] * 100)
    assert right[0].marker.color != left[-1].marker.color  # "Other" is grey, values coloured
    # the significant Boleto cell of cluster 3 carries its mark
    boleto = left[list(ct.counts.columns).index("Boleto")]
    assert "▲" in boleto.text[list(ct.counts.index).index(3)]


def test_cluster_colours_are_the_same_in_every_chart(figures):
    polar_bar = next(t for t in figures["segment_polar"].data if t.type == "bar")
    by_polar = dict(zip(polar_bar.y, polar_bar.marker.color, strict=True))
    by_compare = {t.name: t.marker.color for t in figures["cat_compare_3"].data if t.xaxis == "x"}
    for name, colour in by_compare.items():
        assert by_polar[name] == colour
    assert by_compare["Cluster 3"] == CLUSTER_PALETTE[3]


def test_cluster_colour_rule():
    assert cluster_color(3) == cluster_color(3.0) == cluster_color("3") == cluster_color(np.int64(3))
    assert cluster_color(15) == CLUSTER_PALETTE[3]
    assert cluster_color(-1) == NOISE_COLOR
    assert cluster_color("VIP") == cluster_color("VIP")


def test_rfm_charts_hold_the_counts(customers, figures):
    pairs = figures["rfm_score_heatmaps"].data
    rf = customers.groupby(["recency_score", "frequency_score"]).size().unstack(fill_value=0)
    np.testing.assert_array_equal(np.asarray(pairs[0].z), rf.to_numpy())
    bar = figures["rfm_segment_bar"].data[0]
    assert sum(bar.x) == pytest.approx(100.0)
    assert bar.y[-1] == customers["rfm_segment"].value_counts().index[0]
    hist = figures["rfm_histograms"].data
    hidden = int((customers["recency"] > customers["recency"].quantile(0.99)).sum())
    assert sum(hist[0].y) == len(customers) - hidden
    med = customers.groupby(["recency_score", "frequency_score"])["monetary"].median()
    heat = figures["rfm_rf_heatmap"].data[0]
    assert heat.z[0][0] == pytest.approx(med.loc[(1, 1)])


def test_evidence_charts_mark_the_elbow_and_the_band(figures):
    elbow = figures["elbow"]
    assert any(t.name == "Elbow (auto): k = 4" for t in elbow.data)
    sil = figures["silhouette"]
    band = [t for t in sil.data if t.fill == "tonexty"]
    assert len(band) == 1 and list(band[0].x) == [6, 7, 8, 9]  # sampled rows only
    stab = figures["stability"].data[0]
    assert list(stab.x) == [2, 3, 4, 5, 6]
    assert list(stab.error_y.array) == [0.02, 0.03, 0.05, 0.08, 0.1]
    line = [s for s in figures["stability"].layout.shapes if s.type == "line" and s.y0 == s.y1]
    assert [s.y0 for s in line] == [0.8]  # the threshold k is chosen with (issue 19: the chart drew 0.75)


def test_error_bars_stay_within_the_ari_range():
    ev = pd.DataFrame({"k": [2, 3, 4], "stability_ari_mean": [0.95, 0.2, -0.4], "stability_ari_std": [0.2, 0.1, 0.3]})
    bars = evidence_charts.stability_chart(ev).data[0].error_y
    mean = ev["stability_ari_mean"].to_numpy()
    assert np.all(mean + np.asarray(bars.array) <= 1.0) and np.all(mean - np.asarray(bars.arrayminus) >= -0.5)
    assert list(bars.arrayminus)[1] == pytest.approx(0.1)  # within range: the full standard deviation


def test_missing_evidence_gives_an_explaining_figure():
    fig = evidence_charts.stability_chart(pd.DataFrame({"k": [2, 3], "stability_ari_mean": [np.nan, np.nan]}))
    assert "not computed" in fig.layout.annotations[0].text


def _png(fig: go.Figure) -> bytes:
    try:
        return fig.to_image(format="png", width=900, height=500)
    except RuntimeError as exc:  # kaleido could not find Chrome/Chromium
        if "Chrome" in str(exc):
            pytest.skip("kaleido needs Chrome/Chromium (apt-get install chromium, or plotly_get_chrome)")
        raise


@pytest.mark.parametrize("view", ["cat_compare_2", "segment_polar"])
def test_figures_render_to_png(figures, view):
    png = _png(figures[view])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_rfm_segments_are_coloured_by_standing_in_every_view():
    """Champions green, at-risk red, lost grey: the same colour on the bar, the treemap and a comparison."""
    import pandas as pd

    from custseg.profile import charts, evidence_charts, rfm_charts
    from custseg.profile.colors import rfm_segment_colors

    colours = rfm_segment_colors(["Champions", "At Risk", "Lost", "About to Sleep", "Somebody's own"])
    assert colours["Champions"] == "#1a7f37" and colours["At Risk"] == "#e15759" and colours["Lost"] == "#7f7f7f"
    assert colours["About to Sleep"] == "#f39c4a"  # 3-bin and 5-bin spellings ("About To Sleep") alike
    assert colours["Somebody's own"].startswith("#")
    rfm = pd.DataFrame({"rfm_segment": ["Champions"] * 5 + ["Lost"] * 3 + ["At Risk"] * 2})
    bar = rfm_charts.rfm_segment_bar(rfm)
    treemap = rfm_charts.rfm_segment_treemap(rfm)
    on_bar = dict(zip(bar.data[0].y, bar.data[0].marker.color))
    on_treemap = dict(zip(treemap.data[0].labels, treemap.data[0].marker.colors))
    assert on_bar == on_treemap == {"Champions": "#1a7f37", "Lost": "#7f7f7f", "At Risk": "#e15759"}


def test_shortened_row_labels_stay_distinct():
    """Two long category names with one prefix must not fall into one row of a comparison."""
    from custseg.profile.charts import short_unique

    labels = short_unique(["Housewares and kitchen appliances A", "Housewares and kitchen appliances B", "Toys"], 26)
    assert len(set(labels)) == 3 and all(len(label) <= 26 for label in labels) and labels[2] == "Toys"


def test_rfm_heatmap_colours_start_at_zero():
    """Issue 19: a colour scale from the smallest to the largest cell (101..113) makes a 12 % spread
    look dramatic; counts and spend are coloured from 0."""
    import pandas as pd

    from custseg.profile import charts, evidence_charts, rfm_charts

    rfm = pd.DataFrame({"recency_score": [1, 1, 2, 2] * 30, "frequency_score": [1, 2, 1, 2] * 30,
                        "monetary_score": [1, 2, 2, 1] * 30, "monetary": [101.0, 113.0, 105.0, 109.0] * 30})
    assert rfm_charts.rfm_rf_heatmap(rfm).data[0].zmin == 0
    assert rfm_charts.rfm_score_heatmaps(rfm).layout.coloraxis.cmin == 0
    assert rfm_charts.rfm_fm_by_r(rfm).layout.coloraxis.cmin == 0


def test_dendrogram_branches_are_labelled_with_their_customers():
    """On a tree of micro-clusters each leaf holds many customers: a branch's label is the customers
    under it (the weights of its leaves), not how many leaves it has; every customer is under one
    branch. Without weights a leaf is one customer."""
    from custseg.cluster.ward import weighted_ward_linkage

    rng = np.random.default_rng(3)
    points, weights = rng.normal(size=(200, 3)), rng.integers(1, 500, size=200).astype(float)
    fig = evidence_charts.dendrogram_chart(weighted_ward_linkage(points, weights), chosen_k=5, leaf_weights=weights)
    labels = [int(t.replace(",", "")) for t in fig.layout.xaxis.ticktext]
    assert len(labels) == 30 and sum(labels) == weights.sum() > 200 * 30
    assert [f"{c:,} customers" for c in labels] == list(fig.data[1].text)
    assert fig.layout.xaxis.title.text == "Customers in each branch"

    z = linkage(points, "ward")
    plain = [int(t) for t in evidence_charts.dendrogram_chart(z, p=30).layout.xaxis.ticktext]
    truncated = dendrogram(z, truncate_mode="lastp", p=30, no_plot=True, count_sort="descending")["ivl"]
    # SciPy's own counts: "(n)" for a truncated branch, the leaf's index for a single leaf
    assert plain == [int(label[1:-1]) if label.startswith("(") else 1 for label in truncated] and sum(plain) == 200
