"""Plotly figures of the evidence for k: elbow, silhouettes, stability, validity indices, dendrogram."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy.cluster.hierarchy import dendrogram

from custseg.cluster.evidence import ARI_RANGE
from custseg.cluster.recommend import DEFAULT_STABILITY_THRESHOLD as STABLE_ARI
from custseg.errors import InputError
from custseg.profile.charts import Labels, empty_figure, finish, require_columns, short_text
from custseg.profile.colors import cluster_color
from custseg.profile.evidence import dendrogram_cut, elbow_k
from custseg.profile.labels import cluster_label, label


def _evidence(evidence: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    require_columns(evidence, ("k", *columns), "cluster evidence")
    out = evidence.copy()
    for c in ("k", *columns):
        if c != "silhouette_method":
            out[c] = pd.to_numeric(out[c], errors="coerce")
    return out.sort_values("k", kind="stable").reset_index(drop=True)


def _mark_k(fig: go.Figure, k: int | None, text: str, color: str = "#d62728", dash: str = "dash",
            position: str = "top right") -> None:
    if k is not None:
        fig.add_vline(x=k, line_dash=dash, line_color=color, annotation_text=text,
                      annotation_position=position, annotation_font_color=color)


def elbow_chart(evidence: pd.DataFrame, chosen_k: int | None = None, labels: Labels = None,
                title: str | None = None) -> go.Figure:
    """Inertia by k with the automatic elbow (:func:`~custseg.profile.evidence.elbow_k`) and
    the chosen k marked.
    """
    title = title or "Elbow: inertia by number of clusters"
    ev = _evidence(evidence, ("inertia",)).dropna(subset=["k", "inertia"])
    if ev.empty:
        return empty_figure(title, "elbow", "Inertia was not computed")
    auto = elbow_k(ev["k"], ev["inertia"])
    fig = go.Figure(go.Scatter(x=ev["k"], y=ev["inertia"], mode="lines+markers", name="Inertia",
                               line={"color": "#4C78A8"},
                               hovertemplate="k=%{x}: %{y:,.2f}<extra></extra>"))
    if auto is not None:
        y = float(ev.loc[ev["k"] == auto, "inertia"].iloc[0])
        fig.add_trace(go.Scatter(x=[auto], y=[y], mode="markers", name=f"Elbow (auto): k = {auto}",
                                 marker={"size": 14, "symbol": "circle-open", "color": "#F58518",
                                         "line": {"width": 3}}))
    _mark_k(fig, chosen_k, f"chosen k = {chosen_k}")
    fig.update_xaxes(title_text=label("k", labels), dtick=1)
    fig.update_yaxes(title_text=label("inertia", labels))
    return finish(fig, title, "elbow", height=440)


def silhouette_chart(evidence: pd.DataFrame, chosen_k: int | None = None, labels: Labels = None,
                     title: str | None = None) -> go.Figure:
    """Silhouette by k; a shaded confidence band where the score was computed on samples."""
    title = title or "Silhouette score by number of clusters"
    cols = [c for c in ("silhouette", "silhouette_ci_low", "silhouette_ci_high", "silhouette_method")
            if c in evidence.columns]
    if "silhouette" not in cols:
        return empty_figure(title, "silhouette", "Silhouette was not computed")
    ev = _evidence(evidence, cols).dropna(subset=["k", "silhouette"])
    if ev.empty:
        return empty_figure(title, "silhouette", "Silhouette was not computed")
    fig = go.Figure()
    if {"silhouette_ci_low", "silhouette_ci_high"} <= set(ev.columns):
        band = ev.dropna(subset=["silhouette_ci_low", "silhouette_ci_high"])
        if "silhouette_method" in band.columns:
            band = band[band["silhouette_method"].astype(str) == "sampled"]
        if not band.empty:  # a silhouette lies in [-1, 1], and so does its interval
            band = band.assign(silhouette_ci_low=band["silhouette_ci_low"].clip(-1, 1),
                               silhouette_ci_high=band["silhouette_ci_high"].clip(-1, 1))
            fig.add_trace(go.Scatter(x=band["k"], y=band["silhouette_ci_high"], mode="lines",
                                     line={"width": 0}, showlegend=False, hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=band["k"], y=band["silhouette_ci_low"], mode="lines",
                                     line={"width": 0}, fill="tonexty",
                                     fillcolor="rgba(76,120,168,0.2)", name="95% CI (sampled)",
                                     hoverinfo="skip"))
    method = ev["silhouette_method"].astype(str) if "silhouette_method" in ev.columns else pd.Series("exact", index=ev.index)
    fig.add_trace(go.Scatter(
        x=ev["k"], y=ev["silhouette"], mode="lines+markers", name="Silhouette",
        line={"color": "#4C78A8"}, customdata=method.to_numpy(),
        marker={"symbol": ["circle-open" if m == "sampled" else "circle" for m in method], "size": 9},
        hovertemplate="k=%{x}: %{y:.3f} (%{customdata})<extra></extra>",
    ))
    best = int(ev.loc[ev["silhouette"].idxmax(), "k"])
    _mark_k(fig, best, f"best k = {best}", color="#54A24B", dash="dot", position="bottom right")
    _mark_k(fig, chosen_k, f"chosen k = {chosen_k}")
    fig.update_xaxes(title_text=label("k", labels), dtick=1)
    fig.update_yaxes(title_text=label("silhouette", labels))
    return finish(fig, title, "silhouette", height=440)


def clipped_bars(mean: np.ndarray, sd: np.ndarray, bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Error bar lengths (below, above) of mean ± sd clipped to the quantity's possible range."""
    lo, hi = bounds
    mean = np.asarray(mean, dtype=float)
    sd = np.nan_to_num(np.asarray(sd, dtype=float))
    return np.minimum(sd, mean - lo), np.minimum(sd, hi - mean)


def stability_chart(evidence: pd.DataFrame, chosen_k: int | None = None, labels: Labels = None,
                    title: str | None = None) -> go.Figure:
    """Mean adjusted Rand index between re-fits by k, with ± one standard deviation."""
    title = title or "Cluster stability by number of clusters"
    if "stability_ari_mean" not in evidence.columns:
        return empty_figure(title, "stability", "Stability was not computed")
    cols = [c for c in ("stability_ari_mean", "stability_ari_std") if c in evidence.columns]
    ev = _evidence(evidence, cols).dropna(subset=["k", "stability_ari_mean"])
    if ev.empty:
        return empty_figure(title, "stability", "Stability was not computed")
    std = ev["stability_ari_std"].fillna(0).to_numpy() if "stability_ari_std" in ev.columns else np.zeros(len(ev))
    mean = ev["stability_ari_mean"].to_numpy(dtype=float)
    below, above = clipped_bars(mean, std, ARI_RANGE)
    fig = go.Figure(go.Scatter(
        x=ev["k"], y=mean, mode="lines+markers", name="Mean ARI",
        error_y={"type": "data", "array": above, "arrayminus": below, "symmetric": False, "visible": True},
        line={"color": "#4C78A8"}, hovertemplate="k=%{x}: ARI %{y:.3f}<extra></extra>",
    ))
    fig.add_hline(y=STABLE_ARI, line_dash="dot", line_color="#999999", annotation_text=f"{STABLE_ARI:g}: stable",
                  annotation_position="bottom left")
    _mark_k(fig, chosen_k, f"chosen k = {chosen_k}")
    low = float(np.nanmin(mean - below))
    fig.update_xaxes(title_text=label("k", labels), dtick=1)
    fig.update_yaxes(title_text=label("stability_ari_mean", labels), range=[min(0.0, low - 0.05), 1.05])
    return finish(fig, title, "stability", height=440)


def validity_indices_chart(evidence: pd.DataFrame, chosen_k: int | None = None, labels: Labels = None,
                           title: str | None = None) -> go.Figure:
    """Calinski-Harabasz (higher is better) and Davies-Bouldin (lower is better) by k."""
    title = title or "Calinski-Harabasz and Davies-Bouldin by number of clusters"
    cols = [c for c in ("calinski_harabasz", "davies_bouldin") if c in evidence.columns]
    if not cols:
        return empty_figure(title, "validity_indices", "Validity indices were not computed")
    ev = _evidence(evidence, cols)
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        label("calinski_harabasz", labels) + " (higher is better)",
        label("davies_bouldin", labels) + " (lower is better)"))
    for i, c in enumerate(("calinski_harabasz", "davies_bouldin"), start=1):
        if c in ev.columns:
            part = ev.dropna(subset=[c])
            fig.add_trace(go.Scatter(x=part["k"], y=part[c], mode="lines+markers", showlegend=False,
                                     line={"color": "#4C78A8"}, hovertemplate="k=%{x}: %{y:.3f}<extra></extra>"),
                          row=1, col=i)
        fig.update_xaxes(title_text=label("k", labels), dtick=1, row=1, col=i)
        if chosen_k is not None:
            fig.add_vline(x=chosen_k, line_dash="dash", line_color="#d62728", row=1, col=i)
    return finish(fig, title, "validity_indices", height=420)


def dendrogram_chart(linkage: np.ndarray, chosen_k: int | None = None, p: int = 30,
                     title: str | None = None, leaf_weights=None) -> go.Figure:
    """Dendrogram of a SciPy linkage matrix, truncated to the last ``p`` merges; each branch is
    labelled with the customers under it (``leaf_weights``: customers per leaf of the tree, e.g. per
    micro-cluster; default one each). The cut giving ``chosen_k`` clusters is a dashed line.
    """
    title = title or "Hierarchical clustering dendrogram"
    z = np.asarray(linkage, dtype=float)
    if z.ndim != 2 or z.shape[1] != 4 or z.shape[0] < 1:
        raise InputError("dendrogram needs a SciPy linkage matrix with 4 columns and at least one row")
    d = dendrogram(z, truncate_mode="lastp", p=p, no_plot=True, count_sort="descending")
    n = z.shape[0] + 1
    weight = np.ones(n) if leaf_weights is None else np.asarray(leaf_weights, dtype=float)
    if weight.shape != (n,):
        raise InputError(f"dendrogram: {len(weight)} leaf weights for a tree of {n} leaves")
    under = np.concatenate([weight, np.zeros(n - 1)])  # customers under each node: leaves, then merges
    for m, (a, b) in enumerate(z[:, :2].astype(int)):
        under[n + m] = under[a] + under[b]
    customers = [int(round(under[leaf])) for leaf in d["leaves"]]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ic, dc in zip(d["icoord"], d["dcoord"], strict=True):
        xs += [*ic, None]
        ys += [*dc, None]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#4C4C4C", "width": 1.5},
                               hoverinfo="skip", showlegend=False))
    ticks = [5 + 10 * i for i in range(len(customers))]
    # the branch sizes again where the branches end, to read by hovering (or a tap on a phone,
    # where there is no room for every label)
    fig.add_trace(go.Scatter(x=ticks, y=[0] * len(ticks), mode="markers", marker={"size": 12, "opacity": 0},
                             text=[f"{c:,} customers" for c in customers], hovertemplate="%{text}<extra></extra>",
                             showlegend=False))
    # the tree's own extent (the hover points must not widen it)
    fig.update_xaxes(tickvals=ticks, ticktext=[f"{c:,}" for c in customers], title_text="Customers in each branch",
                     showgrid=False, zeroline=False, range=[0, 10 * len(ticks)], tickangle=-90 if len(ticks) > 15 else 0)
    fig.update_yaxes(title_text="Merge distance", range=[0, 1.04 * max(max(dc) for dc in d["dcoord"])])
    if chosen_k is not None:
        cut = dendrogram_cut(z, chosen_k)
        if cut is not None:
            fig.add_hline(y=cut, line_dash="dash", line_color="#d62728",
                          annotation_text=f"cut for k = {chosen_k}", annotation_position="top right",
                          annotation_font_color="#d62728")
    return finish(fig, title, "dendrogram", height=480)


#: Below this mean silhouette a cluster's members sit about as close to another cluster as to their own.
POORLY_SEPARATED = 0.25


def cluster_silhouette_chart(per_cluster: Mapping[Any, float], sizes: Mapping[Any, int], overall: float | None = None,
                             names: Mapping[Any, str] | None = None, title: str | None = None,
                             method: str = "exact") -> go.Figure:
    """Mean silhouette of each cluster (bars, labelled with the cluster's size), the population's
    as a line: a tiny or poorly separated cluster is visible at a glance."""
    title = title or "Silhouette of each cluster"
    clusters = [c for c in per_cluster if np.isfinite(per_cluster[c])]
    if not clusters:
        return empty_figure(title, "cluster-silhouette", "Silhouette was not computed")
    values = [float(per_cluster[c]) for c in clusters]
    ticks = [short_text(cluster_label(c, names), 44) for c in clusters]
    fig = go.Figure(go.Bar(
        x=values, y=ticks, orientation="h", marker_color=[cluster_color(c) for c in clusters],
        text=[f"{v:.2f} · {int(sizes.get(c, 0)):,} customers" for c, v in zip(clusters, values)],
        textposition="outside", cliponaxis=False, showlegend=False,
        hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    ))
    if overall is not None and np.isfinite(overall):
        fig.add_vline(x=overall, line_dash="dash", line_color="#555555", annotation_text=f"population {overall:.2f}",
                      annotation_position="top")
    fig.add_vline(x=POORLY_SEPARATED, line_dash="dot", line_color="#999999")
    low = min(0.0, min(values) - 0.05)
    fig.update_xaxes(title_text="mean silhouette" + (" (sampled customers)" if method == "sampled" else ""), range=[low, 1.0])
    fig.update_yaxes(autorange="reversed")
    return finish(fig, title, "cluster-silhouette", height=max(260, 70 + 42 * len(clusters)))
