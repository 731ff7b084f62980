"""Profile stage: pure functions from customer frames to tables, Plotly figures, statistics
and written observations (no file I/O; the report stage writes files).

* :mod:`.tables` — the profile table (share + per-metric aggregate, column order, shading)
  and the polar normalisation;
* :mod:`.compare` — cluster x dimension cross tables with chi-square, Cramér's V and
  adjusted standardised residuals;
* :mod:`.charts`, :mod:`.rfm_charts`, :mod:`.evidence_charts` — Plotly builders for every view (profile, polar, comparisons, RFM,
  clustering evidence);
* :mod:`.observations` — the profile and polar findings; comparisons, RFM and evidence views
  in :mod:`.compare_notes`, :mod:`.rfm_notes`, :mod:`.evidence_notes`;
* :mod:`.findings` — which observations a view shows (at most five, ranked) and which
  comparisons hold by construction; :mod:`.statistics` the tests, :mod:`.wording` the words;
* :mod:`.names` — cluster names and traits that cannot contradict the data (words: ``name_words.toml``);
* :mod:`.overview` — the summary: per cluster size, revenue, medians, traits, a suggested action
  (``actions.toml``), and headline findings; :mod:`.caveats` where the data undermines a number;
* :mod:`.labels` / :mod:`.colors` — readable names, metric directions, fixed colours.
"""

from custseg.profile.charts import cat_compare, profile_table_figure, segment_polar
from custseg.profile.evidence_charts import (
    POORLY_SEPARATED,
    cluster_silhouette_chart,
    dendrogram_chart,
    elbow_chart,
    silhouette_chart,
    stability_chart,
    validity_indices_chart,
)
from custseg.profile.rfm_charts import (
    rfm_fm_by_r,
    rfm_histograms,
    rfm_rf_heatmap,
    rfm_score_heatmaps,
    rfm_segment_bar,
    rfm_segment_treemap,
)
from custseg.profile.colors import cluster_color, cluster_colors, value_colors
from custseg.profile.compare import CrossTab, adjusted_residuals, cramers_v, cross_tab
from custseg.profile.evidence import dendrogram_cut, elbow_k
from custseg.profile.labels import DEFAULT_METRIC_CONFIG, LABELS, cluster_label, label, metric_config
from custseg.profile.observations import (
    Observation,
    compare_observations,
    evidence_observations,
    metric_standouts,
    polar_observations,
    profile_observations,
    rfm_observations,
)
from custseg.profile.names import cluster_traits, name_clusters
from custseg.profile.tables import (
    SHARE_ROW,
    StyledProfile,
    column_order,
    order_scores,
    overall_values,
    polar_values,
    profile_table,
    style_profile,
)

__all__ = [
    "DEFAULT_METRIC_CONFIG", "LABELS", "POORLY_SEPARATED", "SHARE_ROW", "CrossTab", "Observation", "StyledProfile",
    "adjusted_residuals", "cat_compare", "cluster_color", "cluster_colors", "cluster_label", "cluster_silhouette_chart",
    "cluster_traits",
    "column_order", "compare_observations", "cramers_v", "cross_tab", "dendrogram_chart",
    "dendrogram_cut", "elbow_chart", "elbow_k", "evidence_observations", "label",
    "metric_config", "metric_standouts", "name_clusters", "order_scores", "overall_values",
    "polar_observations", "polar_values", "profile_observations", "profile_table",
    "profile_table_figure", "rfm_fm_by_r", "rfm_histograms", "rfm_observations",
    "rfm_rf_heatmap", "rfm_score_heatmaps", "rfm_segment_bar", "rfm_segment_treemap",
    "segment_polar", "silhouette_chart", "stability_chart", "style_profile", "value_colors",
    "validity_indices_chart",
]
