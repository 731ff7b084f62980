"""Benchmark of the lifetime-value models (custseg.value.customer_value: inputs, BG/NBD and
Gamma-Gamma fits on a sample of at most 200,000 customers, scoring of every customer); writes
bench/results/value.md.

    .venv/bin/python bench/bench_value.py                      # 96k real, 96k, 1M and 10M synthetic
    .venv/bin/python bench/bench_value.py --sizes 96000 1000000 --repeats 2

Data: the bundled real Olist customer table (93,235 customers who bought), and synthetic customer
tables of n customers drawn from the models themselves with the parameters fitted on the real
Olist data (BG/NBD r = 0.0161, α = 68.7 days, a = 1.93, b = 0.336; Gamma-Gamma p = 11.0,
q = 2.24, γ = 18.4), first purchases spread uniformly over 600 days: about 2 % come back, as on
Olist. The tables are made once, before any measurement, and saved as Parquet.

Every measurement is a fresh subprocess that reads one table, then times ``customer_value`` on it;
the sizes alternate run by run (96k, 1M, 10M, 96k, ...) so a change in the machine's load hits
all alike. "Peak extra memory" is the peak resident set size during the call minus the size just
before it (Linux ``clear_refs`` resets the peak), with the table and the libraries loaded. BLAS
runs on one thread, as in ``custseg run`` (see ``run_one``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "value.md"
OLIST_BGNBD = (0.0161, 68.7, 1.93, 0.336)
OLIST_GG = (11.0, 2.24, 18.4)
END = "2018-08-29"


def synthetic_customers(n: int, seed: int = 1):
    """n customers who bought, drawn from BG/NBD and Gamma-Gamma (the module docstring's parameters)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    r, alpha, a, b = OLIST_BGNBD
    p, q, gamma = OLIST_GG
    lam = rng.gamma(r, 1 / alpha, n)
    theta = rng.beta(a, b, n)
    T = rng.integers(0, 600, n).astype(float)  # whole days, as the customer table's dates give
    now, alive, x, t_x = np.zeros(n), np.ones(n, dtype=bool), np.zeros(n), np.zeros(n)
    while alive.any():
        idx = np.flatnonzero(alive)
        now[idx] += rng.exponential(1 / np.maximum(lam[idx], 1e-300))
        inside = now[idx] <= T[idx]
        bought = idx[inside]
        day = np.floor(now[bought])
        new_day = day > t_x[bought]  # purchase days, as custseg counts them
        x[bought[new_day]] += 1
        t_x[bought] = np.maximum(t_x[bought], day)
        alive[idx[~inside]] = False
        alive[bought[rng.random(bought.size) < theta[bought]]] = False
    nu = rng.gamma(q, 1 / gamma, n)
    days = x + 1
    spend = rng.gamma(p * days, 1 / nu)  # the sum of days purchases of mean value p / ν
    end = pd.Timestamp(END)
    first = end - pd.to_timedelta(T, unit="D")
    return pd.DataFrame({"customer_id": np.arange(n), "buys_cnt": pd.array(days.astype(np.int64), dtype="Int64"),
                         "days_with_buys": pd.array(days.astype(np.int64), dtype="Int64"),
                         "first_purchase_ts": first, "last_purchase_ts": first + pd.to_timedelta(t_x, unit="D"), "monetary": spend})


def real_olist_customers():
    from custseg.config import reference
    from custseg.data import olist_folder
    from custseg.engines.duckdb.features import compute_customer_tables
    from custseg.engines.duckdb import load

    table, _, _ = compute_customer_tables(load(olist_folder()), reference())
    return table[["customer_id", "buys_cnt", "days_with_buys", "first_purchase_ts", "last_purchase_ts", "monetary"]]


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def run_one(path: str, out: str) -> None:
    """In a fresh process: read the table, then time customer_value on it."""
    import pandas as pd

    from custseg.value import customer_value

    from threadpoolctl import threadpool_limits

    table = pd.read_parquet(path)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = _status_mb("VmRSS")
    # One BLAS thread, as in `custseg run`, where the models are fitted beside the clustering,
    # which holds BLAS to one thread: L-BFGS-B's small linear algebra gains nothing from more,
    # and on busy cores the threads' waiting made the BG/NBD fit 5-10x slower.
    with threadpool_limits(limits=1, user_api="blas"):
        w0, c0 = time.perf_counter(), time.process_time()
        value = customer_value(table)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    result = {"customers": int(table["buys_cnt"].notna().sum()), "wall_s": wall, "cpu_s": cpu,
              "peak_extra_mb": max(0.0, _status_mb("VmHWM") - before), "table_mb": before,
              "timings": value.timings, "fitted_on": value.fitted_on, "problems": value.problems,
              "bgnbd": value.purchases.params.as_dict() if value.has_purchases else None,
              "gamma_gamma": value.spend.params.as_dict() if value.has_revenue else None,
              "expected_purchases": float(value.scores["expected_purchases"].sum())}
    Path(out).write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[96_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("TABLE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(*args.one)
        return
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tables = {"real Olist": Path(tmp) / "olist.parquet"}
        real_olist_customers().to_parquet(tables["real Olist"])
        made = {}
        for n in args.sizes:
            started = time.perf_counter()
            synthetic_customers(n).to_parquet(Path(tmp) / f"synthetic-{n}.parquet")
            made[n] = time.perf_counter() - started
            tables[f"synthetic {n:,}"] = Path(tmp) / f"synthetic-{n}.parquet"
        runs: dict[str, list[dict]] = {name: [] for name in tables}
        for i in range(args.repeats):
            for name, path in tables.items():
                out = Path(tmp) / f"{name}-{i}.json"
                subprocess.run([sys.executable, __file__, "--one", str(path), str(out)], check=True)
                runs[name].append(json.loads(out.read_text()))
                print(name, i, f"{runs[name][-1]['wall_s']:.2f} s", flush=True)
    write_results(runs, made, args, load_before)


def write_results(runs: dict[str, list[dict]], made: dict[int, float], args, load_before: float) -> None:
    from bench.measure import machine_line

    lines = ["# Lifetime value: fit and scoring", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M')}; `bench/bench_value.py --sizes {' '.join(map(str, args.sizes))} "
             f"--repeats {args.repeats}`; {machine_line()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
             "(the machine is shared: wall times include other jobs' interference, CPU time is steadier).", "",
             "What is timed: `custseg.value.customer_value` on a customer table already in memory — the models' inputs "
             "(purchase days, recency, T), BG/NBD and Gamma-Gamma fitted on at most 200,000 customers (a seeded random sample "
             "above that; `[value] sample_size`), and P(alive), expected purchases, expected purchase value and expected "
             "revenue over 365 days for every customer. Each run is a fresh process; sizes alternate run by run.", "",
             "Data: *real Olist* is the bundled Olist customer table (the customers who bought); *synthetic n* are n "
             "customers drawn from the models with the parameters fitted on the real Olist data "
             f"(BG/NBD r, α, a, b = {', '.join(map(str, OLIST_BGNBD))}; Gamma-Gamma p, q, γ = {', '.join(map(str, OLIST_GG))}); "
             "see the script's docstring. Making them (not timed below) took "
             + ", ".join(f"{made[n]:.1f} s for {n:,}" for n in made) + ".", "",
             "| data | customers | fitted on | runs (wall s) | median wall s | median CPU s | inputs s | fit BG/NBD s | fit Gamma-Gamma s | score s | peak extra MB | table in memory MB |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, rs in runs.items():
        mid = sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2]
        t = mid["timings"]
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in rs)
        lines.append(f"| {name} | {mid['customers']:,} | {mid['fitted_on']:,} | {walls} | "
                     f"**{statistics.median(r['wall_s'] for r in rs):.2f}** | {statistics.median(r['cpu_s'] for r in rs):.2f} | "
                     f"{t.get('inputs', 0):.2f} | {t.get('fit_purchases', 0):.2f} | {t.get('fit_spend', 0):.2f} | {t.get('score', 0):.2f} | "
                     f"{max(r['peak_extra_mb'] for r in rs):,.0f} | {mid['table_mb']:,.0f} |")
    lines += ["", "The breakdown columns are the median run's. Fitted parameters (median run), against the generating ones for synthetic data:", "",
              "| data | BG/NBD r, α, a, b | Gamma-Gamma p, q, γ | expected purchases, next 365 days |", "|---|---|---|---:|"]
    for name, rs in runs.items():
        mid = sorted(rs, key=lambda r: r["wall_s"])[len(rs) // 2]
        bg = ", ".join(f"{v:.3g}" for v in mid["bgnbd"].values()) if mid["bgnbd"] else "; ".join(mid["problems"])
        gg = ", ".join(f"{v:.3g}" for v in mid["gamma_gamma"].values()) if mid["gamma_gamma"] else "–"
        lines.append(f"| {name} | {bg} | {gg} | {mid['expected_purchases']:,.0f} |")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(RESULTS)


if __name__ == "__main__":
    main()
