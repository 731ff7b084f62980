"""One command's time on two revisions of custseg, alternating run by run in one invocation.

    .venv/bin/python bench/bench_revisions.py BASE_REV [--runs 5] [-- custseg arguments]

BASE_REV's ``src/`` is exported to a temporary folder (``git archive``); each run is a fresh
process ``python -m custseg.cli ARGS`` with that tree or this checkout's on ``PYTHONPATH``.
Default arguments: ``run --data <bundled Olist> --no-slides --quiet --out <tmp>``, what the
command does on the reference analysis. Writes bench/results/revisions.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("args", nargs="*")
    opts = parser.parse_args()
    olist = REPO / "src/custseg/data/olist"
    with tempfile.TemporaryDirectory() as tmp:
        base_src = Path(tmp) / "base"
        base_src.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", opts.base, "src"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base_src)], input=archive, check=True)
        trees = {f"{opts.base}": base_src / "src", "this checkout": REPO / "src"}
        runs: dict[str, list] = {name: [] for name in trees}
        loads = []
        for i in range(opts.runs):
            for name, src in trees.items():
                args = opts.args or ["run", "--data", str(olist), "--no-slides", "--quiet", "--out", f"{tmp}/out-{i}-{len(runs[name])}-{abs(hash(name))}"]
                loads.append(os.getloadavg()[0])
                runs[name].append(measure([sys.executable, "-m", "custseg.cli", *args], env={"PYTHONPATH": str(src)}))
                print(f"run {i + 1} {name}: {runs[name][-1].seconds:.2f} s", file=sys.stderr)
    base, this = (statistics.median(m.seconds for m in runs[n]) for n in trees)
    lines = [
        f"## `custseg {' '.join(opts.args) or 'run --no-slides'}` on two revisions",
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_revisions.py {opts.base} --runs {opts.runs}`;"
        f" the revisions alternate run by run; load average before the runs {min(loads):.1f}-{max(loads):.1f} (2 cores).",
        "",
        "| revision | wall s, runs | median wall s | median CPU s | peak RSS MB |",
        "|---|---|---:|---:|---:|",
    ]
    for name in trees:
        ms = runs[name]
        lines.append(f"| {name} | {', '.join(f'{m.seconds:.2f}' for m in ms)} | {statistics.median(m.seconds for m in ms):.2f} |"
                     f" {statistics.median(m.cpu_seconds for m in ms):.1f} | {statistics.median(m.peak_rss_mb for m in ms):,.0f} |")
    lines += ["", f"This checkout against {opts.base}: {this / base - 1:+.1%} (median wall).", ""]
    text = "\n".join(lines)
    (REPO / "bench/results/revisions.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
