"""Movement between two dates and whether the segments predict it, as tables (pure functions).

Every customer has a *state* at each date, per *kind* of segmentation: the RFM segment, or a
population's cluster. Besides the segments and clusters, a state is one of the special states
below (defined for the reader in docs/migration.md):

* ``New`` (earlier date only): no purchase by the earlier date, counted at the later one;
* ``No purchase`` (later date only): had a purchase by the earlier date but none counts at the
  later one (an Olist order undelivered long past its estimate stops counting);
* ``Outside population``: bought, but not in the population's filter at that date (e.g. no
  longer an RFM Champion);
* ``Not clustered``: in the population but missing a clustering feature.

No customer is "lost" by the data: one who stops buying stays, and the segments say how long ago
they bought (RFM's At Risk, Hibernating, Lost).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

NEW = "New"
NO_PURCHASE = "No purchase"
OUTSIDE = "Outside population"
NOT_CLUSTERED = "Not clustered"
SPECIAL_STATES = (NOT_CLUSTERED, OUTSIDE, NO_PURCHASE, NEW)  # after the segments, in this order
RFM_KIND = "rfm_segment"
ALL_CUSTOMERS = "All customers"
BASELINE_KIND = "all customers"  # prediction.csv's first row (no population name has a space)

MOVES_COLUMNS = ["kind", "customer_id", "from", "to"]
TRANSITION_COLUMNS = ["kind", "from", "to", "customers", "revenue_in_period"]


@lru_cache(maxsize=1)
def rfm_standing() -> dict[str, int]:
    """RFM segment (case-folded) -> standing (1: Champions, best), from rfm/segment_colors.csv."""
    text = resources.files("custseg.rfm").joinpath("segment_colors.csv").read_text(encoding="utf-8")
    return {row["rfm_segment"].casefold(): int(row["standing"]) for row in csv.DictReader(text.splitlines())}


def standing_of(segment: str) -> int | None:
    """An RFM segment's standing (1: best), whatever its capitals ("About to Sleep"); None: not listed."""
    return rfm_standing().get(str(segment).casefold())


def state_order(kind: str, states: Sequence[str], cluster_order: Sequence[str] = ()) -> list[str]:
    """States in reading order: RFM segments by standing (clusters by number), then the special ones."""
    present = list(dict.fromkeys(states))
    specials = [s for s in SPECIAL_STATES if s in present]
    ordinary = [s for s in present if s not in SPECIAL_STATES]
    if kind == RFM_KIND:
        last = len(rfm_standing()) + 1
        ordinary.sort(key=lambda s: (standing_of(s) or last, s))
    else:
        rank = {name: i for i, name in enumerate(cluster_order)}
        ordinary.sort(key=lambda s: (rank.get(s, len(rank)), s))
    return ordinary + specials


def rfm_moves(earlier: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """Each customer's RFM segment at both dates: every customer with a segment at either date."""
    before = by_id(earlier, "rfm_segment").dropna()
    after = by_id(later, "rfm_segment").dropna()
    ids = before.index.union(after.index)
    return pd.DataFrame({"kind": RFM_KIND, "customer_id": ids,
                         "from": before.reindex(ids).astype(object).fillna(NEW).to_numpy(),
                         "to": after.reindex(ids).astype(object).fillna(NO_PURCHASE).to_numpy()})


def cluster_moves(kind: str, earlier: pd.DataFrame, later: pd.DataFrame, earlier_members: pd.Series, earlier_clusters: pd.Series,
                  later_members: pd.Series, later_clusters: pd.Series) -> pd.DataFrame:
    """Each customer's cluster (name) at both dates in one population: every customer who is in
    the population at either date.

    ``*_members``: the population's customer ids at that date (its filter); ``*_clusters``:
    cluster name by customer id (missing: not clustered); ``earlier``, ``later``: the customer
    tables (who had bought by then).
    """
    in_before, in_after = pd.Index(earlier_members), pd.Index(later_members)
    ids = in_before.union(in_after)
    bought_before = pd.Index(by_id(earlier, "buys_cnt").dropna().index)
    before = pd.Series(OUTSIDE, index=ids, dtype=object)
    before[~ids.isin(bought_before)] = NEW
    before[ids.isin(in_before)] = NOT_CLUSTERED
    clustered = earlier_clusters.dropna()
    before.loc[clustered.index.intersection(ids)] = clustered
    after = pd.Series(OUTSIDE, index=ids, dtype=object)
    after[~ids.isin(pd.Index(by_id(later, "buys_cnt").dropna().index))] = NO_PURCHASE
    after[ids.isin(in_after)] = NOT_CLUSTERED
    clustered = later_clusters.dropna()
    after.loc[clustered.index.intersection(ids)] = clustered
    return pd.DataFrame({"kind": kind, "customer_id": ids, "from": before.to_numpy(), "to": after.to_numpy()})


def transition_table(moves: pd.DataFrame, period: pd.DataFrame, orders: dict[str, list[str]]) -> pd.DataFrame:
    """migration.csv: per kind, from and to state, the customers and their revenue in the period.

    ``period``: purchases and revenue in the period per customer (see :func:`period_purchases`);
    ``orders``: per kind the states in reading order (``from`` then ``to`` rows are sorted so).
    """
    revenue = moves["customer_id"].map(by_id(period, "revenue")).fillna(0.0)
    table = (moves.assign(revenue_in_period=revenue.to_numpy())
             .groupby(["kind", "from", "to"], sort=False)
             .agg(customers=("customer_id", "size"), revenue_in_period=("revenue_in_period", "sum"))
             .reset_index())
    kinds = list(dict.fromkeys(moves["kind"]))
    table["_k"] = table["kind"].map({k: i for i, k in enumerate(kinds)})
    table["_f"] = [orders[k].index(f) for k, f in zip(table["kind"], table["from"])]
    table["_t"] = [orders[k].index(t) for k, t in zip(table["kind"], table["to"])]
    table = table.sort_values(["_k", "_f", "_t"]).drop(columns=["_k", "_f", "_t"]).reset_index(drop=True)
    table["customers"] = table["customers"].astype("int64")
    table["revenue_in_period"] = table["revenue_in_period"].round(6)  # sums of amounts: no 63.349999999999994
    return table[TRANSITION_COLUMNS]


def matrix(transitions: pd.DataFrame, kind: str, order: list[str]) -> pd.DataFrame:
    """Customers from (rows) -> to (columns) of one kind, in reading order (zeros where none moved)."""
    rows = transitions[transitions["kind"] == kind]
    table = rows.pivot_table(index="from", columns="to", values="customers", aggfunc="sum", fill_value=0)
    return table.reindex(index=[s for s in order if s in table.index], columns=[s for s in order if s in table.columns],
                         fill_value=0).astype("int64")


# ---------------------------------------------------------------- do the segments predict?


def customer_outcomes(earlier: pd.DataFrame, actual: pd.DataFrame, *, period_days: int,
                      predict: Callable[[pd.DataFrame, int], pd.Series] | None = None) -> pd.DataFrame:
    """What each customer who had bought by the earlier date did in the period: one row each,
    ``customer_id``, ``purchases``, ``revenue`` (0 for no purchase) and ``bought_again``.

    The one place a prediction joins the actual outcome: ``predict(earlier, period_days)``
    returns expected purchase days (days with orders, the lifetime-value models' unit) in the
    period per customer id (BG/NBD fitted on the earlier table); they become the column
    ``predicted_purchase_days``, which :func:`prediction_table` sums beside the actual
    ``purchase_days`` per segment.
    """
    buyers = earlier.loc[earlier["buys_cnt"].notna(), "customer_id"].to_numpy()
    outcomes = pd.DataFrame({"customer_id": buyers})
    outcomes["purchases"] = outcomes["customer_id"].map(by_id(actual, "purchases")).fillna(0).astype("int64")
    if "purchase_days" in actual:
        outcomes["purchase_days"] = outcomes["customer_id"].map(by_id(actual, "purchase_days")).fillna(0).astype("int64")
    outcomes["revenue"] = outcomes["customer_id"].map(by_id(actual, "revenue")).fillna(0.0).astype(float)
    outcomes["bought_again"] = outcomes["purchases"] > 0
    if predict is not None:
        expected = predict(earlier.loc[earlier["buys_cnt"].notna()], period_days)
        outcomes["predicted_purchase_days"] = outcomes["customer_id"].map(expected).astype(float)
    return outcomes


PREDICTION_COLUMNS = ["kind", "group", "customers", "bought_again", "bought_again_share", "purchases",
                      "purchases_per_customer", "revenue", "revenue_per_customer", "bought_again_lift", "revenue_lift"]


#: prediction.csv's columns when the lifetime-value model predicted: actual and predicted purchase days
PREDICTED_COLUMNS = ["purchase_days", "predicted_purchase_days", "purchase_days_per_customer", "predicted_purchase_days_per_customer"]


def prediction_table(outcomes: pd.DataFrame, groups: dict[str, pd.Series], orders: dict[str, list[str]]) -> pd.DataFrame:
    """prediction.csv: per kind and group at the earlier date, how many bought again in the period,
    their purchases and revenue per customer, and the lift against all customers (the group's
    rate over the rate of every customer who had bought by the earlier date; 1 = no better).

    ``groups``: per kind, the group (segment or cluster name) by customer id (customers without
    one are left out of that kind). The first row, kind ``all customers``, is every such customer.
    """
    base = _group_row(outcomes)
    rows = [{"kind": BASELINE_KIND, "group": ALL_CUSTOMERS, **base}]
    for kind, group in groups.items():
        g = outcomes["customer_id"].map(group)
        for name in [s for s in orders[kind] if s in set(g.dropna())]:
            rows.append({"kind": kind, "group": name, **_group_row(outcomes[(g == name).to_numpy()])})
    table = pd.DataFrame(rows)
    table["bought_again_lift"] = table["bought_again_share"] / base["bought_again_share"] if base["bought_again_share"] else np.nan
    table["revenue_lift"] = table["revenue_per_customer"] / base["revenue_per_customer"] if base["revenue_per_customer"] else np.nan
    columns = PREDICTION_COLUMNS + [c for c in PREDICTED_COLUMNS if c in table]
    return table[columns]


def _group_row(o: pd.DataFrame) -> dict:
    n = len(o)
    row = {"customers": n, "bought_again": int(o["bought_again"].sum()),
           "bought_again_share": float(o["bought_again"].mean()) if n else np.nan,
           "purchases": int(o["purchases"].sum()), "purchases_per_customer": float(o["purchases"].mean()) if n else np.nan,
           "revenue": float(o["revenue"].sum()), "revenue_per_customer": float(o["revenue"].mean()) if n else np.nan}
    if "predicted_purchase_days" in o and "purchase_days" in o and o["predicted_purchase_days"].notna().any():
        row["purchase_days"] = int(o["purchase_days"].sum())
        row["predicted_purchase_days"] = float(o["predicted_purchase_days"].sum())
        row["purchase_days_per_customer"] = float(o["purchase_days"].mean()) if n else np.nan
        row["predicted_purchase_days_per_customer"] = float(o["predicted_purchase_days"].mean()) if n else np.nan
    return row


def by_id(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column of a customer table as a Series indexed by customer id."""
    return pd.Series(frame[column].to_numpy(), index=pd.Index(frame["customer_id"]), name=column)
