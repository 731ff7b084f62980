"""One finding per clustering-evidence view (elbow, silhouette, stability, validity indices,
dendrogram): what the chart says about the number of clusters, with a confidence.

Stability reads the mean bootstrap ARI against :data:`STABLE_ARI`, the same threshold the k
choice uses (:data:`custseg.cluster.recommend.DEFAULT_STABILITY_THRESHOLD`) and the chart draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from custseg.cluster.recommend import DEFAULT_STABILITY_THRESHOLD as STABLE_ARI
from custseg.profile.evidence import dendrogram_cut, elbow_k
from custseg.profile.findings import Observation
from custseg.profile.statistics import HIGH, LOW, MEDIUM
from custseg.profile.tables import format_number
from custseg.profile.wording import join


def silhouette_word(s: float) -> str:
    """Kaufman & Rousseeuw's reading: > 0.7 strong, > 0.5 reasonable, > 0.25 weak, else none."""
    return ("strong" if s > 0.7 else "reasonable" if s > 0.5 else "weak" if s > 0.25
            else "no substantial")


def stability_word(ari: float) -> str:
    """ARI between re-fits: >= 0.9 highly stable, >= :data:`STABLE_ARI` (0.8, the threshold k is
    chosen with) stable, >= 0.6 moderately, else unstable."""
    return ("highly stable" if ari >= 0.9 else "stable" if ari >= STABLE_ARI
            else "moderately stable" if ari >= 0.6 else "unstable")


def evidence_observations(
    evidence: pd.DataFrame,
    chosen_k: int | None = None,
    linkage: np.ndarray | None = None,
) -> list[Observation]:
    """One sentence per evidence view (elbow, silhouette, stability, validity indices,
    dendrogram) from the per-k table; views without data are skipped.
    """
    out: list[Observation] = []
    ev = evidence.copy()
    for c in ev.columns:
        if c != "silhouette_method":
            ev[c] = pd.to_numeric(ev[c], errors="coerce")
    ev = ev.dropna(subset=["k"]).sort_values("k").reset_index(drop=True)
    chosen = f" The chosen k is {chosen_k}." if chosen_k is not None else ""

    if "inertia" in ev.columns and ev["inertia"].notna().sum() >= 3:
        part = ev.dropna(subset=["inertia"])
        auto = elbow_k(part["k"], part["inertia"])
        first, last = part.iloc[0], part.iloc[-1]
        text = (f"Inertia falls from {format_number(first['inertia'])} at k = {int(first['k'])} to "
                f"{format_number(last['inertia'])} at k = {int(last['k'])}; ")
        text += f"the elbow (largest bend) is at k = {auto}." if auto is not None else "there is no clear elbow."
        out.append(Observation(text + chosen, {"elbow_k": auto, "chosen_k": chosen_k,
                                               "inertia_first": float(first["inertia"]),
                                               "inertia_last": float(last["inertia"])},
                               MEDIUM if auto is not None else LOW, "elbow", "summary"))

    if "silhouette" in ev.columns and ev["silhouette"].notna().any():
        part = ev.dropna(subset=["silhouette"]).reset_index(drop=True)
        i = int(part["silhouette"].idxmax())
        best = part.loc[i]
        values: dict[str, Any] = {"best_k": int(best["k"]), "best_silhouette": float(best["silhouette"])}
        text = (f"Silhouette is highest at k = {int(best['k'])} ({best['silhouette']:.3f}: "
                f"{silhouette_word(best['silhouette'])} structure)")
        conf = MEDIUM
        lo = best.get("silhouette_ci_low", np.nan)
        rivals = part.drop(index=i)
        if pd.notna(lo) and not rivals.empty:
            close = rivals[rivals["silhouette"] >= lo]
            if not close.empty:
                conf = LOW
                text += (f", but k = {join([str(int(k)) for k in close['k']])} "
                         f"lie{'s' if len(close) == 1 else ''} within its 95% CI")
                values["within_ci"] = [int(k) for k in close["k"]]
        elif not rivals.empty:
            gap = float(best["silhouette"] - rivals["silhouette"].max())
            conf = HIGH if gap >= 0.05 else MEDIUM if gap >= 0.01 else LOW
            values["gap_to_next"] = gap
        if chosen_k is not None and (part["k"] == chosen_k).any():
            s = float(part.loc[part["k"] == chosen_k, "silhouette"].iloc[0])
            text += f"; at the chosen k = {chosen_k} it is {s:.3f}"
            values.update(chosen_k=chosen_k, chosen_silhouette=s)
        out.append(Observation(text + ".", values, conf, "silhouette", "summary"))

    if "stability_ari_mean" in ev.columns and ev["stability_ari_mean"].notna().any():
        part = ev.dropna(subset=["stability_ari_mean"]).reset_index(drop=True)
        best = part.loc[int(part["stability_ari_mean"].idxmax())]
        std_col = "stability_ari_std" if "stability_ari_std" in part.columns else None
        ref = part[part["k"] == chosen_k] if chosen_k is not None else part.iloc[0:0]
        row = ref.iloc[0] if not ref.empty else best
        sd = float(row[std_col]) if std_col and pd.notna(row[std_col]) else float("nan")
        sd_text = f" (standard deviation {sd:.2f})" if np.isfinite(sd) else ""
        text = (f"At k = {int(row['k'])} the mean adjusted Rand index between re-fits is "
                f"{row['stability_ari_mean']:.2f}{sd_text}: {stability_word(row['stability_ari_mean'])} "
                f"(stable means at least {STABLE_ARI:g})")
        if int(row["k"]) != int(best["k"]):
            text += f"; the most stable k is {int(best['k'])} ({best['stability_ari_mean']:.2f})"
        conf = HIGH if np.isfinite(sd) and sd < 0.05 else MEDIUM
        out.append(Observation(text + ".", {"k": int(row["k"]), "ari_mean": float(row["stability_ari_mean"]),
                                            "ari_std": sd, "most_stable_k": int(best["k"]),
                                            "most_stable_ari": float(best["stability_ari_mean"])},
                               conf, "stability", "summary"))

    idx_parts, idx_values = [], {}
    if "calinski_harabasz" in ev.columns and ev["calinski_harabasz"].notna().any():
        r = ev.loc[ev["calinski_harabasz"].idxmax()]
        idx_parts.append(f"Calinski-Harabasz is highest at k = {int(r['k'])} ({r['calinski_harabasz']:,.1f})")
        idx_values["calinski_harabasz_best_k"] = int(r["k"])
    if "davies_bouldin" in ev.columns and ev["davies_bouldin"].notna().any():
        r = ev.loc[ev["davies_bouldin"].idxmin()]
        idx_parts.append(f"Davies-Bouldin is lowest at k = {int(r['k'])} ({r['davies_bouldin']:.3f})")
        idx_values["davies_bouldin_best_k"] = int(r["k"])
    if idx_parts:
        agree = len(set(idx_values.values())) == 1 and len(idx_values) == 2
        out.append(Observation("; ".join(idx_parts) + ("; the two agree." if agree else "."), idx_values,
                               MEDIUM if agree else LOW, "validity_indices", "summary"))

    if linkage is not None:
        z = np.asarray(linkage, dtype=float)
        n = z.shape[0] + 1
        h = np.sort(z[:, 2])
        ks = list(range(2, min(10, n) + 1))
        gaps = {k: h[n - k] - (h[n - k - 1] if n - k - 1 >= 0 else 0.0) for k in ks}
        if gaps:
            kbest = max(gaps, key=lambda k: gaps[k])
            below = h[n - kbest - 1] if n - kbest - 1 >= 0 else 0.0
            text = (f"On the dendrogram the largest jump in merge distance among k = 2..{ks[-1]} leaves "
                    f"{kbest} clusters (from {below:,.2f} to {h[n - kbest]:,.2f})")
            values = {"largest_gap_k": kbest, "gap": float(gaps[kbest])}
            if chosen_k is not None:
                cut = dendrogram_cut(z, chosen_k)
                if cut is not None:
                    text += f"; the chosen k = {chosen_k} is a cut at {cut:,.2f}"
                    values.update(chosen_k=chosen_k, cut_height=cut)
            out.append(Observation(text + ".", values, MEDIUM, "dendrogram", "summary"))
    return out
