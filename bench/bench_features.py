"""Benchmark: `custseg features` vs the plain pandas computation of the same customer table.

Both read the bundled UCI Online Retail log (541,909 rows) and write customers.parquet + .csv;
each run is a fresh process (imports included). Median of --repeat runs; peak RSS of that process.

    .venv/bin/python bench/bench_features.py --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure  # noqa: E402

DATA = REPO / "src/custseg/data/online_retail/online_retail.csv.gz"

PANDAS_SNIPPET = f"""
import sys; sys.path.insert(0, {str(REPO)!r})
from pathlib import Path
from tests.reference_pandas import reference_customers
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
table = reference_customers("flat", {str(DATA)!r})
table.to_parquet(out / "customers.parquet", index=False)
table.to_csv(out / "customers.csv", index=False)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    custseg = str(Path(sys.executable).with_name("custseg"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = {"custseg features (DuckDB)": [], "plain pandas (tests/reference_pandas.py)": []}
        for i in range(args.repeat):
            runs["custseg features (DuckDB)"].append(measure([custseg, "features", "--data", str(DATA), "--preset", "online_retail", "--out", f"{tmp}/c{i}"]))
            runs["plain pandas (tests/reference_pandas.py)"].append(measure([sys.executable, "-c", PANDAS_SNIPPET, f"{tmp}/p{i}"]))
        for name, ms in runs.items():
            rows.append((name, statistics.median(m.seconds for m in ms), max(m.peak_rss_mb for m in ms)))
    base = rows[1][1]
    lines = [
        "## Features on Online Retail (541,909 rows → 4,372 customers)",
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_features.py --repeat {args.repeat}` "
        f"(median of {args.repeat} fresh processes, imports included; both write customers.parquet and .csv).",
        "",
        "| computation | time (s) | peak memory (MB) | speed-up vs pandas |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {sec:.2f} | {rss:.0f} | {base / sec:.1f}× |" for name, sec, rss in rows]
    text = "\n".join(lines) + "\n"
    (REPO / "bench/results").mkdir(exist_ok=True)
    (REPO / "bench/results/features.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
