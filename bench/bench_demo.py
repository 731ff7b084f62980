"""Time `custseg demo` (the reference analysis on the real Olist data, with slides and deck) stage by stage.

    .venv/bin/python bench/bench_demo.py [--runs 3] [--baseline SRC_DIR]

Each run is a fresh interpreter calling ``custseg.api.run(olist_folder(), out=...)``, what
``custseg demo`` does. Stages: load + features, clustering (evidence and fits), views (from
the progress lines), then report html, slide images and deck (timed around the functions
``write_report`` calls). Since the slide images are drawn while the HTML is written, the
"writing outputs" column (progress line "writing report..." to the end) is what they cost
together. With ``--baseline SRC_DIR`` (e.g. ``git archive main src | tar -x -C /tmp/base``)
that code is timed too, alternating with this one run by run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line  # noqa: E402

DRIVER = r"""
import json, sys, tempfile, time
marks, events = {}, []
t0 = time.perf_counter()
now = lambda: time.perf_counter() - t0
import custseg.report.html as H, custseg.report.deck as D, custseg.report.slides as S

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
if hasattr(S, "SlideExport"):  # drawn on a thread beside the HTML: from start() to images()
    start, images = S.SlideExport.start, S.SlideExport.images
    def start_(self):
        marks["_slides"] = now()
        return start(self)
    def images_(self):
        out = images(self)
        marks["slide images"] = (marks.pop("_slides"), now())
        return out
    S.SlideExport.start, S.SlideExport.images = start_, images_
else:
    S.export_figures = timed("slide images", S.export_figures)
from custseg.api import run
from custseg.data import olist_folder
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    run(olist_folder(), out=tmp + "/report", progress=lambda m: events.append((now(), m)))
    total = now()
    slides = len(list((__import__("pathlib").Path(tmp) / "report/slides").glob("*.png")))
print(json.dumps({"marks": marks, "events": events, "total": total, "slides": slides}))
"""


def _stages(data: dict) -> dict[str, float]:
    events = data["events"]

    def first(word: str) -> float:
        return next(t for t, m in events if word in m)

    clustering, views, writing = first("evidence"), first(": views"), first("writing report")
    out = {"load + features": clustering, "clustering": views - clustering, "views": writing - views}
    for name in ("report html", "slide images", "deck"):
        start, end = data["marks"][name]
        out[name] = end - start
    out["writing outputs"] = data["total"] - writing
    out["total"] = data["total"]
    return out


def measure(src: Path) -> dict:
    env = {"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", DRIVER], env=env, capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**_stages(data), "slides": data["slides"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="the src/ folder of the code to compare with")
    args = parser.parse_args()
    variants = {"this code": REPO / "src"}
    if args.baseline:
        variants = {"baseline": args.baseline, **variants}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for i in range(args.runs):
        for name, src in variants.items():
            runs[name].append(measure(src))
            print(f"run {i + 1} {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in runs[name][-1].items()), file=sys.stderr)
    stages = [k for k in runs[next(iter(runs))][0] if k != "slides"]
    command = ".venv/bin/python bench/bench_demo.py" + (f" --runs {args.runs}" if args.runs != 3 else "") + (" --baseline SRC" if args.baseline else "")
    lines = [
        "## `custseg demo`: the real Olist data, with slides and deck",
        "",
        f"Machine: {machine_line()}. Command: `{command}`"
        + (" (SRC: the baseline's `src/`, e.g. `git archive main src | tar -x -C /tmp/base`)" if args.baseline else "") + ".",
        f"Median of {args.runs} runs (seconds), each a fresh interpreter running `custseg.api.run(olist_folder(), out=...)`"
        + ("; the variants alternate run by run" if args.baseline else "") + ".",
        "",
        "| stage | " + " | ".join(f"{name} ({runs[name][0]['slides']} PNG)" for name in runs) + " |",
        "|---|" + "---:|" * len(runs),
    ]
    for stage in stages:
        cells = [f"{statistics.median(r[stage] for r in runs[name]):.1f}" for name in runs]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Report html, slide images and deck are timed around the functions `write_report` calls; this code draws the",
        "slide images on a thread while it writes the HTML (so they overlap) and only PNG (SVG: `--slide-format png,svg`).",
        "'writing outputs' is from the progress line 'writing report...' to the end: report, slides, deck, tables.",
        "",
    ]
    text = "\n".join(lines)
    (REPO / "bench/results/demo.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
