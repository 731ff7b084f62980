"""Ward: weighted NN-chain against scipy, cuts against scikit-learn, the memory-budget switch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import dendrogram, is_valid_linkage, linkage
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from custseg.cluster.ward import cut_linkage, exact_ward_bytes, ward_tree, weighted_ward_linkage


def test_unit_weights_give_scipys_ward_linkage():
    X = np.random.default_rng(0).standard_normal((400, 4))
    ours = weighted_ward_linkage(X, np.ones(len(X)))
    theirs = linkage(X, method="ward")
    assert is_valid_linkage(ours)
    np.testing.assert_array_equal(ours[:, [0, 1, 3]], theirs[:, [0, 1, 3]])
    np.testing.assert_allclose(ours[:, 2], theirs[:, 2], rtol=1e-12)


def test_hand_checked_weighted_merge_height():
    # a weight-3 point at 0 and a weight-1 point at 4: Δ = 3·1/4 · 16 = 12, scipy height sqrt(2Δ)
    Z = weighted_ward_linkage(np.array([[0.0], [4.0]]), np.array([3.0, 1.0]))
    assert Z[0, 2] == pytest.approx(np.sqrt(24.0))
    # the same as scipy on the expanded points (three copies at 0 merge first at height 0)
    full = linkage(np.array([[0.0], [0.0], [0.0], [4.0]]), method="ward")
    assert full[-1, 2] == pytest.approx(np.sqrt(24.0))


def test_weights_equal_duplicated_rows():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((250, 3))
    copies = rng.integers(1, 6, len(points))
    expanded = np.repeat(points, copies, axis=0)
    expanded_perm = rng.permutation(len(expanded))
    expanded = expanded[expanded_perm]
    atom_of_row = np.repeat(np.arange(len(points)), copies)[expanded_perm]
    Z_weighted = weighted_ward_linkage(points, copies.astype(float))
    Z_full = linkage(expanded, method="ward")
    positive = Z_full[:, 2] > 0
    np.testing.assert_allclose(np.sort(Z_full[positive, 2]), np.sort(Z_weighted[:, 2]), rtol=1e-12)
    for k in (2, 3, 7, 20):
        sklearn_labels = AgglomerativeClustering(n_clusters=k).fit_predict(expanded)
        ours = cut_linkage(Z_weighted, k)[atom_of_row]
        assert adjusted_rand_score(sklearn_labels, ours) == 1.0


@pytest.mark.parametrize("k", [1, 2, 5, 7, 30])
def test_cut_equals_agglomerative_clustering(k):
    X = np.random.default_rng(2).standard_normal((300, 4))
    ours = cut_linkage(linkage(X, "ward"), k)
    theirs = AgglomerativeClustering(n_clusters=k).fit_predict(X)
    assert adjusted_rand_score(theirs, ours) == 1.0
    assert sorted(np.unique(ours)) == list(range(k))
    first_seen = [int(np.flatnonzero(ours == c)[0]) for c in range(k)]
    assert first_seen == sorted(first_seen)  # numbered by smallest row


def test_exact_path_within_budget_is_scipy():
    X = np.random.default_rng(3).standard_normal((500, 4))
    tree = ward_tree(X, memory_budget=exact_ward_bytes(500))
    assert tree.exact and tree.method_label == "ward" and not tree.notes
    np.testing.assert_array_equal(tree.linkage, linkage(X, "ward"))
    assert adjusted_rand_score(tree.cut(7), AgglomerativeClustering(n_clusters=7).fit_predict(X)) == 1.0


def test_over_budget_with_few_distinct_rows_is_still_exact():
    rng = np.random.default_rng(4)
    points = rng.standard_normal((120, 3))
    X = points[rng.integers(0, 120, 2000)]
    tree = ward_tree(X, memory_budget=exact_ward_bytes(2000) - 1, n_micro_clusters=500)
    assert tree.exact and tree.n_leaves == len(np.unique(X, axis=0))
    assert "distinct rows" in tree.method_label and "budget" in tree.notes[0]
    for k in (3, 6):
        reference = AgglomerativeClustering(n_clusters=k).fit_predict(X)
        assert adjusted_rand_score(reference, tree.cut(k)) == 1.0


def test_over_budget_runs_on_labelled_micro_clusters():
    rng = np.random.default_rng(5)
    centres = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=float)
    truth = rng.integers(0, 4, 6000)
    X = centres[truth] + rng.standard_normal((6000, 3))
    tree = ward_tree(X, memory_budget=10 * 1024**2, n_micro_clusters=200, random_state=0)
    assert not tree.exact
    assert tree.method_label == "ward (on 200 micro-clusters)"
    assert "micro-cluster" in tree.notes[0] and "GB" in tree.notes[0]
    assert tree.n_leaves == 200 and tree.leaf_weights.sum() == 6000
    # atoms are the member means of their rows
    np.testing.assert_allclose(tree.leaf_centers[7], X[tree.leaf_of_row == 7].mean(axis=0))
    # well-separated groups are recovered through the micro-clusters
    assert adjusted_rand_score(truth, tree.cut(4)) == 1.0
    dendrogram(tree.linkage, no_plot=True, truncate_mode="lastp", p=20)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 300), st.integers(1, 4), st.integers(0, 10_000))
def test_distinct_rows_equal_numpy_unique(n, d, seed):
    from custseg.cluster.ward import distinct_rows

    X = np.random.default_rng(seed).integers(-2, 3, size=(n, d)).astype(float)  # many duplicates
    uniq, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    got = distinct_rows(X)
    np.testing.assert_array_equal(got[0], uniq)
    np.testing.assert_array_equal(got[1], inverse.reshape(-1))
    np.testing.assert_array_equal(got[2], counts)


def test_micro_clusters_placed_on_a_sample_hold_every_row():
    """fit_rows places the atoms on a random sample; every row still joins its nearest atom,
    and weights and centres are over all rows (so Ward's cost on the atoms stays exact)."""
    from custseg.cluster.ward import micro_clusters

    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(c, 0.5, size=(4000, 3)) for c in (0.0, 4.0, 9.0)])
    centers, weights, atom, exact, placed_on = micro_clusters(X, 50, random_state=1, fit_rows=1500)
    assert not exact and len(centers) <= 50 and placed_on == 1500
    assert weights.sum() == len(X) and np.array_equal(np.bincount(atom, minlength=len(centers)), weights)
    for j in range(len(centers)):
        assert np.allclose(X[atom == j].mean(axis=0), centers[j])
    again = micro_clusters(X, 50, random_state=1, fit_rows=1500)
    assert np.array_equal(again[2], atom)  # seeded: the same atoms every time
    # fitted on every row instead, the atoms differ, but the three well-separated groups are the
    # same three splits at the top of the tree
    full = ward_tree(X, memory_budget=0, n_micro_clusters=50, random_state=1)
    sampled = ward_tree(X, memory_budget=0, n_micro_clusters=50, random_state=1, fit_rows=1500)
    assert np.array_equal(np.sort(np.bincount(full.cut(3))), np.sort(np.bincount(sampled.cut(3))))
    assert "1,500 customers drawn at random" in sampled.notes[0]
