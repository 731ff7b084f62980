"""Where the load and the feature SQL spend their time: DuckDB's profiler on every statement (issue 24).

Loads a generated Olist folder the way ``custseg run`` does, then runs the feature SQL with each
statement profiled (``PRAGMA enable_profiling='json'``): per statement its wall time, the peak of
DuckDB's memory and temporary (spilled) files, and its costliest operators (their own time,
summed over threads, and rows out).

    .venv/bin/python bench/profile_features.py /tmp/custseg-scale/olist-1000000 --top 4
    CUSTSEG_DUCKDB_MEMORY=12GB .venv/bin/python bench/profile_features.py ...   # another memory limit
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def operators(node: dict, out: list) -> list:
    """(operator name, own seconds, rows out, extra info) of every node of a profile tree
    (DuckDB 2's JSON: ``operator`` at the top, ``name``/``timing``/``intermediate_rows`` per node)."""
    for child in node.get("operator", []):
        operators(child, out)
    if "name" in node:
        extra = node.get("extra_info") or {}
        keep = ("Join Type", "Conditions", "Groups", "Aggregates", "Table", "Function", "Partition By", "Order By")
        info = "; ".join(f"{k}={v}" for k, v in extra.items() if k in keep) if isinstance(extra, dict) else str(extra)
        out.append((node["name"].strip(), float(node.get("timing", 0.0)), int(node.get("intermediate_rows", 0)), info[:140]))
    for child in node.get("children", []):
        operators(child, out)
    return out


class Sampler:
    """The largest DuckDB memory and temporary-file size seen while a statement runs (polled)."""

    def __init__(self, folder: str) -> None:
        self.folder, self.peak_temp, self._stop = folder, 0, threading.Event()

    def __enter__(self):
        def poll():
            while not self._stop.wait(0.05):
                try:
                    size = sum(f.stat().st_size for f in Path(self.folder).iterdir())
                except OSError:
                    size = 0
                self.peak_temp = max(self.peak_temp, size)
        self._thread = threading.Thread(target=poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--top", type=int, default=4, help="costliest operators shown per statement")
    parser.add_argument("--json", help="write the per-statement figures here")
    args = parser.parse_args()

    import custseg.engines.duckdb.features as features
    from custseg.engines.duckdb.connection import fetch_one, run_sql as plain_run_sql
    from custseg.config import load_config
    from custseg.dialect import split_statements
    from custseg.engines.duckdb import load

    t = time.perf_counter()
    dataset = load(args.folder)
    load_s = time.perf_counter() - t
    con = dataset.con
    limit = fetch_one(con, "SELECT current_setting('memory_limit')")[0]
    temp_dir = fetch_one(con, "SELECT current_setting('temp_directory')")[0]
    os.makedirs(temp_dir, exist_ok=True)
    threads = fetch_one(con, "SELECT current_setting('threads')")[0]
    print(f"load: {load_s:.2f} s; DuckDB memory_limit {limit}, threads {threads}")
    sizes = {t: fetch_one(con, f"SELECT count(*) FROM {t}")[0] for t in ("orders", "order_items", "payments", "reviews", "products")}
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    records = []
    profile_file = tempfile.mktemp(suffix=".json")

    def profiled_run_sql(connection, sql, params=None):
        if params is not None or connection is not con:
            return plain_run_sql(connection, sql, params)
        for statement in split_statements(sql):
            head = " ".join(statement.split())[:70]
            plain_run_sql(connection, "PRAGMA enable_profiling='json'")
            plain_run_sql(connection, f"PRAGMA profiling_output='{profile_file}'")
            Path(profile_file).unlink(missing_ok=True)  # a statement without a plan (CREATE VIEW) writes none
            started = time.perf_counter()
            with Sampler(temp_dir) as sampler:
                plain_run_sql(connection, statement)
            seconds = time.perf_counter() - started
            plain_run_sql(connection, "PRAGMA disable_profiling")
            try:
                tree = json.loads(Path(profile_file).read_text())
            except (OSError, json.JSONDecodeError):
                tree = {}
            ops = sorted(operators(tree, []), key=lambda o: -o[1])
            system = tree.get("system", {})
            peak = system.get("peak_buffer_memory", 0) / 1e6
            spilled = max(system.get("peak_temp_dir_size", 0), sampler.peak_temp) / 1e6
            cpu = tree.get("query", {}).get("cpu_time", 0.0)
            tables_mb = fetch_one(connection, "SELECT sum(memory_usage_bytes) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'")[0] / 1e6
            records.append({"statement": head, "seconds": seconds, "cpu": cpu, "spilled_mb": spilled,
                            "peak_buffer_mb": peak, "tables_mb": tables_mb, "operators": ops[: args.top]})
            print(f"\n{seconds:7.2f} s (cpu {cpu:6.2f})  spilled {spilled:8.1f} MB  peak buffers {peak:8.1f} MB  "
                  f"tables after {tables_mb:8.1f} MB  {head}")
            for name, own, rows, extra in ops[: args.top]:
                print(f"         {own:7.2f} s  {rows:>12,} rows  {name}  {extra}")

    features.run_sql = profiled_run_sql
    cfg = load_config(None)
    t = time.perf_counter()
    # as custseg run does: the canonical tables dropped once read (compute_customer_tables, release=True)
    features.run_feature_sql(dataset, features.FeatureParams.for_dataset(dataset, **dict(cfg.features)), drop_inputs=True)
    total = time.perf_counter() - t
    print(f"\nfeature SQL: {total:.2f} s (profiling included)")
    t = time.perf_counter()
    from custseg.engines.duckdb.connection import to_pandas
    frame = to_pandas(con.table("customers"), categorical_text=True)
    print(f"customers view -> pandas: {time.perf_counter() - t:.2f} s, {len(frame):,} rows")
    con.close()  # DuckDB removes its spill files when the connection closes
    if args.json:
        Path(args.json).write_text(json.dumps({"load": load_s, "features": total, "statements": records}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
