"""Benchmark: the Spark engine in local mode against the DuckDB engine on one machine.

On generated Olist-schema data (100k and 1M customers, seed 42), each step in a fresh process
(imports, JVM start-up and Spark's session included):

* features + RFM — ``custseg features`` (the customer table, written as Parquet + CSV) with
  ``--engine duckdb`` and ``--engine spark --spark-master local[2]``; Spark also from the same
  tables stored as Parquet (how data that does not fit one machine is usually kept);
* KMeans for population A (the reference analysis' first population, k = 5) on the customer
  table the features step wrote: scikit-learn (the DuckDB engine's clustering) against Spark
  MLlib (custseg's Spark backend), with the adjusted Rand index between the two.

Time is wall-clock (bench/measure.py). Memory is the peak of the summed resident memory of the
whole process tree (Python driver, the JVM, Python workers), sampled every 0.2 s: the JVM does
count. Spark runs with a 4 GB driver heap (``--driver-memory 4g``; at 1M customers the default
1 GB is too small to collect the customer table).

    .venv/bin/python bench/bench_spark.py [--sizes 100000 1000000] [--data-dir DIR]

``--standalone``: the whole ``custseg run`` on a standalone master + worker started on this
machine instead (stage times, driver peak memory, the customer table against DuckDB's;
bench/results/spark_standalone.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure  # noqa: E402

SPARK_ENV = {"PYSPARK_SUBMIT_ARGS": "--driver-memory 4g pyspark-shell"}

KMEANS_SNIPPET = r"""
import json, sys, time
t_start = time.perf_counter()
import pandas as pd
from custseg.cluster import prepare_features
from custseg.config import load_config
from custseg.pipeline.population import LocalClustering, select_population
customers_path, engine, out = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = load_config(None)
pop = cfg.populations[0]
customers = pd.read_parquet(customers_path)
members = select_population(customers, pop).set_index("customer_id")
prepared = prepare_features(members, list(pop.features), corr_threshold=pop.preparation.corr_threshold, scaler=pop.preparation.scaler)
t_session = 0.0
if engine == "spark":
    from custseg.engines.spark import spark_session
    from custseg.engines.spark.cluster import SparkClustering
    t0 = time.perf_counter()
    backend = SparkClustering(spark_session("local[2]"))
    backend.data(prepared)
    t_session = time.perf_counter() - t0
else:
    backend = LocalClustering()
t0 = time.perf_counter()
model = backend.fit(prepared, pop.k, pop, cfg.cluster)
t_fit = time.perf_counter() - t0
model.labels.rename("cluster").rename_axis("customer_id").reset_index().to_parquet(out + ".parquet")
json.dump({"fit_seconds": t_fit, "setup_seconds": t_session, "rows": int(prepared.X.shape[0]), "inertia": model.inertia,
           "label": model.method_label}, open(out + ".json", "w"))
"""

TO_PARQUET_SNIPPET = r"""
import csv, sys
from pathlib import Path
import pyarrow.csv as pacsv, pyarrow as pa, pyarrow.parquet as pq
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for f in sorted(src.glob("*.csv")):
    with open(f, newline="", encoding="utf-8") as fh:
        names = next(csv.reader(fh))
    table = pacsv.read_csv(f, parse_options=pacsv.ParseOptions(newlines_in_values=True),
                           convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
    pq.write_table(table, dst / (f.stem + ".parquet"))
"""


class TreeMemory:
    """Peak of the summed RSS of every descendant of this process, sampled in a thread; with a
    ``root``, also the peak of that process alone (``root_peak_kb``)."""

    def __init__(self, interval: float = 0.2, root: int | None = None):
        self.interval = interval
        self.root = root  # whose descendants (and itself, when given); default: this process's children
        self.peak_kb = self.root_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _children() -> dict[int, list[int]]:
        tree: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
        return tree

    @staticmethod
    def _rss_kb(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        me = self.root or os.getpid()
        while not self._stop.is_set():
            tree = self._children()
            stack, total = list(tree.get(me, [])) + ([me] if self.root else []), 0
            while stack:
                pid = stack.pop()
                total += self._rss_kb(pid)
                stack.extend(tree.get(pid, []))
            self.peak_kb = max(self.peak_kb, total)
            if self.root:
                self.root_peak_kb = max(self.root_peak_kb, self._rss_kb(me))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def timed(argv: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """(seconds, peak MB of the process tree, machine load before) of one fresh process."""
    load = os.getloadavg()[0]
    with TreeMemory() as mem:
        m = measure(argv, env=env)
    return m.seconds, mem.peak_kb / 1024, load


# ----------------------------------------------------------------------------- standalone cluster

STANDALONE_SUBMIT = ("--driver-memory 4g --executor-memory 4g --conf spark.driver.maxResultSize=2g "
                     "--conf spark.sql.shuffle.partitions=16 pyspark-shell")
_LINE = re.compile(r"^\s*(\d+\.\d)s (.*)$")


def stage_times(progress: str) -> dict[str, float]:
    """Spark start, features (read, checks, feature SQL), clustering and report, from custseg's progress lines."""
    at = {}
    for line in progress.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        t, message = float(m.group(1)), m.group(2)
        if message.startswith("spark: spark://"):
            at.setdefault("started", t)
        elif message.startswith("spark: excluded_customers in") or message.startswith("spark: customers in"):
            at["features"] = t
        elif message.startswith("writing report"):
            at["clustered"] = t
        elif message.startswith("report written"):
            at["report"] = t
    return {"spark start": at.get("started", 0.0), "features": at["features"] - at["started"],
            "clustering": at["clustered"] - at["features"], "report": at["report"] - at["clustered"]}


def same_values(duck, spark) -> tuple[bool, str]:
    """Every column of DuckDB's customer table equal in Spark's (floats to 1e-9, NULLs in the same rows)."""
    import numpy as np

    duck = duck.sort_values("customer_id").reset_index(drop=True)
    spark = spark[list(duck.columns)].sort_values("customer_id").reset_index(drop=True)
    if len(duck) != len(spark):
        return False, f"{len(duck):,} vs {len(spark):,} rows"
    for col in duck.columns:
        a, b = duck[col], spark[col]
        if not (a.isna().to_numpy() == b.isna().to_numpy()).all():
            return False, f"{col}: NULLs differ"
        keep = ~a.isna().to_numpy()
        if a.dtype.kind in "fiu" or b.dtype.kind in "fiu":
            x, y = a.to_numpy(dtype="float64", na_value=np.nan)[keep], b.to_numpy(dtype="float64", na_value=np.nan)[keep]
            if not np.allclose(x, y, rtol=1e-9, atol=1e-9):
                return False, col
        elif not (a.astype(str).to_numpy()[keep] == b.astype(str).to_numpy()[keep]).all():
            return False, col
    return True, f"{len(duck.columns)} columns, {len(duck):,} customers"


def standalone(args, custseg: str) -> None:
    """`custseg run --engine spark` on a standalone master + worker on this machine (one fresh
    cluster per size): stage times, the driver's peak memory (the custseg process and its driver
    JVM; the executors run under the worker), and the customer table against DuckDB's."""
    import pandas as pd

    from custseg.engines.spark.standalone import StandaloneCluster
    from tests.test_spark import _fixed_k_config

    rows = []
    for n in args.sizes:
        data = args.data_dir / f"olist-{n}-seed{args.seed}"
        if not (data / "olist_orders_dataset.csv").is_file():
            print(f"generating {n:,} customers -> {data}", flush=True)
            measure([custseg, "generate", "olist", "--customers", str(n), "--seed", str(args.seed), "--out", str(data)])
        with tempfile.TemporaryDirectory() as tmp:
            config = _fixed_k_config(Path(tmp) / "fixed_k.toml")
            with StandaloneCluster(Path(tmp) / "cluster", cores=2, memory="5g", timeout=180) as cluster:
                argv = [custseg, "run", "--engine", "spark", "--spark-master", cluster.url, "--data", str(data), "--config", str(config),
                        "--out", f"{tmp}/out", "--no-slides", "--out-labels", f"file://{tmp}/labels"]
                if args.driver_customers:
                    argv += ["--driver-customers", str(args.driver_customers)]
                load = os.getloadavg()[0]
                print(f"{n:,}: custseg run on {cluster.url} ...", flush=True)
                started = time.perf_counter()
                # the executors' Python is this one, as a cluster's PYSPARK_PYTHON would be (a pandas UDF needs pandas)
                process = subprocess.Popen(argv, env={**os.environ, "PYSPARK_SUBMIT_ARGS": STANDALONE_SUBMIT, "PYSPARK_PYTHON": sys.executable},
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                with TreeMemory(root=process.pid) as mem:  # the driver: custseg's process and its JVM, not the cluster's
                    _, stderr = process.communicate()
                wall = time.perf_counter() - started
                if process.returncode != 0:
                    raise RuntimeError(f"custseg run failed: {stderr[-3000:]}")
                ran = [a for a in cluster.applications() if a.get("name") == "custseg"]
            stages = stage_times(stderr)
            measure([custseg, "features", "--engine", "duckdb", "--data", str(data), "--out", f"{tmp}/duck"])
            # the labelled customer table the executors wrote (every customer, whatever the driver held)
            equal, detail = same_values(pd.read_parquet(f"{tmp}/duck/customers.parquet"), pd.read_parquet(f"{tmp}/labels"))
            row = {"customers": n, "wall": wall, **stages, "driver_peak_mb": mem.peak_kb / 1024,
                   "python_peak_mb": mem.root_peak_kb / 1024, "load": load,
                   "on_cluster": bool(ran), "equal": equal, "detail": detail}
            print(f"   {row}", flush=True)
            rows.append(row)
    sampled = f" --driver-customers {args.driver_customers}" if args.driver_customers else ""
    lines = [
        "## Spark engine on a standalone cluster (master + one worker on this machine)" + (
            f", the driver holding at most about {args.driver_customers:,} customers" if sampled else ""),
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_spark.py --standalone --sizes {' '.join(map(str, args.sizes))}{sampled}`.",
        "",
        *([f"With `--driver-customers {args.driver_customers}` the driver collects a uniform sample of about {args.driver_customers:,} "
           "customers (a hash of the id) and the whole table's headline numbers; the executors assign every customer's clusters "
           "(docs/spark.md: a bounded driver).", ""] if sampled else []),
        "Generated Olist-schema data (seed 42). For each size a fresh standalone master and one worker (2 cores, 5 GB) are started "
        "on 127.0.0.1 from the PySpark install's `bin/spark-class` (`custseg.engines.spark.standalone`), and "
        "`custseg run --engine spark --spark-master spark://… --no-slides --out-labels …` runs the reference analysis with k "
        f"fixed per population (`{STANDALONE_SUBMIT}`). Stage times come from custseg's progress lines: features = reading, "
        "checks and the feature SQL up to the collected customer table; clustering = storing the customer table and collecting it (or its sample), populations, evidence for the "
        "fixed k, fits and views; report = report.html, tables, models and the labelled table written by the executors. Driver peak = the summed "
        "resident memory of the custseg process and its driver JVM (the executors run under the worker, not counted), sampled every "
        "0.2 s; Python peak = the custseg process alone, which holds the collected customer table or its sample (the JVM's share is mostly its "
        "heap, which grows towards --driver-memory as the garbage collector allows, whatever the data). \"Equal to DuckDB\" compares every column of `custseg features --engine duckdb`'s customer table with the Spark "
        "run's labelled customer table, written by the executors (floats to 1e-9, NULLs in the same rows). \"load\" is the machine's 1-minute load average at the start "
        "(2 cores; other jobs shared them when it is far above 2).",
        "",
        "| customers | total (s) | Spark start (s) | features (s) | clustering (s) | report (s) | driver peak (MB) | of which Python (MB) | ran on the cluster | customer table equal to DuckDB | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    lines += [f"| {r['customers']:,} | {r['wall']:.1f} | {r['spark start']:.1f} | {r['features']:.1f} | {r['clustering']:.1f} | {r['report']:.1f} | "
              f"{r['driver_peak_mb']:,.0f} | {r['python_peak_mb']:,.0f} | {'yes' if r['on_cluster'] else 'no'} | {'yes' if r['equal'] else 'NO'} ({r['detail']}) | {r['load']:.1f} |"
              for r in rows]
    if len(rows) > 1:
        a, b = rows[-2], rows[-1]
        lines += ["", f"Driver peak memory from {a['customers']:,} to {b['customers']:,} customers: {a['driver_peak_mb']:,.0f} MB → "
                      f"{b['driver_peak_mb']:,.0f} MB (×{b['driver_peak_mb'] / a['driver_peak_mb']:.2f}); its Python process "
                      f"{a['python_peak_mb']:,.0f} MB → {b['python_peak_mb']:,.0f} MB (×{b['python_peak_mb'] / a['python_peak_mb']:.2f}). " + (
                      "The driver holds the sample, whatever the number of customers." if sampled else
                      "The driver collects the customer table and builds the report from it (docs/spark.md: what the driver holds), "
                      "so it grows with the customers; `--driver-customers` bounds it (bench/results/spark_standalone_driver.md).")]
    text = "\n".join(lines) + "\n"
    (REPO / "bench/results").mkdir(exist_ok=True)
    (REPO / ("bench/results/spark_standalone_driver.md" if sampled else "bench/results/spark_standalone.md")).write_text(text)
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "custseg-bench-data")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--standalone", action="store_true", help="custseg run on a standalone master + worker (bench/results/spark_standalone.md)")
    parser.add_argument("--driver-customers", type=int, default=None,
                        help="with --standalone: custseg run --driver-customers N (bench/results/spark_standalone_driver.md)")
    args = parser.parse_args()
    custseg = str(Path(sys.executable).with_name("custseg"))
    if args.standalone:
        standalone(args, custseg)
        return
    rows = []
    aris = {}
    for n in args.sizes:
        data = args.data_dir / f"olist-{n}-seed{args.seed}"
        if not (data / "olist_orders_dataset.csv").is_file():
            print(f"generating {n:,} customers -> {data}", flush=True)
            measure([custseg, "generate", "olist", "--customers", str(n), "--seed", str(args.seed), "--out", str(data)])
        parquet = args.data_dir / f"olist-{n}-seed{args.seed}-parquet"
        if not (parquet / "olist_orders_dataset.parquet").is_file():
            measure([sys.executable, "-c", TO_PARQUET_SNIPPET, str(data), str(parquet)])
        with tempfile.TemporaryDirectory() as tmp:
            steps = [
                ("features + RFM", "DuckDB", [custseg, "features", "--engine", "duckdb", "--data", str(data), "--out", f"{tmp}/duck"], None),
                ("features + RFM", "Spark local[2] (CSV)", [custseg, "features", "--engine", "spark", "--spark-master", "local[2]",
                                                          "--data", str(data), "--out", f"{tmp}/spark"], SPARK_ENV),
                ("features + RFM", "Spark local[2] (Parquet)", [custseg, "features", "--engine", "spark", "--spark-master", "local[2]",
                                                              "--data", str(parquet), "--out", f"{tmp}/spark-pq"], SPARK_ENV),
            ]
            for step, engine, argv, env in steps:
                print(f"{n:,}: {step}, {engine} ...", flush=True)
                seconds, mb, load = timed(argv, env)
                rows.append((n, step, engine, seconds, mb, f"load {load:.1f} before"))
                print(f"   {seconds:.1f} s, {mb:.0f} MB", flush=True)
            customers = f"{tmp}/duck/customers.parquet"
            fits = {}
            for engine, label, env in (("duckdb", "scikit-learn (DuckDB engine)", None), ("spark", "Spark MLlib local[2]", SPARK_ENV)):
                print(f"{n:,}: KMeans population A, {label} ...", flush=True)
                out = f"{tmp}/kmeans-{engine}"
                seconds, mb, load = timed([sys.executable, "-c", KMEANS_SNIPPET, customers, engine, out], env)
                info = json.loads(Path(out + ".json").read_text())
                fits[engine] = out + ".parquet"
                note = f"fit {info['fit_seconds']:.1f} s on {info['rows']:,} customers" + (
                    f" (+ {info['setup_seconds']:.1f} s Spark start and data transfer)" if engine == "spark" else "") + f"; load {load:.1f} before"
                rows.append((n, "KMeans, population A (k = 5)", label, seconds, mb, note))
                print(f"   {seconds:.1f} s, {mb:.0f} MB; {note}", flush=True)
            import pandas as pd
            from sklearn.metrics import adjusted_rand_score

            a = pd.read_parquet(fits["duckdb"]).set_index("customer_id")["cluster"]
            b = pd.read_parquet(fits["spark"]).set_index("customer_id")["cluster"].loc[a.index]
            aris[n] = adjusted_rand_score(a, b)
    lines = [
        "## Spark engine (local mode) vs DuckDB engine, one machine",
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_spark.py --sizes {' '.join(map(str, args.sizes))}`.",
        "",
        "Generated Olist-schema data (`custseg generate olist`, seed 42). Every row is one fresh process: imports, "
        "the JVM and Spark's start-up included. Memory is the peak summed resident memory of the whole process tree "
        "(Python, the JVM, Python workers), sampled every 0.2 s. Spark: `local[2]`, driver heap 4 GB "
        "(`--driver-memory 4g`), otherwise custseg's local defaults (16 shuffle partitions, adaptive execution). "
        "\"load\" is the machine's 1-minute load average when the step started; it includes the previous step of "
        "this benchmark itself (a Spark step keeps both cores busy and more), so it stays near 3 even when nothing "
        "else runs; clearly above that, other jobs shared the 2 cores and the times are inflated.",
        "",
        "| customers | step | engine | time (s) | peak memory, process tree (MB) | notes |",
        "|---:|---|---|---:|---:|---|",
    ]
    lines += [f"| {n:,} | {step} | {engine} | {sec:.1f} | {mb:,.0f} | {note} |" for n, step, engine, sec, mb, note in rows]
    lines += [
        "",
        "Agreement of the KMeans clusters (population A, k = 5), adjusted Rand index Spark MLlib vs scikit-learn: "
        + ", ".join(f"{ari:.4f} at {n:,} customers" for n, ari in aris.items()) + ".",
        "",
        "Reading: on one machine Spark is slower than DuckDB and uses more memory — it pays for the JVM, for a "
        "scheduler and shuffles built for many machines, and for materialising every intermediate table. That is "
        "expected; the point of the Spark engine is that the same analysis runs where the order history does not fit "
        "one machine (see docs/spark.md), not that it is faster here.",
    ]
    text = "\n".join(lines) + "\n"
    (REPO / "bench/results").mkdir(exist_ok=True)
    (REPO / "bench/results/spark.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
