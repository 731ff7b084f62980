"""Are the output tables byte-identical between two revisions of custseg? (issue 24)

Each revision's ``src/`` folder runs ``custseg run --no-slides`` (a fresh process, the reference
analysis) on generated Olist data (``custseg generate olist --customers N --seed 1``, the data of
bench/bench_scale.py); the tables are compared byte for byte: customers.csv, customers.parquet,
clusters.csv, clusters.parquet, excluded.csv and summary.json.

    git archive <before> src | tar -x -C /tmp/before
    .venv/bin/python bench/check_identity.py --before /tmp/before/src --sizes 96000 1000000

A revision's outputs are kept under ``--work`` (``identity-<tag>-<size>``) and reused when
``--reuse`` is given (the before-revision need run only once). The result table is printed and
written to bench/results/identity.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.bench_scale import generated  # noqa: E402
from bench.measure import machine_line  # noqa: E402

FILES = ("customers.csv", "customers.parquet", "clusters.csv", "clusters.parquet", "excluded.csv", "summary.json")
RUN = "import sys; from custseg.cli import entry; sys.argv = ['custseg', 'run', '--data', sys.argv[1], '--out', sys.argv[2], '--no-slides', '--quiet']; entry()"


def run(src: Path, data: Path, out: Path, extra_env: dict[str, str]) -> float:
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(src), **extra_env}
    subprocess.run([sys.executable, "-c", RUN, str(data), str(out)], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def digest(path: Path) -> str:
    if not path.is_file():
        return "(absent)"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="the before-revision's src/ folder")
    parser.add_argument("--after", default=str(REPO / "src"), help="the after-revision's src/ folder (default: this worktree's)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[96_000, 1_000_000])
    parser.add_argument("--work", default="/tmp/custseg-scale")
    parser.add_argument("--reuse", action="store_true", help="reuse the before-revision's outputs when present")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "identity.md"))
    args = parser.parse_args()
    work = Path(args.work)
    rows, all_same = [], True
    for size in args.sizes:
        data = generated(size, work)
        before, after = work / f"identity-before-{size}", work / f"identity-after-{size}"
        if not (args.reuse and (before / "summary.json").is_file()):
            subprocess.run(["rm", "-rf", str(before)], check=True)
            seconds = run(Path(args.before), data, before, {})
            print(f"{size:,}: before ran in {seconds:.1f} s", file=sys.stderr)
        subprocess.run(["rm", "-rf", str(after)], check=True)
        seconds = run(Path(args.after), data, after, {})
        print(f"{size:,}: after ran in {seconds:.1f} s", file=sys.stderr)
        for name in FILES:
            a, b = digest(before / name), digest(after / name)
            same = a == b and a != "(absent)"
            all_same &= same or (a == b == "(absent)")
            size_mb = (after / name).stat().st_size / 1e6 if (after / name).is_file() else 0
            rows.append(f"| {size:,} | {name} | {size_mb:,.1f} | `{a}` | `{b}` | {'identical' if same else 'absent in both' if a == b else '**DIFFERENT**'} |")
    lines = [
        "## The same output tables before and after a change (`bench/check_identity.py`)",
        "",
        "The reference analysis on generated Olist data, run by two revisions' `src/` (before: the folder given to "
        "`--before`; after: this worktree's); each table compared byte for byte.",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M')}; {machine_line()}. Command: `bench/check_identity.py "
        + " ".join(sys.argv[1:]) + "`.",
        "",
        "| customers | file | size (MB) | before (sha256, first 16 hex) | after | verdict |",
        "|---:|---|---:|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    sys.exit(0 if all_same else 1)


if __name__ == "__main__":
    main()
