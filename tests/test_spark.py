"""The Spark engine against the single-machine (DuckDB) engine, with Spark in local mode.

* the customer table (every column: floats to 1e-9, NULL patterns, strings and dates exact) on
  generated Olist-schema data, on the hand-made tricky Olist fixture and on the bundled Online
  Retail log;
* clusters: Spark MLlib KMeans against scikit-learn on population A (adjusted Rand index);
* the silhouette is custseg's sampled Euclidean one, labelled so;
* bad input is one line, never a Java stack trace;
* without PySpark the engine says how to get it (runs without PySpark too).

One SparkSession (local[2], no UI, 4 shuffle partitions) for the whole test run, and one
generated data set of 2,000 customers. Skipped with the reason when PySpark or a Java runtime
is missing.
"""

from __future__ import annotations

import builtins
import importlib.util
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.errors import InputError
from tests.conftest import ONLINE_RETAIL
from tests.olist_fixture import edit_csv, set_cell

HAVE_PYSPARK = importlib.util.find_spec("pyspark") is not None
HAVE_JAVA = bool(os.environ.get("JAVA_HOME") or shutil.which("java"))
requires_spark = pytest.mark.skipif(
    not (HAVE_PYSPARK and HAVE_JAVA),
    reason="PySpark is not installed (pip install 'custseg[spark]')" if not HAVE_PYSPARK
    else "no Java runtime for Spark (apt-get install openjdk-17-jre-headless, or set JAVA_HOME)",
)
GENERATED_CUSTOMERS = 2000
# DuckDB sums BIGINT into HUGEINT (float64 in pandas), Spark into BIGINT (Int64): same values.
KNOWN_DTYPE_DIFFERENCES = {"reviews_cnt", "total_installments_cnt"}


def assert_same_table(duck: pd.DataFrame, spark: pd.DataFrame, key: str = "customer_id") -> None:
    """Every column equal: floats to 1e-9 (relative, or absolute near 0), NULLs in the same
    places, integers, strings and timestamps exactly."""
    assert list(spark.columns) == list(duck.columns)
    duck = duck.sort_values(key, kind="stable").reset_index(drop=True)
    spark = spark.sort_values(key, kind="stable").reset_index(drop=True)
    assert len(spark) == len(duck)
    for col in duck.columns:
        a, b = duck[col], spark[col]
        if col not in KNOWN_DTYPE_DIFFERENCES:
            assert str(a.dtype) == str(b.dtype), (col, a.dtype, b.dtype)
        assert (a.isna().to_numpy() == b.isna().to_numpy()).all(), f"{col}: NULLs in different rows"
        present = ~a.isna().to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            x = a.to_numpy(dtype="float64", na_value=np.nan)[present]
            y = b.to_numpy(dtype="float64", na_value=np.nan)[present]
            np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9, err_msg=col)
        else:
            x, y = a.to_numpy()[present], b.to_numpy()[present]
            bad = np.flatnonzero(x != y)
            assert bad.size == 0, f"{col}: {bad.size} rows differ, e.g. {x[bad[0]]!r} vs {y[bad[0]]!r}"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def spark():
    from custseg.engines.spark import spark_session

    session = spark_session("local[2]", conf={
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
    })
    yield session
    session.stop()


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Path:
    from custseg.generate.olist import generate_olist

    folder = tmp_path_factory.mktemp("olist-generated")
    generate_olist(GENERATED_CUSTOMERS, 7, folder)
    return folder


def both_engines(spark, path, params: dict | None = None, **kw):
    from custseg.engines.spark import build_customer_table_spark, load_spark
    from custseg.features import FeatureParams
    from custseg.engines.duckdb.features import build_customer_table
    from custseg.engines.duckdb import load

    duck_ds = load(path, **kw)
    duck = build_customer_table(duck_ds, FeatureParams.for_dataset(duck_ds, **(params or {})))
    duck_excluded = duck_ds.con.table("excluded_customers").df()
    ds = load_spark(path, spark=spark, **kw)
    try:
        sp = build_customer_table_spark(ds, FeatureParams.for_dataset(ds, **(params or {})))
        sp_excluded = ds.table("excluded_customers")
        assert ds.excluded == duck_ds.excluded
    finally:
        ds.release()
    return duck, sp, duck_excluded, sp_excluded


# ----------------------------------------------------------------------------- customer table


@requires_spark
def test_customer_table_equals_duckdb_on_generated_olist(spark, generated):
    duck, sp, duck_excluded, sp_excluded = both_engines(spark, generated)
    assert len(duck) > 0.9 * GENERATED_CUSTOMERS
    assert_same_table(duck, sp)
    assert_same_table(duck_excluded, sp_excluded)


@requires_spark
def test_customer_table_equals_duckdb_on_tricky_olist_fixture(spark, tmp_path):
    """The hand-made cases of docs/metrics.md: ties, missing dates, NULL purchase time, imputed dates..."""
    from tests.olist_fixture import write_olist_fixture

    write_olist_fixture(tmp_path)
    duck, sp, duck_excluded, sp_excluded = both_engines(spark, tmp_path)
    assert_same_table(duck, sp)
    assert_same_table(duck_excluded, sp_excluded)


@requires_spark
def test_order_table_equals_duckdb_on_tricky_olist_fixture(spark, tmp_path):
    """The order table is a view on Spark, as in DuckDB (no step of a run reads it, so the run does
    not store it): computed when read after the feature SQL, it equals DuckDB's."""
    from custseg.engines.duckdb import load
    from custseg.engines.duckdb.features import build_order_table, run_feature_sql
    from custseg.engines.spark import build_order_table_spark, load_spark, run_feature_sql_spark
    from custseg.features import FeatureParams
    from tests.olist_fixture import write_olist_fixture

    write_olist_fixture(tmp_path)
    duck_ds = load(tmp_path)
    run_feature_sql(duck_ds, FeatureParams.for_dataset(duck_ds))
    ds = load_spark(tmp_path, spark=spark)
    try:
        run_feature_sql_spark(ds, FeatureParams.for_dataset(ds))
        assert not ds.frames["order_metrics"].storageLevel.useMemory  # registered, not stored
        sp = build_order_table_spark(ds)
    finally:
        ds.release()
    assert_same_table(build_order_table(duck_ds), sp, key="order_id")


@requires_spark
def test_customer_table_equals_duckdb_on_online_retail(spark):
    duck, sp, _, _ = both_engines(spark, ONLINE_RETAIL, preset="online_retail")
    assert len(duck) == 4372
    assert_same_table(duck, sp)


@requires_spark
def test_as_of_customer_table_equals_duckdb(spark, tmp_path):
    """--as-of renders into the same SQL for Spark: the tricky Olist fixture (an undelivered order
    judged against the as-of day, a NULL purchase time) and Online Retail."""
    from tests.olist_fixture import write_olist_fixture

    write_olist_fixture(tmp_path)
    duck, sp, duck_excluded, sp_excluded = both_engines(spark, tmp_path, {"as_of": "2018-02-01"})
    assert duck["last_purchase_ts"].max() <= pd.Timestamp("2018-02-01 23:59:59.999999")
    assert_same_table(duck, sp)
    assert_same_table(duck_excluded, sp_excluded)
    assert duck_excluded["reason"].str.contains("after the as-of date 2018-02-01").any()
    duck, sp, _, _ = both_engines(spark, ONLINE_RETAIL, {"as_of": "2011-06-30"}, preset="online_retail")
    assert 0 < len(duck) < 4372
    assert_same_table(duck, sp)


@requires_spark
def test_as_of_outside_the_data_is_one_line_on_spark(spark, run_cli, tmp_path):
    out = tmp_path / "out"
    result = run_cli("features", "--engine", "spark", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--as-of", "2012-01-01", "--out", out)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"custseg: error: as-of date 2012-01-01 is after the last order of {ONLINE_RETAIL} (2011-12-09); give a date from 2010-12-01 to 2011-12-09"]
    assert not out.exists()


@requires_spark
def test_customer_table_equals_duckdb_on_a_log_with_places_attributes_and_no_products(spark, tmp_path):
    from tests.test_own_log import BASE_MAP, write_log

    path = tmp_path / "shop.csv"
    write_log(path, customers=120)
    duck, sp, _, _ = both_engines(spark, path, mapping=BASE_MAP + ",state=State", dimensions={"segment": "Segment", "channel": "Channel"})
    assert {"segment", "channel", "customer_state", "customer_country"} <= set(duck.columns)
    assert "avg_unique_products_cnt" not in duck.columns
    assert_same_table(duck, sp)


@requires_spark
def test_title_label_in_spark_sql_matches_arrow(spark):
    """The one function re-written in Spark SQL (no Python on the executors) against custseg's own."""
    import pyarrow as pa

    from custseg.engines.duckdb.features import _title_label
    from custseg.dialect import sql_macros

    words = ["são paulo", "mogi-guaçu", "santa bárbara d'oeste", " credit_card ", "3rd street", "ÉCOLE",
             "\tfoo_bar\n", "", "o'neill", "İstanbul", "日本語abc", "A1b2", "voucher__x", "DEBIT_card", None]
    expected = _title_label(pa.array(words, pa.string())).to_pylist()
    frame = spark.createDataFrame([(w,) for w in words], "w string")
    got = [r[0] for r in frame.selectExpr(sql_macros("spark")["title_label"]("w")).collect()]
    assert got == expected


# ----------------------------------------------------------------------------- clusters


@requires_spark
def test_clusters_agree_with_single_machine(spark, generated, record_property, capsys):
    """Population A (the reference analysis' first population, k = 5): Spark MLlib KMeans vs
    scikit-learn, adjusted Rand index >= 0.95 with custseg's seeding; Spark's own k-means||
    seeding is reported (a different local optimum, not a bug)."""
    from sklearn.metrics import adjusted_rand_score

    from custseg.cluster import prepare_features
    from custseg.config import load_config
    from custseg.engines.spark.cluster import SparkClustering
    from custseg.engines.duckdb.features import build_customer_table
    from custseg.pipeline.population import LocalClustering, select_population
    from custseg.engines.duckdb import load

    cfg = load_config(None)
    pop = cfg.populations[0]
    customers = build_customer_table(load(generated))
    members = select_population(customers, pop).set_index("customer_id")
    prep = pop.preparation
    prepared = prepare_features(members, list(pop.features), corr_threshold=prep.corr_threshold, scaler=prep.scaler)
    local = LocalClustering().fit(prepared, pop.k, pop, cfg.cluster)
    aris = {}
    for init in ("k-means++", "k-means||"):
        backend = SparkClustering(spark, init=init)
        try:
            model = backend.fit(prepared, pop.k, pop, cfg.cluster)
            aris[init] = adjusted_rand_score(local.labels.loc[prepared.index], model.labels.loc[prepared.index])
            if init == "k-means++":
                sil = backend.silhouette(prepared, model.labels.loc[prepared.index].to_numpy(), pop, cfg.cluster)
                assert sil.method == "sampled" and sil.ci is not None
                assert "sampled" in sil.label() and "CI" in sil.label()
                assert model.sizes.sum() == len(prepared.index) and list(model.sizes) == sorted(model.sizes, reverse=True)
        finally:
            backend.release()
    record_property("ari_kmeans++", aris["k-means++"])
    record_property("ari_kmeans||", aris["k-means||"])
    with capsys.disabled():
        print(f"\npopulation A ({len(prepared.index):,} customers, k = {pop.k}): adjusted Rand index Spark vs single machine: "
              f"{aris['k-means++']:.4f} (k-means++ seeding), {aris['k-means||']:.4f} (Spark's k-means||)")
    assert aris["k-means++"] >= 0.95


def _fixed_k_config(path: Path) -> Path:
    """The reference populations with k fixed (evidence for that k only: keeps the run short)."""
    from custseg.config import load_config

    lines = []
    for p in load_config(None).populations:
        lines += [
            "[[populations]]", f"name = {json.dumps(p.name)}", f"title = {json.dumps(p.title)}",
            f"filter = {json.dumps(p.filter)}", f"features = {json.dumps(list(p.features))}",
            f"method = {json.dumps(p.method)}", f"k = {p.k}", f"k_min = {p.k}", f"k_max = {p.k}",
            f"random_state = {p.random_state}", "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@requires_spark
def test_run_with_spark_engine_writes_the_report(spark, generated, run_cli, tmp_path):
    """`custseg run --engine spark` end to end: every output file, the same summary and
    customer table as the DuckDB engine, clusters that agree, silhouettes labelled "sampled"."""
    from sklearn.metrics import adjusted_rand_score

    from custseg.api import run
    from custseg.report import summary_data

    config = _fixed_k_config(tmp_path / "fixed_k.toml")
    out = tmp_path / "out"
    result = run_cli("run", "--engine", "spark", "--data", generated, "--config", config, "--out", out, "--no-slides", "--quiet")
    assert result.exit_code == 0, result.stderr
    for name in ("report.html", "customers.csv", "customers.parquet", "clusters.csv", "summary.json", "excluded.csv"):
        assert (out / name).is_file(), name
    assert (out / "models" / "all" / "model.json").is_file()
    assert f"report: {(out / 'report.html').resolve()}" in result.stdout

    duck = run(generated, config=config)  # the single-machine engine, in memory
    summary = json.loads((out / "summary.json").read_text())
    expected = summary_data(duck)
    assert summary["customers"] == len(duck.customers) > 0.9 * GENERATED_CUSTOMERS
    assert {k: v for k, v in summary.items() if k != "populations"} == {k: v for k, v in expected.items() if k != "populations"}
    written = pd.read_parquet(out / "customers.parquet")
    extra = [c for c in written.columns if c not in duck.customers.columns]
    assert sorted(extra) == sorted(f"{c}_{p.name}" for p in duck.populations for c in ("cluster", "cluster_name"))
    assert_same_table(duck.customers, written.drop(columns=extra))

    clusters = pd.read_csv(out / "clusters.csv", dtype={"customer_id": str})
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Spark MLlib" in html and "sampled" in html
    for pop in duck.populations:
        mine, theirs_summary = summary["populations"][pop.name], expected["populations"][pop.name]
        for key in ("title", "customers", "k", "features"):
            assert mine[key] == theirs_summary[key], (pop.name, key)
        assert "sampled" in mine["silhouette_label"]
        assert abs(mine["silhouette"] - theirs_summary["silhouette"]) < 0.02, pop.name
        labels = clusters[clusters.population == pop.name].set_index("customer_id")["cluster"]
        theirs = pop.assignments.set_index("customer_id")["cluster"]
        assert sorted(labels.index) == sorted(theirs.index), pop.name
        assert sorted(labels.unique()) == list(range(1, pop.k + 1))
        ari = adjusted_rand_score(theirs.loc[labels.index], labels)
        assert ari >= 0.95, (pop.name, ari)
    assert "Spark MLlib" in summary["populations"]["all"]["method"]


# ----------------------------------------------------------------------------- bad input


GOOD_LOG = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "536366,71053,LANTERN,2,2010-12-02 09:00:00,3.39,17851,France\n"
    "C536367,71053,LANTERN,-1,2010-12-03 10:00:00,3.39,17851,France\n"
)


@requires_spark
@pytest.mark.parametrize(
    "file, edit, fragments",
    [
        ("olist_orders_dataset.csv", lambda f: pd.concat([f, f.iloc[[2]]]), ("olist_orders_dataset.csv", "rows 3 and", "duplicated key", "order_id=")),
        ("olist_order_payments_dataset.csv", set_cell("payment_value", 1, "12,50"), ("olist_order_payments_dataset.csv", "row 2", "'payment_value'", "not a number")),
        ("olist_orders_dataset.csv", set_cell("order_purchase_timestamp", 4, "2017-02-30 25:00:00"), ("row 5", "'order_purchase_timestamp'", "not a timestamp")),
        ("olist_order_items_dataset.csv", set_cell("order_id", 0, "no-such-order"), ("row 1", "'no-such-order'", "not in olist_orders_dataset.csv")),
        ("olist_orders_dataset.csv", lambda f: f.drop(columns=["order_estimated_delivery_date"]), ("olist_orders_dataset.csv", "'order_estimated_delivery_date'")),
    ],
)
def test_bad_olist_input_is_one_line(spark, run_cli, tmp_path, file, edit, fragments):
    from tests.olist_fixture import write_olist_fixture

    folder = tmp_path / "olist"
    folder.mkdir()
    write_olist_fixture(folder)
    edit_csv(folder / file, edit)
    out = tmp_path / "out"
    result = run_cli("features", "--engine", "spark", "--data", folder, "--out", out)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("custseg: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists()


@requires_spark
@pytest.mark.parametrize(
    "text, fragments",
    [
        (GOOD_LOG + "536365,1,X,1,2010-12-01 08:26:00,1.0,99999,UK\n", ("rows 1-4", "'536365'", "more than one customer")),
        (GOOD_LOG + "536368,1,X,1,2010-12-04 10:00:00,£1,17850,UK\n", ("log.csv, row 4", "'UnitPrice'", "not a number")),
        ("\x00\x01\x02garbage\xff\n\x00,\x00\n", ("log.csv",)),
        (GOOD_LOG + "536372,1,X,1,2010-12-05 10:00:00,1.0,17852,Fran\udce7e\n",  # Latin-1, not UTF-8
         ("log.csv, row 4, column 'Country'", "not UTF-8", "iconv")),
    ],
)
def test_bad_log_is_one_line(spark, run_cli, tmp_path, text, fragments):
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    out = tmp_path / "out"
    result = run_cli("features", "--engine", "spark", "--data", path, "--preset", "online_retail", "--out", out)
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and "at org.apache" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _drop_customer(frame):
    frame["CustomerID"] = ""
    return frame


BOTH_ENGINES_OLIST = [
    ("olist_orders_dataset.csv", set_cell("order_purchase_timestamp", 3, "0201-10-02 10:56:33")),  # date out of range
    ("olist_orders_dataset.csv", set_cell("order_status", 5, "  ")),  # required value missing
    ("olist_products_dataset.csv", set_cell("product_weight_g", 2, "-5")),  # negative size
    ("olist_order_reviews_dataset.csv", set_cell("review_score", 4, "five")),  # not a whole number
    ("olist_customers_dataset.csv", lambda f: f.drop(columns=["customer_unique_id"])),  # missing column
]
BOTH_ENGINES_LOG = [
    GOOD_LOG + "536369,1,X,1,,1.0,17850,UK\n",  # timestamp missing
    GOOD_LOG + "536370,1,X,-2,2010-12-05 10:00:00,1.0,17850,UK\n",  # negative amount, order not cancelled
    GOOD_LOG + "536371,1,X,,2010-12-05 10:00:00,1.0,17850,UK\n",  # amount missing
    GOOD_LOG.replace("17850", "").replace("17851", ""),  # no row has a customer
]


@requires_spark
@pytest.mark.parametrize("case", range(len(BOTH_ENGINES_OLIST) + len(BOTH_ENGINES_LOG) + 1))
def test_bad_input_same_line_as_duckdb(spark, run_cli, tmp_path, case):
    """Both engines share the sources' checks and messages: the same bad input gives the same
    line from `--engine spark` as from the DuckDB engine, exit code 2, nothing written."""
    from tests.olist_fixture import write_olist_fixture

    args = []
    if case < len(BOTH_ENGINES_OLIST):
        data = tmp_path / "olist"
        data.mkdir()
        write_olist_fixture(data)
        file, edit = BOTH_ENGINES_OLIST[case]
        edit_csv(data / file, edit)
    elif case < len(BOTH_ENGINES_OLIST) + len(BOTH_ENGINES_LOG):
        data = tmp_path / "log.csv"
        data.write_text(BOTH_ENGINES_LOG[case - len(BOTH_ENGINES_OLIST)], encoding="utf-8")
        args = ["--preset", "online_retail"]
    else:  # a folder that is neither an Olist folder nor a Parquet log
        data = tmp_path / "empty"
        data.mkdir()
    lines = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"out-{engine}"
        result = run_cli("features", "--engine", engine, "--data", data, *args, "--out", out)
        assert result.exit_code == 2, (engine, result.stderr)
        assert not out.exists()
        lines[engine] = result.stderr.strip().splitlines()
        assert len(lines[engine]) == 1 and lines[engine][0].startswith("custseg: error: "), (engine, result.stderr)
    assert lines["spark"] == lines["duckdb"]


@requires_spark
def test_bad_input_through_run_is_one_line(spark, run_cli, tmp_path):
    """The whole analysis (`custseg run --engine spark`) stops at the first bad value, one line, exit 2."""
    from tests.olist_fixture import write_olist_fixture

    folder = tmp_path / "olist"
    folder.mkdir()
    write_olist_fixture(folder)
    edit_csv(folder / "olist_order_items_dataset.csv", set_cell("price", 2, "-3.50"))
    out = tmp_path / "out"
    result = run_cli("run", "--engine", "spark", "--data", folder, "--out", out, "--no-slides", "--quiet")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == (
        "custseg: error: olist_order_items_dataset.csv, row 3, column 'price': '-3.5000' is negative; "
        "amounts, weights and sizes must be >= 0"
    )
    assert not out.exists()


@requires_spark
def test_other_master_while_a_session_runs_is_one_line(spark, run_cli, tmp_path):
    """Spark runs one SparkContext per process: asking for another master is an error, not a silent local run."""
    out = tmp_path / "out"
    result = run_cli("features", "--engine", "spark", "--spark-master", "spark://nowhere.invalid:7077",
                     "--data", ONLINE_RETAIL, "--preset", "online_retail", "--out", out)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == (
        f"custseg: error: a Spark session on {spark.sparkContext.master} is already running in this process, so custseg "
        "cannot start one on spark://nowhere.invalid:7077; leave out the master to use it, or stop it first (spark.stop())"
    )
    assert not out.exists()


# ----------------------------------------------------------------------------- no PySpark / SQL dialects (no Spark needed)


def test_missing_pyspark_says_how_to_get_it(monkeypatch, run_cli, tmp_path):
    real_import = builtins.__import__

    def no_pyspark(name, *args, **kwargs):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyspark)
    from custseg.engines.spark import PYSPARK_MISSING, require_pyspark

    with pytest.raises(InputError) as err:
        require_pyspark()
    assert str(err.value) == PYSPARK_MISSING
    assert "pip install 'custseg[spark]'" in PYSPARK_MISSING
    from custseg.api import run

    with pytest.raises(InputError, match="needs PySpark"):
        run(ONLINE_RETAIL, preset="online_retail", engine="spark")
    out = tmp_path / "out"
    result = run_cli("run", "--engine", "spark", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--out", out)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"custseg: error: {PYSPARK_MISSING}"
    assert not out.exists()


@requires_spark
@pytest.mark.parametrize("n, accuracy", [(1, 10), (2, 10), (7, 10), (2000, 10), (2001, 10), (2001, 10_000)])
def test_stage_medians_on_spark_equal_duckdbs_median(spark, n, accuracy):
    """01_clean_orders.sql's Spark stage medians (exact: bounded by approximate percentiles, then
    counted) equal DuckDB's median of the same durations, ties and NULLs included; an accuracy
    of 10 puts the bounds at the 10th and 90th percentiles, so that they bound the search."""
    import duckdb

    from custseg.dialect import split_statements
    from custseg.engines.spark.features import created
    from custseg.features import FeatureParams, feature_context, render_feature_sql
    from custseg.sources.dataset import Dataset

    rng = np.random.default_rng(n)
    start = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s")
    def later(base, hours):  # ties: whole hours; some NULL
        ts = base + pd.to_timedelta(rng.integers(0, hours, n), unit="h")
        return ts.where(rng.random(n) > 0.1)
    orders = pd.DataFrame({"purchase_ts": start})
    orders["approved_ts"] = later(orders["purchase_ts"], 3)
    orders["carrier_ts"] = later(orders["approved_ts"], 100)
    orders["delivered_ts"] = later(orders["carrier_ts"], 400)
    ds = Dataset(con=None, kind="olist", source="test", capabilities=frozenset({"delivery"}), purchase_rule="olist")
    context = feature_context(ds, FeatureParams.for_dataset(ds), dialect="spark", columns=lambda t: [])
    context["median_accuracy"] = accuracy
    statement, = [s for s in split_statements(render_feature_sql("01_clean_orders.sql", context)) if "TABLE stage_medians" in s]
    _, _, query = created(statement)
    spark.createDataFrame(orders).createOrReplaceTempView("orders")
    try:
        got = spark.sql(query).toPandas().iloc[0].to_dict()
    finally:
        spark.catalog.dropTempView("orders")
    con = duckdb.connect()
    con.register("orders", orders)
    expected = {f"{stage}_us": con.execute(f"SELECT median(epoch_us({end}) - epoch_us({begin})) FROM orders").fetchone()[0]
                for stage, end, begin in (("approval_to_carrier", "carrier_ts", "approved_ts"),
                                          ("purchase_to_approval", "approved_ts", "purchase_ts"),
                                          ("carrier_to_delivery", "delivered_ts", "carrier_ts"))}
    assert got == expected


@requires_spark
def test_customer_keys_number_the_ids_in_order_range_by_range(spark):
    """On Spark, customer_key is numbered range by range (01_clean_orders.sql), not by one sort of
    all ids in one task: with the ids spread over many ranges the keys are still their ranks in
    id order (byte order, as DuckDB's row_number() gives them), 1..N without gaps."""
    import random

    from custseg.dialect import split_statements
    from custseg.engines.spark.features import created
    from custseg.features import FeatureParams, feature_context, render_feature_sql
    from custseg.sources.dataset import Dataset

    rng = random.Random(3)
    ids = list({"".join(rng.choices("0123456789abcdefABCDEF_-", k=rng.randint(1, 12))) for _ in range(5000)})
    ds = Dataset(con=None, kind="flat", source="test", capabilities=frozenset(), purchase_rule="not_canceled")
    context = feature_context(ds, FeatureParams.for_dataset(ds), dialect="spark", columns=lambda t: [])
    statements = [s for s in split_statements(render_feature_sql("01_clean_orders.sql", context))
                  if "TABLE customer_ranges" in s or "TABLE customer_keys" in s]
    assert len(statements) == 2
    saved = {k: spark.conf.get(k) for k in ("spark.sql.adaptive.enabled", "spark.sql.shuffle.partitions")}
    spark.conf.set("spark.sql.adaptive.enabled", "false")  # keep every range its own partition
    spark.conf.set("spark.sql.shuffle.partitions", "16")
    try:
        spark.createDataFrame([(i,) for i in ids], "customer_id string").createOrReplaceTempView("input_customers")
        for statement in statements:
            _, table, query = created(statement)
            spark.sql(query).localCheckpoint(eager=True).createOrReplaceTempView(table)
        assert spark.table("customer_ranges").rdd.getNumPartitions() == 16
        got = {r.customer_id: r.customer_key for r in spark.table("customer_keys").collect()}
    finally:
        for name in ("input_customers", "customer_ranges", "customer_keys"):
            spark.catalog.dropTempView(name)
        for key, value in saved.items():
            spark.conf.set(key, value)
    expected = {customer_id: rank for rank, customer_id in enumerate(sorted(ids, key=str.encode), start=1)}
    assert got == expected


def test_feature_sql_renders_for_both_dialects():
    """One set of SQL files: the Spark rendering has none of DuckDB's own spellings, and the
    DuckDB rendering is unchanged by the dialect macros (they render DuckDB's own functions)."""
    import re

    from custseg.features import SQL_FILES, FeatureParams, feature_context, render_feature_sql, segments_for
    from custseg.sources.dataset import Dataset

    for kind, caps in (("olist", {"payments", "reviews", "delivery", "weight", "sellers", "geography", "categories", "status", "freight"}),
                       ("flat", {"categories", "country", "cancellations"})):
        ds = Dataset(con=None, kind=kind, source="test", capabilities=frozenset(caps), purchase_rule="olist" if kind == "olist" else "not_canceled")
        params = FeatureParams.for_dataset(ds)
        cols = {"customer_metrics": ["customer_id", "buys_cnt", "total_customer_payment_exact", "canceled_share"],
                "customer_dimensions": ["customer_id", "customer_city"], "customer_segments": ["customer_id", "risk_segment"],
                "customer_rfm": ["customer_id", "rfm_score"]}
        for dialect in ("duckdb", "spark"):
            context = feature_context(ds, params, dialect=dialect, columns=lambda t: cols[t])
            context["segments"] = segments_for(cols["customer_metrics"], params, dialect)
            text = "\n".join(render_feature_sql(name, context) for name in SQL_FILES)
            if dialect == "spark":
                code = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
                for duckdb_only in (r"\bEXCLUDE\b", r"\bREPLACE \(", r"\bSEMI JOIN\b", r"\bANTI JOIN\b", r"//", r"\bepoch_us\(",
                                    r"\bstring_agg\(", r"\barg_max\(", r"\bmake_timestamp\(", r"\bdayname\(", r"\bisodow\(",
                                    r"\bVARCHAR\b", r"\btitle_label\(", r"\bALTER TABLE\b", r"\bENUM\(", r"\bNOT MATERIALIZED\b"):
                    assert not re.search(duckdb_only, code), (kind, duckdb_only)
            else:
                assert "epoch_us(" in text and "string_agg(" in text
