"""Headline numbers of a customer table, for the terminal and summary.json."""

from __future__ import annotations

import pandas as pd

from custseg._categorical import value_counts


def customer_summary(customers: pd.DataFrame, excluded: dict[str, int] | None = None) -> dict:
    """Customers, converted, repeat, revenue, excluded input rows, and per RFM segment its
    customers and revenue (with shares) and a suggested action."""
    buys = customers["buys_cnt"]
    converted = int(buys.notna().sum())
    summary = {
        "customers": int(len(customers)),
        "converted_customers": converted,
        "repeat_customers": int((buys >= 2).sum()),
        "never_converted_customers": int(buys.isna().sum()),
        "excluded_input_rows": {k: int(v) for k, v in sorted((excluded or {}).items())},
    }
    if "monetary" in customers:
        summary["revenue"] = float(customers["monetary"].sum())
    if "rfm_segment" in customers:
        from custseg.profile.overview import rfm_segment_action

        counts = value_counts(customers["rfm_segment"].dropna())
        total = int(counts.sum())
        revenue = customers.groupby("rfm_segment", observed=True)["monetary"].sum() if "monetary" in customers else None
        revenue_total = float(revenue.sum()) if revenue is not None else 0.0
        summary["rfm_segments"] = {
            name: {"customers": int(n), "share": n / total,
                   **({"revenue": float(revenue.get(name, 0.0)), "revenue_share": float(revenue.get(name, 0.0)) / revenue_total}
                      if revenue_total > 0 else {}),
                   "suggested_action": rfm_segment_action(name)}
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        }
    return summary
