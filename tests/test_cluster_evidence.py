"""Evidence table and recommendation: values against independent computations, known k found,
no structure reported as "no clear k"."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score

from custseg.cluster import evaluate_k, find_elbow, recommend_k


def separated_blobs(k: int, n: int = 1500, seed: int = 0) -> np.ndarray:
    """k <= 8 spherical groups with centres at least 10·sqrt(2) standard deviations apart (±10 on
    the axes), standardised."""
    rng = np.random.default_rng(seed)
    centres = 10 * np.vstack([np.eye(4), -np.eye(4)])[:k]
    X = centres[rng.integers(0, k, n)] + rng.standard_normal((n, 4))
    return (X - X.mean(0)) / X.std(0)


def no_structure(kind: str, n: int = 1500, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)) * [3, 1.5, 1, 0.5] if kind == "gaussian" else rng.uniform(size=(n, 4))
    return (X - X.mean(0)) / X.std(0)


def test_elbow_hand_checked():
    # x = 0, .25, .5, .75, 1; y = (I - 22) / 78; gap (1 - x) - y is largest at k = 2: .75 - 18/78
    elbow = find_elbow([1, 2, 3, 4, 5], [100, 40, 30, 25, 22])
    assert elbow.k == 2
    assert elbow.strength == pytest.approx(0.75 - 18 / 78)
    assert find_elbow([1, 2, 3, 4], [40, 30, 20, 10]).k is None  # a straight line has no bend
    assert find_elbow([2, 3], [5, 4]).k is None


def test_table_values_equal_independent_computations():
    X = separated_blobs(3, n=900, seed=1)
    evidence = evaluate_k(X, range(1, 7), stability_resamples=3, null_resamples=1)
    table = evidence.table
    assert list(table.index) == [1, 2, 3, 4, 5, 6]
    assert np.isnan(table.loc[1, "silhouette"]) and np.isnan(table.loc[1, "stability_ari_mean"])
    for k in range(1, 7):
        km = KMeans(n_clusters=k, init="k-means++", random_state=42).fit(X)
        assert table.loc[k, "inertia"] == pytest.approx(km.inertia_, rel=1e-12)
        assert table.loc[k, "smallest_cluster"] == np.bincount(km.labels_).min()
        if k >= 2:
            assert table.loc[k, "silhouette"] == pytest.approx(silhouette_score(X, km.labels_), abs=1e-9)
            assert table.loc[k, "calinski_harabasz"] == pytest.approx(calinski_harabasz_score(X, km.labels_))
            assert table.loc[k, "davies_bouldin"] == pytest.approx(davies_bouldin_score(X, km.labels_))
            assert table.loc[k, "silhouette_method"] == "exact"
    assert evidence.elbow == find_elbow(table.index, table["inertia"])


def test_stability_is_the_documented_bootstrap_procedure():
    X = separated_blobs(3, n=600, seed=2)
    evidence = evaluate_k(X, [2, 4], stability_resamples=3, null_resamples=0)
    rng = np.random.default_rng(42)  # evaluate_k's random_state; resample seeds come first
    seeds = [int(rng.integers(2**31 - 1)) for _ in range(3)]
    for k in (2, 4):
        full = KMeans(n_clusters=k, random_state=42).fit(X)
        reference = cdist(X, full.cluster_centers_, "sqeuclidean").argmin(axis=1)
        scores = []
        for seed in seeds:
            sample = X[np.random.default_rng(seed).integers(0, len(X), size=len(X))]
            centres = KMeans(n_clusters=k, random_state=seed).fit(sample).cluster_centers_
            scores.append(adjusted_rand_score(reference, cdist(X, centres, "sqeuclidean").argmin(axis=1)))
        assert evidence.table.loc[k, "stability_ari_mean"] == pytest.approx(np.mean(scores))
        assert evidence.table.loc[k, "stability_ari_std"] == pytest.approx(np.std(scores, ddof=1))


@pytest.mark.parametrize("method", ["kmeans", "ward"])
@pytest.mark.parametrize("true_k", [3, 4, 6])
def test_known_number_of_clusters_is_found(true_k, method):
    evidence = evaluate_k(separated_blobs(true_k, seed=true_k), range(2, 11), method=method)
    assert evidence.table.loc[true_k, "stability_ari_mean"] > 0.95
    assert evidence.table.loc[true_k, "silhouette"] > evidence.table.loc[true_k, "null_silhouette_upper"]
    recommendation = recommend_k(evidence)
    assert recommendation.k == true_k, recommendation.reason
    assert recommendation.reason.startswith(f"k = {true_k}:")
    assert "stable under resampling" in recommendation.reason


@pytest.mark.parametrize("method", ["kmeans", "ward"])
@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_no_structure_says_no_clear_k(kind, method):
    evidence = evaluate_k(no_structure(kind), range(2, 11), method=method)
    recommendation = recommend_k(evidence)
    assert recommendation.k is None
    assert recommendation.reason.startswith("No clear k")
    # the disagreement table: every criterion and the k it prefers
    assert set(recommendation.votes["criterion"]) == {"silhouette", "calinski_harabasz", "davies_bouldin", "elbow"}
    assert recommendation.votes.set_index("criterion").loc["silhouette", "preferred_k"] == int(
        evidence.table["silhouette"].idxmax()
    )
    assert not recommendation.checks["eligible"].any()


def test_recommendation_needs_stability_and_null_columns():
    evidence = evaluate_k(separated_blobs(3, n=600), range(2, 6), stability_resamples=0, null_resamples=0)
    recommendation = recommend_k(evidence)
    assert recommendation.k is None and "not computed" in recommendation.reason


def test_sampled_silhouette_is_labelled_in_the_table():
    X = separated_blobs(3, n=1200, seed=3)
    evidence = evaluate_k(X, range(2, 5), exact_limit=1000, silhouette_sample_size=400, stability_resamples=2, null_resamples=1)
    table = evidence.table
    assert (table["silhouette_method"] == "sampled").all()
    assert (table["silhouette_ci_low"] <= table["silhouette"]).all()
    assert (table["silhouette"] <= table["silhouette_ci_high"]).all()
    assert any("sampled (400 of 1,200" in note for note in evidence.notes)
    assert "sampled" in evidence.silhouettes[3].label()
    recommendation = recommend_k(evidence)  # judged on the low end of the interval
    assert recommendation.k == 3 and "sampled: 400 of 1,200 customers" in recommendation.reason


def test_ward_evidence_over_budget_uses_micro_clusters():
    X = separated_blobs(4, n=2500, seed=4)
    evidence = evaluate_k(
        X, range(2, 7), method="ward", memory_budget=1024**2, n_micro_clusters=150,
        stability_resamples=2, null_resamples=1,
    )
    assert evidence.method_label == "ward (on 150 micro-clusters)"
    assert evidence.ward_tree is not None and evidence.ward_tree.n_leaves == 150
    assert any("micro-clusters" in note for note in evidence.notes)
    assert int(evidence.table["silhouette"].idxmax()) == 4


def hand_made_evidence(rows: dict[int, tuple]) -> "Evidence":
    """Evidence from a hand-written table: k -> (inertia, silhouette, CH, DB, stability, null upper)."""
    import pandas as pd

    from custseg.cluster import Evidence
    from custseg.cluster.silhouette import SilhouetteResult

    table = pd.DataFrame(
        [
            {
                "k": k, "inertia": i, "silhouette": s, "silhouette_method": "exact", "silhouette_ci_low": np.nan,
                "silhouette_ci_high": np.nan, "calinski_harabasz": ch, "davies_bouldin": db,
                "stability_ari_mean": st, "stability_ari_std": 0.0, "null_silhouette": nu - 0.02,
                "null_silhouette_upper": nu,
            }
            for k, (i, s, ch, db, st, nu) in rows.items()
        ]
    ).set_index("k")
    return Evidence(
        table=table, method="kmeans", method_label="kmeans", n_rows=1000,
        elbow=find_elbow(table.index, table["inertia"]),
        silhouettes={k: SilhouetteResult(r[1], "exact", 1000, 1000) for k, r in rows.items()},
        ward_tree=None, params={"stability_resamples": 10},
    )


def test_recommendation_rule_hand_checked():
    # elbow at k=3 (inertia 100, 40, 30, 25); silhouette and DB prefer 3, CH prefers 4
    agree = hand_made_evidence({
        2: (100, 0.50, 10, 0.9, 0.95, 0.3), 3: (40, 0.70, 20, 0.5, 0.97, 0.3),
        4: (30, 0.60, 30, 0.7, 0.90, 0.3), 5: (25, 0.55, 25, 0.8, 0.90, 0.3),
    })
    assert agree.elbow.k == 3
    rec = recommend_k(agree)
    assert rec.k == 3
    assert "preferred by 3 of 4 criteria (highest silhouette, lowest Davies–Bouldin and elbow" in rec.reason

    unstable = hand_made_evidence({
        2: (100, 0.50, 10, 0.9, 0.95, 0.3), 3: (40, 0.70, 20, 0.5, 0.40, 0.3),
        4: (30, 0.60, 30, 0.7, 0.90, 0.3), 5: (25, 0.55, 25, 0.8, 0.90, 0.3),
    })
    rec = recommend_k(unstable)
    assert rec.k is None
    assert "k = 3 is preferred by highest silhouette, lowest Davies–Bouldin and elbow" in rec.reason
    assert "not stable under resampling (mean adjusted Rand index 0.40 < 0.8)" in rec.reason
    assert rec.checks.loc[3, "n_votes"] == 3 and not rec.checks.loc[3, "eligible"]

    split = hand_made_evidence({
        2: (100, 0.70, 10, 0.5, 0.95, 0.3), 3: (40, 0.60, 30, 0.7, 0.97, 0.3),
        4: (30, 0.55, 20, 0.8, 0.90, 0.3), 5: (25, 0.50, 25, 0.9, 0.90, 0.3),
    })
    rec = recommend_k(split)
    assert rec.k is None and "split between k = 2" in rec.reason and "k = 3" in rec.reason
    assert rec.votes.set_index("criterion")["preferred_k"].to_dict() == {
        "silhouette": 2, "calinski_harabasz": 3, "davies_bouldin": 2, "elbow": 3,
    }

    featureless = hand_made_evidence({k: (100 / k, 0.2, 10, 1.0, 0.9, 0.3) for k in range(2, 6)})
    assert "data without clusters" in recommend_k(featureless).reason


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 200), st.integers(0, 10_000))
def test_adjusted_rand_codes_equals_scikit_learn(k, n, seed):
    from sklearn.metrics import adjusted_rand_score

    from custseg.cluster.criteria import adjusted_rand_codes

    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.7, a, rng.integers(0, k, n))  # mostly agreeing, as in stability
    assert adjusted_rand_codes(a, b, k) == pytest.approx(adjusted_rand_score(a, b), abs=1e-12)


def test_nearest_centroid_matches_brute_force_with_ties():
    from custseg.cluster import nearest_centroid

    rng = np.random.default_rng(3)
    X = rng.integers(-3, 4, size=(500, 3)).astype(float)  # integer grid: many exact ties
    centres = rng.integers(-3, 4, size=(6, 3)).astype(float)
    d2 = ((X[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(nearest_centroid(X, centres), d2.argmin(axis=1))  # argmin: lowest index on ties


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(8, 300), st.integers(0, 10_000), st.booleans())
def test_calinski_davies_equal_scikit_learn(k, n, seed, gaps):
    from custseg.cluster.criteria import calinski_davies

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).round(1)  # rounded: ties and duplicate rows
    labels = rng.integers(0, k, n) * (7 if gaps else 1)  # label values with gaps (absent clusters)
    if len(np.unique(labels)) < 2:
        labels[0], labels[1] = 0, 7 if gaps else 1
    ch, db = calinski_davies(X, labels)
    assert ch == pytest.approx(calinski_harabasz_score(X, labels), rel=1e-9)
    # sklearn measures distances as sqrt(|x|²+|y|²-2x·y), which rounds at ~1e-8 for near points;
    # against an independent computation from coordinate differences (cdist) it is exact
    values = np.unique(labels)
    centres = np.array([X[labels == v].mean(axis=0) for v in values])
    intra = np.array([cdist(X[labels == v], centres[[i]]).mean() for i, v in enumerate(values)])
    gaps = cdist(centres, centres)
    if np.allclose(intra, 0) or np.allclose(gaps, 0):
        expected_db = 0.0
    else:
        gaps[gaps == 0] = np.inf
        expected_db = np.mean(np.max((intra[:, None] + intra[None, :]) / gaps, axis=1))
    assert db == pytest.approx(expected_db, rel=1e-9, abs=1e-12)
    assert db == pytest.approx(davies_bouldin_score(X, labels), rel=1e-6, abs=1e-9)


def test_evidence_silhouette_is_reused_only_for_the_same_partition_measured_the_same_way():
    from custseg.cluster import silhouette_exact

    rng = np.random.default_rng(8)
    X = np.vstack([rng.normal(c, 0.5, size=(120, 2)) for c in (0, 3, 6)])
    ev = evaluate_k(X, range(2, 6), stability_resamples=2, null_resamples=1, exact_limit=10_000,
                    silhouette_sample_size=500, random_state=42)
    codes = ev.partitions[3].astype(np.int64)
    same = dict(exact_limit=10_000, sample_size=500, random_state=42)
    relabelled = (codes + 1) % 3  # the same partition under other names
    got = ev.silhouette_if_same(relabelled, 3, **same)
    assert got is ev.silhouettes[3]
    assert got.value == pytest.approx(silhouette_exact(X, codes), abs=1e-12)  # and it is that partition's value
    moved = codes.copy()
    moved[0] = (moved[0] + 1) % 3  # one customer elsewhere: another partition
    assert ev.silhouette_if_same(moved, 3, **same) is None
    assert ev.silhouette_if_same(codes, 3, exact_limit=100, sample_size=500, random_state=42) is None
    assert ev.silhouette_if_same(codes, 3, exact_limit=10_000, sample_size=500, random_state=7) is None
