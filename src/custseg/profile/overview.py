"""The summary a marketing team reads first: per cluster its size, revenue, medians, defining
traits and a suggested action, then a few headline findings in plain words.

Revenue is the customers' spend on their purchases (the RFM ``monetary``). What defines a cluster
is said by :func:`custseg.profile.names.cluster_traits` (the statements its name rests on). The
suggested action is the first rule of ``actions.toml`` (editable data; shown as a suggestion)
whose traits hold, a trait comparing the cluster's median with the population's: ``recent`` /
``lapsed`` when the median recency is at most 0.8 / at least 1.25 times the population's;
``high`` / ``low`` spend likewise for monetary; ``one-time`` when the median frequency is 1,
``repeat`` when it is 2 or more; ``multi`` products when the median of unique products per order
is at least 1.25 times the population's.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

import numpy as np
import pandas as pd

from custseg.profile.tables import by_column
from custseg.profile.wording import number

REVENUE = "monetary"
#: The medians the summary shows, where the population has them.
SUMMARY_METRICS = ("recency", "frequency", "monetary", "avg_unique_products_cnt")
RATIO = 1.25


@lru_cache(maxsize=1)
def _actions() -> dict:
    return tomllib.loads(resources.files("custseg.profile").joinpath("actions.toml").read_text(encoding="utf-8"))


def rfm_segment_action(segment: str) -> str:
    """The suggested action of an RFM segment ("" when actions.toml has none for it)."""
    wanted = str(segment).casefold()
    return next((a for name, a in _actions()["rfm_segments"].items() if name.casefold() == wanted), "")


def cluster_action(traits: Mapping[str, str]) -> str:
    """The action of the first rule in actions.toml whose traits all hold."""
    for rule in _actions()["clusters"]:
        if all(traits.get(key) == value for key, value in rule["when"].items()):
            return rule["action"]
    return ""


def action_traits(medians: pd.Series, population: pd.Series) -> dict[str, str]:
    """The traits actions.toml's rules read (see the module docstring): one cluster's medians
    against the population's."""
    traits: dict[str, str] = {}

    def side(metric: str) -> str | None:
        value, overall = medians.get(metric, np.nan), population.get(metric, np.nan)
        if not (np.isfinite(value) and np.isfinite(overall)) or overall <= 0:
            return None
        ratio = value / overall
        return "above" if ratio >= RATIO else "below" if ratio <= 1 / RATIO else None

    recency = side("recency")
    if recency:
        traits["recency"] = "recent" if recency == "below" else "lapsed"
    spend = side(REVENUE)
    if spend:
        traits["spend"] = "high" if spend == "above" else "low"
    frequency = medians.get("frequency", np.nan)
    if np.isfinite(frequency):
        traits["orders"] = "one-time" if frequency <= 1 else "repeat"
    if side("avg_unique_products_cnt") == "above":
        traits["products"] = "multi"
    return traits


def cluster_overview(clustered: pd.DataFrame, names: Mapping[Any, str], traits: Mapping[Any, list[str]]) -> pd.DataFrame:
    """One row per cluster, largest first: name, customers and share, revenue and share, the
    medians of SUMMARY_METRICS, what defines it (``traits``: profile.names.cluster_traits, the
    statements its name rests on) and a suggested action.

    ``clustered`` has one row per customer: ``cluster`` and the metrics (``monetary`` for revenue).
    """
    metrics = [m for m in SUMMARY_METRICS if m in clustered.columns]
    groups = clustered.groupby("cluster", observed=True, sort=True)
    table = pd.DataFrame({"customers": groups.size()})
    table["customers_share"] = table["customers"] / table["customers"].sum()
    if REVENUE in clustered.columns:
        table["revenue"] = groups[REVENUE].sum()
        total = table["revenue"].sum()
        table["revenue_share"] = table["revenue"] / total if total > 0 else np.nan
    medians = by_column(groups, metrics)
    population = pd.Series({m: clustered[m].median() for m in metrics}, dtype="float64")
    flags = {c: action_traits(medians.loc[c], population) for c in medians.index}
    table = table.join(medians.add_prefix("median_"))
    table.insert(0, "name", [names.get(c, f"Cluster {c}") for c in table.index])
    table["traits"] = ["; ".join(traits.get(c, [])) for c in table.index]
    table["trait_words"] = [", ".join(f"{k}={v}" for k, v in flags[c].items()) for c in table.index]
    table["action"] = [cluster_action(flags[c]) for c in table.index]
    return table.sort_values("customers", ascending=False, kind="stable").rename_axis("cluster").reset_index()


def share_text(x: float) -> str:
    """A share (0..1) for the summary: one decimal, two below 0.1 %: "52.7 %", "0.13 %"."""
    return f"{100 * x:.1f} %" if x >= 0.001 else f"{100 * x:.2f} %"


def headline_findings(overview: pd.DataFrame, limit: int = 5, currency: str = "") -> list[str]:
    """Three to five facts of the overview a marketing team acts on, most important first:
    where the revenue is, who is worth more than their headcount, who is slipping away
    (``currency``, e.g. "R$", before money)."""
    money = f"{currency} " if currency else ""
    findings: list[str] = []
    has_revenue = "revenue_share" in overview and overview["revenue_share"].notna().all()
    if has_revenue:
        top = overview.sort_values("revenue_share", ascending=False).iloc[0]
        findings.append(f"{top['name']} bring the most revenue: {share_text(top['revenue_share'])} of it, "
                        f"from {share_text(top['customers_share'])} of the customers.")
        lift = overview["revenue_share"] / overview["customers_share"]
        best = overview.loc[lift.idxmax()]
        if best["cluster"] != top["cluster"] and lift.max() >= 1.5:
            findings.append(f"{best['name']} are worth {lift.max():.1f}× their headcount: {share_text(best['customers_share'])} "
                            f"of the customers, {share_text(best['revenue_share'])} of the revenue (median spend {money}{number(best['median_monetary'])}).")
        low = overview.loc[lift.idxmin()]
        if lift.min() <= 1 / 1.5 and low["cluster"] not in (top["cluster"], best["cluster"]):
            findings.append(f"{low['name']} are {share_text(low['customers_share'])} of the customers but {share_text(low['revenue_share'])} of the revenue.")
    if "median_recency" in overview:
        lapsed = overview[overview["trait_words"].str.contains("recency=lapsed", regex=False)]
        if len(lapsed):
            biggest = lapsed.iloc[0]
            worth = f" and {share_text(biggest['revenue_share'])} of the revenue" if has_revenue else ""
            findings.append(f"Slipping away: {biggest['name']} ({share_text(biggest['customers_share'])} of the customers{worth}) "
                            f"last ordered a median {number(biggest['median_recency'])} days ago.")
    small = overview[overview["customers"] < 30]
    if len(small):
        listed = ", ".join(f"{row['name']} ({row['customers']:,} customer{'s' if row['customers'] != 1 else ''})" for _, row in small.iterrows())
        findings.append(f"Too small to plan a campaign on alone: {listed}.")
    return findings[:limit]
