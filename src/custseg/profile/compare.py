"""Cluster x dimension comparison: customer counts, shares and the statistics behind them.

Counts are customers (``nunique`` of the id) per (cluster, dimension value); each full
string is one value ("Boleto, Credit Card" is not split). With ``top_n`` the most frequent
values (by customers) are kept and the rest folded into one "Other" column, so shares
still sum to 100 %.

Statistics are computed on the table that is shown (top-N plus "Other"):

* chi-square test of independence, ``scipy.stats.chi2_contingency(correction=False)`` (no
  Yates correction, so the statistic, the residuals and Cramér's V agree with each other);
* Cramér's V = sqrt(chi2 / (n * (min(r, c) - 1))), and the bias-corrected V of Bergsma
  (2013), which does not inflate on small samples / big tables;
* adjusted standardised residuals (Haberman 1973):
  ``(O - E) / sqrt(E * (1 - row_total / n) * (1 - col_total / n))``, approximately standard
  normal under independence;
* a cell is marked over- (+1) or under-represented (-1) when ``|residual| > z_crit`` with
  ``z_crit = Phi^-1(1 - alpha / (2 * cells))``: a two-sided test per cell, Bonferroni
  corrected over all r * c cells, so that with many cells the family-wise chance of marking
  any cell by luck stays below ``alpha``.

Small expected counts (Cochran: any expected < 1, or more than 20 % of cells < 5) make the
chi-square approximation unreliable; ``small_expected`` says so and the observations warn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from custseg._categorical import plain_index
from custseg.errors import InputError
from custseg.ids import unique_ids
from custseg.profile.tables import rows_where

OTHER = "Other"


@dataclass(frozen=True)
class CrossTab:
    """A cluster x dimension table with shares and test results.

    Frames are indexed by cluster (rows) and dimension value (columns, most frequent first,
    "Other" last). ``significance`` holds +1 (over-represented), -1 (under) or 0.
    Statistics are NaN when the table has a single row or column (nothing to compare).
    """

    cluster_col: str
    dimension: str
    counts: pd.DataFrame
    share_within_cluster: pd.DataFrame
    share_within_value: pd.DataFrame
    expected: pd.DataFrame
    residuals: pd.DataFrame
    significance: pd.DataFrame
    chi2: float
    p_value: float
    dof: int
    cramers_v: float
    cramers_v_corrected: float
    alpha: float
    z_critical: float
    n: int
    min_expected: float
    frac_expected_below_5: float
    small_expected: bool
    other_values: list[Any] = field(default_factory=list)
    other_label: str | None = None
    n_missing: int = 0

    @property
    def overall_share(self) -> pd.Series:
        """Share of all counted customers in each dimension value (the "overall" bar)."""
        col = self.counts.sum(axis=0)
        return col / col.sum()

    @property
    def cluster_share(self) -> pd.Series:
        """Share of all counted customers in each cluster."""
        row = self.counts.sum(axis=1)
        return row / row.sum()

    def cell_p_values(self) -> pd.DataFrame:
        """Two-sided p-value per cell from its adjusted residual, Bonferroni-adjusted (capped at 1)."""
        p = 2 * stats.norm.sf(np.abs(self.residuals.to_numpy(dtype=float)))
        cells = self.counts.size
        return pd.DataFrame(
            np.minimum(p * cells, 1.0), index=self.counts.index, columns=self.counts.columns
        )


def adjusted_residuals(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts and Haberman's adjusted standardised residuals of a 2-D count table."""
    obs = np.asarray(observed, dtype=float)
    n = obs.sum()
    row = obs.sum(axis=1, keepdims=True)
    col = obs.sum(axis=0, keepdims=True)
    expected = row @ col / n
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.sqrt(expected * (1 - row / n) * (1 - col / n))
        resid = (obs - expected) / denom
    return expected, resid


def cramers_v(chi2: float, n: float, r: int, c: int, corrected: bool = False) -> float:
    """Cramér's V from a chi-square statistic; ``corrected`` = Bergsma's bias correction."""
    if n <= 1 or min(r, c) < 2 or not np.isfinite(chi2):
        return float("nan")
    phi2 = chi2 / n
    if not corrected:
        return float(np.sqrt(phi2 / (min(r, c) - 1)))
    phi2c = max(0.0, phi2 - (r - 1) * (c - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    cc = c - (c - 1) ** 2 / (n - 1)
    denom = min(rc - 1, cc - 1)
    return float(np.sqrt(phi2c / denom)) if denom > 0 else float("nan")


def bonferroni_z(alpha: float, cells: int) -> float:
    """Critical |z| for a two-sided per-cell test at family-wise level ``alpha`` over ``cells``."""
    return float(stats.norm.isf(alpha / (2 * max(cells, 1))))


def _order_key(values: pd.Series) -> list[Any]:
    """Dimension values by customer count, descending; ties by value text."""
    frame = pd.DataFrame({"v": values.index, "n": values.to_numpy()})
    frame["t"] = frame["v"].astype(str)
    return list(frame.sort_values(["n", "t"], ascending=[False, True], kind="stable")["v"])


def _count_table(rows: pd.Series, columns: pd.Series) -> pd.DataFrame:
    """Rows per (row value, column value), both sorted, only values that occur: what
    ``groupby([rows, columns], sort=True, observed=True).size().unstack(fill_value=0)`` gives."""
    row_codes, row_values = pd.factorize(rows, sort=True)
    col_codes, col_values = pd.factorize(columns, sort=True)
    cells = np.bincount(row_codes * len(col_values) + col_codes, minlength=len(row_values) * len(col_values))
    return pd.DataFrame(cells.reshape(len(row_values), len(col_values)),
                        index=plain_index(pd.Index(row_values)), columns=plain_index(pd.Index(col_values)))


def cross_tab(
    frame: pd.DataFrame,
    cluster_col: str,
    dimension: str,
    id_col: str = "customer_id",
    top_n: int | None = None,
    alpha: float = 0.05,
    other_label: str = OTHER,
    missing_label: str | None = None,
    value_order: Sequence[Any] | None = None,
    cluster_order: Sequence[Any] | None = None,
    one_row_per_customer: bool | None = None,
) -> CrossTab:
    """Customers per cluster and dimension value, shares both ways, and the tests.

    ``top_n`` keeps the ``top_n`` values with most customers and folds the rest into
    ``other_label``. Customers with a missing value are dropped (``n_missing``) unless
    ``missing_label`` names them. ``value_order`` fixes the column order (e.g. for ordered
    segments); by default most customers first.
    ``one_row_per_customer``: whether ``frame`` has one row per customer, when the
    caller knows (None: checked here; comparing many dimensions of one frame checks it once).
    """
    for col in (cluster_col, dimension, id_col):
        if col not in frame.columns:
            raise InputError(
                f"comparison needs column {col!r}; available: {', '.join(map(str, frame.columns))}"
            )
    if top_n is not None and top_n < 1:
        raise InputError(f"top_n must be a positive number of values, got {top_n}")
    # a customer per row (known): the ids are not copied (~400 MB at 10M customers, per dimension)
    columns = [cluster_col, dimension] if one_row_per_customer else [id_col, cluster_col, dimension]
    data = rows_where(frame, frame[id_col].notna() & frame[cluster_col].notna(), columns)
    if missing_label is not None:
        data = data.assign(**{dimension: data[dimension].astype(object).where(data[dimension].notna(), missing_label)})
    missing = data[dimension].isna()
    # One row per customer (the usual case): counting rows is counting customers, and a group's
    # size is far cheaper than its number of distinct ids.
    one_row_each = unique_ids(data[id_col]) if one_row_per_customer is None else one_row_per_customer

    def customers(grouped):
        return grouped.size() if one_row_each else grouped[id_col].nunique()

    n_missing = int(missing.sum()) if one_row_each else int(data.loc[missing, id_col].nunique())
    if n_missing:
        data = data.loc[~missing]
    if data.empty:
        raise InputError(f"no customer has both a cluster and a value of {dimension!r}")

    if one_row_each:  # a customer is a row: one bincount over (cluster, value) codes
        counts = _count_table(data[cluster_col], data[dimension])
        value_totals = counts.sum(axis=0)
    else:
        # observed=True: a categorical dimension counts only its values in `data` (as plain text does)
        counts = customers(data.groupby([cluster_col, dimension], sort=True, observed=True)).unstack(fill_value=0)
        counts.columns = plain_index(counts.columns)
        value_totals = customers(data.groupby(dimension, observed=True))
    by_size = _order_key(value_totals)
    order = list(value_order) if value_order is not None else by_size
    present, listed = set(counts.columns), set(order)
    order = [v for v in order if v in present] + [v for v in by_size if v not in listed]

    other_values: list[Any] = []
    if top_n is not None and len(order) > top_n:
        keep = set(by_size[:top_n])
        other_values = [v for v in by_size if v not in keep]
        if other_label in keep:
            raise InputError(f"{dimension!r} has a real value {other_label!r}; pass another other_label")
        # "Other" counts customers, so a customer with two folded values counts once
        if one_row_each:
            other_counts = counts[other_values].sum(axis=1)
        else:
            other_ids = data.loc[data[dimension].isin(other_values)]
            other_counts = customers(other_ids.groupby(cluster_col, observed=True))
        counts = counts[[v for v in order if v in keep]]
        counts[other_label] = other_counts.reindex(counts.index, fill_value=0)
        used_other = other_label
    else:
        counts = counts[order]
        used_other = None
    if cluster_order is not None:
        rest = [c for c in counts.index if c not in list(cluster_order)]
        counts = counts.reindex([c for c in cluster_order if c in counts.index] + rest)
    counts = counts.astype("int64")
    counts.index.name = cluster_col
    counts.columns.name = dimension

    obs = counts.to_numpy(dtype=float)
    r, c = obs.shape
    n = int(obs.sum())
    expected, resid = adjusted_residuals(obs)
    if r >= 2 and c >= 2:
        chi2, p, dof, _ = stats.chi2_contingency(obs, correction=False)
        chi2, p, dof = float(chi2), float(p), int(dof)
        z_crit = bonferroni_z(alpha, r * c)
        sig = np.where(resid > z_crit, 1, np.where(resid < -z_crit, -1, 0))
    else:
        chi2, p, dof = float("nan"), float("nan"), 0
        z_crit = float("nan")
        resid = np.full_like(obs, np.nan)
        sig = np.zeros_like(obs, dtype=int)

    def _frame(values: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(values, index=counts.index, columns=counts.columns)

    return CrossTab(
        cluster_col=cluster_col,
        dimension=dimension,
        counts=counts,
        share_within_cluster=counts.div(counts.sum(axis=1), axis=0),
        share_within_value=counts.div(counts.sum(axis=0), axis=1),
        expected=_frame(expected),
        residuals=_frame(resid),
        significance=_frame(sig.astype(int)),
        chi2=chi2,
        p_value=p,
        dof=dof,
        cramers_v=cramers_v(chi2, n, r, c),
        cramers_v_corrected=cramers_v(chi2, n, r, c, corrected=True),
        alpha=alpha,
        z_critical=z_crit,
        n=n,
        min_expected=float(expected.min()),
        frac_expected_below_5=float((expected < 5).mean()),
        small_expected=bool((expected < 1).any() or (expected < 5).mean() > 0.2),
        other_values=other_values,
        other_label=used_other,
        n_missing=n_missing,
    )
