"""cluster stage: from a customer feature table to segments, with the evidence for k.

* :func:`prepare_features` — correlation filter, missing rows, optional winsorising/log1p,
  standard or robust scaling; rows in customer-id order (the key to shuffle invariance).
* :func:`evaluate_k` / :func:`recommend_k` — per-k inertia (with elbow), exact or sampled
  silhouette, Calinski–Harabasz, Davies–Bouldin, bootstrap stability and a no-structure
  reference; a recommended k with its reason, or "no clear k" with who prefers what.
* :func:`fit_clusters` — KMeans (k-means++) or Ward, canonical labels 1..k (largest first),
  :class:`ClusterModel` with ``predict``/``assign``, ``save``/``load`` (JSON + .npy).
* :func:`silhouette_exact` and friends — scikit-learn's silhouette, same value, much faster.
* :func:`ward_linkage` — the Ward tree for the dendrogram, within a memory budget.
"""

from .evidence import Evidence, evaluate_k, ward_linkage
from .fit import ClusterModel, canonical_relabel, fit_clusters, nearest_centroid
from .recommend import Elbow, Recommendation, find_elbow, recommend_k
from .prepare import DroppedFeature, FeatureTransform, PreparedData, prepare_features
from .silhouette import (
    SilhouetteResult,
    measure_silhouette,
    silhouette_exact,
    silhouette_exact_many,
    measure_silhouettes,
    silhouette_sampled,
    silhouette_sampled_many,
    silhouette_samples_exact,
)
from .ward import WardTree, cut_linkage, ward_tree, weighted_ward_linkage

__all__ = [
    "ClusterModel",
    "DroppedFeature",
    "Elbow",
    "Evidence",
    "FeatureTransform",
    "PreparedData",
    "Recommendation",
    "SilhouetteResult",
    "WardTree",
    "canonical_relabel",
    "cut_linkage",
    "evaluate_k",
    "find_elbow",
    "fit_clusters",
    "nearest_centroid",
    "prepare_features",
    "recommend_k",
    "measure_silhouette",
    "silhouette_exact",
    "silhouette_exact_many",
    "measure_silhouettes",
    "silhouette_sampled",
    "silhouette_sampled_many",
    "silhouette_samples_exact",
    "ward_linkage",
    "ward_tree",
    "weighted_ward_linkage",
]
