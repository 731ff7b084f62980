"""A bounded Spark driver (``--driver-customers``): the report of a uniform sample, the whole
table's headline numbers from the executors, every customer's clusters assigned on the executors.

The expected values come from the DuckDB engine (an independent computation of the same
customer table) and from :meth:`custseg.cluster.ClusterModel.assign` (what ``custseg assign``
does with a saved model).

Shares tests/test_spark.py's local[2] session and generated data.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from custseg.errors import InputError
from tests.test_spark import _fixed_k_config, assert_same_table, generated, requires_spark, spark  # noqa: F401 - fixtures

DRIVER_CUSTOMERS = 1_000


def rounded(value):
    """`value` with every float to 9 significant digits (JSON's types, for comparing summaries)."""
    if isinstance(value, dict):
        return {str(k): rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


def test_nearest_cluster_on_executors_is_the_saved_models_assign():
    """The executors' NumPy-only assignment gives every customer the cluster the model's own
    assign gives: winsorised, log1p and scaled features, missing values left out, ties to the
    lowest cluster."""
    from custseg.cluster import ClusterModel, prepare_features
    from custseg.engines.spark.sample import nearest_cluster

    rng = np.random.default_rng(5)
    frame = pd.DataFrame({
        "customer_id": [f"c{i:04d}" for i in rng.permutation(600)],
        "recency": rng.exponential(200, 600), "monetary": rng.lognormal(4, 1, 600), "frequency": rng.integers(1, 6, 600).astype(float),
    })
    frame.loc[[3, 40, 41], "monetary"] = np.nan
    prepared = prepare_features(frame.set_index("customer_id"), ["recency", "monetary", "frequency"], corr_threshold=None,
                                transform="log1p", winsorize_quantile=0.95)
    centres = prepared.X[rng.choice(prepared.X.shape[0], 4, replace=False)]
    centres[3] = centres[2]  # a tie: the lower cluster wins
    model = ClusterModel(method="kmeans", method_label="kmeans", k=4, centroids=centres, sizes=np.ones(4), inertia=0.0,
                         random_state=0, features=list(prepared.features), transform=prepared.transform)

    expected = model.assign(frame.set_index("customer_id")).dropna()
    batches = [frame.iloc[:250], frame.iloc[250:]]
    got = pd.concat(nearest_cluster(model, "cluster_all")(iter(batches))).set_index("customer_id")["cluster_all"]
    assert len(got) == 597 and set(got) <= {1, 2, 3}
    pd.testing.assert_series_equal(got.sort_index(), expected.astype("int64").sort_index(), check_names=False)


@pytest.fixture(scope="module")
def sampled_run(spark, generated, tmp_path_factory):  # noqa: F811
    """The whole analysis on Spark with a driver that holds about half of the ~1,950 customers,
    beside the DuckDB engine's full customer table."""
    from custseg.api import run
    from custseg.config import load_config
    from custseg.engines.duckdb import DuckDBEngine

    folder = tmp_path_factory.mktemp("sampled")
    config = _fixed_k_config(folder / "fixed_k.toml")
    out, labels = folder / "out", folder / "labels"
    result = run(generated, config=config, out=out, engine="spark", spark=spark, slides=False,
                 labels_to=str(labels), driver_customers=DRIVER_CUSTOMERS)
    with DuckDBEngine() as duck:
        whole = duck.customer_tables(generated, load_config(config))
    return result, out, pd.read_parquet(labels), whole


@requires_spark
def test_sampled_report_says_what_it_describes_and_the_whole_tables_numbers(sampled_run):
    from custseg.summary import customer_summary

    result, out, _, whole = sampled_run
    everyone = whole.customers
    summary = json.loads((out / "summary.json").read_text())
    sample = summary["sample"]
    n = len(result.customers)
    # about DRIVER_CUSTOMERS: a hash below n/N of its range keeps each customer with that chance
    assert sample["of"] == len(everyone) > 1.5 * DRIVER_CUSTOMERS
    assert sample["customers"] == summary["customers"] == n and abs(n - DRIVER_CUSTOMERS) < 120
    # the whole table's headline numbers: the DuckDB engine's summary of every customer
    expected = customer_summary(everyone, whole.excluded_rows)
    assert rounded(sample["all_customers"]) == rounded(expected)  # sums in another order: equal to 1e-9
    # the report's own numbers are the sample's: the DuckDB engine's rows of those customers
    sampled = everyone[everyone["customer_id"].isin(result.customers["customer_id"])]
    assert len(sampled) == n
    assert_same_table(sampled.reset_index(drop=True), result.customers[list(everyone.columns)])  # (and the value columns)
    assert summary["converted_customers"] == customer_summary(sampled)["converted_customers"]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f"This report describes a uniform sample of {n:,} of the {len(everyone):,} customers" in html
    # a sample is not the customer table: no customer files, no audiences beside the report
    assert not (out / "customers.parquet").exists() and not (out / "audiences").exists()
    assert (out / "models" / "all" / "model.json").is_file()


@requires_spark
def test_every_customer_is_assigned_on_the_executors(sampled_run):
    from custseg.pipeline.population import population_mask

    result, _, labelled, whole = sampled_run
    everyone = whole.customers
    assert sorted(labelled["customer_id"]) == sorted(everyone["customer_id"])
    for pop in result.populations:
        column = labelled.set_index("customer_id")[f"cluster_{pop.name}"]
        members = everyone.loc[population_mask(everyone, SimpleNamespace(name=pop.name, filter=pop.filter)), "customer_id"]  # by DuckDB
        complete = everyone.set_index("customer_id").loc[members, list(pop.model.features)].notna().all(axis=1)
        assert sorted(column.dropna().index) == sorted(complete[complete].index), pop.name
        assert set(column.dropna().astype(int)) == set(range(1, pop.k + 1)), pop.name
        names = labelled.set_index("customer_id")[f"cluster_name_{pop.name}"].dropna()
        assert (names == column.loc[names.index].astype(int).map(pop.cluster_names)).all(), pop.name
        if pop.model.method == "kmeans":  # the final labels are the nearest centre: the sample's are the driver's
            mine = pop.assignments.set_index("customer_id")["cluster"]
            assert (column.loc[mine.index].astype(int) == mine).all(), pop.name


@requires_spark
def test_driver_customers_is_refused_where_it_cannot_work(run_cli, generated, tmp_path):  # noqa: F811
    from custseg.api import run

    with pytest.raises(InputError, match="--driver-customers: the report is then of a sample.*--out-labels"):
        run(generated, engine="spark", driver_customers=5_000)
    result = run_cli("run", "--data", generated, "--out", tmp_path / "out", "--driver-customers", "5000", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.strip() == "custseg: error: --driver-customers: the driver's sample is the Spark engine's; add --engine spark"
    assert not (tmp_path / "out").exists()
