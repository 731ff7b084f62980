"""Headline numbers of a customer table, for the terminal and summary.json.

They are counts and sums, so they are computed from :data:`SUMMARY_GROUPS`: one row per RFM
segment and kind of buyer, however many customers there are. The Spark engine computes the same
groups on the executors for customers the driver never holds (:func:`summary_of_groups`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The groups the summary is computed from: (rfm_segment, buyer), with customers and revenue.
#: ``buyer``: "never" (no purchase), "one" or "repeat" (two or more purchases).
SUMMARY_GROUPS = ("rfm_segment", "buyer", "customers", "revenue")
BUYERS = ("never", "one", "repeat")


def customer_summary(customers: pd.DataFrame, excluded: dict[str, int] | None = None) -> dict:
    """Customers, converted, repeat, revenue, excluded input rows, and per RFM segment its
    customers and revenue (with shares) and a suggested action."""
    return summary_of_groups(summary_groups(customers), excluded,
                             has_rfm="rfm_segment" in customers, has_revenue="monetary" in customers)


def summary_groups(customers: pd.DataFrame) -> pd.DataFrame:
    """The customer table counted and summed by RFM segment and kind of buyer (SUMMARY_GROUPS)."""
    buys = customers["buys_cnt"].to_numpy(dtype="float64", na_value=np.nan)
    groups = pd.DataFrame({
        "rfm_segment": customers["rfm_segment"] if "rfm_segment" in customers else pd.Series(None, index=customers.index, dtype=object),
        "buyer": np.where(np.isnan(buys), 0, np.where(buys >= 2, 2, 1)),  # codes of BUYERS
        "revenue": customers["monetary"] if "monetary" in customers else 0.0,
    })
    out = groups.groupby(["rfm_segment", "buyer"], dropna=False, observed=True, sort=True).agg(
        customers=("buyer", "size"), revenue=("revenue", "sum")).reset_index()
    return out.assign(rfm_segment=out["rfm_segment"].astype(object), buyer=np.asarray(BUYERS)[out["buyer"]])[list(SUMMARY_GROUPS)]


def summary_of_groups(groups: pd.DataFrame, excluded: dict[str, int] | None = None, *,
                      has_rfm: bool = True, has_revenue: bool = True) -> dict:
    """:func:`customer_summary` from the table's :data:`SUMMARY_GROUPS` (any engine's)."""
    counts = groups.groupby("buyer")["customers"].sum()
    summary = {
        "customers": int(groups["customers"].sum()),
        "converted_customers": int(counts.get("one", 0) + counts.get("repeat", 0)),
        "repeat_customers": int(counts.get("repeat", 0)),
        "never_converted_customers": int(counts.get("never", 0)),
        "excluded_input_rows": {k: int(v) for k, v in sorted((excluded or {}).items())},
    }
    if has_revenue:
        summary["revenue"] = float(groups["revenue"].sum())
    if has_rfm:
        from custseg.profile.overview import rfm_segment_action

        scored = groups[groups["rfm_segment"].notna()]
        by_segment = scored.groupby("rfm_segment")[["customers", "revenue"]].sum()
        total = int(by_segment["customers"].sum())
        revenue_total = float(by_segment["revenue"].sum()) if has_revenue else 0.0
        summary["rfm_segments"] = {
            name: {"customers": int(row.customers), "share": int(row.customers) / total,
                   **({"revenue": float(row.revenue), "revenue_share": float(row.revenue) / revenue_total}
                      if revenue_total > 0 else {}),
                   "suggested_action": rfm_segment_action(name)}
            for name, row in sorted(by_segment.iterrows(), key=lambda kv: (-kv[1]["customers"], kv[0]))
            if row.customers > 0
        }
    return summary
