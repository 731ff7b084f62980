"""Benchmark: DuckDB queries beside a thread that runs Python, by GIL switch interval.

DuckDB's Python client takes the GIL after every task of a query (to notice Ctrl-C). While
another thread runs Python, each of those waits for that thread's turn to end: Python's
default turn is 5 ms. custseg runs DuckDB beside Python threads (the background imports while
the data is read, the populations and views while the tables are written), so ``custseg.api.run``
shortens the turns (:func:`custseg.tuning.tuned`). This measures why, on the feature
SQL of the Olist-scale data: alone, beside a thread running a Python loop with Python's 5 ms
turns, and with custseg's turns. Each case is a fresh process; the median of --repeats.

    .venv/bin/python -m custseg.generate.olist --customers 96000 --seed 1 --out /tmp/custseg-scale/olist-96000
    .venv/bin/python bench/bench_gil.py --data /tmp/custseg-scale/olist-96000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line  # noqa: E402

CASE = """
import sys, threading, time
from custseg.engines.duckdb.features import run_feature_sql
from custseg.engines.duckdb import load
busy, interval = sys.argv[2] == "busy", float(sys.argv[3])
dataset = load(sys.argv[1])
sys.setswitchinterval(interval)
stop = False
def python_loop():  # what an import, a pandas groupby or a Plotly figure does to the GIL
    n = 0
    while not stop:
        n += 1
if busy:
    threading.Thread(target=python_loop, daemon=True).start()
started = time.perf_counter()
run_feature_sql(dataset)
print(time.perf_counter() - started)
stop = True
"""


def main() -> None:
    from custseg.tuning import GIL_TURN_SECONDS

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="an Olist folder (custseg.generate.olist)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cases = [
        ("alone", "idle", 0.005),
        ("beside a Python thread, 5 ms turns (Python's default)", "busy", 0.005),
        (f"beside a Python thread, {GIL_TURN_SECONDS * 1000:g} ms turns (custseg's)", "busy", GIL_TURN_SECONDS),
    ]
    seconds: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(args.repeats):  # the cases alternate, so a drift of the machine hits them alike
        for name, busy, interval in cases:
            out = subprocess.run([sys.executable, "-c", CASE, args.data, busy, str(interval)], check=True,
                                 capture_output=True, text=True, cwd=REPO).stdout
            seconds[name].append(float(out.split()[-1]))
    orders = sum(1 for _ in open(Path(args.data) / "olist_orders_dataset.csv", encoding="utf-8")) - 1
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_line(), "orders": orders,
        "command": f"bench/bench_gil.py --data {args.data} --repeats {args.repeats}",
        "cases": {name: {"runs": runs, "median": statistics.median(runs)} for name, runs in seconds.items()},
    }
    results = REPO / "bench/results"
    results.mkdir(exist_ok=True)
    (results / "gil.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        f"## DuckDB beside Python threads: the GIL's turns ({orders:,} orders)",
        "",
        "The feature SQL (`run_feature_sql`) on the Olist-scale data, in a fresh process per run, alone and",
        "beside a thread running a Python loop; DuckDB's Python client takes the GIL after every task of a",
        "query, so it waits for the other thread's turn. `custseg.api.run` shortens the turns for the whole",
        "run (`custseg.tuning.tuned`).",
        "",
        f"Machine: {machine_line()}. Measured {record['date']}. Command: `.venv/bin/python {record['command']}`.",
        "",
        "| case | runs (s) | median (s) |",
        "|---|---|---:|",
    ]
    lines += [f"| {name} | {', '.join(f'{s:.2f}' for s in runs)} | {statistics.median(runs):.2f} |" for name, runs in seconds.items()]
    (results / "gil.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
