"""Plotly figure builders for every profile view.

Each builder takes frames (or a :class:`~custseg.profile.compare.CrossTab`) and returns a
``plotly.graph_objects.Figure`` with a readable title (the report uses it as the slide's
file name), axis labels from :mod:`custseg.profile.labels`, cluster colours from
:mod:`custseg.profile.colors`, and ``layout.meta["view"]`` naming the view. Nothing is
written to disk here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots
from scipy.cluster.hierarchy import dendrogram

from custseg._categorical import value_counts
from custseg.cluster.evidence import ARI_RANGE
from custseg.cluster.recommend import DEFAULT_STABILITY_THRESHOLD as STABLE_ARI
from custseg.errors import InputError
from custseg.profile.colors import cluster_color, rfm_segment_colors, value_colors
from custseg.profile.compare import CrossTab
from custseg.profile.evidence import dendrogram_cut, elbow_k
from custseg.profile.labels import cluster_label, format_cluster, label, metric_config
from custseg.profile.tables import SHARE_ROW, metric_rows, polar_values, style_profile

Labels = Mapping[str, str] | None
Names = Mapping[Any, str] | None

TEMPLATE = "plotly_white"
UP, DOWN = "▲", "▼"
_MAX_TICK = 40
_PANEL_TICK = 26  # row labels of a two-panel comparison: longer ones squeeze both panels (hover shows them whole)
_MAX_HOVER = 200  # longest data value shown in full in a hover box (a 10 MB name is cut)


def finish(fig: go.Figure, title: str, view: str, **layout: Any) -> go.Figure:
    """Title, template, meta and margins on a figure built with Plotly's objects.

    Setting the template through Plotly validates it again on every figure (~10 ms, a quarter
    of a simple chart's cost): the figure is rebuilt from its (already valid) spec instead,
    with the template's JSON inserted as :func:`make_figure` does.
    """
    traces = [trace.to_plotly_json() for trace in fig.data]  # arrays stay arrays (no base64)
    return make_figure(traces, fig.layout.to_plotly_json(), title, view, **layout)


@lru_cache(maxsize=1)
def _template_json() -> str:
    return json.dumps(pio.templates[TEMPLATE].to_plotly_json())


def make_figure(traces: list[dict[str, Any]], layout: dict[str, Any], title: str, view: str, **extra: Any) -> go.Figure:
    """A figure from a plain spec, with :func:`finish`'s settings, built without Plotly's validation.

    Validating a figure property by property costs ~40 ms for a comparison chart, most of a
    run's report time; these specs are fixed by this module, and the tests check every
    builder's output against Plotly's validators (``go.Figure(fig.to_dict())``).
    """
    settings: dict[str, Any] = {
        "template": json.loads(_template_json()),  # a fresh copy: a figure may be changed later
        "title": {"text": title, "x": 0.01, "xanchor": "left"},
        "font": {"size": 12},
        "meta": {"view": view},
        "margin": {"l": 60, "r": 30, "t": 80, "b": 60},
    }
    settings.update(layout)
    settings.update(extra)
    return go.Figure({"data": traces, "layout": settings}, _validate=False)


#: The two panels of a comparison: a gap between them keeps the left axis' "100%" apart from the right's "0%".
LEFT_PANEL, RIGHT_PANEL = (0.0, 0.45), (0.55, 1.0)


def _two_panels(left_title: str, right_title: str) -> dict[str, Any]:
    """Layout of two side-by-side panels sharing the y axis, each titled from its left edge
    (centred titles of two narrow panels run into each other)."""
    return {
        "xaxis": {"anchor": "y", "domain": list(LEFT_PANEL)},
        "xaxis2": {"anchor": "y2", "domain": list(RIGHT_PANEL)},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0]},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 1.0], "matches": "y", "showticklabels": False},
        "annotations": [
            {"text": _wrap(text, 22), "x": x, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "left",
             "yanchor": "bottom", "showarrow": False, "font": {"size": 13}, "align": "left", "name": "panel-title"}
            for text, x in ((left_title, LEFT_PANEL[0]), (right_title, RIGHT_PANEL[0]))
        ],
    }


def _wrap(text: str, width: int) -> str:
    """Plotly's annotations do not wrap: break a long one into lines (<br>) at spaces."""
    import textwrap

    return "<br>".join(textwrap.wrap(text, width)) or text


def empty_figure(title: str, view: str, message: str) -> go.Figure:
    """A figure that says why there is nothing to draw (instead of failing the report)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, title, view)


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _short(text: Any, limit: int = _MAX_TICK) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def short_unique(values: Sequence[Any], limit: int) -> list[str]:
    """Shortened labels that stay distinct (a category axis merges equal labels into one row)."""
    out, seen = [], set()
    for v in values:
        text, n = _short(v, limit), 2
        while text in seen:
            text = _short(v, limit - len(str(n)) - 1) + f" {n}"
            n += 1
        seen.add(text)
        out.append(text)
    return out


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what} needs column(s) {', '.join(map(repr, missing))}")


# --------------------------------------------------------------------------- profile views


def profile_table_figure(
    table: pd.DataFrame,
    labels: Labels = None,
    names: Names = None,
    agg: str = "median",
    title: str | None = None,
) -> go.Figure:
    """The profile table as a Plotly table, each row shaded light to dark green."""
    styled = style_profile(table, labels=labels, names=names)
    rows = [styled.row_labels[i] for i in table.index]
    header = ["", *[styled.column_labels[c] for c in table.columns]]
    cells = [rows, *[list(styled.text[c]) for c in table.columns]]
    fills = [["#f7f7f7"] * len(rows), *[list(styled.background[c]) for c in table.columns]]
    fonts = [["#000000"] * len(rows), *[list(styled.font_color[c]) for c in table.columns]]
    fig = go.Figure(
        go.Table(
            columnwidth=[2.2] + [1.0] * len(table.columns),
            header={"values": header, "fill_color": "#e0e0e0", "align": "center", "font": {"size": 12}},
            cells={"values": cells, "fill_color": fills, "font": {"color": fonts, "size": 12},
                   "align": ["left"] + ["center"] * len(table.columns), "height": 28},
        )
    )
    title = title or f"Cluster profile ({agg} per cluster)"
    return finish(fig, title, "profile_table", height=200 + 30 * len(rows),
                   margin={"l": 20, "r": 20, "t": 70, "b": 20})


def segment_polar(
    table: pd.DataFrame,
    labels: Labels = None,
    names: Names = None,
    title: str | None = None,
) -> go.Figure:
    """Left: each cluster's share of customers (largest on top). Right: one closed polygon
    per cluster over the metrics, each metric divided by its maximum across clusters
    (see :func:`~custseg.profile.tables.polar_values`), radial range 0-1.1, clockwise from
    12 o'clock.
    """
    if SHARE_ROW not in table.index:
        raise InputError(f"segment_polar needs a profile table with the {SHARE_ROW!r} row")
    norm = polar_values(table)
    raw = metric_rows(table)
    reversed_metrics = {m for m, spec in metric_config(list(raw.index)).items() if spec["direction"] == "lower_is_better"}
    share = table.loc[SHARE_ROW]
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.35, 0.65], horizontal_spacing=0.18,
        specs=[[{"type": "xy"}, {"type": "polar"}]],
        subplot_titles=("Share of customers", ""),
    )
    fig.add_annotation(text="Better outward on every axis: each metric ÷ its best cluster's value<br>(recency: the fewest days ÷ the cluster's)",
                       showarrow=False, xref="paper", yref="paper", x=0.78, xanchor="center", y=0, yshift=-40, yanchor="top",
                       font={"size": 11, "color": "#555555"})
    bar_order = share.sort_values(ascending=True, kind="stable")  # plotly draws bottom-up
    fig.add_trace(
        go.Bar(
            x=bar_order.to_numpy(), y=[f"Cluster {format_cluster(c)}" for c in bar_order.index],  # the legend names them
            orientation="h", marker_color=[cluster_color(c) for c in bar_order.index],
            text=[f"{v:.2f}%" for v in bar_order], textposition="auto", showlegend=False,
            hovertemplate="%{y}: %{x:.2f}% of customers<extra></extra>",
        ),
        row=1, col=1,
    )
    theta = [label(m, labels) + (" (reversed)" if m in reversed_metrics else "") for m in norm.index]
    for cluster in table.columns:
        r = norm[cluster].fillna(0.0).tolist()
        fig.add_trace(
            go.Scatterpolar(
                r=r + r[:1], theta=theta + theta[:1], name=cluster_label(cluster, names),
                mode="lines+markers", fill="toself", fillcolor=_rgba(cluster_color(cluster), 0.12),
                line={"color": cluster_color(cluster), "width": 2},
                customdata=np.r_[raw[cluster].to_numpy(), raw[cluster].to_numpy()[:1]],
                hovertemplate="%{theta}: %{customdata:,.2f} (%{r:.2f} of max)<extra>%{fullData.name}</extra>",
            ),
            row=1, col=2,
        )
    fig.update_xaxes(title_text="% of customers", row=1, col=1)
    fig.update_layout(
        polar={"radialaxis": {"range": [0, 1.1], "tickvals": [0, 0.25, 0.5, 0.75, 1.0], "showticklabels": False},
               "angularaxis": {"rotation": 90, "direction": "clockwise"}},
        margin={"l": 60, "r": 30, "t": 80, "b": 80},
    )
    return finish(fig, title or "Cluster sizes and metric profiles", "segment_polar", height=520)


# --------------------------------------------------------------------------- comparisons


def _sig_mark(flag: int) -> str:
    return UP if flag > 0 else DOWN if flag < 0 else ""


def cat_compare(
    ct: CrossTab,
    graph: int = 2,
    labels: Labels = None,
    names: Names = None,
    mark_significance: bool = True,
    title: str | None = None,
) -> go.Figure:
    """Cluster x dimension bars, shares of customers in percent.

    ``graph=2``: one row per cluster, one colour per dimension value; left panel normalised
    within each cluster (a row sums to 100 %, stacked), right within each dimension value
    (each colour sums to 100 % over clusters, grouped). ``graph=3``: the same with roles
    swapped (rows = values, colours = clusters). Cells significantly over/under-represented
    (:mod:`custseg.profile.compare`) carry ▲/▼.
    """
    if graph not in (2, 3):
        raise ValueError("graph must be 2 (rows = clusters) or 3 (rows = dimension values)")
    dim = label(ct.dimension, labels)
    sig = ct.significance if mark_significance else ct.significance * 0
    if graph == 2:
        left, right = ct.share_within_cluster, ct.share_within_value
        counts, flags, resid = ct.counts, sig, ct.residuals
        row_names = short_unique([cluster_label(c, names) for c in counts.index], _PANEL_TICK)
        colours = (rfm_segment_colors(list(counts.columns)) if ct.dimension == "rfm_segment"
                   else value_colors(list(counts.columns), ct.other_label))
        series_names = {v: _short(v, 30) for v in counts.columns}
        left_title, right_title = "% of the cluster's customers", f"% of the {dim} value's customers"
        default_title = f"{dim} mix within each cluster"
        legend_title = dim
    else:
        left, right = ct.share_within_value.T, ct.share_within_cluster.T
        counts, flags, resid = ct.counts.T, sig.T, ct.residuals.T
        row_names = short_unique(list(counts.index), _PANEL_TICK)
        colours = {c: cluster_color(c) for c in counts.columns}
        series_names = {c: cluster_label(c, names) for c in counts.columns}
        left_title, right_title = f"% of the {dim} value's customers", "% of the cluster's customers"
        default_title = f"Cluster mix within each {dim} value"
        legend_title = "Cluster"
    full_rows = [_short(v, _MAX_HOVER) for v in counts.index]
    n_rows, n_series = counts.shape
    # explicit width/offset: left bars stacked by hand (``base``), right bars side by side
    group_w = 0.8 / max(n_series, 1)
    base = np.zeros(n_rows)
    traces: list[dict[str, Any]] = []
    for j, key in enumerate(counts.columns):
        lv = left[key].to_numpy(dtype=float) * 100
        rv = right[key].to_numpy(dtype=float) * 100
        marks = [_sig_mark(f) for f in flags[key]]
        custom = np.column_stack([counts[key].to_numpy(), resid[key].to_numpy(dtype=float),
                                  np.array(full_rows, dtype=object), np.array(marks, dtype=object)])
        hover = ("%{customdata[2]}<br>" + f"{_short(series_names[key], 60)}" +
                 ": %{x:.1f}%<br>customers: %{customdata[0]:,}<br>adj. residual: %{customdata[1]:.2f} %{customdata[3]}<extra></extra>")
        common = {"type": "bar", "y": row_names, "orientation": "h", "name": series_names[key],
                  "legendgroup": f"series-{j}", "marker": {"color": colours[key]}, "customdata": custom,
                  "hovertemplate": hover}
        traces.append({**common, "x": lv, "base": base.tolist(), "width": 0.7, "offset": -0.35,
                       "text": [f"{v:.0f}%{(' ' + m) if m else ''}" for v, m in zip(lv, marks, strict=True)],
                       "textposition": "inside", "insidetextanchor": "middle", "textangle": 0,
                       "xaxis": "x", "yaxis": "y"})
        base = base + np.nan_to_num(lv)
        traces.append({**common, "x": rv, "width": group_w, "offset": -0.4 + j * group_w, "showlegend": False,
                       "text": [f"{v:.0f}%{(' ' + m) if m else ''}" for v, m in zip(rv, marks, strict=True)],
                       "textposition": "outside", "cliponaxis": False, "xaxis": "x2", "yaxis": "y2"})
    right_max = float(np.nanmax(right.to_numpy(dtype=float))) * 100 if right.size else 100.0
    note = f"{UP}/{DOWN}: significantly over/under-represented (adjusted residual, Bonferroni over cells)"
    if ct.other_label is not None:
        note += f"; {ct.other_label} = {len(ct.other_values)} less frequent values"
    layout = _two_panels(left_title, right_title)  # what make_subplots(1, 2, shared_yaxes=True) lays out
    layout["annotations"].append({"text": note, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0,
                                  "y": 0, "yshift": -48, "xanchor": "left", "yanchor": "top",
                                  "font": {"size": 10, "color": "#555555"}})
    layout["margin"] = {"l": 60, "r": 30, "t": 80, "b": 90}  # room for the axes and the note below them
    layout["xaxis"].update(range=[0, 100], ticksuffix="%")
    layout["yaxis"]["autorange"] = "reversed"
    layout["xaxis2"].update(range=[0, right_max * 1.15 + 8], ticksuffix="%",
                            tickvals=[v for v in (0, 20, 40, 60, 80, 100) if v <= right_max * 1.15 + 8])
    layout.update(barmode="overlay", uniformtext={"minsize": 9, "mode": "hide"},
                  legend={"title": {"text": legend_title}, "traceorder": "normal"})
    height = max(420, 160 + n_rows * max(40, 16 * n_series))
    return make_figure(traces, layout, title or default_title, f"cat_compare_{graph}", height=height)


# --------------------------------------------------------------------------- RFM views

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
    _require(rfm, cols, "RFM histograms")
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
    _require(rfm, ("recency_score", "frequency_score", "monetary"), "R x F heatmap")
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
    _require(rfm, ("recency_score", "frequency_score", "monetary_score"), "score heatmaps")
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
    _require(rfm, ("recency_score", "frequency_score", "monetary_score"), "F x M by R heatmaps")
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
    _require(rfm, ("rfm_segment",), "RFM segment bar")
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
    _require(rfm, ("rfm_segment",), "RFM segment treemap")
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


# --------------------------------------------------------------------------- evidence views


def _evidence(evidence: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    _require(evidence, ("k", *columns), "cluster evidence")
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
                     title: str | None = None) -> go.Figure:
    """Dendrogram of a SciPy linkage matrix, truncated to the last ``p`` merges (leaf labels
    in brackets are the number of customers under that branch); the cut giving ``chosen_k``
    clusters is drawn as a dashed line.
    """
    title = title or "Hierarchical clustering dendrogram"
    z = np.asarray(linkage, dtype=float)
    if z.ndim != 2 or z.shape[1] != 4 or z.shape[0] < 1:
        raise InputError("dendrogram needs a SciPy linkage matrix with 4 columns and at least one row")
    d = dendrogram(z, truncate_mode="lastp", p=p, no_plot=True, count_sort="descending")
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ic, dc in zip(d["icoord"], d["dcoord"], strict=True):
        xs += [*ic, None]
        ys += [*dc, None]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#4C4C4C", "width": 1.5},
                               hoverinfo="skip", showlegend=False))
    ticks = [5 + 10 * i for i in range(len(d["ivl"]))]
    fig.update_xaxes(tickvals=ticks, ticktext=d["ivl"], title_text="Customers (branch size in brackets)",
                     showgrid=False, tickangle=-90 if len(ticks) > 15 else 0)
    fig.update_yaxes(title_text="Merge distance")
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
    ticks = [_short(cluster_label(c, names), 44) for c in clusters]
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
