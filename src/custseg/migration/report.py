"""The migration report: one self-contained HTML file made by the analysis report's renderer
(its template, CSS, script and plotly.js bundle), with a Sankey diagram, a transition matrix and
a "do the segments predict?" table per segmentation, and the findings in words."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from custseg.migration import findings as mf
from custseg.migration import tables as mt
from custseg.profile.charts import finish
from custseg.profile.overview import share_text
from custseg.result import AnalysisResult, Note, Section, View

if TYPE_CHECKING:
    from custseg.migration.run import KindResult, MigrationResult


def _rgba(color: str, alpha: float) -> str:
    h = color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def sankey_figure(kind: KindResult, counts: pd.DataFrame, from_date: str, to_date: str, title: str) -> go.Figure:
    """Customers from each state at the earlier date (left) to each state at the later (right)."""
    left, right = list(counts.index), list(counts.columns)
    left_n, right_n = counts.sum(axis=1), counts.sum(axis=0)
    labels = [f"{s} ({left_n[s]:,})" for s in left] + [f"{s} ({right_n[s]:,})" for s in right]
    colors = [kind.colors.get(s, "#9E9E9E") for s in left + right]
    sources, targets, values, link_colors, shares = [], [], [], [], []
    for i, src in enumerate(left):
        for j, dst in enumerate(right):
            n = int(counts.iat[i, j])
            if n:
                sources.append(i)
                targets.append(len(left) + j)
                values.append(n)
                link_colors.append(_rgba(kind.colors.get(src, "#9E9E9E"), 0.35))
                shares.append(share_text(n / left_n[src]))
    trace = {
        "type": "sankey", "arrangement": "fixed", "valueformat": ",d",  # fixed: the states in reading order, not Plotly's
        "node": {"label": labels, "color": colors, "pad": 12, "thickness": 16, "line": {"width": 0},
                 "x": [0.001] * len(left) + [0.999] * len(right), "y": _stacked(left_n.to_numpy()) + _stacked(right_n.to_numpy()),
                 "hovertemplate": "%{label}<extra></extra>"},
        "link": {"source": sources, "target": targets, "value": values, "color": link_colors, "customdata": shares,
                 "hovertemplate": "%{source.label} → %{target.label}: %{value:,} customers (%{customdata} of the left)<extra></extra>"},
    }
    height = max(420, 34 * max(len(left), len(right)) + 140)
    annotations = [{"text": f"<b>{from_date}</b>", "x": 0, "xanchor": "left", "y": 1.03, "yanchor": "bottom", "xref": "paper", "yref": "paper", "showarrow": False},
                   {"text": f"<b>{to_date}</b>", "x": 1, "xanchor": "right", "y": 1.03, "yanchor": "bottom", "xref": "paper", "yref": "paper", "showarrow": False}]
    fig = go.Figure(go.Sankey(trace), layout={"annotations": annotations})
    return finish(fig, title, "migration-sankey", height=height, margin={"l": 20, "r": 20, "t": 90, "b": 20})


def _stacked(sizes: np.ndarray, gap: float = 0.025) -> list[float]:
    """Node centres (0: top, 1: bottom) of one Sankey column: sizes stacked in order, with gaps."""
    sizes = np.asarray(sizes, dtype=float)
    room = max(0.0, 1 - gap * (len(sizes) - 1))
    tops = np.concatenate([[0.0], np.cumsum(sizes)[:-1]]) / sizes.sum() * room + gap * np.arange(len(sizes))
    centres = tops + sizes / sizes.sum() * room / 2
    return [float(min(0.999, max(0.001, c))) for c in centres]


def matrix_figure(counts: pd.DataFrame, from_date: str, to_date: str, title: str) -> go.Figure:
    """The transition matrix: customers in each cell and their share of the row (coloured by it, from 0)."""
    n = counts.to_numpy(dtype=float)
    rows = n.sum(axis=1, keepdims=True)
    share = np.divide(n, rows, out=np.zeros_like(n), where=rows > 0)
    text = [[f"{int(v):,}<br>{share_text(p)}" if v else "" for v, p in zip(rv, rp)] for rv, rp in zip(n, share)]
    fig = go.Figure(go.Heatmap(
        z=share, x=[str(c) for c in counts.columns], y=[str(r) for r in counts.index], text=text, texttemplate="%{text}",
        customdata=n.astype(int), colorscale="Blues", zmin=0, zmax=1, xgap=1, ygap=1,
        colorbar={"title": {"text": "Share of<br>the row"}, "tickformat": ".0%"},
        hovertemplate="%{y} → %{x}: %{customdata:,} customers (%{z:.1%} of the row)<extra></extra>",
    ))
    fig.update_yaxes(title_text=f"On {from_date}", autorange="reversed", type="category", automargin=True)
    fig.update_xaxes(title_text=f"On {to_date}", type="category", side="top", tickangle=-30, automargin=True)
    height = max(380, 42 * len(counts.index) + 200)
    return finish(fig, title, "migration-matrix", height=height, margin={"l": 20, "r": 20, "t": 150, "b": 30})


def prediction_view_table(prediction: pd.DataFrame, kind: str, currency: str = "") -> pd.DataFrame:
    """The "do the segments predict?" rows of one kind (and all customers) as people read them."""
    rows = prediction[prediction["kind"].isin([mt.BASELINE_KIND, kind])]
    money = f" ({currency})" if currency else ""
    table = pd.DataFrame({
        "Group on the earlier date": rows["group"].to_numpy(),
        "Customers": rows["customers"].to_numpy(),
        "Bought again": rows["bought_again"].to_numpy(),
        "% bought again": [share_text(v) for v in rows["bought_again_share"]],
        "Lift (bought again)": [mf._times(v) for v in rows["bought_again_lift"]],
        f"Revenue per customer{money}": rows["revenue_per_customer"].round(2).to_numpy(),
        "Lift (revenue)": [mf._times(v) for v in rows["revenue_lift"]],
    })
    if "predicted_purchase_days_per_customer" in rows:  # the value models' expected purchase days, beside the actual ones
        table["Purchase days per customer"] = rows["purchase_days_per_customer"].round(3).to_numpy()
        table["Predicted by the value model"] = rows["predicted_purchase_days_per_customer"].round(3).to_numpy()
    return table


DEFINITIONS = [
    ("New", "No purchase by the earlier date (not in the data yet, or only cancelled orders); bought by the later date."),
    ("No purchase", "Had a purchase by the earlier date that no longer counts at the later one (an order never delivered, long past its estimate)."),
    ("Outside population", "Bought, but not in the population's filter at that date (e.g. no longer an RFM Champion)."),
    ("Not clustered", "In the population, but missing a clustering feature."),
    ("Bought again", "At least one purchase after the end of the earlier date, up to the end of the later one."),
    ("Lift", "The group's rate over the rate of all customers who had bought by the earlier date: 2 = twice as likely; 1 = no better."),
]


def migration_sections(result: MigrationResult) -> list[Section]:
    currency = result.summary.get("currency", "")
    sections = []
    headline: list[Note] = []
    for kind in result.kinds:
        counts = mt.matrix(result.transitions, kind.kind, kind.order)
        moves = mf.movement_notes(kind.kind, result.moves, result.earlier, result.period, result.from_date, result.to_date)
        groups = _groups(result, kind.kind)
        predicts = mf.prediction_notes(kind.kind, result.prediction, result.outcomes, groups, result.to_date, currency, kind.title)
        if kind.kind == mt.RFM_KIND:  # the largest movement, the new customers, and whether the segments predicted
            headline += moves[:1] + [n for n in moves if n.values.get("new customers")] + predicts[:1]
        else:  # and whether each population's clusters predicted
            headline += predicts[:1]
        title = kind.title
        views = [
            View(key=f"{kind.kind}-sankey", title=f"{title}: where the customers of {result.from_date} were on {result.to_date}",
                 figure=sankey_figure(kind, counts, result.from_date, result.to_date,
                                      f"{title}: where the customers of {result.from_date} were on {result.to_date}"),
                 notes=moves, caption="Each band: customers who went from the state on the left to the one on the right; hover for the numbers."),
            View(key=f"{kind.kind}-matrix", title=f"{title}: transition matrix",
                 figure=matrix_figure(counts, result.from_date, result.to_date, f"{title}: transition matrix"),
                 caption=f"Rows: the state on {result.from_date}; columns: the state on {result.to_date}. Each cell: customers and their share of the row."),
            View(key=f"{kind.kind}-prediction", title=f"{title}: did the groups of {result.from_date} buy again by {result.to_date}?",
                 table=prediction_view_table(result.prediction, kind.kind, currency), notes=predicts,
                 caption="Customers who had bought by the earlier date; revenue: what they spent in the period."),
        ]
        intro = kind.description + (f" Clusters fitted on {result.from_date} ({kind.method}); customers on {result.to_date} put in the "
                                    "nearest cluster of that model." if kind.kind != mt.RFM_KIND else "")
        sections.append(Section(key=f"kind-{kind.kind}", title=title, intro=intro.strip(), views=views))
    definitions = pd.DataFrame(DEFINITIONS, columns=["Term", "Meaning"])
    sections.append(Section(key="definitions", title="Definitions", views=[View(key="definitions-table", title="What the states and numbers mean", table=definitions)]))
    top = Section(key="findings", title="What moved", intro=f"The largest movements between {result.from_date} and {result.to_date}, and whether the segments of {result.from_date} predicted who bought again.",
                  views=[View(key="findings-notes", title="In short", notes=headline)])
    return [top, *sections]


def _groups(result: MigrationResult, kind: str) -> pd.Series:
    m = result.moves[(result.moves["kind"] == kind) & ~result.moves["from"].isin(mt.SPECIAL_STATES)]
    return pd.Series(m["from"].to_numpy(), index=pd.Index(m["customer_id"]))


def cards(result: MigrationResult):
    from custseg.report.tables import Headline, compact

    s = result.summary
    sign = f"{s['currency']} " if s.get("currency") else ""
    return [
        Headline("Period", f"{s['period_days']} days", f"{s['from']} to {s['to']}"),
        Headline(f"Customers on {s['from']}", f"{s['customers_at_from']:,}", "had bought by then"),
        Headline("Bought again", share_text(s["bought_again_share"]) if s["bought_again_share"] is not None else "–",
                 f"{s['bought_again']:,} of them bought in the period"),
        Headline("New customers", f"{s['new_customers']:,}", "first purchase in the period"),
        Headline("Revenue in the period", (sign + compact(s["period_revenue"])).replace(" ", "\u00a0"),
                 f"{share_text(s['period_revenue_from_returning'] / s['period_revenue']) if s['period_revenue'] else '–'} from customers of {s['from']}"),
    ]


def render_migration_html(result: MigrationResult) -> str:
    from custseg.report.html import render_html

    report = AnalysisResult(title=result.title, source=result.source, customers=pd.DataFrame(), summary={"warnings": result.warnings} if result.warnings else {},
                            reconciliation=None, sections=migration_sections(result), populations=[])
    return render_html(report, kicker="Customer movement report", cards=cards(result))
