"""The two reference analyses, redone with plain scikit-learn/scipy and compared with custseg.

A. all converted customers: elbow inertias k = 1..14, KMeans k = 5 labels and silhouette.
B. repeat customers who are RFM Champions: KMeans silhouettes k = 2..14, the Ward dendrogram,
   AgglomerativeClustering(n_clusters=7) labels and silhouette.

The plain pipeline follows the spec literally on the customer table in customer-id order (the
order a ``groupby`` over customer ids produces, and the canonical order custseg fits in).
To add a data set, add one line to ``DATASETS``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import linkage
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from custseg.cluster import evaluate_k, fit_clusters, prepare_features, ward_linkage
from custseg.cluster._reference_data import FEATURES, online_retail_rfm, rfm_champions

TOL = 1e-9


def generated_customer_table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Five blobs mapped to RFM-like ranges (integer frequency and recency), shuffled ids."""
    X, _ = make_blobs(n, n_features=4, centers=5, cluster_std=1.2, random_state=seed)
    ids = np.random.default_rng(seed).choice(10**7, size=n, replace=False)
    return pd.DataFrame(
        {
            "avg_unique_products_cnt": np.abs(X[:, 0]) + 1,
            "recency": np.round(np.abs(X[:, 1]) * 20),
            "frequency": np.round(np.abs(X[:, 2])) + 1,
            "monetary": np.abs(X[:, 3]) * 150 + np.abs(X[:, 2]) * 40,
        },
        index=pd.Index(ids, name="customer_id"),
    )


DATASETS = {
    "online_retail": online_retail_rfm,
    "generated_blobs": generated_customer_table,
    # "olist_generated": lambda: <customer table from custseg.generate>,  # add when ready
}
POPULATIONS = {
    "all_converted": lambda table: table,
    "repeat_champions": rfm_champions,
}


def reference_matrix(table: pd.DataFrame) -> np.ndarray:
    """The spec's preparation, verbatim: upper-triangle filter, dropna, StandardScaler."""
    df = table[FEATURES].sort_index()
    corr = df.corr()
    upper = corr.abs().where(np.triu(np.ones(corr.shape), k=1).astype(bool))
    drop = [c for c in upper.columns if any(upper[c] > 0.6)]
    df = df.drop(columns=drop).dropna()
    return StandardScaler().fit_transform(df)


@pytest.fixture(scope="module", params=list(DATASETS))
def dataset(request):
    return request.param, DATASETS[request.param]()


def population(dataset, name):
    label, table = dataset
    return POPULATIONS[name](table)


def assert_same_partition(reference_labels: np.ndarray, custseg_labels: np.ndarray) -> None:
    """Equal partitions, with the explicit label mapping and the canonical order checked."""
    assert adjusted_rand_score(reference_labels, custseg_labels) == 1.0
    pairs = pd.crosstab(reference_labels, custseg_labels)
    assert ((pairs > 0).sum(axis=1) == 1).all() and ((pairs > 0).sum(axis=0) == 1).all()
    mapping = pairs.idxmax(axis=1)  # reference label -> custseg label, one-to-one
    sizes = pd.Series(reference_labels).value_counts()
    first_row = pd.Series(np.arange(len(reference_labels))).groupby(reference_labels).min()
    expected = sorted(sizes.index, key=lambda c: (-sizes[c], first_row[c]))
    assert [mapping[c] for c in expected] == list(range(1, len(expected) + 1))


def test_reference_a_all_converted_customers(dataset):
    table = population(dataset, "all_converted")
    X = reference_matrix(table)
    prepared = prepare_features(table, FEATURES)
    np.testing.assert_array_equal(prepared.X, X)

    evidence = evaluate_k(prepared, range(1, 15), stability_resamples=0, null_resamples=0)
    inertias = [KMeans(n_clusters=k, init="k-means++", random_state=42).fit(X).inertia_ for k in range(1, 15)]
    np.testing.assert_allclose(evidence.table["inertia"].to_numpy(), inertias, rtol=1e-12)

    reference_labels = KMeans(n_clusters=5, init="k-means++", random_state=42).fit_predict(X)
    model = fit_clusters(prepared, k=5, method="kmeans")
    assert_same_partition(reference_labels, model.labels.to_numpy())
    reference_silhouette = silhouette_score(X, reference_labels)
    assert abs(evidence.table.loc[5, "silhouette"] - reference_silhouette) < TOL
    assert evidence.silhouettes[5].method == "exact"


def test_reference_b_repeat_champions(dataset):
    table = population(dataset, "repeat_champions")
    assert len(table) > 100
    X = reference_matrix(table)
    prepared = prepare_features(table, FEATURES)
    np.testing.assert_array_equal(prepared.X, X)

    evidence = evaluate_k(prepared, range(2, 15), stability_resamples=0, null_resamples=0)
    silhouettes = [silhouette_score(X, KMeans(n_clusters=k, random_state=42).fit_predict(X)) for k in range(2, 15)]
    np.testing.assert_allclose(evidence.table["silhouette"].to_numpy(), silhouettes, rtol=0, atol=TOL)

    tree = ward_linkage(prepared)
    assert tree.exact
    np.testing.assert_array_equal(tree.linkage, linkage(X, "ward"))

    reference_labels = AgglomerativeClustering(n_clusters=7).fit_predict(X)
    model = fit_clusters(prepared, k=7, method="ward")
    assert model.method_label == "ward"
    assert_same_partition(reference_labels, model.labels.to_numpy())
    ward_evidence = evaluate_k(prepared, [7], method="ward", stability_resamples=0, null_resamples=0)
    assert abs(ward_evidence.table.loc[7, "silhouette"] - silhouette_score(X, reference_labels)) < TOL
