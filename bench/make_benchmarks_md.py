"""Assemble BENCHMARKS.md from the measured results in bench/results/*.md (each written by its
benchmark script, with the command that reproduces it), and write the README's speed figures
(between its ``speed figures`` markers) from bench/results/real_olist.json and scale/*.json: no
figure is typed in.

    .venv/bin/python bench/make_benchmarks_md.py
"""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORDER = ["real_olist", "scale", "report", "gil", "cluster", "value", "features", "generate", "demo", "tuning", "revisions", "spark", "spark_standalone", "spark_standalone_driver", "migrate"]

HEADER = """# Benchmarks

Every figure below was measured on this project's machine (2 cores, 24 GB RAM) by the script named
with it; rerun the script to reproduce it. Times are wall-clock seconds of a fresh process unless a
table says otherwise; memory is the peak resident set size reported by the kernel (`os.wait4`).
Speed and memory are measured here, never by timed unit tests.
"""


README_START = "<!-- speed figures: written by bench/make_benchmarks_md.py from bench/results/real_olist.json and scale/*.json -->"
README_END = "<!-- end of speed figures -->"


def speed_paragraph(scale: Path) -> str:
    """The README's figures: the real Olist data beside the baseline; 1M and 10M generated customers."""
    records = {int(p.stem): json.loads(p.read_text()) for p in scale.glob("*.json")}
    real_path, lines = scale.parent / "real_olist.json", []
    if real_path.is_file():
        real = json.loads(real_path.read_text())
        walls = sorted(r["wall"] for r in real["runs"])
        base = real["baseline"]
        lines.append(
            f"On the real Olist data ({real['customers']:,} customers, {real['orders']:,} orders) the whole reference analysis "
            f"(`custseg run --no-slides`, exact silhouettes) takes **{real['median']['wall']:.1f} s** (median of {len(walls)} runs, "
            f"{walls[0]:.1f}–{walls[-1]:.1f} s, peak {real['median']['peak_mb']:,.0f} MB); the same analysis done the notebook way "
            f"(pandas group-bys, scikit-learn's `silhouette_score`, one figure at a time), its {len(base['runs'])} runs alternating with "
            f"custseg's in the same invocation, takes **{base['wall']:.1f} s** (peak {base['peak_mb']:,.0f} MB): "
            f"**{base['wall'] / real['median']['wall']:.1f}×** slower (measured {real['date']}, `bench/results/real_olist.json`).")
    more = []
    if 1_000_000 in records:
        more.append(f"1 million generated customers take **{records[1_000_000]['median']['wall']:.0f} s**")
    if 10_000_000 in records:
        r = records[10_000_000]["median"]
        more.append(f"10 million **{r['wall'] / 60:.1f} min** with a peak of **{r['peak_mb'] / 1024:.1f} GiB** of memory")
    if more:
        sentence = "; ".join(more)
        lines.append(sentence[0].upper() + sentence[1:] + ".")
    return "\n".join(lines)


def update_readme(readme: Path, paragraph: str) -> None:
    text = readme.read_text()
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: no speed-figure markers")
    readme.write_text(pattern.sub(lambda _: f"{README_START}\n{paragraph}\n{README_END}", text))


def main() -> None:
    parts = [HEADER]
    files = {p.stem: p for p in (REPO / "bench/results").glob("*.md")}
    for name in ORDER + sorted(set(files) - set(ORDER)):
        if name in files:
            text = files[name].read_text().strip()
            if text.startswith("# "):
                text = "#" + text  # demote to a section of this page
            parts.append(text)
    (REPO / "BENCHMARKS.md").write_text("\n\n".join(parts) + "\n")
    print(f"wrote BENCHMARKS.md from {len(files)} result files")
    update_readme(REPO / "README.md", speed_paragraph(REPO / "bench/results/scale"))
    print("wrote the README's speed figures")


if __name__ == "__main__":
    main()
