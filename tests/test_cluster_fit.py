"""Final fit: canonical labels, shuffle invariance, prediction, saving and assigning."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from sklearn.datasets import make_blobs

from custseg.cluster import ClusterModel, canonical_relabel, evaluate_k, fit_clusters, prepare_features
from custseg.errors import InputError

FEATURES = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]


def blob_table(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    X, _ = make_blobs(n, n_features=4, centers=4, cluster_std=1.5, random_state=seed)
    ids = np.random.default_rng(seed).choice(10**6, size=n, replace=False)
    table = pd.DataFrame(X + 20, columns=FEATURES, index=pd.Index(ids, name="customer_id"))
    table.iloc[5, 2] = np.nan
    return table


def test_canonical_relabel_hand_checked():
    # rows in customer-id order; codes 2, 0, 1 have two rows each, code 3 one row.
    # Ties broken by first row: code 2 (row 0), code 0 (row 2), code 1 (row 3).
    codes = np.array([2, 2, 0, 1, 1, 0, 3])
    labels, old_of_new = canonical_relabel(codes, 4)
    assert labels.tolist() == [1, 1, 2, 3, 3, 2, 4]
    assert old_of_new.tolist() == [2, 0, 1, 3]


@pytest.mark.parametrize("method", ["kmeans", "ward"])
def test_labels_are_one_to_k_largest_first(method):
    prepared = prepare_features(blob_table(), FEATURES)
    model = fit_clusters(prepared, k=4, method=method)
    labels = model.labels
    assert sorted(labels.unique()) == [1, 2, 3, 4]
    sizes = labels.value_counts().sort_index()
    assert list(sizes) == sorted(sizes, reverse=True)
    assert list(model.sizes) == list(sizes)
    for c in range(1, 5):  # centroid c-1 is the mean of cluster c (KMeans: at convergence)
        np.testing.assert_allclose(model.centroids[c - 1], prepared.X[labels.to_numpy() == c].mean(axis=0), atol=1e-6)


@pytest.mark.parametrize("method", ["kmeans", "ward"])
def test_shuffled_rows_give_the_same_clusters_and_labels(method):
    table = blob_table(seed=3)
    shuffled = table.sample(frac=1, random_state=11)
    assert not shuffled.index.equals(table.index)
    a = fit_clusters(prepare_features(table, FEATURES), k=5, method=method)
    b = fit_clusters(prepare_features(shuffled, FEATURES), k=5, method=method)
    pd.testing.assert_series_equal(a.labels.sort_index(), b.labels.sort_index())
    np.testing.assert_array_equal(a.centroids, b.centroids)
    ev_a = evaluate_k(prepare_features(table, FEATURES), range(2, 6), method=method, stability_resamples=2, null_resamples=1)
    ev_b = evaluate_k(prepare_features(shuffled, FEATURES), range(2, 6), method=method, stability_resamples=2, null_resamples=1)
    pd.testing.assert_frame_equal(ev_a.table, ev_b.table)


def test_final_kmeans_fit_taken_from_the_evidence_equals_a_fresh_fit():
    # shuffled rows: the evidence and the final fit both work in customer-id order
    prepared = prepare_features(blob_table(seed=5).sample(frac=1, random_state=2), FEATURES)
    evidence = evaluate_k(prepared, range(2, 7), stability_resamples=2, null_resamples=1)
    fresh = fit_clusters(prepared, k=4)
    reused = fit_clusters(prepared, k=4, evidence=evidence)
    assert evidence.kmeans_fit_for(4, n_rows=len(prepared.X), random_state=42, n_init="auto", max_iter=300) is not None
    pd.testing.assert_series_equal(reused.labels, fresh.labels)
    np.testing.assert_array_equal(reused.centroids, fresh.centroids)
    assert reused.inertia == fresh.inertia
    # another seed, or a k the evidence did not fit, is fitted afresh
    assert evidence.kmeans_fit_for(4, n_rows=len(prepared.X), random_state=7, n_init="auto", max_iter=300) is None
    assert evidence.kmeans_fit_for(9, n_rows=len(prepared.X), random_state=42, n_init="auto", max_iter=300) is None
    other = fit_clusters(prepared, k=4, random_state=7, evidence=evidence)
    pd.testing.assert_series_equal(other.labels, fit_clusters(prepared, k=4, random_state=7).labels)


def test_unsorted_matrix_is_fitted_in_id_order_and_labels_follow_the_input():
    prepared = prepare_features(blob_table(seed=4), FEATURES)
    perm = np.random.default_rng(0).permutation(len(prepared.index))
    direct = fit_clusters(prepared.X, prepared.index, k=4)
    permuted = fit_clusters(prepared.X[perm], prepared.index[perm], k=4)
    assert permuted.labels.index.equals(prepared.index[perm])  # same order as given
    pd.testing.assert_series_equal(direct.labels, permuted.labels.sort_index())


def test_predict_is_the_nearest_centre():
    prepared = prepare_features(blob_table(seed=5), FEATURES)
    for method in ("kmeans", "ward"):
        model = fit_clusters(prepared, k=4, method=method)
        new = np.random.default_rng(1).standard_normal((300, prepared.X.shape[1])) * 2
        expected = cdist(new, model.centroids).argmin(axis=1) + 1
        np.testing.assert_array_equal(model.predict(new), expected)
    kmeans = fit_clusters(prepared, k=4, method="kmeans")
    np.testing.assert_array_equal(kmeans.predict(prepared.X), kmeans.labels.to_numpy())


def test_save_load_assign_round_trip(tmp_path):
    table = blob_table(seed=6)
    prepared = prepare_features(table, FEATURES, transform="log1p")
    model = fit_clusters(prepared, k=4)
    folder = model.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["centroids.npy", "model.json"]
    meta = json.loads((folder / "model.json").read_text())
    assert meta["k"] == 4 and meta["method"] == "kmeans" and meta["features"] == prepared.features

    loaded = ClusterModel.load(folder)
    np.testing.assert_array_equal(loaded.centroids, model.centroids)
    assert loaded.transform == model.transform and loaded.method_label == model.method_label
    assert list(loaded.sizes) == list(model.sizes)

    new_customers = table.sample(frac=1, random_state=2)  # same customers, any order, raw features
    assigned = loaded.assign(new_customers)
    assert assigned.index.equals(new_customers.index)
    known = assigned.dropna().astype(int)
    pd.testing.assert_series_equal(known.sort_index(), model.labels.sort_index(), check_dtype=False)
    assert assigned.isna().sum() == prepared.n_dropped_missing


def test_load_rejects_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(InputError, match="no model.json"):
        ClusterModel.load(tmp_path)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        ClusterModel.load(tmp_path)


def test_ward_over_budget_is_labelled_and_explained():
    prepared = prepare_features(blob_table(n=3000, seed=7), FEATURES)
    model = fit_clusters(prepared, k=4, method="ward", memory_budget=1024**2, n_micro_clusters=300)
    assert model.method_label == "ward (on 300 micro-clusters)"
    assert any("micro-cluster" in note for note in model.notes)
    assert model.labels.value_counts().sum() == len(prepared.index)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"k": 0}, "between 1 and"), ({"k": 3, "method": "dbscan"}, "method"), ({"k": 2.5}, "integer")],
)
def test_bad_parameters(kwargs, message):
    prepared = prepare_features(blob_table(n=200), FEATURES)
    with pytest.raises(InputError, match=message):
        fit_clusters(prepared, **kwargs)


def test_single_threaded_holds_blas_until_the_last_thread_leaves():
    """BLAS's thread limit is process-wide: a thread leaving `single_threaded` must not lift it
    while another thread still fits under it (populations and the dendrogram run side by side)."""
    import threading

    from custseg.cluster.threads import _threadpools, single_threaded

    def blas_threads() -> set[int]:
        return {lib["num_threads"] for lib in _threadpools().info() if lib["user_api"] == "blas"}

    before = blas_threads()
    inside, leave, seen = threading.Event(), threading.Event(), {}

    def other_fit():
        with single_threaded():
            inside.set()
            leave.wait(10)
            seen["other, after the first left"] = blas_threads()

    thread = threading.Thread(target=other_fit)
    with single_threaded():
        thread.start()
        inside.wait(10)
        assert blas_threads() == {1}
    seen["first left"] = blas_threads()
    leave.set()
    thread.join(10)
    assert seen == {"first left": {1}, "other, after the first left": {1}}
    assert blas_threads() == before  # the last one out restores the machine's setting
