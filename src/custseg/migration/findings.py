"""The migration report's findings in words: the largest movements of each segmentation, and
whether its segments at the earlier date told who would buy again (sentences: words.toml)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from custseg.migration import tables as mt
from custseg.profile.overview import share_text
from custseg.profile.wording import number
from custseg.result import Note

#: A movement of fewer customers is not worth a sentence; a group smaller than MIN_GROUP is indicative only.
MIN_MOVERS = 20
MIN_GROUP = 30
#: The segments "predict" when buying again depends on the segment (chi-square p below this) and
#: the best segment's rate is at least SPREAD times the worst's or POINTS above it.
P_VALUE = 0.01
SPREAD = 1.5
POINTS = 0.10


@lru_cache(maxsize=1)
def words() -> dict:
    return tomllib.loads(resources.files("custseg.migration").joinpath("words.toml").read_text(encoding="utf-8"))


def money(value: float, currency: str = "") -> str:
    return f"{currency} {number(value)}".strip()


def movement_notes(kind: str, moves: pd.DataFrame, earlier: pd.DataFrame, period: pd.DataFrame,
                   from_date: str, to_date: str, limit: int = 3) -> list[Note]:
    """The largest movements of one kind, ranked by what the movers had spent up to the earlier
    date (the money at stake); then where the new customers went (RFM) or who joined (populations).

    A movement is a (from, to) pair of different states from a segment or cluster, of at least
    :data:`MIN_MOVERS` customers.
    """
    w = words()["movement"]
    m = moves[moves["kind"] == kind]
    spent = m["customer_id"].map(mt.by_id(earlier, "monetary")).fillna(0.0).to_numpy()
    brought = m["customer_id"].map(mt.by_id(period, "revenue")).fillna(0.0).to_numpy()
    m = m.assign(spent=spent, brought=brought)
    total_spent = float(earlier["monetary"].sum())
    total_period = float(period["revenue"].sum())
    sizes = m.groupby("from", sort=False).size()
    flows = m.groupby(["from", "to"], sort=False).agg(customers=("customer_id", "size"), spent=("spent", "sum"), brought=("brought", "sum")).reset_index()
    moved = flows[(flows["from"] != flows["to"]) & ~flows["from"].isin(mt.SPECIAL_STATES) & (flows["customers"] >= MIN_MOVERS)]
    notes = []
    for row in moved.sort_values(["spent", "customers"], ascending=False).head(limit).itertuples(index=False):
        src, dst = row[0], row[1]
        if dst == mt.OUTSIDE:
            key = "left"
        elif dst == mt.NO_PURCHASE:
            key = "no_purchase"
        elif kind == mt.RFM_KIND and None not in (mt.standing_of(src), mt.standing_of(dst)):
            key = "fell" if mt.standing_of(dst) > mt.standing_of(src) else "rose"
        else:
            key = "moved"
        values = {"share": share_text(row.customers / sizes[src]), "from": src, "to": dst, "customers": f"{row.customers:,}",
                  "spent_share": share_text(row.spent / total_spent) if total_spent else "–",
                  "period_share": share_text(row.brought / total_period) if total_period else "–",
                  "from_date": from_date, "to_date": to_date}
        notes.append(Note(w[key].format(**values), "exact count",
                          {"customers": int(row.customers), f"customers in {src} on {from_date}": int(sizes[src]),
                           f"their spend up to {from_date}": float(row.spent), "their revenue in the period": float(row.brought)}))
    entering = m[m["from"].isin([mt.NEW, mt.OUTSIDE])] if kind != mt.RFM_KIND else m[m["from"] == mt.NEW]
    if len(entering):
        landed = entering.groupby("to", sort=False).size().sort_values(ascending=False, kind="stable")
        key = "new" if kind == mt.RFM_KIND else "joined"
        values = {"customers": f"{len(entering):,}", "period_share": share_text(entering["brought"].sum() / total_period) if total_period else "–",
                  "top_share": share_text(landed.iloc[0] / len(entering)), "top_to": landed.index[0], "to_date": to_date}
        notes.append(Note(w[key].format(**values), "exact count",
                          {("new customers" if key == "new" else "customers"): int(len(entering)),
                           "their revenue in the period": float(entering["brought"].sum())}))
    return notes


def prediction_notes(kind: str, prediction: pd.DataFrame, outcomes: pd.DataFrame, groups: pd.Series,
                     to_date: str, currency: str = "", title: str = "") -> list[Note]:
    """Whether the kind's groups at the earlier date told who would buy again: the best and worst
    group's rate of buying again against all customers, the best revenue per customer, and a
    chi-square test of buying again by group (do the groups differ at all?). ``title``: the
    population's (clusters) or none (RFM segments)."""
    w = words()["prediction"]
    named = "The RFM segments" if kind == mt.RFM_KIND else f"The clusters of {title or kind}"
    base = prediction[prediction["kind"] == mt.BASELINE_KIND].iloc[0]
    rows = prediction[(prediction["kind"] == kind) & (prediction["customers"] >= MIN_GROUP)]
    if len(rows) < 2 or not base["bought_again_share"]:
        return []
    best = rows.sort_values("bought_again_share", ascending=False, kind="stable").iloc[0]
    worst = rows.sort_values("bought_again_share", kind="stable").iloc[0]
    p_value = _independence_p(outcomes, groups)
    notes = []
    ratio = best["bought_again_share"] / worst["bought_again_share"] if worst["bought_again_share"] else np.inf
    shares = {"groups": named, "best": best["group"], "worst": worst["group"],
              "best_share": share_text(best["bought_again_share"]), "worst_share": share_text(worst["bought_again_share"])}
    tested = f"chi-square p {_p(p_value)}"
    if p_value >= P_VALUE:
        notes.append(Note(w["flat"].format(**shares), f"not significant ({tested})", {"p_value": p_value}))
    elif not np.isfinite(ratio):
        notes.append(Note(w["spread_none"].format(**shares), f"significant ({tested})", {"p_value": p_value}))
    elif ratio >= SPREAD or best["bought_again_share"] - worst["bought_again_share"] >= POINTS:
        notes.append(Note(w["spread"].format(ratio=_times(ratio), **shares), f"significant ({tested})", {"p_value": p_value}))
    else:
        notes.append(Note(w["weak"].format(**shares), f"significant ({tested})", {"p_value": p_value}))
    notes.append(Note(w["best"].format(group=best["group"], share=share_text(best["bought_again_share"]), to_date=to_date,
                                       lift=_times(best["bought_again_lift"]), base_share=share_text(base["bought_again_share"])),
                      rate_confidence(best), {"customers": int(best["customers"]), "bought again": int(best["bought_again"])}))
    if worst["group"] != best["group"]:
        notes.append(Note(w["worst"].format(group=worst["group"], share=share_text(worst["bought_again_share"]),
                                            lift=_times(worst["bought_again_lift"])),
                          rate_confidence(worst), {"customers": int(worst["customers"]), "bought again": int(worst["bought_again"])}))
    top = rows.sort_values("revenue_per_customer", ascending=False, kind="stable").iloc[0]
    if base["revenue_per_customer"]:
        notes.append(Note(w["revenue"].format(group=top["group"], money=money(top["revenue_per_customer"], currency),
                                              lift=_times(top["revenue_lift"]), base_money=money(base["revenue_per_customer"], currency)),
                          "indicative: few buyers" if top["bought_again"] < FEW_BUYERS else "exact sum",
                          {"customers": int(top["customers"]), "bought again": int(top["bought_again"]), "revenue in the period": float(top["revenue"])}))
    return notes


#: A rate resting on fewer buyers than this is indicative only.
FEW_BUYERS = 10


def rate_confidence(row) -> str:
    """How sure a group's rate of buying again is: its 95 % Wilson interval, or "indicative"
    when it rests on fewer than FEW_BUYERS buyers."""
    if row["bought_again"] < FEW_BUYERS:
        return "indicative: few buyers"
    low, high = wilson_interval(int(row["bought_again"]), int(row["customers"]))
    return f"95 % interval {share_text(low)} to {share_text(high)}"


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of a proportion k / n (95 % by default)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _independence_p(outcomes: pd.DataFrame, groups: pd.Series) -> float:
    """p-value of the chi-square test that buying again does not depend on the group."""
    from scipy.stats import chi2_contingency

    g = outcomes["customer_id"].map(groups)
    table = pd.crosstab(g[g.notna()], outcomes.loc[g.notna().to_numpy(), "bought_again"])
    if table.shape[0] < 2 or table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table.to_numpy())[1])


def _times(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else (f"{x:.1f}" if x < 10 else f"{x:.0f}")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"

