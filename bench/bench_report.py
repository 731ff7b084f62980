"""Benchmark: the HTML report's size, and the time until Chromium has drawn every figure, by revision.

For each revision (a git revision, or "." for the working tree; ``LABEL=REV`` names it) the
reference analysis of the bundled real Olist data writes report.html with that revision's
sources (``custseg run --no-slides``, in its own process). Headless Debian Chromium, driven by
Playwright with the network blocked, then loads each report --repeats times, the revisions
alternating (a drift of the machine hits them alike), each load in a fresh browser context. The
time is the page's own clock (``performance.now()``, from navigation start) when every
``div.figure`` holds a drawn plot (report.js's ``rendered`` class and Plotly's ``svg.main-svg``),
polled every animation frame; DOMContentLoaded (the document parsed, plotly.js and report.js
run) is shown beside it, and the CPU time all Chromium's processes spent on the load (DevTools'
SystemInfo.getProcessInfo), steadier than the wall time on a machine shared with other jobs.

    .venv/bin/python bench/bench_report.py before=c8a2ff2 after=.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ALL_DRAWN = """() => {
  const figures = document.querySelectorAll('div.figure');
  if (!figures.length) return false;
  for (const d of figures) if (!d.classList.contains('rendered') || !d.querySelector('svg.main-svg')) return false;
  return performance.now();
}"""
MB = 1e6


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, check=True, capture_output=True, text=True).stdout.strip()


def describe(rev: str) -> str:
    if rev == ".":
        dirty = " + uncommitted changes" if git("status", "--porcelain", "--", "src") else ""
        return f"working tree ({git('rev-parse', '--short', 'HEAD')}{dirty})"
    return git("rev-parse", "--short", rev)


def write_report(rev: str, work: Path) -> Path:
    """report.html of the reference analysis, made with `rev`'s sources."""
    src = REPO / "src"
    if rev != ".":
        tree = work / f"src-{git('rev-parse', '--short', rev)}"
        tree.mkdir()
        archive = subprocess.run(["git", "archive", rev, "src"], cwd=REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        src = tree / "src"
    out = work / f"out-{len(list(work.glob('out-*')))}"
    subprocess.run([sys.executable, "-c", "from custseg.cli import entry; entry()", "run", "--data",
                    str(REPO / "src/custseg/data/olist"), "--out", str(out), "--no-slides"],
                   env={**os.environ, "PYTHONPATH": str(src)}, check=True, capture_output=True)
    return out / "report.html"


def sizes(path: Path) -> dict[str, float]:
    """What the report's bytes are: plotly.js, the figures' JSON, their layout templates, the rest."""
    html = path.read_text(encoding="utf-8")
    blocks = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', html, re.S)
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    total = len(html.encode())
    plotly = max(len(s.encode()) for s in scripts)
    templates = sum(len(json.dumps(json.loads(t)["layout"].get("template"), separators=(",", ":")).encode())
                    for i, t in blocks if not i.startswith("plotly-template-"))  # inside each figure's JSON
    templates += sum(len(t.encode()) for i, t in blocks if i.startswith("plotly-template-"))  # written once
    figures_json = sum(len(t.encode()) for _, t in blocks)
    n_figures = sum(1 for i, _ in blocks if not i.startswith("plotly-template-"))
    return {"report": total / MB, "plotly_js": plotly / MB, "figures_json": figures_json / MB,
            "templates": templates / MB, "rest": (total - plotly - figures_json) / MB, "figures": n_figures}


def load_times(reports: dict[str, Path], repeats: int) -> dict[str, dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    times = {label: {"drawn": [], "dcl": [], "cpu": []} for label in reports}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        devtools = browser.new_browser_cdp_session()

        def cpu_seconds() -> dict[int, float]:
            return {p["id"]: p["cpuTime"] for p in devtools.send("SystemInfo.getProcessInfo")["processInfo"]}

        for _ in range(repeats):
            for label, path in reports.items():
                cpu_before = cpu_seconds()
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:")) else r.abort())
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(path.as_uri(), wait_until="domcontentloaded")
                drawn = page.wait_for_function(ALL_DRAWN, polling="raf", timeout=300_000).json_value()
                dcl = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
                failed = page.evaluate("document.body.dataset.figuresFailed")
                cpu_after = cpu_seconds()  # the load's renderer is gone once its context is closed
                context.close()
                if errors or failed not in (None, "0"):
                    raise RuntimeError(f"{label}: {errors} figures failed: {failed}")
                times[label]["drawn"].append(drawn / 1000)
                times[label]["dcl"].append(dcl / 1000)
                times[label]["cpu"].append(sum(t - cpu_before.get(pid, 0.0) for pid, t in cpu_after.items()))
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("revisions", nargs="*", help='LABEL=REV or REV; "." is the working tree (default: before=merge-base with main, after=.)')
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pairs = [r.split("=", 1) if "=" in r else [r, r] for r in args.revisions] or [
        ["before", git("merge-base", "HEAD", "main")], ["after", "."]]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        reports = {label: write_report(rev, Path(tmp)) for label, rev in pairs}
        measured = {label: sizes(path) for label, path in reports.items()}
        times = load_times(reports, args.repeats)
    revs = {label: describe(rev) for label, rev in pairs}
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine_line(), "load_average": [load_before, os.getloadavg()[0]],
        "command": f"bench/bench_report.py {' '.join('='.join(p) for p in pairs)} --repeats {args.repeats}",
        "reports": {label: {"revision": revs[label], **measured[label], **times[label],
                            "median_drawn": statistics.median(times[label]["drawn"]),
                            "median_dcl": statistics.median(times[label]["dcl"]),
                            "median_cpu": statistics.median(times[label]["cpu"])} for label, _ in pairs},
    }
    results = REPO / "bench/results"
    results.mkdir(exist_ok=True)
    (results / "report.json").write_text(json.dumps(record, indent=1) + "\n")
    (results / "report.md").write_text(markdown(record) + "\n")
    print(markdown(record))


def markdown(record: dict) -> str:
    reports = record["reports"]
    lines = [
        "## The HTML report: size, and time until every figure is drawn (real Olist data)",
        "",
        "The reference analysis of the bundled real Olist data (`custseg run --no-slides`) writes report.html with each",
        "revision's sources; headless Chromium (Debian's, through Playwright, network blocked, 1440×900) loads each report",
        f"{len(next(iter(reports.values()))['drawn'])} times, the revisions alternating, each load in a fresh browser context.",
        "*All figures drawn* is the page's clock from navigation start until every `div.figure` holds a drawn plot (polled",
        "every animation frame); *DOMContentLoaded* is when the document is parsed and plotly.js and report.js have run.",
        "*Chromium CPU* is the CPU time all of Chromium's processes spent on the load, from DevTools' `SystemInfo.getProcessInfo`:",
        "steadier than the wall time when the machine is shared with other jobs (see the load average). MB = 10⁶ bytes.",
        "",
        f"Machine: {record['machine']}. Measured {record['date']}; load average {record['load_average'][0]:.2f} before, "
        f"{record['load_average'][1]:.2f} after. Command: `.venv/bin/python {record['command']}`.",
        "",
        "| report | revision | report.html (MB) | plotly.js (MB) | figures' JSON (MB) | of which layout templates (MB) | rest of the page (MB) | figures |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {label} | {r['revision']} | {r['report']:.2f} | {r['plotly_js']:.2f} | {r['figures_json']:.2f} | {r['templates']:.2f} "
              f"| {r['rest']:.2f} | {r['figures']} |" for label, r in reports.items()]
    lines += ["", "| report | all figures drawn, each load (s) | median (s) | fastest (s) | DOMContentLoaded, median (s) | Chromium CPU, each load (s) | CPU median (s) |",
              "|---|---|---:|---:|---:|---|---:|"]
    lines += [f"| {label} | {', '.join(f'{t:.2f}' for t in r['drawn'])} | {r['median_drawn']:.2f} | {min(r['drawn']):.2f} "
              f"| {r['median_dcl']:.2f} | {', '.join(f'{t:.2f}' for t in r['cpu'])} | {r['median_cpu']:.2f} |" for label, r in reports.items()]
    label, last = list(reports.items())[-1]
    lines += ["", f"Of the {label} report's {last['report']:.2f} MB, plotly.js is {last['plotly_js']:.2f} MB ({last['plotly_js'] / last['report']:.0%}), "
              f"the {last['figures']} figures' own JSON {last['figures_json']:.2f} MB ({last['figures_json'] / last['report']:.0%}), and the page "
              f"(text, tables, CSS, report.js) {last['rest']:.2f} MB."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
