"""Plotly figures of the RFM views: score distributions, heatmaps, segment bars and treemap."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from custseg._categorical import value_counts
from custseg.profile.charts import Labels, empty_figure, finish, require_columns
from custseg.profile.colors import rfm_segment_colors
from custseg.profile.labels import label


RFM_COLUMNS = ("recency", "frequency", "monetary", "recency_score", "frequency_score",
               "monetary_score", "rfm_segment")


def _histogram(values: np.ndarray, clip_quantile: float | None) -> tuple[np.ndarray, np.ndarray, int, float]:
    values = values[np.isfinite(values)]
    cut = float(np.quantile(values, clip_quantile)) if clip_quantile and values.size else np.inf
    shown = values[values <= cut]
    hidden = int(values.size - shown.size)
    if shown.size and np.all(np.equal(np.mod(shown, 1), 0)) and shown.max() - shown.min() <= 60:
        edges = np.arange(shown.min() - 0.5, shown.max() + 1.5, 1.0)
    else:
        edges = np.histogram_bin_edges(shown, bins="auto") if shown.size else np.array([0.0, 1.0])
        if edges.size > 41:
            edges = np.histogram_bin_edges(shown, bins=40)
    counts, edges = np.histogram(shown, bins=edges)
    return counts, edges, hidden, cut


def rfm_histograms(rfm: pd.DataFrame, labels: Labels = None, clip_quantile: float | None = 0.99,
                   title: str | None = None) -> go.Figure:
    """Histograms of recency, frequency and monetary (pre-binned; values above the
    ``clip_quantile`` are left out of the bars and counted in the panel title).
    """
    cols = ("recency", "frequency", "monetary")
    require_columns(rfm, cols, "RFM histograms")
    titles = []
    bars = []
    for c in cols:
        counts, edges, hidden, cut = _histogram(pd.to_numeric(rfm[c]).to_numpy(dtype=float), clip_quantile)
        bars.append((counts, edges))
        titles.append(label(c, labels) + (f" ({hidden:,} above {cut:,.0f} not shown)" if hidden else ""))
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.07)
    for i, (c, (counts, edges)) in enumerate(zip(cols, bars, strict=True), start=1):
        fig.add_trace(go.Bar(
            x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), showlegend=False,
            marker_color="#4C78A8", customdata=np.column_stack([edges[:-1], edges[1:]]),
            hovertemplate="%{customdata[0]:,.1f} – %{customdata[1]:,.1f}: %{y:,} customers<extra></extra>",
        ), row=1, col=i)
        fig.update_xaxes(title_text=label(c, labels), row=1, col=i)
    fig.update_yaxes(title_text="Customers", row=1, col=1)
    fig.update_layout(bargap=0.02)
    fig.update_annotations(font_size=11)
    return finish(fig, title or "Recency, frequency and monetary distributions", "rfm_histograms", height=420)


def _scores(rfm: pd.DataFrame, col: str) -> list[Any]:
    return sorted(rfm[col].dropna().unique().tolist())


def rfm_rf_heatmap(rfm: pd.DataFrame, labels: Labels = None, title: str | None = None) -> go.Figure:
    """Recency score x frequency score, coloured by the median monetary value of the cell."""
    require_columns(rfm, ("recency_score", "frequency_score", "monetary"), "R x F heatmap")
    pivot = (rfm.groupby(["recency_score", "frequency_score"])["monetary"].median()
             .unstack().reindex(index=_scores(rfm, "recency_score"), columns=_scores(rfm, "frequency_score")))
    counts = (rfm.groupby(["recency_score", "frequency_score"]).size().unstack()
              .reindex(index=pivot.index, columns=pivot.columns).fillna(0))
    z = pivot.to_numpy(dtype=float)
    text = [["" if np.isnan(v) else f"{v:,.0f}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=[str(v) for v in pivot.columns], y=[str(v) for v in pivot.index], text=text,
        texttemplate="%{text}", colorscale="Greens", customdata=counts.to_numpy(), zmin=0,  # from 0: a 12 % spread looks like one
        colorbar={"title": {"text": "Median<br>monetary"}},
        hovertemplate="R=%{y}, F=%{x}: median %{z:,.2f} (%{customdata:,} customers)<extra></extra>",
    ))
    fig.update_xaxes(title_text=label("frequency_score", labels), type="category")
    fig.update_yaxes(title_text=label("recency_score", labels), type="category")
    return finish(fig, title or "Median monetary value by recency and frequency score", "rfm_rf_heatmap", height=480)


def _count_grid(rfm: pd.DataFrame, rows: str, cols: str) -> pd.DataFrame:
    return (rfm.groupby([rows, cols]).size().unstack(fill_value=0)
            .reindex(index=_scores(rfm, rows), columns=_scores(rfm, cols), fill_value=0))


def rfm_score_heatmaps(rfm: pd.DataFrame, labels: Labels = None, title: str | None = None) -> go.Figure:
    """Customer counts for each pair of scores: R x F, F x M, R x M (one colour scale)."""
    pairs = (("recency_score", "frequency_score"), ("frequency_score", "monetary_score"),
             ("recency_score", "monetary_score"))
    require_columns(rfm, ("recency_score", "frequency_score", "monetary_score"), "score heatmaps")
    short = {"recency_score": "R", "frequency_score": "F", "monetary_score": "M"}
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.08,
                        subplot_titles=[f"{short[a]} x {short[b]}" for a, b in pairs])
    for i, (a, b) in enumerate(pairs, start=1):
        grid = _count_grid(rfm, a, b)
        fig.add_trace(go.Heatmap(
            z=grid.to_numpy(), x=[str(v) for v in grid.columns], y=[str(v) for v in grid.index],
            coloraxis="coloraxis", texttemplate="%{z:,}",
            hovertemplate=f"{short[a]}=%{{y}}, {short[b]}=%{{x}}: %{{z:,}} customers<extra></extra>",
        ), row=1, col=i)
        fig.update_xaxes(title_text=label(b, labels), type="category", row=1, col=i)
        fig.update_yaxes(title_text=label(a, labels), type="category", row=1, col=i)
    fig.update_layout(coloraxis={"colorscale": "Blues", "cmin": 0, "colorbar": {"title": {"text": "Customers"}}})
    return finish(fig, title or "Customers by pairs of RFM scores", "rfm_score_heatmaps", height=440)


def rfm_fm_by_r(rfm: pd.DataFrame, labels: Labels = None, title: str | None = None) -> go.Figure:
    """Frequency x monetary score counts, one panel per recency score (shared colour scale)."""
    require_columns(rfm, ("recency_score", "frequency_score", "monetary_score"), "F x M by R heatmaps")
    r_values = _scores(rfm, "recency_score")
    if not r_values:
        return empty_figure(title or "Frequency x monetary scores by recency score", "rfm_fm_by_r", "No RFM scores")
    ncols = min(5, len(r_values))
    nrows = int(np.ceil(len(r_values) / ncols))
    f_values, m_values = _scores(rfm, "frequency_score"), _scores(rfm, "monetary_score")
    fig = make_subplots(rows=nrows, cols=ncols, horizontal_spacing=0.04, vertical_spacing=0.15,
                        subplot_titles=[f"R = {r}" for r in r_values])
    for i, r in enumerate(r_values):
        part = rfm[rfm["recency_score"] == r]
        grid = (part.groupby(["frequency_score", "monetary_score"]).size().unstack(fill_value=0)
                .reindex(index=f_values, columns=m_values, fill_value=0))
        row, col = i // ncols + 1, i % ncols + 1
        fig.add_trace(go.Heatmap(
            z=grid.to_numpy(), x=[str(v) for v in grid.columns], y=[str(v) for v in grid.index],
            coloraxis="coloraxis", texttemplate="%{z:,}",
            hovertemplate=f"R={r}, F=%{{y}}, M=%{{x}}: %{{z:,}} customers<extra></extra>",
        ), row=row, col=col)
        fig.update_xaxes(title_text="M score", type="category", row=row, col=col)
        fig.update_yaxes(title_text="F score" if col == 1 else None, type="category", row=row, col=col)
    fig.update_layout(coloraxis={"colorscale": "Blues", "cmin": 0, "colorbar": {"title": {"text": "Customers"}}})
    return finish(fig, title or "Frequency x monetary scores by recency score", "rfm_fm_by_r",
                   height=180 + 300 * nrows)


def _segment_counts(rfm: pd.DataFrame) -> pd.Series:
    counts = value_counts(rfm["rfm_segment"].dropna())
    frame = pd.DataFrame({"seg": counts.index, "n": counts.to_numpy()})
    frame["t"] = frame["seg"].astype(str)
    frame = frame.sort_values(["n", "t"], ascending=[False, True], kind="stable")
    return pd.Series(frame["n"].to_numpy(), index=frame["seg"].to_numpy())



def rfm_segment_bar(rfm: pd.DataFrame, labels: Labels = None, title: str | None = None) -> go.Figure:
    """Share of customers in each RFM segment, largest on top."""
    require_columns(rfm, ("rfm_segment",), "RFM segment bar")
    counts = _segment_counts(rfm)
    if counts.empty:
        return empty_figure(title or "Customers by RFM segment", "rfm_segment_bar", "No RFM segments")
    share = counts / counts.sum() * 100
    rev = share.iloc[::-1]
    colours = rfm_segment_colors(list(counts.index))
    fig = go.Figure(go.Bar(
        x=rev.to_numpy(), y=[str(s) for s in rev.index], orientation="h",
        marker_color=[colours[s] for s in rev.index], customdata=counts.iloc[::-1].to_numpy(),
        text=[f"{v:.1f}% ({n:,})" for v, n in zip(rev, counts.iloc[::-1], strict=True)],
        textposition="auto", hovertemplate="%{y}: %{x:.2f}% (%{customdata:,} customers)<extra></extra>",
    ))
    fig.update_xaxes(title_text="% of customers", ticksuffix="%")
    fig.update_yaxes(title_text=label("rfm_segment", labels))
    return finish(fig, title or "Customers by RFM segment", "rfm_segment_bar",
                   height=max(380, 120 + 32 * len(counts)))


def rfm_segment_treemap(rfm: pd.DataFrame, labels: Labels = None, title: str | None = None) -> go.Figure:
    """RFM segments as a treemap sized by customers, labelled with their share."""
    require_columns(rfm, ("rfm_segment",), "RFM segment treemap")
    counts = _segment_counts(rfm)
    if counts.empty:
        return empty_figure(title or "RFM segments treemap", "rfm_segment_treemap", "No RFM segments")
    colours = rfm_segment_colors(list(counts.index))
    fig = go.Figure(go.Treemap(
        labels=[str(s) for s in counts.index], parents=[""] * len(counts), values=counts.to_numpy(),
        marker={"colors": [colours[s] for s in counts.index]}, branchvalues="total",
        texttemplate="%{label}<br>%{percentRoot:.1%}<br>%{value:,} customers",
        hovertemplate="%{label}: %{value:,} customers (%{percentRoot:.2%})<extra></extra>",
    ))
    return finish(fig, title or "RFM segments treemap", "rfm_segment_treemap", height=520,
                   margin={"l": 10, "r": 10, "t": 70, "b": 10})


