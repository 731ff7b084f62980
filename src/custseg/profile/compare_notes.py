"""Findings of a cluster x dimension comparison, in an analyst's words.

The statistics come from :class:`~custseg.profile.compare.CrossTab`; here they become at
most a headline and one sentence per noteworthy cell:

* the headline: how strongly clusters and the dimension are associated (Cramér's V), or —
  when the dimension derives from a clustering feature — that the association holds by
  construction (:func:`custseg.profile.findings.derived_from`);
* a cell significantly over- or under-represented (adjusted residual beyond the Bonferroni
  bound) *that has customers*: an empty cell is the mirror of its neighbours, not news;
* a value one cluster dominates (>= ``majority`` of its customers) beyond its size; a
  cluster merely as large there as everywhere is no finding and not written;
* a significant cell whose share is within a factor :data:`MIN_LIFT` of the overall share
  stays in "all statistics": with 93k customers tiny differences are significant;
* "Other" is named when it folds at most :data:`OTHER_NAMED` values; otherwise its cells
  stay in "all statistics" (a bag of rare values is no segment to act on).

Effect sizes for ranking: |log lift| of the cell's share against the overall share, weighted
by the customers involved (the cell's count or its expected count, whichever is larger).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from custseg.profile.compare import CrossTab
from custseg.profile.findings import BY_CONSTRUCTION, Observation
from custseg.profile.labels import label
from custseg.profile.statistics import HIGH, LOW, MEDIUM, confidence_from_p, fmt_p
from custseg.profile.wording import cap, clusters, join, pct, plural, times

MAX_VALUE_TEXT = 120  # a data value quoted in a sentence is cut to this many characters
OTHER_NAMED = 3  # an "Other" folding at most this many values is named, else left to the statistics
MAX_LIFT = 50.0  # |log lift| is capped here: a cell of 0.01 % vs 1 % is not 100 times the news
#: A significant cell is a finding only when its share differs from the overall share by this
#: factor (the profile's standout ratio): 55 % vs 53 % is significant on 93k customers, not news.
MIN_LIFT = 1.25


def strength_word(v: float) -> str:
    """Conventional reading of Cramér's V: < 0.1 negligible, < 0.3 weak, < 0.5 moderate, else strong."""
    if not np.isfinite(v):
        return "undetermined"
    return "negligible" if v < 0.1 else "weak" if v < 0.3 else "moderate" if v < 0.5 else "strong"


def _shown(value: Any) -> Any:
    """A dimension value as a sentence or its numbers show it: long text cut with an ellipsis."""
    if isinstance(value, str) and len(value) > MAX_VALUE_TEXT:
        return value[: MAX_VALUE_TEXT - 1] + "…"
    return value


def other_named(ct: CrossTab) -> bool:
    """Whether the "Other" column folds few enough values to say what it holds."""
    return 0 < len(ct.other_values) <= OTHER_NAMED


def _value_text(ct: CrossTab, value: Any, dim: str) -> str:
    """ "Payment Types 'Boleto'", or for Other what it holds (or how many values it folds)."""
    if ct.other_label is not None and value == ct.other_label:
        if other_named(ct):
            return f"{dim} {join([repr(str(_shown(v))) for v in ct.other_values])}"
        return f"{dim} outside the top {ct.counts.shape[1] - 1} ({plural(len(ct.other_values), 'other value')})"
    return f"{dim} '{_shown(value)}'"


def _lift_effect(share: float, overall: float) -> float:
    """|log| of a share against the overall share, capped at log(MAX_LIFT)."""
    if not (share > 0 and overall > 0):
        return math.log(MAX_LIFT)
    return min(abs(math.log(share / overall)), math.log(MAX_LIFT))


def _notable(share: float, overall: float) -> bool:
    """Whether a share differs from its reference by at least :data:`MIN_LIFT` either way."""
    return _lift_effect(share, overall) >= math.log(MIN_LIFT) - 1e-12


def _rate(lift: float) -> str:
    return f"{times(lift)} the overall rate" if lift >= 1 else f"{(1 - lift) * 100:.0f}% less often than overall"


def _headline(ct: CrossTab, dim: str, view: str, sources: Sequence[str], labels) -> Observation:
    values = {"dimension": ct.dimension, "cramers_v": ct.cramers_v, "cramers_v_corrected": ct.cramers_v_corrected,
              "chi2": ct.chi2, "dof": ct.dof, "p_value": ct.p_value, "n": ct.n,
              "small_expected": ct.small_expected, "min_expected": ct.min_expected}
    stat = f"Cramér's V = {ct.cramers_v:.2f}, {fmt_p(ct.p_value)}, {plural(ct.n, 'customer')}"
    if sources:
        feats = join([label(s, labels).split(" (")[0].lower() for s in sources])
        values["derived_from"] = list(sources)
        text = (f"By construction: {dim} is computed from {feats}, which the clusters are built on, so "
                f"the two are bound to line up ({stat}); what follows describes the clusters, it is no discovery.")
        return Observation(text, values, BY_CONSTRUCTION, view, "summary", effect=ct.cramers_v, weight=1.0)
    strength = strength_word(ct.cramers_v)
    head = (f"{dim} hardly differs between clusters" if strength == "negligible"
            else f"Clusters differ {'strongly' if strength == 'strong' else strength + 'ly'} in {dim}")
    conf, warn = confidence_from_p(ct.p_value), ""
    if ct.small_expected:
        conf = LOW
        warn = (f" Some expected counts are small (smallest {ct.min_expected:.1f}; "
                f"{ct.frac_expected_below_5:.0%} of cells below 5), so treat the p-value as approximate.")
    return Observation(f"{head} ({stat}).{warn}", values, conf, view, "summary", effect=ct.cramers_v, weight=1.0)


def _cell(ct: CrossTab, c: Any, v: Any, dim: str, view: str, names, p: float, by_construction: bool) -> Observation:
    z = float(ct.residuals.loc[c, v])
    within = float(ct.share_within_cluster.loc[c, v])
    overall = float(ct.overall_share[v])
    exp = float(ct.expected.loc[c, v])
    n_cell = int(ct.counts.loc[c, v])
    word = "over" if z > 0 else "under"
    conf = BY_CONSTRUCTION if by_construction else LOW if exp < 5 else (HIGH if p < 0.001 else MEDIUM)
    small = f"; expected only {exp:.1f}" if exp < 5 else ""
    is_other = ct.other_label is not None and v == ct.other_label
    text = (f"{pct(within)} of {clusters([c], names)} have {_value_text(ct, v, dim)} against {pct(overall)} of "
            f"all customers, {_rate(within / overall if overall else float('inf'))} "
            f"({plural(n_cell, 'customer')}{small}).")
    return Observation(
        text=text,
        figure_values={"cluster": c, "value": _shown(v), "share_within_cluster": within, "overall_share": overall,
                       "adjusted_residual": z, "p_value_adj": p, "count": n_cell, "expected": exp, "direction": word},
        confidence=conf, view=view, kind=f"{word}_represented", cluster=c,
        effect=_lift_effect(within, overall), weight=max(n_cell, exp) / max(ct.n, 1),
        finding=_notable(within, overall) and (not is_other or other_named(ct)))


def _dominant(ct: CrossTab, c: Any, v: Any, dim: str, view: str, names, by_construction: bool) -> Observation:
    share_v = float(ct.share_within_value.loc[c, v])
    share_c = float(ct.cluster_share[c])
    n_value = int(ct.counts[v].sum())
    conf = BY_CONSTRUCTION if by_construction else HIGH if ct.expected.loc[c, v] >= 5 else LOW
    text = (f"{cap(clusters([c], names))} holds {pct(share_v)} of the {plural(n_value, 'customer')} with "
            f"{_value_text(ct, v, dim)}, though it is {pct(share_c)} of all customers.")
    return Observation(
        text=text,
        figure_values={"cluster": c, "value": _shown(v), "share_within_value": share_v, "cluster_share": share_c,
                       "significant": True},
        confidence=conf, view=view, kind="dominant", cluster=c,
        effect=_lift_effect(share_v, share_c), weight=n_value / max(ct.n, 1), finding=_notable(share_v, share_c))


def compare_observations(
    ct: CrossTab,
    labels: Mapping[str, str] | None = None,
    names: Mapping[Any, str] | None = None,
    max_cells: int | None = None,
    majority: float = 0.5,
    derived_from: Sequence[str] = (),
) -> list[Observation]:
    """Headline, every significant non-empty cell (strongest first, at most ``max_cells``) and
    values one cluster dominates beyond its size. ``derived_from``: the clustering features the
    dimension is computed from (:func:`custseg.profile.findings.derived_from`) — its findings
    are labelled "by construction" instead of a confidence.
    """
    dim = label(ct.dimension, labels)
    view = f"cat_compare:{ct.dimension}"
    if not np.isfinite(ct.chi2):
        return [Observation(f"{dim}: only one cluster or one value has customers, so there is nothing to compare.",
                            {"n": ct.n, "shape": list(ct.counts.shape)}, LOW, view, "summary")]
    out = [_headline(ct, dim, view, derived_from, labels)]
    by_construction = bool(derived_from)
    cell_p = ct.cell_p_values()
    cells = [(abs(ct.residuals.loc[c, v]), c, v) for c in ct.counts.index for v in ct.counts.columns
             if ct.significance.loc[c, v] != 0 and ct.counts.loc[c, v] > 0]
    cells.sort(key=lambda t: (-t[0], str(t[1]), str(t[2])))
    for _, c, v in cells[: max_cells if max_cells is not None else len(cells)]:
        out.append(_cell(ct, c, v, dim, view, names, float(cell_p.loc[c, v]), by_construction))
    for v in ct.counts.columns:
        if ct.other_label is not None and v == ct.other_label:
            continue
        c = ct.share_within_value[v].idxmax()
        if ct.share_within_value.loc[c, v] >= majority and ct.significance.loc[c, v] > 0:
            out.append(_dominant(ct, c, v, dim, view, names, by_construction))
    return out

