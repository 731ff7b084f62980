"""`custseg run --engine spark` on a real Spark standalone cluster, not local mode.

The test starts a master and one worker on 127.0.0.1 with the PySpark install's own
``bin/spark-class`` (``org.apache.spark.deploy.master.Master`` / ``...worker.Worker``), runs custseg
against ``spark://127.0.0.1:PORT`` in a fresh process (one SparkContext per process), and stops
both at the end. Checked: the application ran on the cluster (the master lists it), the customer
table equals the DuckDB engine's (every column), the labelled customer table written by the
executors holds the report's clusters, the intermediate tables went to the configured checkpoint
directory, and custseg's progress has stage timings and none of Spark's noise. A second run bounds
the driver (``--driver-customers``): the worker's executors assign every customer in a pandas UDF.
About 60-110 s for the first run on the shared 2-core machine (62 s at load 4, 110 s at load 10;
JVM start-ups ~30 s of it), about 70 s for the second.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.test_spark import assert_same_table, requires_spark

CUSTOMERS = 400


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    """A Spark standalone master and one worker (2 cores, 1 GB) on 127.0.0.1; stopped after."""
    from custseg.engines.spark.standalone import StandaloneCluster

    with StandaloneCluster(tmp_path_factory.mktemp("standalone"), cores=2, memory="1g") as cluster:
        yield cluster


def one_population(folder: Path) -> Path:
    """A config with one population and k fixed: a short run."""
    config = folder / "one_population.toml"
    config.write_text('[[populations]]\nname = "all"\ntitle = "All Customers"\nfilter = "buys_cnt IS NOT NULL"\n'
                      'features = ["recency", "frequency", "monetary"]\nmethod = "kmeans"\n'
                      'k = 4\nk_min = 4\nk_max = 4\nrandom_state = 42\n', encoding="utf-8")
    return config


def submit(master: str, *args, conf: str = "") -> subprocess.CompletedProcess:
    """``custseg run --engine spark --no-slides ARGS`` against `master`, in a fresh process (one
    SparkContext per process) with this checkout's custseg and a small driver and executor."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1] / "src"), os.environ.get("PYTHONPATH", "")]),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_SUBMIT_ARGS": f"--driver-memory 1g --executor-memory 768m {conf} "
                               "--conf spark.sql.shuffle.partitions=4 --conf spark.ui.enabled=false pyspark-shell",
    }
    env.pop("CUSTSEG_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "custseg.engines.spark.submit", "run", "--engine", "spark", "--spark-master", master,
                           "--no-slides", *map(str, args)], env=env, capture_output=True, text=True, timeout=600)


@requires_spark
def test_run_on_a_standalone_cluster(standalone, tmp_path):
    from custseg.config import load_config
    from custseg.engines.duckdb import DuckDBEngine
    from tests.test_own_log import BASE_MAP, write_log

    master = standalone.url
    data = tmp_path / "shop.csv"  # a flat log: fewer tables to read than an Olist folder (a short test)
    write_log(data, customers=CUSTOMERS)
    config = one_population(tmp_path)
    out, labels, checkpoints = tmp_path / "out", tmp_path / "lake" / "segments", tmp_path / "checkpoints"
    result = submit(master, "--data", data, "--map", BASE_MAP, "--config", config, "--out", out, "--out-labels", f"file://{labels}",
                    conf=f"--conf spark.checkpoint.dir=file://{checkpoints}")
    assert result.returncode == 0, result.stderr[-3000:]

    ran = [a for a in standalone.applications() if a.get("name") == "custseg"]
    assert ran, standalone.state()  # the run was the cluster's application, not a local Spark

    written = pd.read_parquet(out / "customers.parquet")
    clusters = [c for c in written.columns if c.startswith("cluster")]
    with DuckDBEngine() as engine:
        duck = engine.customer_tables(data, load_config(config), mapping=BASE_MAP).customers
    assert_same_table(duck, written[list(duck.columns)])

    lake = pd.read_parquet(labels).sort_values("customer_id").reset_index(drop=True)
    assert len(lake) == len(written) > 0.9 * CUSTOMERS
    ordered = written.sort_values("customer_id").reset_index(drop=True)
    assert list(lake["customer_id"]) == list(ordered["customer_id"])
    for col in clusters:
        kind = "Int64" if col.startswith("cluster_all") and "name" not in col else "string"
        assert lake[col].astype(kind).equals(ordered[col].astype(kind)), col
    assert lake["cluster_all"].notna().sum() > 0.9 * CUSTOMERS
    assert any(checkpoints.rglob("*")), "no reliable checkpoint was written"

    lines = result.stderr.splitlines()
    assert any(f"spark: {master}" in line for line in lines), result.stderr
    assert re.search(r"spark: customer_rfm in \d+\.\d s", result.stderr), result.stderr
    assert re.search(r"spark: clean_orders in \d+\.\d s", result.stderr), result.stderr  # stage timings
    assert re.search(r"spark: labelled customer table written to file://\S+ in \d+\.\d s", result.stderr), result.stderr
    for noise in ("No Partition Defined", "WARN TaskSetManager", "[Stage ", "INFO "):
        assert noise not in result.stderr, noise


@requires_spark
def test_bounded_driver_on_a_standalone_cluster(standalone, tmp_path):
    """--driver-customers on the cluster: the report of a sample, every customer assigned by the
    worker's executors (the pandas UDF runs there) into the labelled table."""
    import json

    from custseg.config import load_config
    from custseg.engines.duckdb import DuckDBEngine
    from tests.test_own_log import BASE_MAP, write_log

    data, labels, config = tmp_path / "shop.csv", tmp_path / "lake" / "segments", one_population(tmp_path)
    write_log(data, customers=2_500)
    result = submit(standalone.url, "--data", data, "--map", BASE_MAP, "--config", config, "--out", tmp_path / "out",
                    "--out-labels", f"file://{labels}", "--driver-customers", "1000")
    assert result.returncode == 0, result.stderr[-3000:]
    with DuckDBEngine() as engine:
        duck = engine.customer_tables(data, load_config(config), mapping=BASE_MAP).customers
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["sample"]["of"] == summary["sample"]["all_customers"]["customers"] == len(duck) > 2_000
    assert 850 < summary["customers"] < 1_150
    lake = pd.read_parquet(labels)
    assert_same_table(duck, lake[list(duck.columns)].astype(duck.dtypes.to_dict()))  # every customer, from the executors (Spark's types)
    assigned = lake["cluster_all"].dropna().astype(int)
    assert len(assigned) == duck["buys_cnt"].notna().sum() and set(assigned) == {1, 2, 3, 4}
    assert "the driver takes a uniform sample of about 1,000" in result.stderr
