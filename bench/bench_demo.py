"""Time `custseg demo` (the reference analysis on the real Olist data, with slides and deck) stage by stage.

    .venv/bin/python bench/bench_demo.py [--runs 3] [--baseline SRC_DIR] [--quiet CORES]

Each run is a fresh interpreter calling ``custseg.api.run(olist_folder(), out=...)`` inside
``custseg.tuning.tuned()``, what ``custseg demo`` does. Stages: load + features, clustering (evidence and fits), views (from
the progress lines), then report html and deck (timed around the functions ``write_report``
calls) and "writing outputs" (progress line "writing report..." to the end). The same code
also runs with ``slides=False``, alternating: the difference is what slides and deck cost,
whatever overlaps what. With ``--baseline SRC_DIR`` (e.g. ``git archive main src | tar -x -C /tmp/base``)
that code is timed too, alternating with this one run by run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line  # noqa: E402

DRIVER = r"""
import json, sys, tempfile, time
slides = sys.argv[1] == "slides"
marks, events = {}, []
t0 = time.perf_counter()
now = lambda: time.perf_counter() - t0
import custseg.report.html as H, custseg.report.deck as D

def timed(name, fn):
    def wrapper(*a, **k):
        start = now()
        try:
            return fn(*a, **k)
        finally:
            marks[name] = (start, now())
    return wrapper

H.render_html = timed("report html", H.render_html)
D.write_deck = timed("deck", D.write_deck)
from custseg.api import run
from custseg.data import olist_folder
from custseg.tuning import RUN_MODULES, SLIDE_MODULES, tuned
with tempfile.TemporaryDirectory() as tmp, tuned(RUN_MODULES + (SLIDE_MODULES if slides else ())):  # as the command runs
    t0 = time.perf_counter()
    run(olist_folder(), out=tmp + "/report", slides=slides, progress=lambda m: events.append((now(), m)))
    total = now()
    n = len(list((__import__("pathlib").Path(tmp) / "report/slides").glob("*.png")))
print(json.dumps({"marks": marks, "events": events, "total": total, "slides": n}))
"""


def _stages(data: dict) -> dict[str, float]:
    events = data["events"]

    def first(word: str) -> float:
        return next(t for t, m in events if word in m)

    clustering, views, writing = first("evidence"), first(": views"), first("writing report")
    out = {"load + features": clustering, "clustering": views - clustering, "views": writing - views}
    for name in ("report html", "deck"):
        start, end = data["marks"].get(name, (0.0, 0.0))
        out[name] = end - start
    out["writing outputs"] = data["total"] - writing
    out["total"] = data["total"]
    return out


def measure(src: Path, slides: bool) -> dict:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", DRIVER, "slides" if slides else "no-slides"], env=env,
                          capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**_stages(data), "slides": data["slides"]}


def busy_cores(seconds: float = 3.0) -> float:
    """Cores the machine kept busy over the last `seconds` (from /proc/stat; 0 where there is none)."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait
    try:
        (t0, i0), _ = sample(), time.sleep(seconds)
        t1, i1 = sample()
    except OSError:
        return 0.0
    return (os.cpu_count() or 1) * (1 - (i1 - i0) / max(t1 - t0, 1))


def wait_quiet(limit: float, patience: float) -> float:
    """Wait (at most `patience` s) until other work keeps fewer than `limit` cores busy; returns the last reading."""
    deadline = time.monotonic() + patience
    busy = busy_cores()
    while busy >= limit and time.monotonic() < deadline:
        busy = busy_cores()
    return busy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="the src/ folder of the code to compare with")
    parser.add_argument("--quiet", type=float, default=0.0, metavar="CORES",
                        help="before each run wait (up to 10 min) until other work keeps fewer than CORES cores busy")
    args = parser.parse_args()
    variants = {"this code, --no-slides": (REPO / "src", False), "this code": (REPO / "src", True)}
    if args.baseline:
        variants = {"baseline": (args.baseline, True), **variants}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    loads, busy = [], []
    for i in range(args.runs):
        for name, (src, slides) in variants.items():
            busy.append(wait_quiet(args.quiet, 600) if args.quiet else busy_cores(1.0))
            loads.append(os.getloadavg()[0])
            runs[name].append(measure(src, slides))
            print(f"run {i + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in runs[name][-1].items()), file=sys.stderr)
    stages = [k for k in runs[next(iter(runs))][0] if k != "slides"]
    command = (".venv/bin/python bench/bench_demo.py" + (f" --runs {args.runs}" if args.runs != 3 else "")
               + (f" --quiet {args.quiet:g}" if args.quiet else "") + (" --baseline SRC" if args.baseline else ""))
    # what slides and deck cost: a run with them against the run without them just before it
    costs = [w["total"] - wo["total"] for w, wo in zip(runs["this code"], runs["this code, --no-slides"])]
    shares = [c / w["total"] for c, w in zip(costs, runs["this code"])]
    base_costs = [w["total"] - wo["total"] for w, wo in zip(runs.get("baseline", []), runs["this code, --no-slides"])]
    lines = [
        "## `custseg demo`: the real Olist data, with slides and deck",
        "",
        f"Machine: {machine_line()}. Command: `{command}`"
        + (" (SRC: the baseline's `src/`, e.g. `git archive main src | tar -x -C /tmp/base`)" if args.baseline else "") + ".",
        f"Median of {args.runs} runs (seconds), each a fresh interpreter running `custseg.api.run(olist_folder(), out=...)`;"
        f" the variants alternate run by run; load average before the runs {min(loads):.1f}-{max(loads):.1f} (2 cores).",
        "",
        "| stage | " + " | ".join(f"{name} ({runs[name][0]['slides']} PNG)" for name in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for stage in stages:
        cells = [f"{statistics.median(r[stage] for r in runs[name]):.1f}" for name in runs]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"**Slides and deck cost {statistics.median(costs):.1f} s, {statistics.median(shares):.0%} of the demo's time** (median of"
        f" the runs' differences with and without them: {', '.join(f'{c:.1f} s ({s:.0%})' for c, s in zip(costs, shares))})"
        + (f"; the baseline's cost, against the same runs without slides: {statistics.median(base_costs):.1f} s"
           f" ({', '.join(f'{c:.1f}' for c in base_costs)})." if base_costs else "."),
        f"Before each run (in the order run): load average {', '.join(f'{x:.1f}' for x in loads)}; cores kept busy by other work"
        f" just before it {', '.join(f'{x:.2f}' for x in busy)} (of 2; above ~0.2 the run shared the cores).",
        "",
        "The browser starts with the run and draws each chart as soon as the analysis has made it, so most slide",
        "images are drawn while Python is still building the next views; the deck's slides are made meanwhile, all but",
        "their pictures; 'writing outputs' (from the progress line 'writing report...' to the end: report, the slides still",
        "to draw, deck, tables) is what is left after the analysis. Report html and deck are timed around the functions",
        "`write_report` calls. The deck shows 48 of the report's 72 figures (an attribute x cluster chart is left out: its",
        "twin, clusters x attribute, shows the same cross-tab transposed), drawn 1440 px wide.",
        "",
    ]
    text = "\n".join(lines)
    (REPO / "bench/results/demo.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
