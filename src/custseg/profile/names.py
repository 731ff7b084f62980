"""Cluster names and traits that cannot contradict the data.

A name says how a cluster differs from *its population* (the customers clustered with it), in
words from ``name_words.toml``; :func:`cluster_traits` says the same with the numbers. The rule,
per cluster and metric, on the cluster's median ``v`` and the population's median ``o``:

* **Clearly apart** — when the population's median and every cluster median of the metric
  are positive, two values are clearly apart when the larger is at least 1.25 times the
  smaller; otherwise (a zero or negative median: ratios mean nothing) when they differ by at
  least 25 % of the spread of the cluster medians. One scale per metric, so "apart" is the
  same question for every pair of clusters.
* **Relative words** (``above``/``below``) — used only when ``v`` is clearly apart from ``o``,
  on that side. The clusters on one side are put in tiers from the outermost inwards: a tier
  is the outermost remaining cluster and every cluster not clearly apart from it. With one
  tier every cluster gets the plain word ("higher-spending"); with two or more the outermost
  tier gets the superlative ("top-spending"), the next the plain word, and further tiers no
  word for that metric — so no cluster is called higher-spending while one clearly above it
  is too, and none below a cluster with the plain word gets it.
* **Absolute words** (``absolute``: ``at_least``/``at_most``) — used only when ``v`` satisfies
  them and ``o`` does not: "one-time" needs a median of one order, and is not used where the
  typical member is a one-time buyer. A word true of every member of the population is true
  of its median, so it is never used ("repeat" among repeat buyers). An absolute word replaces
  the metric's relative word.
* **A name** — the cluster's words, strongest first (``|log(v / o)|``, or the difference over
  the spread), at most ``max_words``, written in the metric order of ``name_words.toml`` before
  the population's noun ("More recent higher-spending customers"); ``suffix`` words after it
  ("Customers with higher Review Score"). Without any word: "Typical <noun>" when no metric
  differs clearly, else "Other <noun>".
* **Unique names** — clusters sharing a name take their next words; if still equal (their words
  are all used), the size rank among them is added: "(largest)", "(2nd largest)". Names of two
  populations differ by their noun ("customers", "champions"), which says which population's
  medians the words compare with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from custseg.profile.labels import DEFAULT_METRIC_CONFIG, metric_config
from custseg.profile.tables import SHARE_ROW, format_number, metric_rows

CLEAR_RATIO = 1.25
CLEAR_SPREAD_SHARE = 0.25
ABOVE, BELOW = "above", "below"


@dataclass(frozen=True)
class Trait:
    """How one cluster differs from its population on one metric, and the word a name may use."""

    metric: str
    side: str  # "above" / "below" the population's median
    value: float
    overall: float
    strength: float
    word: str | None  # None: clearly apart, but a cluster further out holds the word


# --------------------------------------------------------------------------- comparisons


def clearly_apart(a: float, b: float, spread: float | None, ratio: float = CLEAR_RATIO) -> bool:
    """The module's "clearly apart": a factor of ``ratio`` (``spread`` None: the metric is on
    the ratio scale), else a difference of 25 % of ``spread``."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return False
    lo, hi = sorted((float(a), float(b)))
    if spread is None:
        return hi >= ratio * lo
    return spread > 0 and hi - lo >= CLEAR_SPREAD_SHARE * spread


def scale_of(values: pd.Series, overall: float) -> float | None:
    """None (compare by ratio) when the population's and every cluster's median are positive,
    else the spread of the cluster medians (compare by difference)."""
    if overall > 0 and bool((values > 0).all()):
        return None
    return float(values.max() - values.min()) if values.notna().any() else 0.0


def side_of(value: float, overall: float, spread: float | None, ratio: float = CLEAR_RATIO) -> str | None:
    """"above" / "below" when ``value`` is clearly apart from ``overall``, else None."""
    if not clearly_apart(value, overall, spread, ratio):
        return None
    return ABOVE if value > overall else BELOW


def holds(value: float, rule: Mapping[str, Any]) -> bool:
    """An absolute word's condition (``at_least`` / ``at_most``) on a value."""
    if not np.isfinite(value):
        return False
    if "at_least" in rule and value < rule["at_least"]:
        return False
    return not ("at_most" in rule and value > rule["at_most"])


def _strength(value: float, overall: float, spread: float | None) -> float:
    if spread is None:
        return abs(math.log(value / overall))
    return abs(value - overall) / spread if spread > 0 else 0.0


def tiers(values: Mapping[Any, float], side: str, spread: float | None, ratio: float = CLEAR_RATIO) -> dict[Any, int]:
    """Tier of each cluster on one side, 0 = outermost: a tier is the outermost remaining
    cluster and every cluster not clearly apart from it."""
    order = sorted(values, key=lambda c: values[c], reverse=side == ABOVE)
    out: dict[Any, int] = {}
    tier, head = 0, None
    for c in order:
        if head is None:
            head = c
        elif clearly_apart(values[c], values[head], spread, ratio):
            tier, head = tier + 1, c
        out[c] = tier
    return out


def _relative_word(spec: Mapping[str, Any], side: str, tier: int, n_tiers: int) -> str | None:
    if n_tiers == 1 or tier == 1:
        return spec[side]
    return spec[f"most_{side}"] if tier == 0 else None


def _absolute_word(spec: Mapping[str, Any], value: float, overall: float) -> str | None:
    for rule in spec.get("absolute", []):
        if holds(value, rule) and not holds(overall, rule):
            return rule["word"]
    return None


# --------------------------------------------------------------------------- traits


def _population_medians(profile: pd.DataFrame, overall) -> pd.Series:
    if overall is not None:
        return pd.Series(overall, dtype=float)
    from custseg.profile.observations import reference_from_profile  # observations imports this module

    return reference_from_profile(profile)


def metric_traits(
    profile: pd.DataFrame,
    overall: pd.Series | Mapping[str, float] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    ratio: float = CLEAR_RATIO,
) -> dict[Any, list[Trait]]:
    """Every way each cluster differs from its population by the module's rule, strongest first.

    ``profile``: a median :func:`~custseg.profile.tables.profile_table` (clusters as columns);
    ``overall``: the population's medians (None: a share-weighted median of the cluster medians).
    """
    rows = metric_rows(profile).astype(float)
    ref = _population_medians(profile, overall)
    cfg = metric_config(list(rows.index), config)
    out: dict[Any, list[Trait]] = {c: [] for c in profile.columns}
    for m, values in rows.iterrows():
        o = float(ref.get(m, np.nan))
        spread = scale_of(values, o)
        sides = {c: side_of(v, o, spread, ratio) for c, v in values.items()}
        ranks = {s: tiers({c: values[c] for c in values.index if sides[c] == s}, s, spread, ratio) for s in (ABOVE, BELOW)}
        for c, v in values.items():
            absolute = _absolute_word(cfg[m], v, o) if np.isfinite(o) else None
            side = sides[c] or (None if absolute is None else (ABOVE if v > o else BELOW))
            if side is None:
                continue
            word = absolute
            if word is None:
                word = _relative_word(cfg[m], side, ranks[side][c], max(ranks[side].values()) + 1)
            out[c].append(Trait(m, side, float(v), o, _strength(v, o, spread), word))
    return {c: sorted(ts, key=lambda t: -t.strength) for c, ts in out.items()}


def trait_text(trait: Trait, spec: Mapping[str, Any], currency: str = "") -> str:
    """One trait in plain words with its numbers, from the metric's ``trait`` template."""
    ratio = trait.value / trait.overall if trait.overall > 0 and trait.value >= 0 else float("nan")
    template = spec.get("trait_below", spec["trait"]) if trait.side == BELOW else spec["trait"]
    if ("{ratio}" in template or "{pct}" in template) and not np.isfinite(ratio):
        template = f"{spec['label']} {{value}} (population median: {{overall}})"
    return template.format(value=format_number(trait.value), overall=format_number(trait.overall), s="" if trait.value == 1 else "s",
                           ratio=f"{ratio:.1f}", pct=f"{(1 - ratio) * 100:.0f}", currency=f"{currency} " if currency else "")


def cluster_traits(
    profile: pd.DataFrame,
    overall: pd.Series | Mapping[str, float] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    max_traits: int = 3,
    currency: str = "",
) -> dict[Any, list[str]]:
    """The (up to ``max_traits``) traits that define each cluster, strongest first, with numbers:
    ``{3: ["spends 3.1× the population median (R$ 480 vs 155)", "last order 28 days ago
    (population median: 120)"]}``. Only metrics whose median is clearly apart from the
    population's, or that earn an absolute word, are traits; a cluster without any gets one
    sentence saying so. Every word of :func:`name_clusters`' name is one of these traits.
    """
    traits = metric_traits(profile, overall, config)
    cfg = metric_config(list(metric_rows(profile).index), config)
    typical = f"within a factor of {CLEAR_RATIO:g} of the population median on every metric"
    return {c: [trait_text(t, cfg[t.metric], currency) for t in ts[:max_traits]] or [typical]
            for c, ts in traits.items()}


# --------------------------------------------------------------------------- names


def _metric_order(metrics: Sequence[str]) -> dict[str, int]:
    known = [m for m in DEFAULT_METRIC_CONFIG if m in metrics]
    return {m: i for i, m in enumerate(known + [m for m in metrics if m not in known])}


def compose(words: Sequence[Trait], cfg: Mapping[str, Mapping[str, Any]], order: Mapping[str, int],
            noun: str, differs: bool) -> str:
    """Words (in metric order) around the noun: adjectives before, suffixes after "with"."""
    words = sorted(words, key=lambda t: order[t.metric])
    adjectives = [t.word for t in words if cfg[t.metric]["role"] == "adjective"]
    suffixes = [t.word for t in words if cfg[t.metric]["role"] != "adjective"]
    if not adjectives and not suffixes:
        adjectives = ["other" if differs else "typical"]
    name = " ".join([*adjectives, noun])
    if suffixes:
        name += " with " + " and ".join(suffixes)
    return name[:1].upper() + name[1:]


def _ordinal(i: int) -> str:
    suffix = "th" if 10 <= i % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th")
    return "largest" if i == 1 else f"{i}{suffix} largest"


def _by_size(profile: pd.DataFrame, clusters: Sequence[Any]) -> list[Any]:
    if SHARE_ROW not in profile.index:
        return list(clusters)
    share = profile.loc[SHARE_ROW]
    return sorted(clusters, key=lambda c: -float(share[c]))


def name_clusters(
    profile: pd.DataFrame,
    overall: pd.Series | Mapping[str, float] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    ratio_threshold: float = CLEAR_RATIO,
    max_words: int = 2,
    noun: str = "customers",
) -> dict[Any, str]:
    """Unique names such as "More recent higher-spending customers", by the module's rule.

    ``profile``: a median :func:`~custseg.profile.tables.profile_table`; ``overall``: the
    population's medians (:func:`~custseg.profile.tables.overall_values`); ``noun``: what the
    population's members are called.
    """
    traits = metric_traits(profile, overall, config, ratio_threshold)
    cfg = metric_config(list(metric_rows(profile).index), config)
    order = _metric_order(list(metric_rows(profile).index))
    words = {c: [t for t in ts if t.word] for c, ts in traits.items()}
    size = {c: max_words for c in profile.columns}

    def named(c: Any) -> str:
        return compose(words[c][: size[c]], cfg, order, noun, bool(traits[c]))

    names = {c: named(c) for c in profile.columns}
    while True:  # clusters sharing a name take their next word
        counts = pd.Series(list(names.values()), dtype=object).value_counts()
        grow = [c for c, n in names.items() if counts[n] > 1 and size[c] < len(words[c])]
        if not grow:
            break
        for c in grow:
            size[c] += 1
            names[c] = named(c)
    for name in {n for n in names.values() if list(names.values()).count(n) > 1}:
        same = _by_size(profile, [c for c, n in names.items() if n == name])
        for i, c in enumerate(same, start=1):
            names[c] = f"{name} ({_ordinal(i)})"
    return names
