"""What each segment or cluster is worth: sums and medians of the customers' value, with
intervals, and the check the spend model needs.

Intervals are 90 % and say how much a figure depends on which customers happen to be in the
group (as a bootstrap of the customers would), not the models' own error:

- a sum: n·mean ± 1.645·√n·sd, the normal limit of the bootstrap distribution of a sum of n
  customers' values (tests/test_value.py checks it against a 2,000-resample bootstrap);
- a median: the distribution-free order-statistic interval, the ranks n/2 ± 1.645·√n/2.

Both take one pass over the values (no resampling): cheap at 10 million customers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LEVEL = 0.90
_Z = 1.6448536269514722  # standard normal quantile at (1 + LEVEL) / 2


def sum_interval(values: np.ndarray) -> tuple[float, float, float]:
    """(sum, low, high) of the values (NaN left out)."""
    v = values[np.isfinite(values)]
    n = len(v)
    if n == 0:
        return (math.nan,) * 3
    total = float(v.sum())
    if n < 2:
        return total, total, total
    half = _Z * math.sqrt(n) * float(v.std(ddof=1))
    return total, total - half, total + half


def median_interval(values: np.ndarray) -> tuple[float, float, float]:
    """(median, low, high): the order statistics at ranks n/2 ∓ z√n/2 (NaN left out)."""
    v = values[np.isfinite(values)]
    n = len(v)
    if n == 0:
        return (math.nan,) * 3
    half = _Z * math.sqrt(n) / 2
    lo = min(max(int(math.floor(n / 2 - half)), 1), n) - 1  # 0-based ranks
    hi = min(max(int(math.ceil(n / 2 + half)), 1), n) - 1
    mid = sorted({lo, hi, (n - 1) // 2, n // 2})
    part = np.partition(v, mid)
    return float(np.median(part[[(n - 1) // 2, n // 2]])), float(part[lo]), float(part[hi])


def value_by_group(scores: pd.DataFrame, groups, repeat=None) -> pd.DataFrame:
    """One row per group (largest first): customers and their share, expected purchases,
    expected revenue with its interval and share, the median customer's expected revenue with
    its interval, the mean P(alive) and that of the group's repeat customers.

    ``scores``: the value columns of the customers (custseg.value.score.VALUE_COLUMNS);
    ``groups``: each customer's group (NaN: in none); ``repeat``: whether each customer bought on
    two or more days (BG/NBD counts the others as active: their P(alive) is 1 by construction).
    Customers without a score are left out.
    """
    labels = pd.Series(np.asarray(groups, dtype=object), index=scores.index)
    scored = scores["expected_purchases"].notna() & labels.notna()
    codes, names = pd.factorize(labels[scored], sort=False)
    revenue = scores.loc[scored, "expected_revenue"].to_numpy(dtype=np.float64)
    purchases = scores.loc[scored, "expected_purchases"].to_numpy(dtype=np.float64)
    alive = scores.loc[scored, "p_alive"].to_numpy(dtype=np.float64)
    came_back = (np.zeros(len(alive), dtype=bool) if repeat is None
                 else pd.Series(np.asarray(repeat, dtype=bool), index=scores.index)[scored].to_numpy())
    rows = []
    for code, name in enumerate(names):
        members = codes == code
        rev = revenue[members]
        total, low, high = sum_interval(rev)
        median, median_low, median_high = median_interval(rev)
        rows.append({"group": name, "customers": int(members.sum()), "expected_purchases": float(purchases[members].sum()),
                     "expected_revenue": total, "expected_revenue_low": low, "expected_revenue_high": high,
                     "median_expected_revenue": median, "median_expected_revenue_low": median_low,
                     "median_expected_revenue_high": median_high,
                     "mean_p_alive": float(alive[members].mean()),
                     "mean_p_alive_repeat": float(alive[members & came_back].mean()) if (members & came_back).any() else math.nan})
    table = pd.DataFrame(rows, columns=["group", "customers", "expected_purchases", "expected_revenue", "expected_revenue_low",
                                        "expected_revenue_high", "median_expected_revenue", "median_expected_revenue_low",
                                        "median_expected_revenue_high", "mean_p_alive", "mean_p_alive_repeat"])
    table.insert(2, "customers_share", table["customers"] / max(int(table["customers"].sum()), 1))
    revenue_total = float(np.nansum(table["expected_revenue"]))
    table.insert(7, "expected_revenue_share", table["expected_revenue"] / revenue_total if revenue_total > 0 else np.nan)
    return table.sort_values("customers", ascending=False, kind="stable").reset_index(drop=True)


def spend_correlation(inputs: pd.DataFrame) -> tuple[float, int]:
    """Pearson correlation of purchases and average purchase value among customers with two or
    more purchases (Gamma-Gamma assumes none), and how many such customers there are."""
    repeat = inputs[inputs["purchases"] >= 2]
    if len(repeat) < 3 or repeat["purchases"].nunique() < 2 or repeat["purchase_value"].nunique() < 2:
        return math.nan, len(repeat)
    return float(np.corrcoef(repeat["purchases"], repeat["purchase_value"])[0, 1]), len(repeat)
