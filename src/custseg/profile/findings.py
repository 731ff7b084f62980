"""From many observations to a few findings: rank, cap, and say what is true by construction.

A view shows at most :data:`MAX_FINDINGS` observations, chosen by :func:`select`:

* only observations flagged ``finding`` compete (the rules in :mod:`.observations` flag
  empty cells and non-findings off, and leave out an "Other" column they cannot name);
* the view's summary (``kind == "summary"``) comes first: it is the headline of the chart;
* the rest are ranked by :func:`score` — effect size times the square root of the share of
  customers involved, so a large effect on 2 % of customers and a modest one on half of them
  both surface, while a large effect on 0.1 % does not crowd out either;
* one finding per subject (cluster and value): "over-represented" and "makes up" of one
  cell say the same thing twice.

Everything not shown stays available as "all statistics" (collapsed in the report).

**By construction** (:func:`derived_from`): a dimension that bins or scores a clustering
feature is bound to be associated with the clusters, so its comparison is labelled "by
construction" instead of getting a confidence. The rule is data: ``segments.toml`` gives
each segment's metric, :data:`SAME_QUANTITY` says which customer columns measure the same
thing as a clustering feature, and RFM scores/segments derive from recency, frequency and
monetary.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from custseg.profile.statistics import MEDIUM

MAX_FINDINGS = 5
BY_CONSTRUCTION = "by construction"

#: Customer columns that measure the same quantity as a clustering feature (the SQL computes
#: both from the same purchases: buys_cnt and frequency count distinct orders,
#: total_customer_payment and monetary sum their payments).
SAME_QUANTITY: dict[str, str] = {
    "buys_cnt": "frequency",
    "total_customer_payment": "monetary",
}

#: RFM columns and the metrics they are computed from.
RFM_SOURCES: dict[str, tuple[str, ...]] = {
    "recency_score": ("recency",),
    "frequency_score": ("frequency",),
    "monetary_score": ("monetary",),
    "rfm_score": ("recency", "frequency", "monetary"),
    "rfm_segment": ("recency", "frequency", "monetary"),
}


@lru_cache(maxsize=1)
def segment_metrics() -> dict[str, str]:
    """Segment dimension -> the metric it bins (``segments.toml``)."""
    text = resources.files("custseg.features").joinpath("segments.toml").read_text(encoding="utf-8")
    return {name: spec["metric"] for name, spec in tomllib.loads(text).items() if "metric" in spec}


def dimension_sources(dimension: str) -> tuple[str, ...]:
    """The metrics a dimension is computed from, as clustering-feature names."""
    if dimension in RFM_SOURCES:
        return RFM_SOURCES[dimension]
    metric = segment_metrics().get(dimension)
    if metric is None:
        return ()
    return (SAME_QUANTITY.get(metric, metric),)


def derived_from(dimension: str, features: Iterable[str]) -> list[str]:
    """The clustering features a dimension is derived from (empty: an independent dimension)."""
    used = {SAME_QUANTITY.get(f, f) for f in features}
    return [m for m in dimension_sources(dimension) if m in used]


# --------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class Observation:
    """One sentence, the numbers it quotes (``figure_values``) and how sure custseg is.

    ``effect`` (an effect size, e.g. |log ratio|) and ``weight`` (share of customers involved,
    0..1) rank it among a view's findings; ``finding=False`` keeps it to "all statistics".
    """

    text: str
    figure_values: dict[str, Any] = field(default_factory=dict)
    confidence: str = MEDIUM
    view: str = ""
    kind: str = ""
    cluster: Any = None
    effect: float = 0.0
    weight: float = 0.0
    finding: bool = True


def score(effect: float, weight: float) -> float:
    """Effect size times the square root of the share of customers involved (0 when unknown)."""
    if not (math.isfinite(effect) and math.isfinite(weight)) or weight <= 0:
        return 0.0
    return abs(effect) * math.sqrt(min(weight, 1.0))


def _subject(o: Observation) -> tuple[Any, Any] | None:
    value = (o.figure_values or {}).get("value")
    if o.cluster is None or value is None:
        return None
    return (str(o.cluster), str(value))


def select(observations: Sequence[Observation], limit: int = MAX_FINDINGS) -> tuple[list[Observation], list[Observation]]:
    """(findings to show, at most ``limit``; the other observations, in their original order)."""
    candidates = [o for o in observations if o.finding]
    heads = [o for o in candidates if o.kind == "summary"]
    ranked = sorted((o for o in candidates if o.kind != "summary"),
                    key=lambda o: -score(o.effect, o.weight))
    shown, subjects = [], set()
    for o in heads + ranked:
        subject = _subject(o)
        if len(shown) >= limit or (subject is not None and subject in subjects):
            continue
        shown.append(o)
        if subject is not None:
            subjects.add(subject)
    kept = {id(o) for o in shown}
    return shown, [o for o in observations if id(o) not in kept]
