"""Caveats: where the data undermines a metric the report shows, said next to the numbers.

- **RFM ties**: scores are quantile bins of ranks, ties broken by customer id (ANALYSIS_SPEC
  section 7). When many customers share a value (97 % of Olist's buyers ordered once), the tie
  rule, not their behaviour, decides which score they get.
- **Split baskets**: a second order placed within ``split_basket_hours`` of the first is more
  likely one basket split into orders than a customer coming back.
- **Collapsed segments**: a segment where one label holds nearly every buyer separates few.
- **Small populations**: clusters of a population below ``min_population`` are indicative only.
"""

from __future__ import annotations

import pandas as pd

#: A tie caveat or collapsed segment is worth a line from this share of buyers up.
TIE_SHARE = 0.10
COLLAPSED_SHARE = 0.90
SCORES = {"recency": "recency_score", "frequency": "frequency_score", "monetary": "monetary_score"}


def _pct(x: float) -> str:
    """A share in whole percent, with decimals near 0 and 100 % (99.96 % is not "100 %")."""
    for digits in (0, 1, 2):
        text = f"{100 * x:.{digits}f}"
        if (x == 1 or float(text) < 100) and (x == 0 or float(text) > 0):
            return f"{text} %"
    return f"{100 * x:.2f} %"


def rfm_tie_caveats(customers: pd.DataFrame) -> list[str]:
    """One line per RFM score whose bins cut through a group of customers with the same value."""
    lines = []
    scores = [c for c in SCORES.values() if c in customers]
    used = [c for c in [*SCORES, *scores, "rfm_segment"] if c in customers]  # these columns only: not a copy of the table
    rfm = customers[used].dropna(subset=scores)
    for metric, score in SCORES.items():
        if metric not in rfm or score not in rfm or rfm.empty:
            continue
        spread = rfm.groupby(metric, observed=True)[score].transform("nunique")
        decided = float((spread > 1).mean())
        if decided < TIE_SHARE:
            continue
        line = (f"{metric.capitalize()} score: {_pct(decided)} of the scored customers share their {metric} value with customers "
                f"of another score, so the tie rule (customer id order), not their behaviour, decides their {metric[0].upper()} score")
        if metric == "frequency" and "rfm_segment" in rfm:
            champions = rfm[rfm["rfm_segment"] == "Champions"]
            once = float((champions["frequency"] <= 1).mean()) if len(champions) else 0.0
            if once >= TIE_SHARE:
                line += f"; {_pct(once)} of the 'Champions' bought once"
        lines.append(line + ".")
    return lines


def split_basket_caveat(customers: pd.DataFrame, hours: int) -> list[str]:
    """How many repeat customers placed their second order within `hours` of the first."""
    if hours <= 0 or "from_first_to_second_days" not in customers:
        return []
    gaps = customers["from_first_to_second_days"].dropna()
    if gaps.empty:
        return []
    quick = int((gaps * 24 < hours).sum())
    if quick == 0:
        return []
    return [f"Split baskets: {quick:,} of the {len(gaps):,} repeat customers ({_pct(quick / len(gaps))}) placed their second order "
            f"within {hours} hour{'s' if hours != 1 else ''} of the first, more likely one basket split into orders than a return; "
            "they count as repeat buyers here (setting: [report] split_basket_hours)."]


def collapsed_segment_caveats(customers: pd.DataFrame, segments) -> list[str]:
    """Segments where one label holds at least COLLAPSED_SHARE of the buyers."""
    lines = []
    buyers = customers["buys_cnt"].notna() if "buys_cnt" in customers else None
    for segment in segments:
        if segment not in customers:
            continue
        values = customers[segment] if buyers is None else customers.loc[buyers, segment]  # one column, not the table
        if values.empty:
            continue
        shares = values.value_counts(normalize=True, dropna=False)  # a missing value is a label too ('nan')
        if shares.iloc[0] >= COLLAPSED_SHARE:
            from custseg.profile.labels import label

            lines.append(f"{label(segment)}: {_pct(shares.iloc[0])} of the buyers are '{shares.index[0]}'; it separates few customers.")
    return lines


def small_population_caveats(populations, minimum: int) -> list[str]:
    return [f"{p.title}: {p.n_customers:,} customers, fewer than {minimum:,}; its clusters are indicative only (setting: [report] min_population)."
            for p in populations if p.n_customers < minimum]


def data_caveats(customers: pd.DataFrame, populations, report: dict) -> list[str]:
    """Every caveat of an analysis, in the order the report lists them."""
    segments = [d for d in report.get("dimensions", []) if d.endswith("_segment")]
    return [
        *rfm_tie_caveats(customers),
        *split_basket_caveat(customers, int(report.get("split_basket_hours", 1))),
        *collapsed_segment_caveats(customers, segments),
        *small_population_caveats(populations, int(report.get("min_population", 100))),
    ]
