"""A small, realistic :class:`AnalysisResult` built from made-up numbers.

Used by the report tests and by ``docs/make_screenshots.py`` so the report stage can be built and
checked without the other stages. ``hostile=True`` puts markup, quotes and path tricks into every
string that comes from data (titles, categories, cities, notes, table cells, colours, keys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from custseg.result import AnalysisResult, Note, PopulationResult, Section, View

HOSTILE = [
    "<script>alert(1)</script>",
    "</script><script>alert(2)</script>",
    "\"quoted\" & 'single' <b>bold</b>",
    "<img src=x onerror=alert(3)>",
    "../../etc/passwd",
]

_GREENS = ["#f7fcf5", "#e5f5e0", "#c7e9c0", "#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"]
_PALETTE = ["#2a6f97", "#e07a5f", "#81b29a", "#f2cc8f", "#6d597a", "#3d405b", "#b56576"]


def _green(share: float) -> str:
    return _GREENS[min(len(_GREENS) - 1, max(0, int(round(share * (len(_GREENS) - 1)))))]


def _profile(pop: str, k: int, rng: np.random.Generator, hostile: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    metrics = ["recency", "frequency", "monetary", "avg_unique_products_cnt", "review_score"]
    shares = rng.dirichlet(np.ones(k) * 3)
    values = {
        "recency": rng.uniform(20, 400, k),
        "frequency": rng.uniform(1, 6, k),
        "monetary": rng.uniform(40, 2500, k),
        "avg_unique_products_cnt": rng.uniform(1, 3, k),
        "review_score": rng.uniform(2.5, 5, k),
    }
    columns = [f"Cluster {i}" for i in range(1, k + 1)]
    if hostile:
        columns[0] = HOSTILE[0]
        columns[1] = HOSTILE[2]
    table = pd.DataFrame(
        [[f"{s:.2%}" for s in shares]] + [list(values[m]) for m in metrics],
        index=pd.Index(["% of Total Count", *metrics], name="metric"),
        columns=columns,
        dtype=object,
    )
    if hostile:
        table.iloc[1, 2] = HOSTILE[1]
        table.index = pd.Index(["% of Total Count", HOSTILE[3], *metrics[1:]], name="metric <i>")
    colors = pd.DataFrame("", index=table.index, columns=table.columns)
    for row, metric in enumerate(metrics, start=1):
        v = values[metric]
        span = v.max() - v.min()
        colors.iloc[row] = [_green((x - v.min()) / span if span else 0.5) for x in v]
    if hostile:
        colors.iloc[2, 0] = "red;background-image:url(javascript:alert(4))"
        colors.iloc[2, 1] = "\"><script>alert(5)</script>"
    return table, colors


def _polar(title: str, k: int, rng: np.random.Generator, names: list[str]) -> go.Figure:
    metrics = ["recency", "frequency", "monetary", "avg unique products", "review score"]
    shares = np.sort(rng.dirichlet(np.ones(k) * 3))
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.35, 0.65], specs=[[{"type": "xy"}, {"type": "polar"}]],
        subplot_titles=("Share of customers", "Median of each metric (scaled to the largest)"),
    )
    fig.add_trace(go.Bar(x=shares, y=names, orientation="h", marker_color=_PALETTE[:k], showlegend=False,
                         text=[f"{s:.0%}" for s in shares], textposition="auto"), 1, 1)
    for i, name in enumerate(names):
        r = list(rng.uniform(0.15, 1.0, len(metrics)))
        fig.add_trace(go.Scatterpolar(r=r + r[:1], theta=metrics + metrics[:1], name=name, mode="lines",
                                      line_color=_PALETTE[i % len(_PALETTE)]), 1, 2)
    fig.update_layout(title=title, polar=dict(domain=dict(x=[0.45, 0.9], y=[0.0, 0.86]), radialaxis=dict(range=[0, 1.1]), angularaxis=dict(direction="clockwise", rotation=90)),
                      xaxis=dict(tickformat=".0%"), height=520, template="plotly_white", legend=dict(x=1.02))
    return fig


def _compare(title: str, clusters: list[str], values: list[str], rng: np.random.Generator) -> go.Figure:
    counts = rng.integers(5, 400, size=(len(clusters), len(values)))
    within_cluster = counts / counts.sum(axis=1, keepdims=True)
    within_value = counts / counts.sum(axis=0, keepdims=True)
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("Share within each cluster", "Share within each value"))
    for j, value in enumerate(values):
        color = _PALETTE[j % len(_PALETTE)]
        fig.add_trace(go.Bar(x=within_cluster[:, j], y=clusters, orientation="h", name=value, legendgroup=value,
                             marker_color=color), 1, 1)
        fig.add_trace(go.Bar(x=within_value[:, j], y=clusters, orientation="h", name=value, legendgroup=value,
                             marker_color=color, showlegend=False), 1, 2)
    fig.update_layout(title=title, barmode="stack", template="plotly_white", height=460,
                      xaxis=dict(tickformat=".0%"), xaxis2=dict(tickformat=".0%"),
                      legend=dict(orientation="h", y=-0.15))
    return fig


def _population(name: str, title: str, n: int, k: int, method: str, rng: np.random.Generator, hostile: bool) -> PopulationResult:
    names = {i: f"Cluster {i}" for i in range(1, k + 1)}
    label_names = [names[i] for i in range(1, k + 1)]
    table, colors = _profile(name, k, rng, hostile)
    ks = list(range(1 if method == "kmeans" else 2, 15))
    inertia = [1000 / (x ** 0.8) + rng.uniform(0, 10) for x in ks]
    evidence = pd.DataFrame({"k": ks, "inertia": inertia, "silhouette": [0.3 + 0.2 * np.exp(-((x - k) ** 2) / 8) for x in ks]})
    elbow = go.Figure(go.Scatter(x=ks, y=inertia if method == "kmeans" else evidence["silhouette"], mode="lines+markers",
                                 line_color="#2a6f97"))
    elbow.add_vline(x=k, line_dash="dash", line_color="#e07a5f", annotation_text=f"k = {k}")
    elbow_title = ("The elbow method: inertia by k" if method == "kmeans" else "Silhouette score by k") + f" ({title})"
    elbow.update_layout(title=elbow_title, xaxis_title="k (number of clusters)",
                        yaxis_title="inertia" if method == "kmeans" else "silhouette", template="plotly_white", height=420)

    categories = ["bed_bath_table", "health_beauty", "sports_leisure", "furniture_decor", "computers_accessories"]
    cities = ["sao paulo", "rio de janeiro", "belo horizonte", "brasilia", "curitiba"]
    payments = ["credit_card", "boleto", "voucher", "debit_card"]
    if hostile:
        categories[0], categories[1] = HOSTILE[0], HOSTILE[2]
        cities[0], cities[1], cities[2] = HOSTILE[1], HOSTILE[3], "São Paulo \"centro\""
    notes_city = [
        Note(f"{label_names[0]} is over-represented in {cities[0]}: 31% of its customers against 18% overall.",
             "significant (p < 0.001)", {"cluster": 1, "city": cities[0], "share": 0.31, "overall": 0.18}),
        Note(f"{cities[3]} customers are spread evenly across clusters.", "indicative only: small group (n = 212)"),
    ]
    compare_sub = Section(
        key=f"{name}-compare", title=f"Clusters compared with customer attributes ({title})",
        intro="Each chart counts customers in a cross table of cluster and attribute; the left panel sums to 100% within each cluster, the right panel within each attribute value.",
        views=[
            View(key=f"{name}-x-payment", title=f"Clusters by payment type ({title})",
                 figure=_compare(f"Clusters by payment type ({title})", label_names, payments, rng),
                 notes=[Note(f"{label_names[-1]} pays by boleto far more often than the rest (42% against 19%).", "significant (p < 0.001)")]),
            View(key=f"{name}-x-category", title=f"Clusters by top product category ({title})",
                 figure=_compare(f"Clusters by top product category ({title})", label_names, categories + ["Other"], rng),
                 notes=[Note(f"{categories[0]} is the first category of every cluster.", "significant (p < 0.01)"),
                        Note(f"{categories[1]} leads in {label_names[1]}.", "indicative only: small group (n = 48)")]),
            View(key=f"{name}-x-city", title=f"Clusters by city, top 5 ({title})",
                 figure=_compare(f"Clusters by city, top 5 ({title})", label_names, cities + ["Other"], rng),
                 notes=notes_city),
        ],
    )
    section = Section(
        key=f"population-{name}", title=title,
        intro=f"{n:,} customers, {k} clusters ({method}).",
        views=[
            View(key=f"{name}-k", title=elbow_title, figure=elbow,
                 notes=[Note(f"k = {k}: the curve flattens after it.", "judgement: the elbow is read by eye")]),
            View(key=f"{name}-profile", title=f"Cluster profile ({title})", table=table, table_colors=colors,
                 caption="First row: share of all customers. Other rows: the median of each metric; each row is shaded from its smallest (light) to its largest (dark) value.",
                 notes=[Note(f"{label_names[2]} has the highest median monetary value ({table.iloc[3, 2]:,.0f}).", "exact"),
                        Note(f"{label_names[0]} bought most recently.", "exact")]),
            View(key=f"{name}-polar", title=f"Cluster shares and metric profile ({title})",
                 figure=_polar(f"Cluster shares and metric profile ({title})", k, rng, label_names),
                 notes=[Note(f"{label_names[1]} is the largest cluster ({int(n * 0.31):,} customers).", "exact")]),
        ],
        subsections=[compare_sub],
    )
    assignments = pd.DataFrame({"customer_id": [f"c{i}" for i in range(10)], "cluster": [(i % k) + 1 for i in range(10)]})
    assignments["cluster_name"] = assignments["cluster"].map(names)
    return PopulationResult(
        name=name, title=title,
        description=(HOSTILE[2] + " " if hostile else "") + ("Customers with at least one successful purchase." if method == "kmeans" else "Customers with at least two purchases who are RFM Champions."),
        n_customers=n,
        method_label="KMeans (k-means++, random_state 42)" if method == "kmeans" else "Ward on 2,000 micro-clusters",
        k=k, k_reason="the elbow of the inertia curve" if method == "kmeans" else "highest silhouette between 5 and 9",
        silhouette=0.492 if method == "kmeans" else 0.41,
        silhouette_label="0.492 (exact)" if method == "kmeans" else f"0.410 (sampled: 500 of {n:,} customers, 95% CI 0.400–0.420)",
        silhouette_method="exact" if method == "kmeans" else "sampled",
        features_used=["avg_unique_products_cnt", "recency", "frequency", "monetary"],
        preparation_notes=["No feature dropped: no pair correlates above 0.6.", "312 customers without a review score left out."],
        evidence=evidence, assignments=assignments, cluster_names=names, section=section,
    )


def sample_result(hostile: bool = False, seed: int = 7) -> AnalysisResult:
    """A fake but realistic analysis: an RFM section and two clustered populations."""
    rng = np.random.default_rng(seed)
    segments = ["Champions", "Loyal", "Potential Loyalists", "Recent Customers", "Promising", "Need Attention",
                "About to Sleep", "At Risk", "Hibernating", "Lost"]
    if hostile:
        segments[0] = HOSTILE[0]
        segments[1] = HOSTILE[4]
    shares = np.sort(rng.dirichlet(np.ones(len(segments)) * 2))
    seg_bar = go.Figure(go.Bar(x=shares, y=segments, orientation="h", marker_color="#2a6f97",
                               text=[f"{s:.1%}" for s in shares], textposition="outside"))
    seg_bar.update_layout(title="RFM segments: share of converted customers", xaxis=dict(tickformat=".0%"),
                          template="plotly_white", height=460)
    heat = rng.uniform(50, 900, size=(3, 3))
    heatmap = go.Figure(go.Heatmap(z=heat, x=["F = 1", "F = 2", "F = 3"], y=["R = 1", "R = 2", "R = 3"], colorscale="Greens",
                                   text=[[f"{v:,.0f}" for v in row] for row in heat], texttemplate="%{text}",
                                   colorbar=dict(title="median monetary")))
    heatmap.update_layout(title="Median monetary value by recency and frequency score", template="plotly_white", height=420)
    months = pd.date_range("2017-01-01", "2018-08-01", freq="MS")
    orders = (rng.normal(4000, 300, len(months)) * np.linspace(0.4, 1.6, len(months))).round()
    line = go.Figure(go.Scatter(x=months, y=orders, mode="lines+markers", line_color="#2a6f97", name="orders"))
    line.update_layout(title="Orders per month", yaxis_title="orders", template="plotly_white", height=380)
    seg_table = pd.DataFrame({"segment": segments, "customers": (shares * 93_358).round().astype(int), "share": [f"{s:.1%}" for s in shares]})

    title = "Customer clustering" + (" " + HOSTILE[1] if hostile else "")
    rfm = Section(
        key="rfm", title="Customers and RFM segments" + (" " + HOSTILE[0] if hostile else ""),
        intro="Recency, frequency and monetary value scored in 3 bins, and the named segments they give.",
        views=[
            View(key="orders-per-month", title="Orders per month", figure=line,
                 notes=[Note("Orders grew about fourfold between January 2017 and August 2018.", "exact")]),
            View(key="rfm-segment-shares", title="RFM segments: share of converted customers" + (" " + HOSTILE[3] if hostile else ""), figure=seg_bar,
                 notes=[Note(f"{segments[-1]} is the largest segment ({shares[-1]:.0%} of converted customers).", "exact", {"share": float(shares[-1])}),
                        Note("Champions are few (2.9%) but bring 14% of revenue.", "exact" + (" " + HOSTILE[0] if hostile else ""))]),
            View(key="rfm-heatmap", title="Median monetary value by recency and frequency score", figure=heatmap,
                 notes=[Note("Frequent buyers spend more regardless of recency.", "indicative: medians only")]),
            View(key="rfm-segment-table", title="RFM segments (table)", table=seg_table),
        ],
    )
    populations = [
        _population("all", "All Customers", 93_358, 5, "kmeans", rng, hostile),
        _population("repeat_champions", "Customers with Multiple Purchases", 1_143, 7, "ward", rng, hostile),
    ]
    if hostile:
        populations[0].section.key = '"><script>alert(6)</script>'
        populations[0].section.views[0].key = "../../x"
    summary = {
        "customers": 99_441,
        "converted_customers": 93_358,
        "repeat_customers": 2_801,
        "never_converted_customers": 6_083,
        "excluded_input_rows": {"canceled orders": 625, "missing customer id": 12, **({HOSTILE[0]: 3} if hostile else {})},
    }
    reconciliation = pd.DataFrame({
        "reason": ["customers in the input", "never converted (no successful purchase)", "converted customers",
                   "of which repeat customers", *([HOSTILE[1]] if hostile else [])],
        "customers": [99_441, 6_083, 93_358, 2_801, *([1] if hostile else [])],
    })
    customers = pd.DataFrame({"customer_id": ["c1", "c2"], "customer_city": [HOSTILE[0] if hostile else "sao paulo", "curitiba"]})
    return AnalysisResult(
        title=title, source="Olist-schema synthetic data (demo), 2017-01-01 to 2018-09-01" + (" " + HOSTILE[3] if hostile else ""),
        customers=customers, summary=summary, reconciliation=reconciliation, sections=[rfm], populations=populations,
    )
