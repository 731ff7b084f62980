"""Assemble BENCHMARKS.md from the measured results in bench/results/*.md (each written by its
benchmark script, with the command that reproduces it).

    .venv/bin/python bench/make_benchmarks_md.py
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ORDER = ["scale", "cluster", "features", "generate", "demo", "spark"]

HEADER = """# Benchmarks

Every figure below was measured on this project's machine (2 cores, 24 GB RAM) by the script named
with it; rerun the script to reproduce it. Times are wall-clock seconds of a fresh process unless a
table says otherwise; memory is the peak resident set size reported by the kernel (`os.wait4`).
Speed and memory are measured here, never by timed unit tests.
"""


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


if __name__ == "__main__":
    main()
