"""Feature preparation: the reference's correlation rule, missing rows, scaling, transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import RobustScaler, StandardScaler

from custseg.cluster.prepare import FeatureTransform, prepare_features
from custseg.errors import InputError

FEATURES = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]


def customer_table(n: int = 500, seed: int = 0) -> pd.DataFrame:
    """Monetary strongly tied to frequency (|r| > 0.6), the others independent; a few gaps."""
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(2, n) + 1.0
    table = pd.DataFrame(
        {
            "avg_unique_products_cnt": rng.lognormal(2, 0.5, n),
            "recency": rng.integers(0, 365, n).astype(float),
            "frequency": frequency,
            "monetary": frequency * 100 + rng.normal(0, 30, n),
        },
        index=pd.Index(rng.permutation(np.arange(10_000, 10_000 + n)), name="customer_id"),
    )
    table.iloc[[3, 50, 51], 0] = np.nan
    table.iloc[7, 1] = np.nan
    table.iloc[9, 3] = np.nan  # only in the dropped feature: the row stays
    return table


def reference_drops(frame: pd.DataFrame, threshold: float = 0.6) -> list[str]:
    """The snippet from the spec, verbatim."""
    corr = frame.corr()
    upper = corr.abs().where(np.triu(np.ones(corr.shape), k=1).astype(bool))
    return [c for c in upper.columns if any(upper[c] > threshold)]


def test_correlation_rule_matches_the_reference_and_explains_itself():
    table = customer_table()
    prepared = prepare_features(table, FEATURES)
    expected_drop = reference_drops(table[FEATURES])
    assert expected_drop == ["monetary"]
    assert [d.name for d in prepared.dropped_features] == expected_drop
    dropped = prepared.dropped_features[0]
    r = table[FEATURES].corr().loc["frequency", "monetary"]
    assert dropped.correlated_with == "frequency"
    assert dropped.correlation == pytest.approx(r)
    assert f"{abs(r):.2f}" in dropped.reason and "'frequency'" in dropped.reason and "0.6" in dropped.reason
    assert prepared.features == ["avg_unique_products_cnt", "recency", "frequency"]


def test_reference_rule_drops_a_feature_even_if_its_partner_was_dropped():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(300)
    frame = pd.DataFrame({"a": a, "b": a + 0.3 * rng.standard_normal(300), "c": a + 0.3 * rng.standard_normal(300)})
    prepared = prepare_features(frame, ["a", "b", "c"])
    assert [d.name for d in prepared.dropped_features] == reference_drops(frame) == ["b", "c"]


def test_missing_rows_counted_and_matrix_is_the_reference_scaling():
    table = customer_table()
    prepared = prepare_features(table, FEATURES)
    # the reference: drop correlated columns, drop rows with gaps, StandardScaler, in id order
    kept = table[FEATURES].drop(columns=reference_drops(table[FEATURES])).dropna().sort_index()
    assert prepared.n_dropped_missing == len(table) - len(kept) == 4
    assert prepared.n_rows_input == len(table)
    assert set(prepared.missing_index) == set(table.index) - set(kept.index)
    assert prepared.index.equals(kept.index)
    assert np.array_equal(prepared.X, StandardScaler().fit_transform(kept.to_numpy()))
    assert "4 of 500 customers dropped for missing values." in prepared.summary_lines()


def test_rows_come_out_in_customer_id_order_whatever_the_input_order():
    table = customer_table()
    a = prepare_features(table, FEATURES)
    b = prepare_features(table.sample(frac=1, random_state=5), FEATURES)
    assert a.index.is_monotonic_increasing
    assert a.index.equals(b.index)
    assert np.array_equal(a.X, b.X)


def test_text_ids_in_order_get_no_hash_table():
    """At 10M customers a hash table of the text ids (pandas' index engine) held ~0.8 GB of Python
    strings for the whole clustering: preparing the features of the customer table (ids in
    order), with missing rows, leaves the ids unhashed."""
    table = customer_table().sort_index()
    expected = prepare_features(table, FEATURES)
    table.index = pd.Index(pd.array([f"{i:032x}" for i in table.index], dtype="str"), name="customer_id")
    prepared = prepare_features(table, FEATURES)
    assert len(prepared.missing_index) == len(expected.missing_index) > 0
    assert np.array_equal(prepared.X, expected.X)
    assert "_engine" not in table.index._cache and "_engine" not in prepared.index._cache


def test_robust_scaler_log1p_and_winsorising():
    table = customer_table().dropna()
    prepared = prepare_features(
        table, FEATURES, corr_threshold=None, transform="log1p", scaler="robust", winsorize_quantile=0.95
    )
    raw = table[FEATURES].sort_index()
    clipped = raw.clip(lower=raw.quantile(0.05), upper=raw.quantile(0.95), axis=1)
    expected = RobustScaler().fit_transform(np.log1p(clipped.to_numpy()))
    np.testing.assert_allclose(prepared.X, expected, rtol=0, atol=1e-12)
    assert prepared.transform.scaler == "robust"
    # skewness before (raw) and after (clustered values), pandas' estimator
    pd.testing.assert_series_equal(prepared.skewness["before"], raw.skew(), check_names=False)
    np.testing.assert_allclose(prepared.skewness["after"], pd.DataFrame(expected).skew().to_numpy())
    assert prepared.skewness.loc["monetary", "after"] != prepared.skewness.loc["monetary", "before"]


def test_correlation_is_measured_on_the_transformed_features():
    rng = np.random.default_rng(2)
    x = rng.lognormal(0, 2, 2000)
    frame = pd.DataFrame({"x": x, "y": x * rng.lognormal(0, 0.2, 2000)})
    raw_r = frame.corr().loc["x", "y"]
    log_r = np.log1p(frame).corr().loc["x", "y"]
    threshold = (raw_r + log_r) / 2
    assert min(raw_r, log_r) < threshold < max(raw_r, log_r)
    kept_raw = prepare_features(frame, ["x", "y"], corr_threshold=threshold).features
    kept_log = prepare_features(frame, ["x", "y"], corr_threshold=threshold, transform="log1p").features
    assert (kept_raw == ["x"]) == (raw_r > threshold)
    assert (kept_log == ["x"]) == (log_r > threshold)


def test_constant_feature_is_dropped_with_reason():
    table = customer_table().assign(country_count=1.0)
    prepared = prepare_features(table, FEATURES + ["country_count"])
    constant = [d for d in prepared.dropped_features if d.name == "country_count"]
    assert constant and "same value" in constant[0].reason
    assert "country_count" not in prepared.features


def test_transform_applies_to_new_customers_and_survives_json():
    table = customer_table()
    prepared = prepare_features(table, FEATURES, transform="log1p", winsorize_quantile=0.9)
    restored = FeatureTransform.from_dict(prepared.transform.to_dict())
    assert restored == prepared.transform
    X_new, kept, missing = restored.transform_frame(table.sample(frac=1, random_state=1))
    assert kept.equals(prepared.index)
    np.testing.assert_allclose(X_new, prepared.X, rtol=0, atol=1e-12)
    assert set(missing) == set(prepared.missing_index)


@pytest.mark.parametrize(
    "mutate, kwargs, message",
    [
        (lambda t: t, {"features": ["nope"]}, "no column 'nope'"),
        (lambda t: t.assign(recency=t["recency"].astype(str)), {}, "not numeric"),
        (lambda t: pd.concat([t, t.iloc[:1]]), {}, "more than once"),
        (lambda t: t.assign(monetary=-5.0), {"transform": "log1p", "corr_threshold": None}, "log1p"),
        (lambda t: t, {"scaler": "minmax"}, "scaler"),
        (lambda t: t, {"winsorize_quantile": 0.3}, "winsorize"),
        (lambda t: t.iloc[:1], {}, "cannot cluster"),
    ],
)
def test_bad_input_gets_a_one_line_message(mutate, kwargs, message):
    features = kwargs.pop("features", FEATURES)
    with pytest.raises(InputError, match=message):
        prepare_features(mutate(customer_table()), features, **kwargs)
