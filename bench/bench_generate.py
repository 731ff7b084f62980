"""Benchmark the Olist-schema generator: wall time and peak memory, and the adapter on generated folders.

Each generation runs in its own process (`python -m custseg.generate.olist ...`); its peak resident
memory comes from the kernel's accounting for that child (os.wait4). The adapter check generates a
folder and reads it with `custseg.engines.duckdb.olist.load_olist` in a fresh process, with Python warnings
turned into errors, and records the adapter's own warnings list.

    .venv/bin/python bench/bench_generate.py                      # 100k and 10M customers
    .venv/bin/python bench/bench_generate.py --sizes 100000 --adapter-sizes 1000

Writes bench/results/generate.md. Generated folders go to a temporary directory (or --work) and are
deleted afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "generate.md"

ADAPTER_PROBE = """
import json, sys, time, warnings
warnings.simplefilter("error")
from custseg.engines.duckdb.olist import load_olist
start = time.perf_counter()
dataset = load_olist(sys.argv[1])
orders = dataset.con.execute("SELECT count(*) FROM orders").fetchone()[0]
print(json.dumps({"seconds": time.perf_counter() - start, "orders": orders, "warnings": list(dataset.warnings)}))
"""


def run_measured(cmd: list[str], log: Path) -> tuple[int, float, float]:
    """Run `cmd`; return (exit status, wall seconds, peak RSS in MB of that process)."""
    start = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_maxrss / 1024.0


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


def generate_command(n: int, seed: int, out: Path, chunk: int) -> list[str]:
    return [sys.executable, "-m", "custseg.generate.olist", "--customers", str(n), "--seed", str(seed),
            "--out", str(out), "--chunk-customers", str(chunk)]


def bench_generation(n: int, seed: int, work: Path, chunk: int, keep: bool) -> dict:
    out = work / f"olist_{n}"
    log = work / f"generate_{n}.log"
    code, wall, peak = run_measured(generate_command(n, seed, out, chunk), log)
    if code != 0:
        raise SystemExit(f"generation of {n:,} customers failed:\n{log.read_text()[-2000:]}")
    orders = sum(1 for _ in open(out / "olist_orders_dataset.csv", "rb")) - 1
    size = folder_bytes(out)
    if not keep:
        shutil.rmtree(out)
    return {"customers": n, "orders": orders, "seconds": wall, "peak_mb": peak, "bytes": size, "chunk": chunk}


def bench_adapter(n: int, seed: int, work: Path, chunk: int, keep: bool) -> dict:
    out = work / f"olist_adapter_{n}"
    log = work / f"adapter_gen_{n}.log"
    code, _, _ = run_measured(generate_command(n, seed, out, chunk), log)
    if code != 0:
        raise SystemExit(f"generation of {n:,} customers failed:\n{log.read_text()[-2000:]}")
    probe_log = work / f"adapter_{n}.log"
    code, wall, peak = run_measured([sys.executable, "-c", ADAPTER_PROBE, str(out)], probe_log)
    text = probe_log.read_text()
    if not keep:
        shutil.rmtree(out)
    if code != 0:
        return {"customers": n, "ok": False, "error": text.strip().splitlines()[-1] if text.strip() else "failed"}
    result = json.loads(text.strip().splitlines()[-1])
    return {"customers": n, "ok": not result["warnings"], "orders": result["orders"], "seconds": result["seconds"],
            "peak_mb": peak, "warnings": result["warnings"]}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError):
        mem_gb = float("nan")
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, Python {platform.python_version()}"


def write_markdown(gen: list[dict], adapter: list[dict], argv: list[str], seed: int) -> str:
    lines = [
        "# Olist generator benchmark",
        "",
        f"Machine: {machine()}.",
        "",
        "Command (from the repository root):",
        "",
        "```",
        " ".join([".venv/bin/python", "bench/bench_generate.py", *argv]),
        "```",
        "",
        "Each size runs `python -m custseg.generate.olist --customers N --seed "
        f"{seed} --out DIR --chunk-customers C` in its own process; peak memory is that process's maximum "
        "resident set size (kernel accounting via `os.wait4`). Output = the nine CSV files, uncompressed.",
        "",
        "| customers | orders | wall time | peak memory | output size | chunk (customers) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in gen:
        size = f"{r['bytes'] / 1e9:.2f} GB" if r["bytes"] >= 1e9 else f"{r['bytes'] / 1e6:.0f} MB"
        lines.append(f"| {r['customers']:,} | {r['orders']:,} | {r['seconds']:.1f} s | {r['peak_mb']:,.0f} MB | "
                     f"{size} | {r['chunk']:,} |")
    if adapter:
        lines += [
            "",
            "Olist adapter (`custseg.engines.duckdb.olist.load_olist`) on generated folders, Python warnings as errors:",
            "",
            "| customers | orders read | read time | peak memory | warnings |",
            "|---:|---:|---:|---:|---|",
        ]
        for r in adapter:
            if not r.get("orders"):
                lines.append(f"| {r['customers']:,} | – | – | – | failed: {r.get('error', '')} |")
            else:
                shown = "none" if r["ok"] else "; ".join(r["warnings"])
                lines.append(f"| {r['customers']:,} | {r['orders']:,} | {r['seconds']:.1f} s | "
                             f"{r['peak_mb']:,.0f} MB | {shown} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 10_000_000])
    parser.add_argument("--adapter-sizes", type=int, nargs="*", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--chunk-customers", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=None, help="where to write generated folders")
    parser.add_argument("--keep", action="store_true", help="keep generated folders")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="custseg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        gen = []
        for n in args.sizes:
            gen.append(bench_generation(n, args.seed, work, args.chunk_customers, args.keep))
            print(f"generated {n:,} customers: {gen[-1]['seconds']:.1f} s, {gen[-1]['peak_mb']:,.0f} MB", flush=True)
        adapter = []
        for n in args.adapter_sizes:
            adapter.append(bench_adapter(n, args.seed, work, args.chunk_customers, args.keep))
            print(f"adapter on {n:,} customers: {adapter[-1]}", flush=True)
    finally:
        if args.work is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(write_markdown(gen, adapter, argv, args.seed))
    print(f"wrote {args.out}")
    return 0 if all(r["ok"] for r in adapter) else 1


if __name__ == "__main__":
    raise SystemExit(main())
