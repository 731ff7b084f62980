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

from custseg.errors import InputError
from custseg.profile.colors import cluster_color, rfm_segment_colors, value_colors
from custseg.profile.compare import CrossTab
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


def short_text(text: Any, limit: int = _MAX_TICK) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def short_unique(values: Sequence[Any], limit: int) -> list[str]:
    """Shortened labels that stay distinct (a category axis merges equal labels into one row)."""
    out, seen = [], set()
    for v in values:
        text, n = short_text(v, limit), 2
        while text in seen:
            text = short_text(v, limit - len(str(n)) - 1) + f" {n}"
            n += 1
        seen.add(text)
        out.append(text)
    return out


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
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
        series_names = {v: short_text(v, 30) for v in counts.columns}
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
    full_rows = [short_text(v, _MAX_HOVER) for v in counts.index]
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
        hover = ("%{customdata[2]}<br>" + f"{short_text(series_names[key], 60)}" +
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
