"""Readable names for columns and the metric configuration the profile stage reasons with.

Charts, tables and observations never show a raw column name: they go through
:func:`label`. Metric *direction* lives here too, because "higher" is not always "better"
(recency is days since the last order, so a lower value is the good side).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

#: Readable names for the columns custseg produces or reads.
LABELS: dict[str, str] = {
    "customer_id": "Customer",
    "customer_unique_id": "Customer",
    "cluster": "Cluster",
    # behaviour metrics
    "recency": "Recency (days)",
    "frequency": "Frequency (orders)",
    "monetary": "Monetary (total spend)",
    "avg_unique_products_cnt": "Avg Unique Products",
    # RFM
    "recency_score": "Recency Score",
    "frequency_score": "Frequency Score",
    "monetary_score": "Monetary Score",
    "rfm_segment": "RFM Segment",
    "rfm_score": "RFM Score",
    # segment dimensions
    "activity_segment": "Activity Segment",
    "value_segment": "Value Segment",
    "loyalty_segment": "Loyalty Segment",
    "risk_segment": "Risk Segment",
    "installment_segment": "Installment Segment",
    "products_cnt_segment": "Products Count Segment",
    "weight_segment": "Weight Segment",
    "customer_payment_types": "Payment Types",
    "customer_top_product_categories": "Top Product Categories",
    "customer_top_general_product_categories": "Top General Product Categories",
    "customer_city": "City",
    "customer_state": "State",
    "customer_region": "Region",
    "customer_country": "Country",
    # clustering evidence
    "k": "Number of clusters (k)",
    "inertia": "Inertia (within-cluster sum of squares)",
    "silhouette": "Silhouette score",
    "calinski_harabasz": "Calinski-Harabasz index",
    "davies_bouldin": "Davies-Bouldin index",
    "stability_ari_mean": "Stability (mean ARI)",
    "stability_ari_std": "Stability (ARI std)",
}

_WORDS = {"cnt": "Count", "avg": "Avg", "id": "ID", "pct": "%", "num": "Number of", "rfm": "RFM"}

HIGHER_IS_BETTER = "higher_is_better"
LOWER_IS_BETTER = "lower_is_better"

def _metric_words() -> dict[str, dict[str, Any]]:
    """The per-metric rules in ``name_words.toml`` (labels, directions, name and trait words)."""
    text = resources.files("custseg.profile").joinpath("name_words.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


#: Metric configuration: readable label, direction, and the words names and traits use
#: (:mod:`custseg.profile.names`). Data, not code: ``name_words.toml`` explains every key.
DEFAULT_METRIC_CONFIG: dict[str, dict[str, Any]] = _metric_words()


def humanise(column: str) -> str:
    """Fallback readable name: split on underscores, expand common abbreviations, title-case."""
    parts = [p for p in re.split(r"[_\s]+", str(column)) if p]
    words = [_WORDS.get(p.lower(), p.capitalize()) for p in parts]
    return " ".join(words) if words else str(column)


def label(column: Any, labels: Mapping[str, str] | None = None) -> str:
    """Readable name for ``column``: the caller's map, then :data:`LABELS`, then :func:`humanise`."""
    key = str(column)
    if labels and key in labels:
        return labels[key]
    if key in LABELS:
        return LABELS[key]
    return humanise(key)


def cluster_label(cluster: Any, names: Mapping[Any, str] | None = None) -> str:
    """How a cluster is called on charts: "Cluster 3", or "Cluster 3: Recent high spenders"."""
    text = f"Cluster {format_cluster(cluster)}"
    if names and cluster in names and names[cluster]:
        text += f": {names[cluster]}"
    return text


def format_cluster(cluster: Any) -> str:
    """``3.0`` -> ``"3"`` so float-typed labels read like the integers they are."""
    if isinstance(cluster, float) and cluster.is_integer():
        return str(int(cluster))
    return str(cluster)


def metric_config(
    metrics: list[str] | tuple[str, ...], config: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Full configuration for ``metrics``: ``name_words.toml``, overridden key by key by ``config``.

    Unknown metrics get their readable label, ``higher_is_better``, no absolute words and
    "with higher/highest/lower/lowest <label>" after the noun.
    """
    out: dict[str, dict[str, Any]] = {}
    for m in metrics:
        base: dict[str, Any] = {"label": label(m), "direction": HIGHER_IS_BETTER, "role": "suffix", "absolute": []}
        base.update(DEFAULT_METRIC_CONFIG.get(m, {}))
        if config and m in config:
            base.update(config[m])
        if base["direction"] not in (HIGHER_IS_BETTER, LOWER_IS_BETTER):
            raise ValueError(
                f"metric {m!r}: direction must be {HIGHER_IS_BETTER!r} or {LOWER_IS_BETTER!r}, "
                f"got {base['direction']!r}"
            )
        words = {"above": "higher", "most_above": "highest", "below": "lower", "most_below": "lowest"}
        for key, word in words.items():
            base.setdefault(key, f"{word} {base['label']}")
        base.setdefault("trait", f"{base['label']} {{value}} (population median: {{overall}})")
        out[m] = base
    return out
