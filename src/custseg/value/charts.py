"""The Value section's charts: each group's share of customers beside its share of the expected
revenue, and how likely the customers who came back are to still be active."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custseg.profile.charts import empty_figure, make_figure, short_unique
from custseg.profile.wording import money

CUSTOMERS_GREY = "#b8b8b8"
REVENUE_BLUE = "#1F3B73"


def share_chart(table: pd.DataFrame, title: str, group_label: str, horizon_days: int, currency: str = "",
                labels: Mapping[Any, str] | None = None) -> go.Figure:
    """Per group (``value_by_group``'s table, largest group on top): its % of customers (grey,
    above) and its % of the expected revenue (below); the hover gives the sums. ``labels``: how
    each group is called (default: its value)."""
    if table.empty or not table["expected_revenue_share"].notna().any():
        return empty_figure(title, "value_shares", "No expected revenue to compare")
    rows = table.iloc[::-1]
    names = short_unique([str((labels or {}).get(g, g)) for g in rows["group"]], 34)
    revenue_hover = [
        f"{money(r.expected_revenue, currency)} (90 % interval {money(max(r.expected_revenue_low, 0), currency)}–"
        f"{money(r.expected_revenue_high, currency)}) from {r.customers:,} customers"
        for r in rows.itertuples()
    ]

    def bar(name: str, shares: pd.Series, color: str, hover: str, customdata: list) -> dict:
        percent = shares * 100
        return {"type": "bar", "orientation": "h", "name": name, "y": names, "x": percent.tolist(),
                "marker": {"color": color}, "textposition": "outside", "cliponaxis": False,
                "text": [f"{v:.0f}%" if v >= 1 or v == 0 else f"{v:.1f}%" for v in percent],
                "customdata": customdata, "hovertemplate": hover}

    traces = [  # a horizontal group draws its first trace at the bottom
        bar(f"% of expected revenue, next {horizon_days} days", rows["expected_revenue_share"], REVENUE_BLUE,
            "%{y}: %{x:.1f}% of the expected revenue<br>%{customdata}<extra></extra>", revenue_hover),
        bar("% of customers", rows["customers_share"], CUSTOMERS_GREY,
            "%{y}: %{x:.1f}% of customers (%{customdata:,})<extra></extra>", rows["customers"].tolist()),
    ]
    top = float(max(rows["customers_share"].max(), rows["expected_revenue_share"].max()) * 100)
    layout = {
        "barmode": "group", "bargap": 0.25, "bargroupgap": 0.05,
        "xaxis": {"title": {"text": "% of all"}, "ticksuffix": "%", "range": [0, top * 1.15 + 1]},
        "yaxis": {"title": {"text": group_label}, "automargin": True},
        # above the bars, under the title: below them it met the axis title on some heights
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "xanchor": "left", "yanchor": "bottom", "traceorder": "reversed"},
        "height": max(380, 160 + 46 * len(rows)), "margin": {"l": 60, "r": 30, "t": 100, "b": 60},
    }
    return make_figure(traces, layout, title, "value_shares")


def p_alive_chart(p_alive: np.ndarray, title: str) -> go.Figure:
    """How many of the customers who came back have each chance of still being active (bins of 0.05)."""
    values = p_alive[np.isfinite(p_alive)]
    if values.size == 0:
        return empty_figure(title, "value_p_alive", "No customer bought on more than one day")
    edges = np.linspace(0, 1, 21)
    counts, _ = np.histogram(values, bins=edges)
    colors = ["#e15759" if hi <= 0.5 else "#4C78A8" for hi in edges[1:]]
    traces = [{"type": "bar", "x": ((edges[:-1] + edges[1:]) / 2).tolist(), "y": counts.tolist(), "width": 0.05,
               "marker": {"color": colors, "line": {"color": "white", "width": 1}},
               "customdata": np.column_stack([edges[:-1], edges[1:]]).tolist(),
               "hovertemplate": "P(alive) %{customdata[0]:.2f}–%{customdata[1]:.2f}: %{y:,} customers<extra></extra>",
               "showlegend": False}]
    layout = {"xaxis": {"title": {"text": "P(alive): chance the customer still buys"}, "range": [0, 1], "dtick": 0.2},
              "yaxis": {"title": {"text": "Customers"}}, "bargap": 0, "height": 400}
    return make_figure(traces, layout, title, "value_p_alive")
