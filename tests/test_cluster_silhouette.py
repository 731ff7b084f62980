"""custseg's silhouette against scikit-learn's, on random, duplicated and degenerate data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_samples, silhouette_score

from custseg.cluster.silhouette import (
    SilhouetteResult,
    measure_silhouette,
    measure_silhouettes,
    silhouette_exact,
    silhouette_exact_many,
    silhouette_sampled,
    silhouette_sampled_many,
    silhouette_samples_exact,
)

TOL = 1e-9


def rfm_like(n: int, seed: int) -> np.ndarray:
    """Skewed, partly integer columns with many exact duplicate rows, like scaled RFM data."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.poisson(1.0, n) + 1,  # frequency
            rng.integers(0, 30, n),  # recency bucket
            np.round(rng.lognormal(3, 1, n), -1),  # monetary rounded to tens
            rng.standard_normal(n),
        ]
    ).astype(float)
    X[: n // 3, 3] = 0.0  # a third of the rows lose their continuous column -> duplicates
    return (X - X.mean(0)) / X.std(0)


def test_hand_checked_line():
    # points 0, 1 | 5, 7 on a line. For x=0: a = 1, b = (5+7)/2 = 6, s = 5/6.
    # x=1: a = 1, b = (4+6)/2 = 5, s = 4/5. x=5: a = 2, b = (5+4)/2 = 4.5, s = 2.5/4.5.
    # x=7: a = 2, b = (7+6)/2 = 6.5, s = 4.5/6.5.
    X = np.array([[0.0], [1.0], [5.0], [7.0]])
    labels = np.array([0, 0, 1, 1])
    expected = np.array([5 / 6, 4 / 5, 2.5 / 4.5, 4.5 / 6.5])
    np.testing.assert_allclose(silhouette_samples_exact(X, labels), expected, rtol=0, atol=1e-15)
    assert silhouette_exact(X, labels) == pytest.approx(expected.mean(), abs=1e-15)


def test_singleton_cluster_scores_zero_like_sklearn():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.2], [5.0, 5.0], [5.1, 5.0], [9.0, -3.0]])
    labels = np.array([0, 0, 0, 1, 1, 2])  # cluster 2 is a single point
    ours = silhouette_samples_exact(X, labels)
    assert ours[5] == 0.0
    np.testing.assert_allclose(ours, silhouette_samples(X, labels), atol=TOL)


def test_duplicate_points_and_duplicate_only_cluster():
    base = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0], [4.0, 4.0], [4.0, 4.0], [9.0, 9.0], [9.0, 9.0]])
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])  # clusters 1 and 2 are two copies of one point each
    ours = silhouette_samples_exact(base, labels)
    theirs = silhouette_samples(base, labels)
    np.testing.assert_allclose(ours, theirs, atol=TOL)
    assert silhouette_exact(base, labels) == pytest.approx(silhouette_score(base, labels), abs=TOL)
    # without de-duplication the same numbers come out
    assert silhouette_exact(base, labels, dedupe=False) == pytest.approx(silhouette_score(base, labels), abs=TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [2, 5, 14])
def test_matches_sklearn_on_rfm_like_data(seed, k):
    X = rfm_like(3000, seed)
    labels = KMeans(n_clusters=k, random_state=42, n_init=1).fit_predict(X)
    assert abs(silhouette_exact(X, labels) - silhouette_score(X, labels)) < TOL
    np.testing.assert_allclose(silhouette_samples_exact(X, labels), silhouette_samples(X, labels), atol=TOL)


def test_blocks_threads_and_dedupe_do_not_change_the_value():
    X = rfm_like(1500, 7)
    labels = KMeans(n_clusters=6, random_state=0, n_init=1).fit_predict(X)
    reference = silhouette_score(X, labels)
    for block in (16, 256, 2048):
        for n_jobs in (1, 2, 3):
            for dedupe in (True, False):
                value = silhouette_exact(X, labels, block_size=block, n_jobs=n_jobs, dedupe=dedupe)
                assert abs(value - reference) < TOL, (block, n_jobs, dedupe)


def test_label_values_and_order_do_not_matter():
    X = rfm_like(800, 3)
    labels = KMeans(n_clusters=4, random_state=0, n_init=1).fit_predict(X)
    renamed = np.array(["d", "a", "c", "b"])[labels]
    assert silhouette_exact(X, renamed) == pytest.approx(silhouette_score(X, labels), abs=TOL)
    perm = np.random.default_rng(0).permutation(len(X))
    assert silhouette_exact(X[perm], labels[perm]) == pytest.approx(silhouette_score(X, labels), abs=TOL)


def test_many_labellings_in_one_pass_equal_one_at_a_time():
    X = rfm_like(2000, 4)
    labelings = [KMeans(n_clusters=k, random_state=42, n_init=1).fit_predict(X) for k in range(2, 9)]
    many = silhouette_exact_many(X, labelings)
    assert len(many) == len(labelings)
    for value, labels in zip(many, labelings):
        assert abs(value - silhouette_score(X, labels)) < TOL


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 60),
    d=st.integers(1, 4),
    k=st.integers(2, 6),
    seed=st.integers(0, 2**16),
    grid=st.booleans(),
)
def test_property_equals_sklearn(n, d, k, seed, grid):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if grid:  # coarse grid: many duplicates and exact ties
        X = np.round(X)
    labels = rng.integers(0, min(k, n - 1), n)
    if len(np.unique(labels)) < 2:
        labels[0], labels[1] = 0, 1
    np.testing.assert_allclose(silhouette_samples_exact(X, labels, block_size=8), silhouette_samples(X, labels), atol=TOL)


def test_sampled_estimate_contains_exact_value_and_is_labelled():
    X = rfm_like(4000, 5)
    labels = KMeans(n_clusters=5, random_state=42, n_init=1).fit_predict(X)
    exact = silhouette_score(X, labels)
    result = silhouette_sampled(X, labels, sample_size=1000, random_state=3)
    assert result.method == "sampled" and result.n_evaluated == 1000 and result.n_total == 4000
    lo, hi = result.ci
    assert lo < result.value < hi
    assert lo <= exact <= hi
    # each sampled row's value is its exact silhouette, so the estimate is the mean of those
    rows = np.sort(np.random.default_rng(3).choice(4000, size=1000, replace=False))
    assert result.value == pytest.approx(silhouette_samples(X, labels)[rows].mean(), abs=TOL)
    assert "sampled: 1,000 of 4,000 customers, 95% CI" in result.label()


def test_sampled_covers_exact_value_in_most_draws():
    X = rfm_like(2000, 6)
    labels = KMeans(n_clusters=3, random_state=42, n_init=1).fit_predict(X)
    exact = silhouette_score(X, labels)
    hits = 0
    for seed in range(40):
        lo, hi = silhouette_sampled(X, labels, sample_size=200, random_state=seed).ci
        hits += lo <= exact <= hi
    assert hits >= 34  # nominal 95 %: 38 of 40 expected; 34 allows sampling noise


def test_measure_switches_to_sampled_above_the_limit():
    X = rfm_like(1200, 8)
    labels = KMeans(n_clusters=3, random_state=42, n_init=1).fit_predict(X)
    exact = measure_silhouette(X, labels, exact_limit=5000)
    assert isinstance(exact, SilhouetteResult) and exact.method == "exact" and exact.ci is None
    assert exact.value == pytest.approx(silhouette_score(X, labels), abs=TOL)
    assert exact.label().endswith("(exact)")
    sampled = measure_silhouettes(X, [labels, labels], exact_limit=1000, sample_size=300)
    assert [s.method for s in sampled] == ["sampled", "sampled"]
    # the same sample serves every labelling (sums added in another order: equal to rounding)
    assert sampled[0].value == pytest.approx(sampled[1].value, abs=1e-12)
    assert sampled[0].ci == pytest.approx(sampled[1].ci, abs=1e-12)
    assert sampled[0].n_evaluated == sampled[1].n_evaluated == 300


def test_rejects_bad_input():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="between 2"):
        silhouette_exact(X, np.zeros(5))
    with pytest.raises(ValueError, match="between 2"):
        silhouette_exact(np.arange(3.0)[:, None], [0, 1, 2])
    with pytest.raises(ValueError, match="NaN"):
        silhouette_exact(np.array([[np.nan], [1.0], [2.0]]), [0, 1, 1])
    with pytest.raises(ValueError, match="entries"):
        silhouette_exact(X, [0, 1])


def test_nearly_identical_rows_far_from_the_origin():
    # rows 1e-9 apart, 1000 from the origin: |x|²+|y|²-2x·y (sklearn's formula) rounds to tiny
    # or negative squares; custseg's differences do not, and both silhouettes still agree
    rng = np.random.default_rng(0)
    base = rng.standard_normal((40, 3)) * 1000
    X = np.repeat(base, 5, axis=0) + rng.standard_normal((200, 3)) * 1e-9
    labels = np.repeat(rng.integers(0, 3, 40), 5)
    ours = silhouette_samples_exact(X, labels)
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours, silhouette_samples(X, labels), atol=TOL)
    # and against an independent computation from scipy's (difference-based) distances
    from scipy.spatial.distance import cdist

    D = cdist(X, X)
    independent = []
    for i in range(len(X)):
        own = labels == labels[i]
        a = D[i, own].sum() / (own.sum() - 1)
        b = min(D[i, labels == c].mean() for c in set(labels.tolist()) - {labels[i]})
        independent.append((b - a) / max(a, b))
    np.testing.assert_allclose(ours, independent, atol=1e-12)


def test_several_unrelated_labellings_in_one_pass():
    # labellings that share no structure: their common refinement has many small cells
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(c, 1.0, size=(150, 3)) for c in (0, 4, 8)])
    X = np.vstack([X, X[:40]])  # duplicate rows: weights > 1
    labelings = [rng.integers(0, k, X.shape[0]) for k in (2, 3, 5, 7)]
    labelings.append(KMeans(n_clusters=3, random_state=0, n_init=1).fit_predict(X))
    expected = [silhouette_score(X, lab) for lab in labelings]
    for n_jobs in (1, 2):
        np.testing.assert_allclose(silhouette_exact_many(X, labelings, n_jobs=n_jobs), expected, atol=TOL)
    sampled = silhouette_sampled_many(X, labelings, sample_size=X.shape[0])  # every row: exact value
    np.testing.assert_allclose([r.value for r in sampled], expected, atol=TOL)


def test_identical_rows_are_merged_into_weighted_points():
    from custseg.cluster.silhouette import _compress

    rng = np.random.default_rng(2)
    base = rng.normal(size=(50, 3))
    X = base[rng.integers(0, 50, 1000)]  # 1,000 rows, at most 50 distinct
    labels = (X[:, 0] > 0).astype(int)
    comp = _compress(X, [labels], dedupe=True)
    assert comp.points.shape[0] == len(np.unique(X, axis=0))
    assert comp.weights.sum() == 1000
    np.testing.assert_array_equal(comp.points[comp.inverse], X)  # every row maps to its own point
    assert silhouette_exact(X, labels) == pytest.approx(silhouette_score(X, labels), abs=TOL)


def test_per_cluster_silhouettes_equal_sklearns_samples_grouped():
    """The per-cluster means that the report draws: exact ones equal scikit-learn's
    silhouette_samples averaged per cluster; sampled ones average the sampled customers."""
    from sklearn.metrics import silhouette_samples

    from custseg.cluster.silhouette import measure_silhouette

    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(c, 1.0, size=(n, 3)) for c, n in ((0, 300), (4, 120), (9, 30))])
    labels = np.repeat([3, 7, 11], [300, 120, 30])
    exact = measure_silhouette(X, labels, exact_limit=10_000)
    samples = silhouette_samples(X, labels)
    expected = [samples[labels == c].mean() for c in (3, 7, 11)]
    assert np.allclose(exact.per_cluster, expected, atol=1e-12)
    sampled = measure_silhouette(X, labels, exact_limit=10, sample_size=200, random_state=1)
    assert sampled.method == "sampled" and len(sampled.per_cluster) == 3
    assert np.nanmax(np.abs(np.array(sampled.per_cluster) - expected)) < 0.1
