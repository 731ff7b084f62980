"""One finding per RFM view (histograms, R x F heatmap, score pairs, F x M by R, segments),
each attached to its own chart; views whose columns are missing are skipped.

These are descriptions of the whole customer base, so they are "high" confidence unless they
rest on fewer than :data:`~custseg.profile.statistics.MIN_N` customers.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from custseg._categorical import value_counts
from custseg.profile.findings import Observation
from custseg.profile.statistics import HIGH, LOW, MIN_N
from custseg.profile.wording import count, days, join, metric_value, money, pct, plural


def _confidence(n: int) -> str:
    return HIGH if n >= MIN_N else LOW


def _typical_customer(rfm: pd.DataFrame, currency: str | None) -> Observation:
    r, f, m = (pd.to_numeric(rfm[c]) for c in ("recency", "frequency", "monetary"))
    once = float((f <= 1).mean())
    skew = (f" (the mean, {money(m.mean(), currency)}, is pulled up by the biggest spenders)"
            if m.mean() > m.median() else "")
    text = (f"The median customer last ordered {days(r.median())} ago (mean {days(r.mean())}), placed "
            f"{metric_value('frequency', f.median())} ({pct(once)} ordered only once) and spent "
            f"{money(m.median(), currency)}{skew}.")
    values = {"recency_median": float(r.median()), "recency_mean": float(r.mean()),
              "frequency_median": float(f.median()), "one_time_share": once,
              "monetary_median": float(m.median()), "monetary_mean": float(m.mean())}
    return Observation(text, values, _confidence(len(rfm)), "rfm_histograms", "summary", weight=1.0)


def _rf_cells(rfm: pd.DataFrame, min_cell: int, currency: str | None) -> Observation:
    g = rfm.groupby(["recency_score", "frequency_score"])["monetary"].agg(["median", "size"])
    big = g[g["size"] >= min_cell]
    use = big if not big.empty else g
    hi, lo = use["median"].idxmax(), use["median"].idxmin()
    spend = lambda cell: money(use.loc[cell, "median"], currency)  # noqa: E731
    if not big.empty:
        text = (f"Among R x F cells with at least {plural(min_cell, 'customer')}, median spend is highest at "
                f"R = {hi[0]}, F = {hi[1]} ({spend(hi)}, {plural(use.loc[hi, 'size'], 'customer')}) "
                f"and lowest at R = {lo[0]}, F = {lo[1]} ({spend(lo)}).")
    else:
        text = (f"Median spend is highest at R = {hi[0]}, F = {hi[1]} ({spend(hi)}) and lowest at R = {lo[0]}, "
                f"F = {lo[1]} ({spend(lo)}); every cell has fewer than {plural(min_cell, 'customer')}.")
    values = {"highest_cell": list(hi), "highest_median": float(use.loc[hi, "median"]),
              "highest_n": int(use.loc[hi, "size"]), "lowest_cell": list(lo),
              "lowest_median": float(use.loc[lo, "median"])}
    return Observation(text, values, HIGH if not big.empty else LOW, "rfm_rf_heatmap", "summary", weight=1.0)


def _score_pairs(rfm: pd.DataFrame) -> Observation:
    n = len(rfm)
    parts, values = [], {}
    for a, b in (("recency_score", "frequency_score"), ("frequency_score", "monetary_score"),
                 ("recency_score", "monetary_score")):
        sa, sb = a[0].upper(), b[0].upper()
        cnt = rfm.groupby([a, b]).size()
        top = cnt.idxmax()
        parts.append(f"{sa} = {top[0]}, {sb} = {top[1]} ({plural(cnt[top], 'customer')}, {pct(cnt[top] / n)})")
        values[f"{sa}x{sb}"] = {"cell": list(top), "count": int(cnt[top]), "share": float(cnt[top] / n)}
    return Observation("The most common score pairs are " + "; ".join(parts) + ".", values, _confidence(n),
                       "rfm_score_heatmaps", "summary", weight=1.0)


def _fm_by_top_r(rfm: pd.DataFrame) -> Observation | None:
    r_top = max(rfm["recency_score"].dropna().unique())
    part = rfm[rfm["recency_score"] == r_top]
    cnt = part.groupby(["frequency_score", "monetary_score"]).size()
    if cnt.empty:
        return None
    top = cnt.idxmax()
    text = (f"Among customers with the highest recency score (R = {r_top}; {count(len(part))}, "
            f"{pct(len(part) / len(rfm))} of all) the most common cell is F = {top[0]}, M = {top[1]} "
            f"with {plural(cnt[top], 'customer')} ({pct(cnt[top] / len(part))} of them).")
    values = {"r_score": r_top, "n_r": int(len(part)), "cell": list(top), "count": int(cnt[top]),
              "share_within_r": float(cnt[top] / len(part))}
    return Observation(text, values, _confidence(len(part)), "rfm_fm_by_r", "summary", weight=1.0)


def _segments(rfm: pd.DataFrame) -> list[Observation]:
    counts = value_counts(rfm["rfm_segment"].dropna())
    if counts.empty:
        return []
    total = counts.sum()
    bar = Observation(
        (f"The largest RFM segment is '{counts.index[0]}' with {pct(counts.iloc[0] / total)} of customers "
         f"({count(counts.iloc[0])}); the smallest is '{counts.index[-1]}' ({pct(counts.iloc[-1] / total)})."),
        {"largest": counts.index[0], "largest_share": float(counts.iloc[0] / total),
         "smallest": counts.index[-1], "smallest_share": float(counts.iloc[-1] / total)},
        HIGH, "rfm_segment_bar", "summary", weight=1.0)
    k = min(3, len(counts))
    top_share = float(counts.iloc[:k].sum() / total)
    treemap = Observation(
        (f"The {k} largest segments ({join([repr(str(s)) for s in counts.index[:k]])}) hold "
         f"{pct(top_share)} of customers, across {plural(len(counts), 'segment')}."),
        {"top_segments": list(counts.index[:k]), "top_share": top_share, "n_segments": int(len(counts))},
        HIGH, "rfm_segment_treemap", "summary", weight=1.0)
    return [bar, treemap]


def rfm_observations(rfm: pd.DataFrame, labels: Mapping[str, str] | None = None,
                     min_cell: int = MIN_N, currency: str | None = None) -> list[Observation]:
    """One finding per RFM view; ``currency`` (e.g. "R$") prefixes money when known."""
    if len(rfm) == 0:
        return []
    cols = set(rfm.columns)
    out: list[Observation | None] = []
    if {"recency", "frequency", "monetary"} <= cols:
        out.append(_typical_customer(rfm, currency))
    if {"recency_score", "frequency_score", "monetary"} <= cols:
        out.append(_rf_cells(rfm, min_cell, currency))
    if {"recency_score", "frequency_score", "monetary_score"} <= cols:
        out += [_score_pairs(rfm), _fm_by_top_r(rfm)]
    if "rfm_segment" in cols:
        out += _segments(rfm)
    return [o for o in out if o is not None]
