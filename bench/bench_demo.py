"""Time `custseg demo` from nothing: generate the Olist-scale demo data, run the reference analysis,
write the report, slides (PNG + SVG) and deck.

    .venv/bin/python bench/bench_demo.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.measure import machine_line, measure  # noqa: E402


def main() -> None:
    custseg = str(Path(sys.executable).with_name("custseg"))
    with tempfile.TemporaryDirectory() as tmp:
        full = measure([custseg, "demo", "--out", f"{tmp}/demo", "--quiet"])
        again = measure([custseg, "demo", "--out", f"{tmp}/demo", "--quiet", "--no-slides"])
        n_slides = len(list(Path(f"{tmp}/demo/report/slides").glob("*.png")))
    text = "\n".join([
        "## `custseg demo`",
        "",
        f"Machine: {machine_line()}. Command: `.venv/bin/python bench/bench_demo.py`.",
        "",
        "| run | time (s) | peak memory (MB) |",
        "|---|---:|---:|",
        f"| first run: generate 96,000 customers, analyse, report + {n_slides} slides (PNG + SVG) + deck | {full.seconds:.1f} | {full.peak_rss_mb:,.0f} |",
        f"| second run, data already generated, `--no-slides` | {again.seconds:.1f} | {again.peak_rss_mb:,.0f} |",
        "",
        "Slide images are rendered by Chromium through kaleido (one browser, about 0.25 s per image); the rest is the analysis.",
        "",
    ])
    (REPO / "bench/results/demo.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
