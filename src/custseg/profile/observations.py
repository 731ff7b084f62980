"""Key observations written from the numbers, each with the figures it quotes and a confidence.

How things are decided (so a reader can check a sentence against the table):

* **Stands out** — a cluster's median of a metric is compared with the population median:
  ratio >= 1.25 is "above", <= 1/1.25 = 0.8 is "below". When the population median is not
  positive (ratios are meaningless) the difference is scaled by the range of the cluster
  medians instead, and |difference| >= 25 % of that range counts.
* **Names** — :mod:`custseg.profile.names` (its docstring has the rule).
* **Confidence** — "high", "medium" or "low":
  - metric differences: two-sided Mann-Whitney U of the customers behind the comparison
    (cluster vs the rest, or the top cluster vs the runner-up), Bonferroni-adjusted over the
    comparisons made; high = adjusted p < 0.001 with >= 30 customers on each side,
    medium = p < 0.05, low otherwise;
  - comparisons: the chi-square p-value and the per-cell adjusted residuals
    (:mod:`custseg.profile.compare`); small expected counts lower the confidence to "low"
    and the sentence says so;
  - plain descriptions of a table (largest segment, median of a metric) are "high" unless
    they rest on fewer than 30 customers;
  - a comparison with a dimension computed from a clustering feature says "by construction"
    instead (:mod:`.findings`).

This module holds the profile and polar views' rules and the cluster names; comparisons,
RFM and evidence views have their own modules (:mod:`.compare_notes`, :mod:`.rfm_notes`,
:mod:`.evidence_notes`), the tests behind the confidences :mod:`.statistics`, the wording
:mod:`.wording`, and which observations a view shows :mod:`.findings`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from custseg.profile.compare_notes import compare_observations, strength_word  # noqa: F401  (one import for callers)
from custseg.profile.evidence_notes import evidence_observations, silhouette_word, stability_word  # noqa: F401
from custseg.profile.findings import Observation
from custseg.profile.rfm_notes import rfm_observations  # noqa: F401
from custseg.profile.statistics import HIGH, LOW, MEDIUM, MIN_N, RanksVsRest, confidence_from_p, fmt_p
from custseg.profile.statistics import mwu as _mwu
from custseg.profile.wording import clusters, count, metric_value, pct, plural, verb
from custseg.profile.labels import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    format_cluster,
    label,
    metric_config,
)
from custseg.profile.names import name_clusters
from custseg.profile.tables import (
    SHARE_ROW,
    _customers,
    format_number,
    metric_rows,
    overall_values,
    parse_agg,
    polar_values,
    profile_table,
    rows_where,
)

RATIO_THRESHOLD = 1.25
_RanksVsRest = RanksVsRest  # the name tests and callers know

# --------------------------------------------------------------------------- small helpers


def _pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:.{digits}f}%"


def _cl(cluster: Any, names: Mapping[Any, str] | None = None) -> str:
    text = f"cluster {format_cluster(cluster)}"
    if names and names.get(cluster):
        text += f" ({names[cluster]})"
    return text


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    keep = np.isfinite(values) & np.isfinite(weights) & (weights > 0)
    v, w = values[keep], weights[keep]
    if v.size == 0:
        return float("nan")
    order = np.argsort(v)
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    return float(v[np.searchsorted(cum, 0.5)])


def reference_from_profile(profile: pd.DataFrame) -> pd.Series:
    """Approximate population medians when only the profile is at hand: the median of the
    cluster medians weighted by cluster share. Pass the real ones when you have the data.
    """
    rows = metric_rows(profile)
    if SHARE_ROW in profile.index:
        w = profile.loc[SHARE_ROW].to_numpy(dtype=float)
    else:
        w = np.ones(profile.shape[1])
    return pd.Series({m: _weighted_median(rows.loc[m].to_numpy(dtype=float), w) for m in rows.index},
                     name="overall")


# --------------------------------------------------------------------------- standouts


def metric_standouts(
    profile: pd.DataFrame,
    overall: pd.Series | Mapping[str, float] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    ratio_threshold: float = RATIO_THRESHOLD,
) -> pd.DataFrame:
    """One row per (cluster, metric): value, overall, ratio, side ("above"/"below"/"typical")
    and ``good`` (True when the side is the metric's better side, None when typical).
    """
    rows = metric_rows(profile)
    ref = reference_from_profile(profile) if overall is None else pd.Series(overall, dtype=float)
    cfg = metric_config(list(rows.index), config)
    records = []
    for m in rows.index:
        o = float(ref.get(m, np.nan))
        values = rows.loc[m].astype(float)
        spread = float(values.max() - values.min()) if values.notna().any() else 0.0
        for c, v in values.items():
            ratio = scaled = float("nan")
            side = "typical"
            if np.isfinite(v) and np.isfinite(o):
                if o > 0 and v >= 0:
                    ratio = v / o
                    if ratio >= ratio_threshold:
                        side = "above"
                    elif ratio <= 1 / ratio_threshold:
                        side = "below"
                elif spread > 0:
                    scaled = (v - o) / spread
                    if scaled >= 0.25:
                        side = "above"
                    elif scaled <= -0.25:
                        side = "below"
            if side == "typical":
                good = None
            else:
                good = (side == "above") == (cfg[m]["direction"] == HIGHER_IS_BETTER)
            strength = abs(math.log(ratio)) if np.isfinite(ratio) and ratio > 0 else (
                abs(scaled) if np.isfinite(scaled) else 0.0)
            records.append({"cluster": c, "metric": m, "value": v, "overall": o, "ratio": ratio,
                            "scaled_diff": scaled, "side": side, "good": good, "strength": strength})
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------- profile view


def _describe_ratio(value: float, overall: float, ratio: float, agg_word: str = "median") -> str:
    if np.isfinite(ratio):
        if ratio >= 1:
            return f"{format_number(value)}, {ratio:.1f}x the overall {agg_word} ({format_number(overall)})"
        return f"{format_number(value)}, {(1 - ratio) * 100:.0f}% below the overall {agg_word} ({format_number(overall)})"
    return f"{format_number(value)} vs the overall {agg_word} {format_number(overall)}"


def _name(metric: str, labels: Mapping[str, str] | None) -> str:
    """A metric as a sentence says it: "recency", "monetary" (the unit goes with the value)."""
    return label(metric, labels).split(" (")[0].lower()


def _against(metric: str, value: float, overall: float, ratio: float, currency: str | None,
             agg_word: str = "median") -> str:
    """ "372 days, 1.7x the overall median of 217 days" — the value with its unit and the comparison."""
    v, o = metric_value(metric, value, currency), metric_value(metric, overall, currency)
    if np.isfinite(ratio):
        if ratio >= 1:
            return f"{v}, {ratio:.1f}x the overall {agg_word} of {o}"
        return f"{v}, {(1 - ratio) * 100:.0f}% below the overall {agg_word} of {o}"
    return f"{v} against the overall {agg_word} of {o}"


def _size_summary(data: pd.DataFrame, share: pd.Series, names) -> Observation:
    big, small = share.idxmax(), share.idxmin()
    text = (f"{count(len(data))} customers fall into {len(share)} clusters; the largest is "
            f"{clusters([big], names)} with {pct(share[big] / 100)} of customers, the smallest "
            f"{clusters([small], names)} with {pct(share[small] / 100)}.")
    values = {"n_customers": int(len(data)), "n_clusters": int(len(share)), "largest": big,
              "largest_share_pct": float(share[big]), "smallest": small, "smallest_share_pct": float(share[small])}
    return Observation(text, values, HIGH, "profile_table", "summary", weight=1.0)


def _cluster_values(data: pd.DataFrame, cluster_col: str):
    """``values(c, m)``: cluster ``c``'s values of metric ``m`` as floats, taken when asked (a dict
    of every cluster's rows would copy the population: ~1 GB at 10M customers)."""
    clusters = data[cluster_col].to_numpy()
    return lambda cluster, metric: data[metric].to_numpy(dtype=float)[clusters == cluster]


def _highest(m: str, row: pd.Series, values, sizes, n_tests: int, agg_word: str, direction: str,
             labels, names, currency) -> Observation:
    """Which cluster has the highest value of a metric, tested against the runner-up: a statistic
    (the standouts say the same per cluster, in words), so never a shown finding."""
    lab = label(m, labels)
    top_val, low_val = row.max(), row.min()
    tops = list(row[row == top_val].index)
    lows = list(row[row == low_val].index)
    fv = lambda x: metric_value(m, x, currency)  # noqa: E731
    if len(tops) == len(row):
        return Observation(f"All clusters have the same {agg_word} {lab}: {fv(top_val)}.",
                           {"metric": m, "value": float(top_val)}, HIGH, "profile_table", "highest", finding=False)
    runner = row.drop(index=tops).idxmax()
    a, b = values(tops[0], m), values(runner, m)
    p = min(1.0, _mwu(a, b) * n_tests)
    conf = LOW if len(tops) > 1 else confidence_from_p(p, int(min(sizes[tops[0]], sizes[runner])))
    if len(tops) > 1:
        head = f"{_cap(clusters(tops))} share the highest {agg_word} {lab} ({fv(top_val)})"
    else:
        head = (f"{_cap(clusters(tops, names))} has the highest {agg_word} {lab}: {fv(top_val)}, "
                f"against {fv(row[runner])} for the next ({clusters([runner])})")
    low_text = (f"; the lowest is {clusters(lows)} ({fv(low_val)})" if len(lows) == 1
                else f"; {clusters(lows)} share the lowest ({fv(low_val)})")
    better = " (lower is better)" if direction == LOWER_IS_BETTER else ""
    tail = "." if len(tops) > 1 else f" [Mann-Whitney top vs next, {fmt_p(p)}]."
    return Observation(
        text=f"{head}{low_text}{better}{tail}",
        figure_values={"metric": m, "agg": agg_word, "highest": tops, "highest_value": float(top_val),
                       "runner_up": runner, "runner_up_value": float(row[runner]),
                       "lowest": lows, "lowest_value": float(low_val), "p_value_adj": p, "direction": direction},
        confidence=conf, view="profile_table", kind="highest", cluster=tops[0] if len(tops) == 1 else None,
        finding=False)


def profile_observations(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    cluster_col: str = "cluster",
    id_col: str = "customer_id",
    agg: str = "median",
    config: Mapping[str, Mapping[str, Any]] | None = None,
    labels: Mapping[str, str] | None = None,
    names: Mapping[Any, str] | None = None,
    ratio_threshold: float = RATIO_THRESHOLD,
    table: pd.DataFrame | None = None,
    currency: str | None = None,
) -> list[Observation]:
    """The profile table's findings: sizes, and per cluster the metrics that stand out (ranked by
    |log ratio| and the cluster's share); the highest/lowest cluster per metric as statistics.

    ``table``: ``profile_table(frame, metrics, cluster_col, id_col, agg)`` when the caller has it;
    ``currency`` (e.g. "R$") prefixes money when known.
    """
    agg_word, _ = parse_agg(agg)
    data = _customers(frame, metrics, cluster_col, id_col)
    data = rows_where(data, data[cluster_col].notna())
    if table is None:
        table = profile_table(frame, metrics, cluster_col, id_col, agg)
    medians = table if agg_word == "median" else profile_table(frame, metrics, cluster_col, id_col, "median")
    overall = overall_values(frame, metrics, id_col, "median")
    names = dict(names) if names is not None else name_clusters(medians, overall, config, ratio_threshold)
    cfg = metric_config(list(metrics), config)
    sizes = data.groupby(cluster_col).size()
    values = _cluster_values(data, cluster_col)
    share = table.loc[SHARE_ROW]
    out: list[Observation] = [_size_summary(data, share, names)]
    for m in metrics:
        row = table.loc[m].dropna()
        if not row.empty:
            out.append(_highest(m, row, values, sizes, len(metrics), agg_word, cfg[m]["direction"],
                                labels, names, currency))

    st = metric_standouts(medians, overall, config, ratio_threshold)
    n_cmp = max(1, len(st))
    ranked: dict[str, RanksVsRest] = {}  # per metric, made when a cluster first tests it
    for c in table.columns:
        rows = st[(st["cluster"] == c) & (st["side"] != "typical")].sort_values("strength", ascending=False)
        in_c = (data[cluster_col] == c).to_numpy()
        n_c = int(sizes[c])
        n_rest = len(data) - n_c
        who = f"{_cap(clusters([c], names))}, {pct(share[c] / 100)} of customers ({plural(n_c, 'customer')})"
        if rows.empty:
            out.append(Observation(
                text=(f"{who}: no metric's median differs from the overall median by a factor of "
                      f"{ratio_threshold:g} or more."),
                figure_values={"cluster": c, "share_pct": float(share[c]), "n": n_c},
                confidence=MEDIUM if n_c >= MIN_N else LOW, view="profile_table", kind="standout",
                cluster=c, finding=False))
            continue
        parts, values, confs = [], {}, []
        for _, r in rows.iterrows():
            m = r["metric"]
            if m not in ranked:
                ranked[m] = RanksVsRest(data[m].to_numpy(dtype=float))
            p = min(1.0, ranked[m].p_value(in_c) * n_cmp)
            confs.append(confidence_from_p(p, min(n_c, n_rest)))
            side_word = "the better side" if r["good"] else "the worse side"
            parts.append(f"median {_name(m, labels)} {_against(m, r['value'], r['overall'], r['ratio'], currency)}"
                         f" ({side_word})")
            values[m] = {"value": float(r["value"]), "overall": float(r["overall"]), "ratio": float(r["ratio"]),
                         "side": r["side"], "good": bool(r["good"]), "p_value_adj": p}
        out.append(Observation(
            text=f"{who}: " + "; ".join(parts) + ".",
            figure_values={"cluster": c, "name": names.get(c), "share_pct": float(share[c]), "n": n_c,
                           "metrics": values},
            confidence=min(confs, key=[LOW, MEDIUM, HIGH].index), view="profile_table", kind="standout",
            cluster=c, effect=float(rows["strength"].max()), weight=float(share[c]) / 100))
    return out


def polar_observations(
    profile: pd.DataFrame,
    names: Mapping[Any, str] | None = None,
    labels: Mapping[str, str] | None = None,
    n_customers: int | None = None,
) -> list[Observation]:
    """One sentence for the polar chart: which cluster reaches the edge of each axis, and the
    largest cluster. With ``n_customers`` a top cluster of fewer than 30 customers lowers
    the confidence.
    """
    norm = polar_values(profile)
    share = profile.loc[SHARE_ROW] if SHARE_ROW in profile.index else None
    tops, parts = {}, []
    for m in norm.index:
        row = norm.loc[m].dropna()
        if row.empty or row.nunique() == 1:
            continue
        c = row.idxmax()
        tops[m] = c
        hint = " (the fewest)" if metric_config([m])[m]["direction"] == LOWER_IS_BETTER else ""
        parts.append(f"{label(m, labels)}{hint}: {clusters([c])}")
    if not parts:
        text = "No metric separates the clusters on the polar chart (every axis has one value)."
        return [Observation(text, {}, LOW, "segment_polar", "summary", finding=False)]
    text = "Best cluster on each axis (at its outer edge): " + "; ".join(parts) + "."
    values: dict[str, Any] = {"top_by_metric": tops}
    conf = HIGH
    if share is not None:
        big = share.idxmax()
        text = text[:-1] + f". The largest cluster is {clusters([big], names)} with {pct(share[big] / 100)} of customers."
        values.update(largest=big, largest_share_pct=float(share[big]))
        if n_customers:
            small_tops = sorted({c for c in tops.values() if share[c] / 100 * n_customers < MIN_N}, key=str)
            if small_tops:
                conf = LOW
                text += (f" {_cap(clusters(small_tops))} {verb(len(small_tops), 'has', 'have')} "
                         f"fewer than {MIN_N} customers.")
                values["small_clusters"] = small_tops
    elif n_customers is None:
        conf = MEDIUM
    return [Observation(text, values, conf, "segment_polar", "summary", weight=1.0)]
