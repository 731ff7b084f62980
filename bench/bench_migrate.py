"""Time ``custseg migrate`` on the bundled real data: Olist (2017-09-01 -> 2018-03-01) and
Online Retail (2011-03-01 -> 2011-09-01), six months each, runs alternating in one invocation.

    .venv/bin/python bench/bench_migrate.py [--runs 3]

Each run is a fresh ``custseg migrate`` process (imports included): wall time, CPU time and peak
memory (bench/measure.py). Writes bench/results/migrate.md.
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

CASES = {
    "Olist (real), 2017-09-01 -> 2018-03-01": ["--from", "2017-09-01", "--to", "2018-03-01"],
    "Online Retail (real), 2011-03-01 -> 2011-09-01": ["--preset", "online_retail", "--from", "2011-03-01", "--to", "2011-09-01"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from custseg.data import olist_folder, online_retail_file

    data = {"Olist (real), 2017-09-01 -> 2018-03-01": str(olist_folder()),
            "Online Retail (real), 2011-03-01 -> 2011-09-01": str(online_retail_file())}
    results: dict[str, list] = {name: [] for name in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for name, extra in CASES.items():  # alternating: both feel the same machine load
                out = Path(tmp) / f"out-{run}-{len(results[name])}"
                argv = [sys.executable, "-m", "custseg.cli", "migrate", "--quiet", "--data", data[name], *extra, "--out", str(out)]
                results[name].append(measure(argv, env={"PYTHONPATH": str(REPO / "src")}))
                print(f"{name}: run {run + 1}: {results[name][-1].seconds:.2f} s", file=sys.stderr)
    lines = ["# custseg migrate on the bundled real data", "",
             f"Machine: {machine_line()}. {args.runs} runs of each, alternating, each a fresh process "
             "(`custseg migrate --quiet`, imports included); `python bench/bench_migrate.py`.", "",
             "| data, dates | wall time, median (min-max) | CPU time, median | peak memory, median |", "|---|---|---|---|"]
    for name, runs in results.items():
        secs = [m.seconds for m in runs]
        lines.append(f"| {name} | {statistics.median(secs):.1f} s ({min(secs):.1f}-{max(secs):.1f}) | "
                     f"{statistics.median(m.cpu_seconds for m in runs):.1f} s | {statistics.median(m.peak_rss_mb for m in runs):.0f} MB |")
    text = "\n".join(lines) + "\n"
    (REPO / "bench" / "results" / "migrate.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
