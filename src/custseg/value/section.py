"""The Value part of an analysis: per RFM segment and per cluster what the customers are expected
to bring, the numbers for summary.json, and the report's Value section (charts, tables, findings)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custseg.profile.labels import cluster_label
from custseg.profile.overview import share_text
from custseg.profile.wording import interval, money, number
from custseg.result import Note, PopulationResult, Section, View, assignment_rows
from custseg.value.charts import p_alive_chart, share_chart
from custseg.value.groups import spend_correlation, sum_interval, value_by_group
from custseg.value.score import CustomerValue

#: The overview columns (per cluster) the value adds; summary.json and the summary table read them.
OVERVIEW_COLUMNS = ("expected_purchases", "expected_revenue", "expected_revenue_low", "expected_revenue_high",
                    "expected_revenue_share", "mean_p_alive_repeat")
CONFIDENCE = "model estimate"


@dataclass
class ValueOutputs:
    summary: dict  # summary.json's "value"
    section: Section
    segments: pd.DataFrame | None  # value_by_group per RFM segment
    clusters: dict[str, pd.DataFrame] = field(default_factory=dict)  # population name -> per cluster
    caveats: list[str] = field(default_factory=list)


def cluster_labels(customers: pd.DataFrame, population: PopulationResult) -> pd.Series:
    """Each customer's cluster in the population (NaN: not in it), aligned with the customer table."""
    a = population.assignments
    at = assignment_rows(customers, a, population.rows)
    labels = a["cluster"].to_numpy()[np.maximum(at, 0)].astype(object)
    labels[at < 0] = None
    return pd.Series(labels, index=customers.index)


def with_value(overview: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The population's overview with each cluster's value columns (OVERVIEW_COLUMNS)."""
    values = table.rename(columns={"group": "cluster"})[["cluster", *OVERVIEW_COLUMNS]]
    values["cluster"] = values["cluster"].astype(overview["cluster"].dtype)
    return overview.drop(columns=[c for c in OVERVIEW_COLUMNS if c in overview]).merge(values, on="cluster", how="left")


def display_table(table: pd.DataFrame, group_title: str, names=None, currency: str = "") -> pd.DataFrame:
    """``value_by_group``'s table as the report shows it (the share of customers is on the chart above it)."""
    groups = [names.get(g, g) if names else g for g in table["group"]]
    return pd.DataFrame({
        group_title: groups,
        "Customers": table["customers"].to_numpy(),
        "Expected purchases": [number(v) for v in table["expected_purchases"]],
        "Expected revenue (90 % interval)": [interval(*v, currency) for v in
                                                    table[["expected_revenue", "expected_revenue_low", "expected_revenue_high"]].to_numpy()],
        "% of expected revenue": [share_text(v) if math.isfinite(v) else "–" for v in table["expected_revenue_share"]],
        "Median per customer (90 % interval)": [interval(*v, currency) for v in
                                                       table[["median_expected_revenue", "median_expected_revenue_low", "median_expected_revenue_high"]].to_numpy()],
        "P(alive) of repeat buyers": [f"{v:.2f}" if math.isfinite(v) else "–" for v in table["mean_p_alive_repeat"]],
    })


def _share_notes(table: pd.DataFrame, what: str, horizon: int, names=None) -> list[Note]:
    """The groups whose share of the expected revenue is furthest from their share of customers."""
    usable = table[table["expected_revenue_share"].notna() & (table["customers"] >= 30)]
    if usable.empty:
        return []
    ratio = usable["expected_revenue_share"] / usable["customers_share"]
    notes = []
    for pick in dict.fromkeys([ratio.idxmin(), ratio.idxmax()]):
        row, r = usable.loc[pick], ratio.loc[pick]
        if 0.67 < r < 1.5:
            continue
        name = names.get(row["group"], row["group"]) if names else row["group"]
        notes.append(Note(
            text=f"{name}: {share_text(row['customers_share'])} of {what}, {share_text(row['expected_revenue_share'])} of the "
                 f"next {horizon} days' expected revenue.",
            confidence=CONFIDENCE, values={"customers": int(row["customers"]), "expected_revenue": float(row["expected_revenue"]),
                                           "ratio": float(r)}))
    return notes


def value_outputs(value: CustomerValue, customers: pd.DataFrame, populations: list[PopulationResult],
                  currency: str = "") -> ValueOutputs:
    """Everything the report and summary.json say about value, from the scored customers."""
    s = value.settings
    horizon = s.horizon_days
    summary: dict = {"horizon_days": horizon, "end_of_data": None if pd.isna(value.end) else value.end.isoformat(),
                     "problems": list(value.problems),
                     "customers_scored": int(value.scores["expected_purchases"].notna().sum()),
                     "fitted_on": value.fitted_on, "sampled": value.fitted_on < len(value.inputs)}
    intro = (f"What the customers analysed are expected to bring in the next {horizon} days (new customers not included, "
             "not discounted), from two models fitted on them: BG/NBD for how often each customer buys and whether they "
             "are still a customer (P(alive)), Gamma-Gamma for what a purchase is worth. A purchase is a day with orders.")
    if not value.has_purchases:
        summary["status"] = "not modelled"
        return ValueOutputs(summary, Section(key="value", title=f"Value: the next {horizon} days", intro=" ".join(value.problems)), None)
    summary["status"] = "modelled" if value.has_revenue else "purchases only"
    summary["purchase_model"] = {"model": "BG/NBD", "time_unit": "days", **value.purchases.params.as_dict(),
                                 "log_likelihood": value.purchases.log_likelihood, "customers": value.purchases.customers}
    if value.spend is not None and value.spend.params is not None:
        summary["spend_model"] = {"model": "Gamma-Gamma", **value.spend.params.as_dict(),
                                  "mean_purchase_value": value.spend.params.mean_spend, "log_likelihood": value.spend.log_likelihood,
                                  "customers": value.spend.customers, "left_out_without_positive_spend": value.spend_left_out}
    scores = value.scores
    total, low, high = sum_interval(scores["expected_revenue"].to_numpy())
    purchases = float(np.nansum(scores["expected_purchases"]))
    summary.update({"expected_purchases": purchases, "expected_revenue": total if value.has_revenue else None,
                    "expected_revenue_low": low if value.has_revenue else None, "expected_revenue_high": high if value.has_revenue else None})
    r, n_repeat = spend_correlation(value.inputs)
    strong = math.isfinite(r) and abs(r) >= s.spend_correlation_warning
    summary["spend_correlation"] = {"r": r, "customers": n_repeat, "warning_above": s.spend_correlation_warning, "strong": strong}
    caveats = []
    if strong:
        caveats.append(f"Expected revenue: among the {n_repeat:,} customers who bought on two or more days, average purchase value and "
                       f"number of purchases are correlated (r = {r:.2f}); the spend model (Gamma-Gamma) assumes they are not, "
                       "so read each customer's expected revenue as rough.")

    notes: list[Note] = []
    if value.has_revenue:
        notes.append(Note(text=f"The {summary['customers_scored']:,} customers are expected to make {number(purchases)} purchases and spend "
                               f"{money(total, currency)} in the next {horizon} days (90 % interval {number(low)}–{number(high)}).",
                          confidence=CONFIDENCE, values={"expected_purchases": purchases, "expected_revenue": total, "low": low, "high": high}))
        repeat = value.inputs["frequency"].to_numpy() > 0
        rows = value.inputs.index.to_numpy()
        rev = scores["expected_revenue"].to_numpy()[rows]
        if repeat.any() and rev.sum() > 0:
            notes.append(Note(text=f"{share_text(rev[repeat].sum() / rev.sum())} of it is expected from the {share_text(repeat.mean())} "
                                   "of customers who have bought on more than one day.", confidence=CONFIDENCE,
                              values={"repeat_customers": int(repeat.sum())}))
    else:
        notes.append(Note(text=f"The {summary['customers_scored']:,} customers are expected to make {number(purchases)} purchases in the next {horizon} days.",
                          confidence=CONFIDENCE))
    repeat_alive = scores["p_alive"].to_numpy()[value.inputs.index.to_numpy()[value.inputs["frequency"].to_numpy() > 0]]
    if repeat_alive.size:
        gone = int((repeat_alive < 0.5).sum())
        notes.append(Note(text=f"{gone:,} of the {repeat_alive.size:,} customers who came back ({share_text(gone / repeat_alive.size)}) "
                               "are more likely gone than still buying (P(alive) below 0.5).", confidence=CONFIDENCE))

    views: list[View] = []
    segments = None
    repeat = pd.Series(False, index=customers.index)
    repeat.iloc[value.inputs.index.to_numpy()] = value.inputs["frequency"].to_numpy() > 0
    if "rfm_segment" in customers and customers["rfm_segment"].notna().any():
        segments = value_by_group(scores, customers["rfm_segment"], repeat)
        title = f"Expected revenue in the next {horizon} days by RFM segment"
        views.append(View(key="value-rfm-segments", title=title,
                          figure=share_chart(segments, title, "RFM segment", horizon, currency),
                          notes=notes + _share_notes(segments, "customers", horizon),
                          table=display_table(segments, "RFM segment", currency=currency)))
    clusters = {}
    for pop in populations:
        table = value_by_group(scores, cluster_labels(customers, pop), repeat)
        clusters[pop.name] = table
        title = f"{pop.title}: expected revenue in the next {horizon} days by cluster"
        views.append(View(key=f"value-{pop.name}", title=title,
                          figure=share_chart(table, title, "", horizon, currency,
                                             labels={c: cluster_label(c, pop.cluster_names) for c in table["group"]})
                          if len(table) else None,
                          notes=_share_notes(table, f"{pop.title.lower()}", horizon, names=pop.cluster_names),
                          table=display_table(table, "Cluster", names=pop.cluster_names, currency=currency)))
    title = "Customers who came back: chance they still buy"
    views.append(View(key="value-p-alive", title=title, figure=p_alive_chart(repeat_alive, title),
                      caption="Red: below 0.5, more likely gone than still buying. Customers who bought on one day only are left "
                              "out: the purchase model (BG/NBD) lets a customer drop out only right after a repeat purchase, so it "
                              "counts them as active (P(alive) = 1); their low expected purchases carry the risk instead."))
    views.append(_model_view(value, summary, r, n_repeat, strong, currency))
    section = Section(key="value", title=f"Value: the next {horizon} days", intro=intro, views=views)
    return ValueOutputs(summary, section, segments, clusters, caveats)


def _model_view(value: CustomerValue, summary: dict, r: float, n_repeat: int, strong: bool, currency: str) -> View:
    """The fitted parameters and the checks the models need."""
    p = value.purchases.params
    rows = [("Purchases (BG/NBD)", "r, α (days): purchase rate across customers", f"{p.r:.4g}, {p.alpha:.4g}"),
            ("Purchases (BG/NBD)", "a, b: chance of dropping out after a purchase",
             "no dropout (a → 0)" if p.a == 0 else f"{p.a:.4g}, {p.b:.4g}")]
    if value.spend is not None and value.spend.params is not None:
        g = value.spend.params
        rows += [("Purchase value (Gamma-Gamma)", "p, q, γ: spread of values within and across customers", f"{g.p:.4g}, {g.q:.4g}, {g.gamma:.4g}"),
                 ("Purchase value (Gamma-Gamma)", "mean value of a purchase", money(g.mean_spend, currency))]
    sampled = f", a random sample (seed {value.settings.random_state}) of the {len(value.inputs):,}" if summary["sampled"] else ""
    rows.append(("Both", "customers fitted on", f"{value.fitted_on:,}{sampled}"))
    notes = []
    if math.isfinite(r):
        text = (f"Average purchase value and number of purchases are correlated among the {n_repeat:,} customers who bought on "
                f"two or more days (r = {r:.2f}): the spend model assumes they are not, so read expected revenue per customer as rough."
                if strong else
                f"Average purchase value and number of purchases are barely correlated among the {n_repeat:,} customers who bought "
                f"on two or more days (r = {r:.2f}), as the spend model assumes (warning from |r| = {value.settings.spend_correlation_warning}).")
        notes.append(Note(text=text, confidence="caution" if strong else "check passed", values={"r": r, "customers": n_repeat}))
    if p.a == 0:
        notes.append(Note(text="No customer seems to leave within the data: the purchase model fits best without dropout "
                               "(BG/NBD's limit a → 0), so every customer counts as active and expected purchases may be high "
                               "for those who have in fact left.", confidence="caution"))
    for problem in value.problems:
        notes.append(Note(text=problem, confidence="caution"))
    return View(key="value-models", title="How the value was modelled", table=pd.DataFrame(rows, columns=["Model", "Parameter", "Value"]),
                notes=notes)
