"""The statistics behind the findings: p-values, their reading as a confidence, and a fast
Mann-Whitney U of one group against the rest. No wording here (see :mod:`.wording`).

* **Confidence** — "high", "medium" or "low" from a (Bonferroni-adjusted) p-value: high =
  p < 0.001 with >= 30 customers on the smaller side, medium = p < 0.05, low otherwise.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

HIGH, MEDIUM, LOW = "high", "medium", "low"
MIN_N = 30


def fmt_p(p: float) -> str:
    """p-values as people read them: "p < 0.001", "p = 0.012"."""
    if p is None or not np.isfinite(p):
        return "p not available"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def confidence_from_p(p: float, n_small: int | None = None) -> str:
    """high: p < 0.001 with >= 30 on the smaller side; medium: p < 0.05; else low."""
    if p is None or not np.isfinite(p):
        return LOW
    if p < 0.001 and (n_small is None or n_small >= MIN_N):
        return HIGH
    if p < 0.05:
        return MEDIUM
    return LOW


def mwu(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided asymptotic Mann-Whitney U p-value of the finite values (NaN when a side is empty)."""
    a = a[np.isfinite(a)]
    b = b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    if a.min() == a.max() == b.min() == b.max():  # one value everywhere: no difference to test
        return 1.0
    return float(stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").pvalue)


class RanksVsRest:
    """:func:`mwu` of one group against all other rows, for any group: the values are ranked
    once, not once per group (93k customers x 5 clusters x 4 metrics: 0.07 -> 0.01 s).

    The same U, tie correction and p-value as SciPy's asymptotic two-sided test of the group's
    finite values against the others' (tested equal): average ranks are multiples of 0.5 and the
    tie counts whole numbers, so the sums are exact in any order.
    """

    def __init__(self, values: np.ndarray):
        self.finite = np.isfinite(values)
        kept = values[self.finite]
        self.ranks = np.zeros(len(values))
        self.ranks[self.finite] = stats.rankdata(kept, method="average")
        _, ties = np.unique(kept, return_counts=True)
        self.tie_term = float(np.sum(ties.astype(np.float64) ** 3 - ties))
        self.n = int(kept.size)
        self.single_value = self.n > 0 and bool(kept.min() == kept.max())

    def p_value(self, in_group: np.ndarray) -> float:
        n1 = int(np.count_nonzero(in_group & self.finite))
        n2 = self.n - n1
        if n1 == 0 or n2 == 0:
            return float("nan")
        if self.single_value:  # one value everywhere: no difference to test
            return 1.0
        u1 = float(self.ranks[in_group].sum()) - n1 * (n1 + 1) / 2
        u = max(u1, n1 * n2 - u1)
        n = self.n
        s = math.sqrt(n1 * n2 / 12 * ((n + 1) - self.tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / s
        return float(min(1.0, 2 * special.ndtr(-z)))
