"""Reference matrices for tests and benchmarks of the cluster stage (not part of the pipeline).

The official customer table comes from the features stage; these are small, plain-pandas
stand-ins so the cluster stage can be checked against scikit-learn on real data now:

* :func:`online_retail_rfm` — the bundled UCI Online Retail log, one row per customer:
  ``avg_unique_products_cnt`` (mean distinct products per invoice), ``recency`` (days from the
  last invoice to the last date in the log), ``frequency`` (distinct non-cancelled invoices),
  ``monetary`` (sum of quantity × unit price). Cancellations (invoice starting with C) and rows
  without CustomerID are excluded.
* :func:`rfm_champions` — repeat customers (frequency ≥ 2) whose recency and frequency
  quintile scores are both ≥ 4 (a plain approximation of the RFM "Champions" segment).
* :func:`rfm_like_sample` — n rows resampled from the Online Retail matrix with small jitter
  on every feature, so that the rows are distinct (the worst case for de-duplication).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from custseg.data import online_retail_file

FEATURES = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]


@lru_cache(maxsize=1)
def _online_retail_rfm_cached() -> pd.DataFrame:
    log = pd.read_csv(
        online_retail_file(),
        dtype={"InvoiceNo": str, "StockCode": str},
        usecols=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
    )
    log = log[log["CustomerID"].notna() & ~log["InvoiceNo"].str.startswith("C")].copy()
    log["InvoiceDate"] = pd.to_datetime(log["InvoiceDate"])
    log["amount"] = log["Quantity"] * log["UnitPrice"]
    last_day = log["InvoiceDate"].max()
    invoices = log.groupby(["CustomerID", "InvoiceNo"]).agg(
        date=("InvoiceDate", "max"), unique_products=("StockCode", "nunique"), amount=("amount", "sum")
    )
    per_customer = invoices.groupby(level="CustomerID")
    rfm = pd.DataFrame(
        {
            "avg_unique_products_cnt": per_customer["unique_products"].mean(),
            "recency": (last_day - per_customer["date"].max()).dt.days.astype("int64"),
            "frequency": per_customer.size().astype("int64"),
            "monetary": per_customer["amount"].sum(),
        }
    )
    rfm.index = rfm.index.astype("int64").rename("customer_id")
    return rfm


def online_retail_rfm() -> pd.DataFrame:
    """Customer-level RFM-like table of the bundled Online Retail log (a fresh copy)."""
    return _online_retail_rfm_cached().copy()


def rfm_champions(rfm: pd.DataFrame) -> pd.DataFrame:
    """Repeat customers with recency and frequency quintile scores of 4 or 5."""
    r_score = pd.qcut(rfm["recency"].rank(method="first", ascending=False), 5, labels=False) + 1
    f_score = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=False) + 1
    return rfm[(rfm["frequency"] >= 2) & (r_score >= 4) & (f_score >= 4)].copy()


def rfm_like_sample(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` customers resampled from Online Retail with jitter (distinct rows), ids 0..n-1."""
    base = online_retail_rfm()
    rng = np.random.default_rng(seed)
    rows = base.iloc[rng.integers(0, len(base), size=n)].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "avg_unique_products_cnt": rows["avg_unique_products_cnt"] * rng.lognormal(0, 0.05, n),
            "recency": (rows["recency"] + rng.uniform(-0.5, 0.5, n)).clip(lower=0),
            "frequency": rows["frequency"] * rng.lognormal(0, 0.05, n),
            "monetary": rows["monetary"] * rng.lognormal(0, 0.05, n),
        }
    )
    out.index.name = "customer_id"
    return out
