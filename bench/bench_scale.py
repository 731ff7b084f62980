"""Speed and scale: the whole reference analysis per stage, at growing sizes, beside the notebook baseline.

For each size, generated Olist-schema data (`custseg generate olist`, seed 1) goes through
`custseg run` stage by stage in a fresh process that records wall time per stage and the peak
resident memory reached by the end of each stage. At Olist scale the notebook baseline
(bench/baseline_notebook.py) runs on the same folder in the same run, alternating with custseg.

    .venv/bin/python bench/bench_scale.py --sizes 96000 --baseline 96000 --repeats 5 --baseline-repeats 3
    .venv/bin/python bench/bench_scale.py --sizes 1000000 10000000 --baseline   # long
    .venv/bin/python bench/bench_scale.py --sizes                               # table + plot only
    .venv/bin/python bench/bench_scale.py --sizes --real --repeats 7 --baseline-repeats 4  # the real Olist data

Each size's result is kept in bench/results/scale/<size>.json; the table and the plot
(bench/results/scale.md, scale.png) combine every size measured so far. ``--real`` measures the
bundled real Olist data (the demo's input) the same way, custseg alternating with the baseline:
bench/results/real_olist.json and real_olist.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
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
def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
stages = []
t0 = time.perf_counter()
cpu_at = [cpu()]
def mark(name, started):
    now = cpu()
    stages.append({"stage": name, "seconds": time.perf_counter() - started, "peak_rss_mb": peak(), "cpu": now - cpu_at[0]})
    cpu_at[0] = now
t = time.perf_counter()
import custseg.api
mark("import", t)
last = [time.perf_counter()]
names = []
def stage_name(message):
    if message.startswith("load:"):
        return "load (read + validate)"
    if message.startswith("RFM views"):
        return message
    if message.startswith("writing report"):
        return "report" + (" + slides + deck" if "slides" in message else " (html, tables, models)")
    title = message.split(":")[0]
    return (f"{title}: evidence for k" if "evidence" in message else f"{title}: fit + silhouette"
            if "fitting" in message else f"{title}: views" if message.endswith(": views") else message)
beside = {}
def progress(message):
    now = time.perf_counter()
    print(f"{now - t0:8.1f}s {message}", file=sys.stderr, flush=True)
    if "(beside " in message and not message.startswith("RFM views"):
        # a population clustered on a thread beside the first: not a stage of the main sequence
        beside.setdefault(message.split(":")[0], message[message.index("(beside ") + 8:].rstrip(")"))
        return
    if names:
        mark(names[-1], last[0])
    names.append(stage_name(message))
    last[0] = now
slides = sys.argv[3] == "slides"
# exactly what `custseg run` does (custseg.api.run with the command's runtime settings,
# custseg.tuning.tuned), stage by stage from its progress messages
import custseg.tuning
with custseg.tuning.tuned():
    result = custseg.api.run(sys.argv[1], out=sys.argv[2], slides=slides, progress=progress)
mark(names[-1], last[0])
for pop in result.populations:  # each side population's own time, as one row that overlaps the stages above it
    if pop.title in beside:
        row = {"stage": f"{pop.title}: evidence, fit and views (beside {beside[pop.title]}, overlapping)",
               "seconds": result.timings[f"population:{pop.name}"], "peak_rss_mb": peak(), "overlaps": True}
        at = max(i for i, st in enumerate(stages) if st["stage"].startswith(beside[pop.title])) + 1
        stages.insert(at, row)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"stages": stages, "total": time.perf_counter() - t0, "cpu": usage.ru_utime + usage.ru_stime,
                  "customers": int(result.summary["customers"]),
                  "populations": {p.name: {"n": p.n_customers, "k": p.k, "silhouette": p.silhouette_label} for p in result.populations}}))
sys.stdout.flush()
sys.stderr.flush()
import os
os._exit(0)  # as the custseg command ends (custseg.cli.entry): no interpreter teardown
"""


def generated(size: int, work: Path) -> Path:
    folder = work / f"olist-{size}"
    if not (folder / "olist_orders_dataset.csv").is_file():
        subprocess.run([sys.executable, "-m", "custseg.generate.olist", "--customers", str(size), "--seed", "1", "--out", str(folder)], check=True)
    return folder


#: The custseg sources the runs import (``--src``: another revision's src/ folder, to compare).
SRC = REPO / "src"


def run_stages(folder: Path, out: Path, slides: bool) -> tuple[dict, float, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", STAGE_SNIPPET, str(folder), str(out), "slides" if slides else "no"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)})
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return data, time.perf_counter() - started, max(s["peak_rss_mb"] for s in data["stages"])


RESULTS = REPO / "bench" / "results"
RAW = RESULTS / "scale"  # one JSON per size, so sizes measured by separate invocations combine


def count_orders(folder: Path) -> int:
    path = folder / "olist_orders_dataset.csv"
    with (open(path, "rb") if path.is_file() else gzip.open(f"{path}.gz", "rb")) as lines:
        return sum(1 for _ in lines) - 1


def run_sizes(sizes: list[int], work: Path, slides: bool, repeats: int, baseline: dict[int, int], command: str) -> None:
    """``repeats`` rounds, each running every size once, smallest first (and, in a size's first
    ``baseline[size]`` rounds, the notebook baseline after custseg): a drift of the machine's speed
    then hits every size and the baseline alike, so the growth from one size to the next (and the
    speed-up) compares runs made at the same time. Each size's record goes to ``RAW/<size>.json``."""
    folders = {size: generated(size, work) for size in sizes}
    runs = {size: [] for size in sizes}
    base_runs = {size: [] for size in sizes}
    for i in range(repeats):
        for size in sizes:
            runs[size].append(custseg_run(folders[size], work / f"out-{size}", slides))
            if i < baseline.get(size, 0):
                base_runs[size].append(baseline_run(folders[size], work / f"baseline-{size}"))
    RAW.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        record = summarise(folders[size], runs[size], base_runs[size], slides, command)
        (RAW / f"{size}.json").write_text(json.dumps({"size": size, **record}, indent=1) + "\n")


def run_folder(folder: Path, tag: str, work: Path, slides: bool, repeats: int, baseline: int, command: str) -> dict:
    """``repeats`` runs of custseg on one folder and, after each of the first ``baseline`` of them,
    one of the notebook baseline: interleaved, so a drift of the machine's speed hits both alike."""
    runs, base_runs = [], []
    for i in range(repeats):
        runs.append(custseg_run(folder, work / f"out-{tag}", slides))
        if i < baseline:
            base_runs.append(baseline_run(folder, work / f"baseline-{tag}"))
    return summarise(folder, runs, base_runs, slides, command)


def custseg_run(folder: Path, out: Path, slides: bool) -> dict:
    load_before = os.getloadavg()[0]
    data, wall, peak = run_stages(folder, out, slides)
    return {"wall": wall, "cpu": data.get("cpu"), "peak_mb": peak, "stages": data["stages"], "load_before": load_before,
            "customers": data["customers"], "populations": data["populations"]}


def baseline_run(folder: Path, out: Path) -> dict:
    load_before = os.getloadavg()[0]
    b = measure([sys.executable, str(REPO / "bench/baseline_notebook.py"), str(folder), str(out)], quiet=True)
    said = json.loads((out / "result.json").read_text())
    return {"wall": b.seconds, "cpu": b.cpu_seconds, "peak_mb": b.peak_rss_mb, "load_before": load_before,
            "silhouettes": [said["silhouette_a"], said["silhouette_b"]]}


def summarise(folder: Path, runs: list[dict], base_runs: list[dict], slides: bool, command: str) -> dict:
    """A folder's record: every run, and the median run's stages (and the baseline's median)."""
    best = sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]  # the median run
    record = {
        "customers": best["customers"], "populations": best["populations"], "orders": count_orders(folder),
        "runs": [{"wall": r["wall"], "cpu": r["cpu"], "peak_mb": r["peak_mb"], "load_before": r["load_before"]} for r in runs],
        "median": {k: v for k, v in best.items() if k not in ("customers", "populations")},
        "machine": machine_line(), "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M"), "slides": slides,
    }
    if base_runs:
        median = sorted(base_runs, key=lambda r: r["wall"])[len(base_runs) // 2]
        record["baseline"] = {**median, "runs": base_runs}
    return record


def write_report(out: Path) -> str:
    records = sorted((json.loads(p.read_text()) for p in RAW.glob("*.json")), key=lambda r: r["size"])
    if not records:
        return ""
    lines = [
        "## Speed and scale: the whole reference analysis per stage",
        "",
        "Data: `custseg generate olist --customers N --seed 1` (Olist-schema CSV files; 96,000 customers is the",
        "real data's size, about 99k orders). Each run is a fresh process running `custseg.api.run` with the",
        "command's runtime settings (`custseg.tuning.tuned`) — what `custseg run --no-slides` does — stage by",
        "stage (`bench/bench_scale.py`); a stage's time is the wall",
        "time between two progress messages, memory the process's peak RSS by the end of the stage (a",
        "running maximum). Heavy imports overlap the load and features stages (a background thread), so",
        "those two include some import work; the RFM charts are drawn on a thread beside the first",
        "population's evidence, whose stage time includes them, and so is the second population (its row",
        "says \"overlapping\": its own time, which the stages around it already contain); the customer",
        "tables are written while the first population's views are drawn. CPU time is the process's user + system",
        "time over all its threads: on this shared machine the CPU's speed drifts by up to ~30 % within",
        "an hour, so compare runs of one invocation: there custseg's runs and the baseline's alternate, and",
        "the sizes of one invocation run in rounds (every size once per round, each size's median run tabulated).",
        "",
        "| customers | orders | runs (wall s) | runs (CPU s, all threads) | load avg before | peak RSS (MB) | measured | command |",
        "|---:|---:|---|---|---|---:|---|---|",
    ]
    for r in records:
        walls = ", ".join(f"{x['wall']:.2f}" for x in r["runs"])
        cpus = ", ".join(f"{x['cpu']:.1f}" if x.get("cpu") is not None else "—" for x in r["runs"])
        loads = ", ".join(f"{x['load_before']:.1f}" for x in r["runs"])
        lines.append(f"| {r['size']:,} | {r['orders']:,} | {walls} | {cpus} | {loads} | {r['median']['peak_mb']:,.0f} | {r['date']} | `{r['command']}` |")
    lines += ["", f"Machine: {records[-1]['machine']}.", ""]
    # stage x size table (median run of each size)
    stages: list[str] = []
    for r in records:
        for st in r["median"]["stages"]:
            if st["stage"] not in stages:
                stages.append(st["stage"])
    header = "| stage | " + " | ".join(f"{r['size']:,}: s" for r in records) + " | " + " | ".join(f"{r['size']:,}: MB" for r in records) + " |"
    lines += ["### Time and peak memory per stage (median run)", "", header, "|---|" + "---:|" * (2 * len(records))]
    for name in stages:
        secs, mbs = [], []
        for r in records:
            st = next((x for x in r["median"]["stages"] if x["stage"] == name), None)
            secs.append(f"{st['seconds']:.2f}" if st else "—")
            mbs.append(f"{st['peak_rss_mb']:,.0f}" if st else "—")
        lines.append(f"| {name} | " + " | ".join(secs) + " | " + " | ".join(mbs) + " |")
    lines.append("| **total (process wall time)** | " + " | ".join(f"**{r['median']['wall']:.2f}**" for r in records)
                 + " | " + " | ".join(f"**{r['median']['peak_mb']:,.0f}**" for r in records) + " |")
    largest = records[-1]["median"]
    shares = sorted((st for st in largest["stages"] if not st.get("overlaps")), key=lambda st: -st["seconds"])
    lines += ["", f"Where the time goes at {records[-1]['size']:,} customers ({largest['wall']:.0f} s): "
              + "; ".join(f"{st['stage']} {st['seconds'] / largest['wall']:.0%}" for st in shares[:6]) + "."]
    lines += ["", "![time and memory per stage and size](bench/results/scale.png)", ""]
    lines += growth_table(records)
    base = [r for r in records if "baseline" in r]
    if base:
        lines += ["### custseg vs the notebook way (`bench/baseline_notebook.py`), same data, same invocation", "",
                  "Runs alternate (custseg, baseline, custseg, baseline, ...); the speed-up is the baseline's median",
                  "over custseg's. Per pair (a custseg run and the baseline run right after it, the machine in",
                  "the same state) the ratios are listed too.", "",
                  "| customers | custseg median (s) | custseg CPU s | custseg peak MB | baseline runs (s) | baseline median (s) | baseline CPU s | baseline peak MB | speed-up (wall) | per pair |",
                  "|---:|---:|---:|---:|---|---:|---:|---:|---:|---|"]
        for r in base:
            b = r["baseline"]
            walls = ", ".join(f"{x['wall']:.1f}" for x in b.get("runs", [b]))
            cpu = f"{b['cpu']:.1f}" if b.get("cpu") is not None else "—"
            lines.append(f"| {r['size']:,} | {r['median']['wall']:.2f} | {r['median']['cpu']:.1f} | {r['median']['peak_mb']:,.0f} | {walls} | "
                         f"{b['wall']:.1f} | {cpu} | {b['peak_mb']:,.0f} | {b['wall'] / r['median']['wall']:.1f}× | "
                         + ", ".join(f"{x['wall'] / c['wall']:.1f}×" for c, x in zip(r["runs"], b.get("runs", []))) + " |")
        lines.append("")
    for r in records:
        pops = "; ".join(f"{k}: {v['n']:,} customers, k = {v['k']}, silhouette {v['silhouette']}" for k, v in r["populations"].items())
        lines.append(f"- {r['size']:,}: {pops}.")
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    plot(records, RESULTS / "scale.png")
    return text


def growth_exponent(small: float, large: float, ratio: float) -> float:
    """How a cost grows with the customers: ``log(large / small) / log(ratio)`` (1 = in a
    straight line, 2 = with their square)."""
    return math.log(large / small) / math.log(ratio)


def growth_table(records: list[dict], small: int = 1_000_000, large: int = 10_000_000, limit: float = 1.15) -> list[str]:
    """Each stage's growth exponent from ``small`` to ``large`` customers (median runs), wall and CPU."""
    by_size = {r["size"]: r["median"] for r in records}
    if small not in by_size or large not in by_size:
        return []
    ratio = large / small
    rows = ["### Growth from {:,} to {:,} customers".format(small, large), "",
            f"Exponent = log(time at {large:,} / time at {small:,}) / log({ratio:g}): 1 is a straight line; the goal is at most {limit} "
            "(three decimals, so that a stage at the line shows on which side it is).",
            "Stages under 0.5 s at either size are left out (their ratio is noise); writing the outputs is named by what it says at each size, so it has no row here (see the table above).", "",
            "| stage | s at {:,} | s at {:,} | exponent (wall) | CPU s at {:,} | CPU s at {:,} | exponent (CPU) |".format(small, large, small, large),
            "|---|---:|---:|---:|---:|---:|---:|"]
    for st in by_size[large]["stages"]:
        before = next((x for x in by_size[small]["stages"] if x["stage"] == st["stage"]), None)
        if before is None or min(before["seconds"], st["seconds"]) < 0.5:
            continue
        cpu = ("—", "—", "—")
        if before.get("cpu") and st.get("cpu"):
            cpu = (f"{before['cpu']:.1f}", f"{st['cpu']:.1f}", f"{growth_exponent(before['cpu'], st['cpu'], ratio):.3f}")
        rows.append(f"| {st['stage']} | {before['seconds']:.2f} | {st['seconds']:.2f} | {growth_exponent(before['seconds'], st['seconds'], ratio):.3f} | "
                    + " | ".join(cpu) + " |")
    a, b = by_size[small]["wall"], by_size[large]["wall"]
    rows += [f"| **whole run** | **{a:.1f}** | **{b:.1f}** | **{growth_exponent(a, b, ratio):.3f}** | | | |", ""]
    return rows


REAL = RESULTS / "real_olist.json"


def write_real_report(out: Path) -> str:
    """The real Olist data (the demo's input): custseg's runs beside the baseline's, stage by stage."""
    if not REAL.is_file():
        return ""
    r = json.loads(REAL.read_text())
    b = r["baseline"]
    walls = ", ".join(f"{x['wall']:.2f}" for x in r["runs"])
    base_walls = ", ".join(f"{x['wall']:.1f}" for x in b["runs"])
    lines = [
        "## The real Olist data: custseg beside the notebook way",
        "",
        f"Data: the real Olist tables bundled with custseg (`custseg/data/olist`, gzip CSVs; {r['customers']:,} customers,",
        f"{r['orders']:,} orders), the input of `custseg demo`. Each custseg run is a fresh process doing what",
        "`custseg run --no-slides` does (`custseg.api.run`), its silhouettes exact; each baseline run",
        "(`bench/baseline_notebook.py`: pandas group-bys, scikit-learn's `silhouette_score`, KMeans and",
        "Ward, one Plotly figure at a time) follows one of custseg's first runs in the same invocation, so",
        "a drift of the machine's speed hits both alike.",
        "",
        f"Measured {r['date']}; `{r['command']}`; {r['machine']}.",
        "",
        "| | runs (wall s) | median wall s | CPU s (median run, all threads) | peak RSS MB | silhouettes (All Customers, Multiple Purchases) |",
        "|---|---|---:|---:|---:|---|",
        f"| custseg | {walls} | **{r['median']['wall']:.2f}** | {r['median']['cpu']:.1f} | {r['median']['peak_mb']:,.0f} | "
        + ", ".join(v["silhouette"] for v in r["populations"].values()) + " |",
        f"| notebook way | {base_walls} | **{b['wall']:.1f}** | {b['cpu']:.1f} | {b['peak_mb']:,.0f} | "
        + ", ".join(f"{s:.3f} (exact)" for s in b["silhouettes"]) + " |",
        "",
        f"Speed-up: **{b['wall'] / r['median']['wall']:.1f}×** (median over median); per pair (a custseg run and the",
        "baseline run right after it): " + ", ".join(f"{x['wall'] / c['wall']:.1f}×" for c, x in zip(r["runs"], b["runs"])) + ".",
        "",
        "| stage (median custseg run) | s | peak RSS MB |",
        "|---|---:|---:|",
    ]
    lines += [f"| {st['stage']} | {st['seconds']:.2f} | {st['peak_rss_mb']:,.0f} |" for st in r["median"]["stages"]]
    text = "\n".join(lines) + "\n"
    out.write_text(text)
    return text


def plot(records: list[dict], path: Path) -> None:
    """Seconds per stage and peak memory against customers (log-log), one line per stage."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("seconds per stage", "peak RSS (MB) by the end of the stage"))
    sizes = [r["size"] for r in records]
    stages: list[str] = []
    for r in records:
        for st in r["median"]["stages"]:
            if st["stage"] not in stages:
                stages.append(st["stage"])
    for name in stages:
        secs = [next((x["seconds"] for x in r["median"]["stages"] if x["stage"] == name), None) for r in records]
        fig.add_trace(go.Scatter(x=sizes, y=secs, name=name, mode="lines+markers"), row=1, col=1)
    fig.add_trace(go.Scatter(x=sizes, y=[r["median"]["wall"] for r in records], name="total", mode="lines+markers",
                             line={"width": 4, "color": "black"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=sizes, y=[r["median"]["peak_mb"] for r in records], name="peak RSS", mode="lines+markers",
                             line={"width": 4, "color": "firebrick"}, showlegend=True), row=1, col=2)
    fig.update_xaxes(type="log", title_text="customers")
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_layout(template="plotly_white", width=1400, height=600, title="custseg: the reference analysis at growing sizes")
    fig.write_image(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 96_000])
    parser.add_argument("--baseline", type=int, nargs="*", default=[96_000], help="sizes that also run the notebook baseline")
    parser.add_argument("--baseline-repeats", type=int, default=1, help="baseline runs, alternating with custseg's first runs")
    parser.add_argument("--repeats", type=int, default=1, help="runs per size, in rounds over the sizes (the median is tabulated)")
    parser.add_argument("--work", default="/tmp/custseg-scale")
    parser.add_argument("--slides", action="store_true", help="also time slide images + deck")
    parser.add_argument("--out", default=str(RESULTS / "scale.md"))
    parser.add_argument("--real", action="store_true", help="measure the bundled real Olist data, with the baseline")
    parser.add_argument("--src", default=None, help="the custseg src/ folder to run (default: this worktree's)")
    args = parser.parse_args()
    if args.src:
        global SRC
        SRC = Path(args.src)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    command = "bench/bench_scale.py " + " ".join(sys.argv[1:])
    if args.real:
        from custseg.data import olist_folder

        record = run_folder(olist_folder(), "real", work, args.slides, args.repeats, max(1, args.baseline_repeats), command)
        REAL.write_text(json.dumps(record, indent=1) + "\n")
        print(write_real_report(RESULTS / "real_olist.md"))
    run_sizes(sorted(args.sizes), work, args.slides, args.repeats, {size: args.baseline_repeats for size in args.baseline}, command)
    if args.sizes:
        print(write_report(Path(args.out)))


if __name__ == "__main__":
    main()
