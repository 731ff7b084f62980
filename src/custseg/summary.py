"""Headline numbers of a customer table, for the terminal and summary.json."""

from __future__ import annotations

import pandas as pd

from custseg._categorical import value_counts


def customer_summary(customers: pd.DataFrame, excluded: dict[str, int] | None = None) -> dict:
    """Customers, converted, repeat, excluded input rows and RFM segment shares."""
    buys = customers["buys_cnt"]
    converted = int(buys.notna().sum())
    summary = {
        "customers": int(len(customers)),
        "converted_customers": converted,
        "repeat_customers": int((buys >= 2).sum()),
        "never_converted_customers": int(buys.isna().sum()),
        "excluded_input_rows": {k: int(v) for k, v in sorted((excluded or {}).items())},
    }
    if "rfm_segment" in customers:
        counts = value_counts(customers["rfm_segment"].dropna())
        total = int(counts.sum())
        summary["rfm_segments"] = {
            name: {"customers": int(n), "share": n / total}
            for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        }
    return summary
