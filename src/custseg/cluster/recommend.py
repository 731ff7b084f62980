"""From the evidence table to a k, or "no clear k", with the reason in words (the rule: :func:`recommend_k`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .evidence import Evidence

__all__ = ["DEFAULT_STABILITY_THRESHOLD", "Elbow", "Recommendation", "find_elbow", "recommend_k"]

#: Mean bootstrap ARI from which a k counts as stable: the one threshold of custseg (k choice,
#: the stability chart's line, the report's wording). Hennig's "stable" range starts near
#: 0.75-0.85; 0.8 is its middle, and k is chosen with it, so chart and text must use it too.
DEFAULT_STABILITY_THRESHOLD = 0.8


@dataclass(frozen=True)
class Elbow:
    """Elbow of the inertia curve: ``k`` (None when the curve has no bend) and ``strength``.

    ``strength`` is the largest gap between the chord and the curve once both axes are scaled
    to [0, 1]: 0 for a straight line, up to 1 for an L shape.
    """

    k: int | None
    strength: float


def find_elbow(ks: Sequence[int], inertia: Sequence[float]) -> Elbow:
    """Kneedle-style elbow: the point of the normalised curve farthest below the chord.

    Both axes are scaled to [0, 1]; for a decreasing convex curve the chord runs from (0, 1) to
    (1, 0) and the elbow is the k maximising ``(1 - x) - y``. Needs three or more points.
    """
    ks = np.asarray(ks, dtype=float)
    y = np.asarray(inertia, dtype=float)
    ok = np.isfinite(y)
    ks, y = ks[ok], y[ok]
    if ks.size < 3 or y.max() == y.min():
        return Elbow(None, 0.0)
    order = np.argsort(ks)
    ks, y = ks[order], y[order]
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    yn = (y - y.min()) / (y.max() - y.min())
    gap = (1 - x) - yn
    i = int(np.argmax(gap))
    if gap[i] <= 1e-9:  # a straight (or concave) curve has no elbow
        return Elbow(None, 0.0)
    return Elbow(int(ks[i]), float(gap[i]))


@dataclass
class Recommendation:
    """``k`` (None = no clear k), the reason in words, and the criteria's preferences.

    ``votes``: one row per criterion with the k it prefers and its value there.
    ``checks``: per k, whether it is stable and above the no-structure reference, and which
    criteria prefer it.
    """

    k: int | None
    reason: str
    votes: pd.DataFrame
    checks: pd.DataFrame


def recommend_k(evidence: Evidence, *, stability_threshold: float = DEFAULT_STABILITY_THRESHOLD) -> Recommendation:
    """Recommend a k only when the criteria agree on a k that is stable and beats no-structure data.

    Rule. Four criteria each name their preferred k: highest silhouette, highest
    Calinski–Harabasz, lowest Davies–Bouldin, and the elbow of the inertia curve. A k is
    *eligible* when its mean bootstrap ARI is at least ``stability_threshold`` and its
    silhouette (the low end of the CI when sampled) is above the no-structure reference
    (``null_silhouette_upper``). The
    recommendation is the eligible k preferred by the most criteria, if at least two criteria
    prefer it and no other eligible k has as many. Otherwise the answer is "no clear k", and
    ``votes``/``checks`` show who prefers what. Missing stability or null columns make every k
    ineligible (nothing vouches for it).
    """
    t = evidence.table
    scored = t[t["silhouette"].notna()]
    pref: list[dict] = []

    def add(criterion, k, value, direction):
        pref.append({"criterion": criterion, "preferred_k": None if k is None else int(k), "value": value, "direction": direction})

    if len(scored):
        k_sil = int(scored["silhouette"].idxmax())
        add("silhouette", k_sil, float(scored.loc[k_sil, "silhouette"]), "highest")
        k_ch = int(scored["calinski_harabasz"].idxmax())
        add("calinski_harabasz", k_ch, float(scored.loc[k_ch, "calinski_harabasz"]), "highest")
        k_db = int(scored["davies_bouldin"].idxmin())
        add("davies_bouldin", k_db, float(scored.loc[k_db, "davies_bouldin"]), "lowest")
    elbow_k = evidence.elbow.k if evidence.elbow.k is not None and evidence.elbow.k >= 2 else None
    add("elbow", elbow_k, evidence.elbow.strength, "bend of the inertia curve")
    votes = pd.DataFrame(pref)

    checks = pd.DataFrame(index=scored.index)
    checks["silhouette"] = scored["silhouette"]
    checks["stability_ari_mean"] = scored["stability_ari_mean"]
    checks["stable"] = scored["stability_ari_mean"] >= stability_threshold
    checks["null_silhouette_upper"] = scored["null_silhouette_upper"]
    # a sampled silhouette must beat the reference with the low end of its interval
    silhouette_low = scored["silhouette_ci_low"].fillna(scored["silhouette"])
    checks["beats_no_structure"] = silhouette_low > scored["null_silhouette_upper"]
    checks["eligible"] = checks["stable"] & checks["beats_no_structure"]
    checks["preferred_by"] = [
        ", ".join(v["criterion"] for v in pref if v["preferred_k"] == k) for k in checks.index
    ]
    checks["n_votes"] = [sum(v["preferred_k"] == k for v in pref) for k in checks.index]

    eligible = checks[checks["eligible"]]
    best = eligible["n_votes"].max() if len(eligible) else 0
    winners = list(eligible.index[eligible["n_votes"] == best]) if best else []
    if best >= 2 and len(winners) == 1:
        k = int(winners[0])
        return Recommendation(k, _reason_for(k, evidence, checks, stability_threshold), votes, checks)
    return Recommendation(None, _reason_none(evidence, votes, checks, stability_threshold), votes, checks)


_CRITERION_TEXT = {
    "silhouette": "highest silhouette",
    "calinski_harabasz": "highest Calinski–Harabasz",
    "davies_bouldin": "lowest Davies–Bouldin",
    "elbow": "elbow of the inertia curve",
}


def _and_join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _criteria_text(preferred_by: str) -> str:
    return _and_join([_CRITERION_TEXT[c] for c in preferred_by.split(", ")])


def _sil_text(evidence: Evidence, k: int) -> str:
    s = evidence.silhouettes.get(k)
    return s.label() if s is not None else "n/a"


def _reason_for(k: int, evidence: Evidence, checks: pd.DataFrame, threshold: float) -> str:
    row = evidence.table.loc[k]
    who = _criteria_text(checks.loc[k, "preferred_by"])
    n_resamples = evidence.params.get("stability_resamples")
    return (
        f"k = {k}: preferred by {int(checks.loc[k, 'n_votes'])} of 4 criteria ({who}); "
        f"silhouette {_sil_text(evidence, k)} against {row['null_silhouette']:.3f} on data without clusters "
        f"of the same spread; stable under resampling (mean adjusted Rand index "
        f"{row['stability_ari_mean']:.2f} over {n_resamples} bootstrap resamples, threshold {threshold:g})."
    )


def _why_not(k: int, checks: pd.DataFrame, threshold: float) -> str:
    row = checks.loc[k]
    problems = []
    if pd.isna(row["stability_ari_mean"]) or pd.isna(row["null_silhouette_upper"]):
        return "stability or the no-structure reference was not computed"
    if not row["stable"]:
        problems.append(f"it is not stable under resampling (mean adjusted Rand index {row['stability_ari_mean']:.2f} < {threshold:g})")
    if not row["beats_no_structure"]:
        problems.append(
            f"its silhouette ({row['silhouette']:.3f}) does not beat data without clusters ({row['null_silhouette_upper']:.3f})"
        )
    return " and ".join(problems)


def _reason_none(evidence: Evidence, votes: pd.DataFrame, checks: pd.DataFrame, threshold: float) -> str:
    prefs = "; ".join(
        f"{_CRITERION_TEXT[r.criterion]} at {'no k' if r.preferred_k is None else f'k = {r.preferred_k}'}"
        for r in votes.itertuples()
    )
    if checks.empty:
        return "No clear k: no k in the range could be scored."
    if checks["stability_ari_mean"].isna().all() or checks["null_silhouette_upper"].isna().all():
        return f"No clear k: stability or the no-structure reference was not computed, so no k can be vouched for. Criteria: {prefs}."
    if not checks["beats_no_structure"].any():
        return (
            "No clear k: no k has a silhouette above what the same method finds in data without "
            f"clusters, so the data show no cluster structure. Criteria: {prefs}."
        )
    best = checks["n_votes"].max()
    top = [int(k) for k in checks.index[checks["n_votes"] == best]]
    if best >= 2:
        who = {k: _criteria_text(checks.loc[k, "preferred_by"]) for k in top}
        if len(top) == 1:
            k = top[0]
            detail = f"k = {k} is preferred by {who[k]}, but {_why_not(k, checks, threshold)}"
        else:
            detail = "the criteria split between " + " and ".join(f"k = {k} ({who[k]})" for k in top)
            ineligible = [k for k in top if not checks.loc[k, "eligible"]]
            detail += "".join(f"; k = {k}: {_why_not(k, checks, threshold)}" for k in ineligible)
        return f"No clear k: {detail}. Criteria: {prefs}."
    return f"No clear k: no two criteria prefer the same k. Criteria: {prefs}."
