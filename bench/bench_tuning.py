"""Is each runtime setting of custseg.tuning still worth it? The reference run with and without each.

    .venv/bin/python bench/bench_tuning.py [--runs 3]

Each run is a fresh process running ``custseg.api.run(olist_folder(), out=..., slides=False)``
(what ``custseg run --no-slides`` does) with: nothing (the library's default), the short GIL turns
only, the imports ahead (with the collector held back) only, and both (``custseg.tuning.tuned``,
what the command applies). The variants alternate run by run. Writes bench/results/tuning.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure, python_snippet  # noqa: E402

DRIVER = r"""
import sys, tempfile
variant = sys.argv[1]
import custseg.tuning as tuning
from contextlib import nullcontext
from custseg.api import run
from custseg.data import olist_folder
if variant == "both":
    context = tuning.tuned()
elif variant == "imports ahead":
    context = tuning.tuned()
    sys.setswitchinterval = lambda seconds: None  # tuned() may not shorten the turns
else:
    context = nullcontext()
    if variant == "short GIL turns":
        sys.setswitchinterval(tuning.GIL_TURN_SECONDS)
with tempfile.TemporaryDirectory() as tmp, context:
    run(olist_folder(), out=tmp + "/out", slides=False)
tuning.exit_now(0)
"""

VARIANTS = ("none (the library)", "short GIL turns", "imports ahead", "both")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {"PYTHONPATH": str(REPO / "src")}
    runs: dict[str, list] = {v: [] for v in VARIANTS}
    loads = []
    for i in range(args.runs):
        for variant in VARIANTS:
            loads.append(os.getloadavg()[0])
            runs[variant].append(measure(python_snippet(DRIVER) + [variant], env=env))
            m = runs[variant][-1]
            print(f"run {i + 1} {variant}: {m.seconds:.2f} s wall, {m.cpu_seconds:.1f} s CPU", file=sys.stderr)
    base = statistics.median(m.seconds for m in runs[VARIANTS[0]])
    lines = [
        "## Runtime tuning: is each setting still worth it?",
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_tuning.py"
        + (f" --runs {args.runs}" if args.runs != 3 else "") + "`. The real Olist data, `custseg.api.run(..., slides=False)` in",
        f"a fresh process per run, the variants alternating; {args.runs} runs each; load average before the runs"
        f" {min(loads):.1f}-{max(loads):.1f}.",
        "",
        "| variant | wall s, runs | median wall s | vs none | median CPU s |",
        "|---|---|---:|---:|---:|",
    ]
    for variant in VARIANTS:
        walls = [m.seconds for m in runs[variant]]
        median = statistics.median(walls)
        lines.append(f"| {variant} | {', '.join(f'{w:.2f}' for w in walls)} | {median:.2f} | {median / base - 1:+.0%} |"
                     f" {statistics.median(m.cpu_seconds for m in runs[variant]):.1f} |")
    lines += ["", "'both' is `custseg.tuning.tuned()`, which the `custseg` command applies; a library user opts in.", ""]
    text = "\n".join(lines)
    (REPO / "bench/results/tuning.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
