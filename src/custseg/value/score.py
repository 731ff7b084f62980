"""Lifetime value of every customer who bought: fit BG/NBD and Gamma-Gamma (on a sample when the
data is large) and score each customer over the horizon.

A model that cannot be fitted leaves its columns empty and says why in one line: the analysis
goes on without it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from custseg.value import bgnbd, gamma_gamma
from custseg.value.inputs import NEEDED, analysis_end, value_inputs

#: The columns added to the customer table (empty for customers who never bought).
VALUE_COLUMNS = ("p_alive", "expected_purchases", "expected_purchase_value", "expected_revenue")


@dataclass(frozen=True)
class ValueSettings:
    """The ``[value]`` table of a config (docs/config.md)."""

    horizon_days: int = 365
    sample_size: int = 200_000
    random_state: int = 42
    min_repeat_customers: int = 30
    spend_correlation_warning: float = 0.3

    @classmethod
    def from_config(cls, table: dict | None) -> "ValueSettings":
        return cls(**(table or {}))


@dataclass
class CustomerValue:
    """The fitted models, each customer's scores (rows aligned with the customer table) and
    the lines the report says about them."""

    settings: ValueSettings
    end: pd.Timestamp
    scores: pd.DataFrame  # VALUE_COLUMNS, the customer table's index
    inputs: pd.DataFrame  # value_inputs: customers who bought
    purchases: bgnbd.BGNBDFit | None = None
    spend: gamma_gamma.GammaGammaFit | None = None
    fitted_on: int = 0  # customers the models were fitted on (a sample above sample_size)
    spend_left_out: int = 0  # customers of the sample without a positive order value: not in the spend fit
    problems: list[str] = field(default_factory=list)  # one line per model not fitted
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # inputs, fit_purchases, fit_spend, score (s)

    @property
    def has_purchases(self) -> bool:
        return self.purchases is not None and self.purchases.params is not None

    @property
    def has_revenue(self) -> bool:
        return self.has_purchases and self.spend is not None and self.spend.params is not None


def _sample(n: int, settings: ValueSettings) -> np.ndarray | None:
    """Row positions of the fitting sample (None: every row)."""
    if n <= settings.sample_size:
        return None
    rng = np.random.default_rng(settings.random_state)
    return np.sort(rng.choice(n, size=settings.sample_size, replace=False))


def customer_value(customers: pd.DataFrame, settings: ValueSettings | None = None, end=None) -> CustomerValue:
    """Fit both models on the customers who bought and score every one of them.

    ``end``: the instant the data ends (default: the latest purchase, see
    :func:`custseg.value.inputs.analysis_end`).
    """
    started = time.perf_counter()
    settings = settings or ValueSettings()
    missing = [c for c in NEEDED if c not in customers.columns]
    if missing:  # a customer table from elsewhere (custseg's own always has them)
        empty = CustomerValue(settings, pd.NaT, pd.DataFrame(np.nan, index=customers.index, columns=list(VALUE_COLUMNS)),
                              pd.DataFrame(columns=["frequency", "recency", "T", "purchases", "purchase_value"]))
        empty.problems.append(f"Lifetime value not modelled: the customer table has no {', '.join(missing)}.")
        return empty
    end = analysis_end(customers) if end is None else pd.Timestamp(end)
    inputs = value_inputs(customers, end)
    scores = pd.DataFrame(np.nan, index=customers.index, columns=list(VALUE_COLUMNS))
    out = CustomerValue(settings, end, scores, inputs)
    out.timings["inputs"] = time.perf_counter() - started
    sample = _sample(len(inputs), settings)
    fit_rows = inputs if sample is None else inputs.iloc[sample]
    out.fitted_on = len(fit_rows)
    repeat = int((fit_rows["frequency"] > 0).sum())
    if repeat < settings.min_repeat_customers:
        out.problems.append(
            f"Lifetime value not modelled: {repeat:,} customer{'s' if repeat != 1 else ''} bought on more than one day "
            f"(at least {settings.min_repeat_customers:,} are needed to learn how often customers come back).")
        out.seconds = time.perf_counter() - started
        return out
    try:
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            _fit_and_score(out, fit_rows)
    except (ArithmeticError, ValueError) as exc:  # a numerical failure: the analysis goes on without value
        out.problems.append(f"Lifetime value not modelled: the models failed on this data ({type(exc).__name__}: {exc}).")
        out.scores.loc[:, :] = np.nan
    out.seconds = time.perf_counter() - started
    return out


def _fit_and_score(out: CustomerValue, fit_rows: pd.DataFrame) -> None:
    """Fit the purchase model, then the spend model, scoring every customer with each that fits."""
    inputs, scores, settings = out.inputs, out.scores, out.settings
    x, t_x, T = (inputs[c].to_numpy() for c in ("frequency", "recency", "T"))
    started = time.perf_counter()
    out.purchases = bgnbd.fit(fit_rows["frequency"], fit_rows["recency"], fit_rows["T"])
    out.timings["fit_purchases"] = time.perf_counter() - started
    if out.purchases.params is None:
        out.problems.append(f"Lifetime value not modelled: the purchase model (BG/NBD) did not fit: {out.purchases.message}.")
        return
    rows = inputs.index.to_numpy()
    started = time.perf_counter()
    horizon = float(settings.horizon_days)
    p_alive = bgnbd.p_alive(out.purchases.params, x, t_x, T)
    purchases = bgnbd.expected_purchases(out.purchases.params, horizon, x, t_x, T)
    scores.iloc[rows, 0] = p_alive
    scores.iloc[rows, 1] = purchases
    out.timings["score"] = time.perf_counter() - started
    started = time.perf_counter()
    valued = fit_rows[(fit_rows["purchase_value"] > 0) & np.isfinite(fit_rows["purchase_value"])]
    out.spend_left_out = len(fit_rows) - len(valued)
    out.spend = gamma_gamma.fit(valued["purchases"], valued["purchase_value"])
    out.timings["fit_spend"] = time.perf_counter() - started
    if out.spend.params is None:
        out.problems.append(f"Expected revenue not modelled: the spend model (Gamma-Gamma) did not fit: {out.spend.message}.")
    else:
        started = time.perf_counter()
        value = np.clip(inputs["purchase_value"].to_numpy(), 0, None)  # a customer whose orders were free: value 0
        purchase_value = gamma_gamma.expected_spend(out.spend.params, inputs["purchases"].to_numpy(), np.nan_to_num(value))
        scores.iloc[rows, 2] = purchase_value
        scores.iloc[rows, 3] = purchases * purchase_value
        out.timings["score"] += time.perf_counter() - started
