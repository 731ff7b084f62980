"""Speed and scale: the whole reference analysis per stage, at growing sizes, beside the notebook baseline.

For each size, generated Olist-schema data (`custseg generate olist`, seed 1) goes through
`custseg run` stage by stage in a fresh process that records wall time per stage and the peak
resident memory reached by the end of each stage. At Olist scale the notebook baseline
(bench/baseline_notebook.py) runs on the same folder in the same run.

    .venv/bin/python bench/bench_scale.py --sizes 10000 100000 --baseline 100000
    .venv/bin/python bench/bench_scale.py --sizes 1000000 10000000     # long
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure  # noqa: E402

STAGE_SNIPPET = r"""
import json, resource, sys, time
from pathlib import Path
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
stages = []
t0 = time.perf_counter()
def mark(name, started):
    stages.append({"stage": name, "seconds": time.perf_counter() - started, "peak_rss_mb": peak()})
t = time.perf_counter()
import custseg.api
mark("import", t)
last = [time.perf_counter()]
names = []
def stage_name(message):
    if message.startswith("load:"):
        return "load (read + validate)"
    if message.startswith("writing report"):
        return "report" + (" + slides + deck" if "slides" in message else " (html, tables, models)")
    title = message.split(":")[0]
    return (f"{title}: evidence for k" if "evidence" in message else f"{title}: fit + silhouette"
            if "fitting" in message else f"{title}: views" if message.endswith(": views") else message)
def progress(message):
    now = time.perf_counter()
    if names:
        mark(names[-1], last[0])
    names.append(stage_name(message))
    last[0] = now
slides = sys.argv[3] == "slides"
# exactly what `custseg run` does (custseg.api.run), stage by stage from its progress messages
result = custseg.api.run(sys.argv[1], out=sys.argv[2], slides=slides, progress=progress)
mark(names[-1], last[0])
print(json.dumps({"stages": stages, "total": time.perf_counter() - t0,
                  "customers": int(result.summary["customers"]),
                  "populations": {p.name: {"n": p.n_customers, "k": p.k, "silhouette": p.silhouette_label} for p in result.populations}}))
"""


def generated(size: int, work: Path) -> Path:
    folder = work / f"olist-{size}"
    if not (folder / "olist_orders_dataset.csv").is_file():
        subprocess.run([sys.executable, "-m", "custseg.generate.olist", "--customers", str(size), "--seed", "1", "--out", str(folder)], check=True)
    return folder


def run_stages(folder: Path, out: Path, slides: bool) -> tuple[dict, float, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", STAGE_SNIPPET, str(folder), str(out), "slides" if slides else "no"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data, time.perf_counter() - started, max(s["peak_rss_mb"] for s in data["stages"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--baseline", type=int, nargs="*", default=[100_000])
    parser.add_argument("--work", default="/tmp/custseg-scale")
    parser.add_argument("--slides", action="store_true", help="also time slide images + deck")
    parser.add_argument("--out", default=str(REPO / "bench/results/scale.md"))
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    lines = [
        "## Speed and scale: the whole reference analysis per stage",
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_scale.py --sizes {' '.join(map(str, args.sizes))}"
        + (f" --baseline {' '.join(map(str, args.baseline))}" if args.baseline else "") + (" --slides" if args.slides else "") + "`.",
        "Data: `custseg generate olist --customers N --seed 1`. Each size runs in a fresh process; memory is the peak RSS reached by the end of each stage (a running maximum).",
        "",
    ]
    summary_rows = []
    for size in args.sizes:
        folder = generated(size, work)
        data, wall, peak = run_stages(folder, work / f"out-{size}", args.slides)
        lines += [f"### {size:,} generated customers ({data['customers']:,} in the window)", "",
                  "| stage | seconds | peak RSS so far (MB) |", "|---|---:|---:|"]
        lines += [f"| {s['stage']} | {s['seconds']:.2f} | {s['peak_rss_mb']:,.0f} |" for s in data["stages"]]
        lines += [f"| **total (process wall time)** | **{wall:.2f}** | **{peak:,.0f}** |", ""]
        pops = "; ".join(f"{k}: {v['n']:,} customers, k = {v['k']}, silhouette {v['silhouette']}" for k, v in data["populations"].items())
        lines += [f"Populations: {pops}.", ""]
        row = {"size": size, "custseg": wall, "peak": peak}
        if size in args.baseline:
            b = measure([sys.executable, str(REPO / "bench/baseline_notebook.py"), str(folder), str(work / f"baseline-{size}")], quiet=True)
            row["baseline"] = b.seconds
            row["baseline_peak"] = b.peak_rss_mb
        summary_rows.append(row)
    lines += ["### custseg vs the notebook way (bench/baseline_notebook.py), same data, same run", "",
              "| customers | custseg (s) | custseg peak MB | notebook baseline (s) | baseline peak MB | speed-up |", "|---:|---:|---:|---:|---:|---:|"]
    for r in summary_rows:
        if "baseline" in r:
            lines.append(f"| {r['size']:,} | {r['custseg']:.1f} | {r['peak']:,.0f} | {r['baseline']:.1f} | {r['baseline_peak']:,.0f} | {r['baseline'] / r['custseg']:.1f}× |")
        else:
            lines.append(f"| {r['size']:,} | {r['custseg']:.1f} | {r['peak']:,.0f} | — | — | — |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
