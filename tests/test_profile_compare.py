"""Cluster x dimension shares and statistics, checked by hand, against SciPy and against
independent numpy computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.stats.contingency import association

from custseg.profile.compare import adjusted_residuals, bonferroni_z, cramers_v, cross_tab


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Cluster 1: c1 A (twice), c2 A, c3 B; cluster 2: c4 B, c5 B, c6 C, c7 missing."""
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c4", "c5", "c6", "c7"],
            "cluster": [1, 1, 1, 1, 2, 2, 2, 2],
            "pay": ["A", "A", "A", "B", "B", "B", "C", None],
        }
    )


def test_counts_are_distinct_customers_and_shares_by_hand(tiny):
    ct = cross_tab(tiny, "cluster", "pay")
    assert list(ct.counts.columns) == ["B", "A", "C"]  # most customers first
    assert ct.counts.loc[1].tolist() == [1, 2, 0]  # c1's two rows count once
    assert ct.counts.loc[2].tolist() == [2, 0, 1]
    assert ct.n_missing == 1
    assert ct.share_within_cluster.loc[1].tolist() == pytest.approx([1 / 3, 2 / 3, 0])
    assert ct.share_within_value["B"].tolist() == pytest.approx([1 / 3, 2 / 3])
    assert ct.share_within_value["C"].tolist() == [0, 1]
    assert ct.overall_share.tolist() == pytest.approx([3 / 6, 2 / 6, 1 / 6])


def test_missing_label_keeps_customers_without_a_value(tiny):
    ct = cross_tab(tiny, "cluster", "pay", missing_label="(none)")
    assert ct.counts.loc[2, "(none)"] == 1
    assert ct.n_missing == 0


def test_top_n_folds_the_rest_into_other_counting_customers_once():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "e", "f"],
            "cluster": [1, 1, 1, 2, 2, 2, 2],
            "pay": ["X", "X", "Y", "X", "Y", "Z", "W"],
        }
    )
    ct = cross_tab(frame, "cluster", "pay", top_n=1)
    assert list(ct.counts.columns) == ["X", "Other"]
    assert ct.other_values == ["Y", "W", "Z"]  # by customers (Y: 2), then name
    # customer e has both Y and Z but is one customer in "Other"
    assert ct.counts.loc[1].tolist() == [2, 1]
    assert ct.counts.loc[2].tolist() == [1, 2]
    assert ct.share_within_cluster.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert ct.other_label == "Other"


def test_full_strings_are_single_values():
    frame = pd.DataFrame(
        {"customer_id": [1, 2, 3], "cluster": [1, 1, 2], "pay": ["Boleto, Credit Card", "Boleto", "Boleto"]}
    )
    ct = cross_tab(frame, "cluster", "pay")
    assert set(ct.counts.columns) == {"Boleto", "Boleto, Credit Card"}


def random_frame(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, 4, n)
    p = np.array([[0.6, 0.2, 0.1, 0.1], [0.2, 0.5, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25], [0.1, 0.1, 0.3, 0.5]])
    values = np.array([rng.choice(list("PQRS"), p=p[c]) for c in cluster])
    return pd.DataFrame({"customer_id": np.arange(n), "cluster": cluster, "dim": values})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_chi_square_matches_scipy(seed):
    ct = cross_tab(random_frame(seed), "cluster", "dim")
    obs = ct.counts.to_numpy()
    chi2, p, dof, expected = stats.chi2_contingency(obs, correction=False)
    assert ct.chi2 == pytest.approx(chi2)
    assert ct.p_value == pytest.approx(p)
    assert ct.dof == dof == 9
    np.testing.assert_allclose(ct.expected.to_numpy(), expected)
    assert ct.n == obs.sum() == 400


def test_two_by_two_uses_no_yates_correction():
    frame = pd.DataFrame({"customer_id": range(40), "cluster": [1] * 20 + [2] * 20,
                          "dim": ["a"] * 15 + ["b"] * 5 + ["a"] * 6 + ["b"] * 14})
    ct = cross_tab(frame, "cluster", "dim")
    chi2, *_ = stats.chi2_contingency(ct.counts.to_numpy(), correction=False)
    assert ct.chi2 == pytest.approx(chi2)


def independent_adjusted_residuals(obs: np.ndarray) -> np.ndarray:
    """Haberman's formula cell by cell, written out with loops."""
    n = obs.sum()
    out = np.zeros(obs.shape)
    for i in range(obs.shape[0]):
        for j in range(obs.shape[1]):
            ri, cj = obs[i, :].sum(), obs[:, j].sum()
            e = ri * cj / n
            out[i, j] = (obs[i, j] - e) / np.sqrt(e * (1 - ri / n) * (1 - cj / n))
    return out


@pytest.mark.parametrize("seed", [0, 3])
def test_adjusted_residuals_match_an_independent_computation(seed):
    ct = cross_tab(random_frame(seed), "cluster", "dim")
    expected = independent_adjusted_residuals(ct.counts.to_numpy().astype(float))
    np.testing.assert_allclose(ct.residuals.to_numpy(), expected, rtol=1e-12)


def test_adjusted_residuals_reproduce_agresti_textbook_values():
    """Agresti, Introduction to Categorical Data Analysis, party identification by gender:
    X^2 = 30.1, adjusted residuals 4.50, 0.70, -5.32 (females) and their negatives."""
    obs = np.array([[762, 327, 468], [484, 239, 477]])
    _, resid = adjusted_residuals(obs)
    np.testing.assert_allclose(resid.round(2), [[4.50, 0.70, -5.32], [-4.50, -0.70, 5.32]])
    assert stats.chi2_contingency(obs, correction=False)[0] == pytest.approx(30.07, abs=0.01)


@pytest.mark.parametrize("seed", [0, 1])
def test_cramers_v_matches_formula_and_scipy(seed):
    ct = cross_tab(random_frame(seed), "cluster", "dim")
    obs = ct.counts.to_numpy()
    n, (r, c) = obs.sum(), obs.shape
    expected = np.outer(obs.sum(1), obs.sum(0)) / n
    chi2 = ((obs - expected) ** 2 / expected).sum()
    assert ct.cramers_v == pytest.approx(np.sqrt(chi2 / (n * (min(r, c) - 1))))
    assert ct.cramers_v == pytest.approx(association(obs, method="cramer", correction=False))
    # Bergsma (2013) bias correction, written out again
    phi2 = max(0.0, chi2 / n - (r - 1) * (c - 1) / (n - 1))
    rr, cc = r - (r - 1) ** 2 / (n - 1), c - (c - 1) ** 2 / (n - 1)
    assert ct.cramers_v_corrected == pytest.approx(np.sqrt(phi2 / min(rr - 1, cc - 1)))
    assert ct.cramers_v_corrected <= ct.cramers_v


def test_cramers_v_is_one_for_perfect_association_and_nan_when_undefined():
    assert cramers_v(chi2=100.0, n=100, r=2, c=2) == pytest.approx(1.0)
    assert np.isnan(cramers_v(chi2=5.0, n=100, r=1, c=3))


def test_significance_uses_bonferroni_over_cells():
    ct = cross_tab(random_frame(0), "cluster", "dim")
    z = stats.norm.ppf(1 - 0.05 / (2 * 16))
    assert ct.z_critical == pytest.approx(z) == pytest.approx(bonferroni_z(0.05, 16))
    resid = ct.residuals.to_numpy()
    expected_flags = np.where(resid > z, 1, np.where(resid < -z, -1, 0))
    np.testing.assert_array_equal(ct.significance.to_numpy(), expected_flags)
    # the constructed data: cluster 0 prefers P, cluster 3 prefers S
    assert ct.significance.loc[0, "P"] == 1
    assert ct.significance.loc[3, "S"] == 1
    assert ct.significance.loc[3, "P"] == -1
    p_cells = ct.cell_p_values()
    assert ((p_cells.to_numpy() < 0.05) == (ct.significance.to_numpy() != 0)).all()


def test_independent_data_marks_no_cell_and_small_counts_are_flagged():
    frame = pd.DataFrame({"customer_id": range(12), "cluster": [1, 2, 3] * 4, "dim": list("ab") * 6})
    ct = cross_tab(frame, "cluster", "dim")
    assert (ct.significance.to_numpy() == 0).all()
    assert ct.small_expected  # expected counts are 2
    assert ct.min_expected == pytest.approx(2.0)
    assert ct.frac_expected_below_5 == 1.0


def test_a_single_cluster_has_no_test():
    frame = pd.DataFrame({"customer_id": range(4), "cluster": [1] * 4, "dim": list("abab")})
    ct = cross_tab(frame, "cluster", "dim")
    assert np.isnan(ct.chi2) and np.isnan(ct.cramers_v)
    assert (ct.significance.to_numpy() == 0).all()
    assert ct.share_within_cluster.loc[1].tolist() == [0.5, 0.5]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["u", "v", "w", "x", "y"])), min_size=1, max_size=60),
    st.one_of(st.none(), st.integers(1, 4)),
)
def test_shares_always_sum_to_one(pairs, top_n):
    frame = pd.DataFrame({"customer_id": range(len(pairs)), "cluster": [p[0] for p in pairs],
                          "dim": [p[1] for p in pairs]})
    ct = cross_tab(frame, "cluster", "dim", top_n=top_n)
    np.testing.assert_allclose(ct.share_within_cluster.sum(axis=1), 1.0)
    np.testing.assert_allclose(ct.share_within_value.sum(axis=0), 1.0)
    assert ct.counts.to_numpy().sum() == len(pairs)  # one row per customer: nothing lost
    if top_n is not None:
        assert ct.counts.shape[1] <= top_n + 1


@pytest.mark.parametrize("seed", [0, 1])
def test_one_row_per_customer_counts_equal_pandas_crosstab(seed):
    rng = np.random.default_rng(seed)
    n = 2000
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "cluster": rng.integers(1, 5, n),
                          "dim": rng.choice(["a", "b", "c", "d", "e", None], n, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])})
    ct = cross_tab(frame, "cluster", "dim", top_n=3)
    independent = pd.crosstab(frame["cluster"], frame["dim"])  # drops the missing values
    kept = list(ct.counts.columns[:-1])
    assert ct.counts[kept].equals(independent[kept].rename_axis(index="cluster", columns="dim").astype("int64"))
    folded = independent.drop(columns=kept).sum(axis=1)
    assert ct.counts[ct.other_label].tolist() == folded.tolist()
    assert ct.n_missing == int(frame["dim"].isna().sum())


def _same_cross_tab(got, expected) -> None:
    for name in ("counts", "share_within_cluster", "share_within_value", "expected", "residuals", "significance"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name))
    for name in ("chi2", "p_value", "cramers_v", "cramers_v_corrected", "z_critical", "min_expected"):
        assert getattr(got, name) == pytest.approx(getattr(expected, name), nan_ok=True)
    for name in ("dof", "n", "other_values", "other_label", "n_missing", "small_expected"):
        assert getattr(got, name) == getattr(expected, name)


@pytest.mark.parametrize("top_n", [None, 2, 3])
@pytest.mark.parametrize("one_row_each", [True, False])
def test_categorical_dimension_gives_the_plain_text_table(top_n, one_row_each):
    """The customer table's dimensions are pandas categories, with categories no member of a
    population has: the table is the plain-text one (no zero columns, same order, "Other" fits)."""
    rng = np.random.default_rng(3)
    n = 1000
    ids = [f"c{i}" for i in range(n)] if one_row_each else [f"c{i // 2}" for i in range(n)]
    frame = pd.DataFrame({"customer_id": ids, "cluster": rng.integers(1, 5, n),
                          "dim": pd.array(rng.choice(["b", "a", "d", "c", "e", None], n, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05]),
                                          dtype="str")})
    categorical = frame.assign(dim=frame["dim"].astype(pd.CategoricalDtype(["a", "b", "c", "d", "e", "unused", "zz"])))
    _same_cross_tab(cross_tab(categorical, "cluster", "dim", top_n=top_n), cross_tab(frame, "cluster", "dim", top_n=top_n))
    for order in (["c", "a"], None):
        _same_cross_tab(cross_tab(categorical, "cluster", "dim", value_order=order, missing_label="(none)"),
                        cross_tab(frame, "cluster", "dim", value_order=order, missing_label="(none)"))
