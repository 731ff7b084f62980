"""From the customer table to what the value models read.

The models count purchase *days*: orders a customer places on one calendar day are one purchase
(as lifetimes and PyMC-Marketing summarise transactions). Olist splits one basket into several
orders placed minutes apart (29 % of its repeat customers' second order came within the hour);
counted as orders, these bursts drive BG/NBD's α to 0 and the fit to a boundary.

Per customer who bought, in days: ``frequency`` = purchase days - 1, ``recency`` = days from the
first purchase day to the last, ``T`` = days from the first purchase day to the day the data ends,
``purchases`` = purchase days, ``purchase_value`` = spend / purchase days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from custseg.features.as_of import reference_of

#: The customer-table columns the value models read (features/sql/06_customer_metrics.sql, 09_rfm.sql).
NEEDED = ("buys_cnt", "days_with_buys", "first_purchase_ts", "last_purchase_ts", "monetary")
_DAY = np.timedelta64(1, "D")


def analysis_end(customers: pd.DataFrame, as_of: str | None = None) -> pd.Timestamp:
    """The instant the data ends, which recency is counted from: the end of the as-of day, else
    the latest purchase (:func:`custseg.features.as_of.reference_of`, the SQL's
    ``analysis_reference``; tests/test_value.py checks they agree)."""
    return reference_of(customers, as_of)


def value_inputs(customers: pd.DataFrame, end=None) -> pd.DataFrame:
    """One row per customer who bought on a known day, indexed by their row position in the
    customer table: frequency, recency, T, purchases and purchase_value (module docstring).
    ``end``: the instant the data ends (default :func:`analysis_end`)."""
    end = analysis_end(customers) if end is None else pd.Timestamp(end)
    days = customers["days_with_buys"].to_numpy(dtype=np.float64, na_value=np.nan)
    first = customers["first_purchase_ts"].to_numpy().astype("datetime64[D]")
    rows = np.flatnonzero((days >= 1) & ~np.isnat(first))
    first = first[rows]
    last = customers["last_purchase_ts"].to_numpy().astype("datetime64[D]")[rows]
    purchases = days[rows]
    spend = customers["monetary"].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
    return pd.DataFrame({
        "frequency": purchases - 1,
        "recency": (last - first) / _DAY,
        "T": (end.to_datetime64().astype("datetime64[D]") - first) / _DAY,
        "purchases": purchases,
        "purchase_value": spend / purchases,
    }, index=rows)
