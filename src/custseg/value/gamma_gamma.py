"""Gamma-Gamma: what a customer's orders will be worth on average.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
Journal of Marketing Research 42(4), and Fader & Hardie's note "The Gamma-Gamma model of
monetary value" (2013). The value of each of a customer's orders is Gamma(p, ν); across
customers ν ~ Gamma(q, γ). A customer is summarised by x (orders) and m (their average value).
The model assumes the value of orders does not depend on how many a customer makes: check the
correlation of x and m among customers with several orders (:func:`custseg.value.groups.spend_correlation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, psi

from custseg.value._optimize import dot, maximise


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    @property
    def mean_spend(self) -> float:
        """The population's expected value of an order, pγ / (q - 1) (infinite when q <= 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGamma | None  # None: no usable fit (see message)
    log_likelihood: float
    customers: int
    converged: bool
    message: str


def log_likelihood(params: GammaGamma, x, m) -> np.ndarray:
    """Each customer's log-likelihood of their average order value m over x orders (the note's eq. 3)."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x))


def _objective(x: np.ndarray, m: np.ndarray, w: np.ndarray):
    """The total log-likelihood and its gradient in (p, q, γ). The gamma functions of px are
    evaluated once per distinct x; per customer only log(γ + x m) and 1 / (γ + x m) remain."""
    xs, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse, weights=w)
    spend, total, wx = x * m, w.sum(), w * x
    sum_wx_logmx = dot(wx, np.log(m) + np.log(x))
    sum_w_logm = dot(w, np.log(m))

    def f(params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = params
        pxs = p * xs
        log_gmx = np.log(g + spend)
        inv_gmx = 1 / (g + spend)
        wx_log, w_log = dot(wx, log_gmx), dot(w, log_gmx)
        value = (dot(counts, gammaln(pxs + q) - gammaln(pxs)) + total * (q * np.log(g) - gammaln(q))
                 + p * sum_wx_logmx - sum_w_logm - p * wx_log - q * w_log)
        g_p = dot(counts, xs * (psi(pxs + q) - psi(pxs))) + sum_wx_logmx - wx_log
        g_q = dot(counts, psi(pxs + q)) + total * (np.log(g) - psi(q)) - w_log
        g_g = total * q / g - p * dot(wx, inv_gmx) - q * dot(w, inv_gmx)
        return float(value), np.array([g_p, g_q, g_g])

    return f


def fit(x, m, weights=None) -> GammaGammaFit:
    """Maximum-likelihood parameters from customers with x >= 1 orders of average value m > 0.

    A fit with q <= 1 implies orders of infinite expected value: it is reported as unusable.
    """
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(x) and (np.any(x < 1) or np.any(m <= 0)):
        raise ValueError("Gamma-Gamma is fitted on customers with at least one order of positive value")
    n = float(w.sum())
    if n <= 0:
        return GammaGammaFit(None, float("nan"), 0, False, "no customers to fit")
    # Values are divided by their mean: γ is fitted free of the currency (scaled back after), and
    # the log-likelihood shifts by the constant -Σ log(scale) (a density in m).
    scale = float(np.average(m, weights=w))
    best = maximise(_objective(x, m / scale, w), [(1.0, 2.0, 1.0), (5.0, 5.0, 5.0)], n)
    p, q, g = map(float, best.params)
    params = GammaGamma(p, q, g * scale)
    log_likelihood = best.log_likelihood - n * math.log(scale)
    if best.converged and params.q <= 1:
        return GammaGammaFit(None, log_likelihood, int(round(n)), False,
                             f"the fit implies orders of unbounded value (q = {params.q:.3g} <= 1)")
    return GammaGammaFit(params if best.converged else None, log_likelihood, int(round(n)), best.converged, best.message)


def expected_spend(params: GammaGamma, x, m) -> np.ndarray:
    """E(value of a future order | x orders of average m): p(γ + x m) / (p x + q - 1), a weighted
    mean of the population's mean order value and the customer's own average (the note's eq. 5).
    x = 0 gives the population's mean."""
    x, m = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    return params.p * (params.gamma + x * m) / (params.p * x + params.q - 1)
