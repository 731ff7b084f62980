"""What writing audiences/ costs: `custseg run --no-slides` on the bundled real Olist data, this
code against a baseline without audiences, runs alternating in one invocation; then the audience
stage alone (plan + write, in one process, on one analysis result).

    git archive BASE_COMMIT src | tar -x -C /tmp/base
    .venv/bin/python bench/bench_audiences.py --baseline /tmp/base/src [--runs 3] [--stage-runs 5]

Writes bench/results/audiences.json and .md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure  # noqa: E402

CLI = "import sys; from custseg.cli import entry; sys.argv[0] = 'custseg'; entry()"

STAGE = r"""
import json, statistics, sys, tempfile, time
from custseg.api import run
from custseg.audiences import cluster_groupings, plan_audiences, rfm_grouping, write_files
from custseg.data import olist_folder
result = run(olist_folder())
times = []
for i in range(int(sys.argv[1])):
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        groupings = [*cluster_groupings(result.populations), rfm_grouping(result.customers)]
        manifest, files = plan_audiences(result.customers, groupings)
        planned = time.perf_counter()
        write_files(tmp, manifest, files)
        times.append((planned - t, time.perf_counter() - planned, sum(e["customers"] for e in manifest["audiences"]), len(files), time.process_time() - c))
print(json.dumps(times))
"""


def one_run(src: Path) -> tuple[float, float]:
    from custseg.data import olist_folder

    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-c", CLI, "run", "--data", str(olist_folder()), "--out", f"{tmp}/out", "--no-slides", "--quiet"]
        m = measure(argv, env={"PYTHONPATH": str(src)})
        return m.seconds, m.cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="src folder of the code without audiences")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--stage-runs", type=int, default=5)
    args = parser.parse_args()
    here = REPO / "src"
    runs: dict[str, list[float]] = {"baseline": [], "audiences": []}
    cpu: dict[str, list[float]] = {"baseline": [], "audiences": []}
    for i in range(args.runs):  # alternating, baseline first then this code, so drift hits both alike
        for name, src in (("baseline", args.baseline), ("audiences", here)):
            seconds, cpu_seconds = one_run(src)
            runs[name].append(seconds)
            cpu[name].append(cpu_seconds)
            print(f"run {i + 1} {name}: {seconds:.2f} s, CPU {cpu_seconds:.2f} s", flush=True)
    out = subprocess.run([sys.executable, "-c", STAGE, str(args.stage_runs)], env={"PYTHONPATH": str(here)},
                         capture_output=True, text=True, check=True)
    stage = json.loads(out.stdout.strip().splitlines()[-1])
    medians = {k: statistics.median(v) for k, v in runs.items()}
    cpu_medians = {k: statistics.median(v) for k, v in cpu.items()}
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    result = {
        "measured": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine_line(),
        "command": "custseg run --data <bundled Olist> --out DIR --no-slides --quiet",
        "load_average_at_end": load,
        "runs_seconds": runs,
        "median_seconds": medians,
        "extra_seconds_median": medians["audiences"] - medians["baseline"],
        "runs_cpu_seconds": cpu,
        "median_cpu_seconds": cpu_medians,
        "extra_cpu_seconds_median": cpu_medians["audiences"] - cpu_medians["baseline"],
        "stage": {"plan_seconds": [s[0] for s in stage], "write_seconds": [s[1] for s in stage],
                  "cpu_seconds": [s[4] for s in stage], "rows": stage[0][2], "files": stage[0][3]},
    }
    (REPO / "bench" / "results" / "audiences.json").write_text(json.dumps(result, indent=2) + "\n")
    plan = statistics.median(result["stage"]["plan_seconds"])
    write = statistics.median(result["stage"]["write_seconds"])
    lines = [
        "# Audience files: what they cost", "",
        f"Measured {result['measured']} on {result['machine']}; load average (1, 5, 15 min) at the end: "
        f"{', '.join(load)} (other work shared the 2 cores: wall times vary with it, CPU seconds much less).", "",
        f"`{result['command']}`, {args.runs} runs each, alternating (baseline: the code before audiences/):", "",
        "| code | wall, s | median, s | CPU (all threads), s | median, s |", "|---|---|---:|---|---:|",
        *[f"| {k} | {', '.join(f'{t:.2f}' for t in v)} | {medians[k]:.2f} | {', '.join(f'{t:.2f}' for t in cpu[k])} | {cpu_medians[k]:.2f} |"
          for k, v in runs.items()],
        "",
        f"Difference of the medians: wall {result['extra_seconds_median']:+.2f} s, CPU {result['extra_cpu_seconds_median']:+.2f} s.",
        "",
        f"The audience stage alone ({result['stage']['files']} files, {result['stage']['rows']:,} rows; median of {args.stage_runs}): "
        f"building the tables {plan:.2f} s, writing them {write:.2f} s, CPU {statistics.median(result['stage']['cpu_seconds']):.2f} s. "
        "In a run the writing happens on a thread beside the report.",
        "",
    ]
    (REPO / "bench" / "results" / "audiences.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
