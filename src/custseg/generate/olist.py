"""Generate Olist-schema data (the 9 Kaggle CSV files) around the real Olist catalogue.

`generate_olist(n_customers, seed, out_dir)` writes the nine files of the Kaggle "Brazilian
E-Commerce Public Dataset by Olist" with their exact names, headers, column order, quoting and quirks.
Products, sellers and the category translation are the real files; orders, customers, items,
payments, reviews and geolocation are synthetic, drawn so that the published statistics of the real
data (targets.toml, from STATS.md) come out at Olist scale (96,096 customers); `compare.py` checks the
result against the real tables themselves (docs/generator.md). Customers are generated
in chunks with one random stream per chunk, so memory stays bounded at any size, and the same seed
(and chunk size) always gives byte-identical files.

Run directly: ``python -m custseg.generate.olist --customers 96096 --seed 1 --out DIR [--report]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from . import catalogue, csvtext
from .chunk import chunk_rng, generate_chunk
from .files import ALL_FILES, GENERATED_FILES, GEOLOCATION_FILE, HEADERS, ORDERS_FILE
from .geolocation_file import geolocation_text
from .world import OLIST_CUSTOMERS, build_world

__all__ = ["ALL_FILES", "HEADERS", "OLIST_CUSTOMERS", "generate_olist"]


def _prepare_target(out_dir: Path) -> Path:
    """A fresh temporary folder next to `out_dir` (same filesystem, so the final rename is atomic)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished folder to `out_dir`, replacing an earlier generated folder (and nothing else)."""
    if out_dir.exists():
        existing = {p.name for p in out_dir.iterdir()}
        if not existing <= set(ALL_FILES):
            shutil.rmtree(tmp)
            raise FileExistsError(f"{out_dir} exists and holds files this generator did not write")
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old)
    else:
        tmp.rename(out_dir)


def generate_olist(
    n_customers: int, seed: int, out_dir: str | Path, *, chunk_customers: int = 200_000
) -> dict:
    """Write the 9 Olist CSV files for `n_customers` people into `out_dir`; return row counts.

    Files are written into a temporary folder next to `out_dir` and renamed into place at the end, so
    a crash never leaves a half-written folder. Output depends only on (n_customers, seed,
    chunk_customers); memory is bounded by the chunk size.
    """
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be at least 1")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    world = build_world(seed, n_customers)
    tmp = _prepare_target(out_dir)
    rows = {name: 0 for name in ALL_FILES}
    try:
        for name in catalogue.REAL_FILES:
            data = catalogue.real_file_bytes(name)
            (tmp / name).write_bytes(data)
            rows[name] = len(data.splitlines()) - 1  # no embedded line breaks in these files
        geo_rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(2,)))
        geo_text, rows[GEOLOCATION_FILE] = geolocation_text(world, geo_rng, n_customers)
        (tmp / GEOLOCATION_FILE).write_bytes(csvtext.header_line(HEADERS[GEOLOCATION_FILE]) + geo_text)
        del geo_text
        handles = {name: open(tmp / name, "wb") for name in GENERATED_FILES}
        try:
            for name, handle in handles.items():
                handle.write(csvtext.header_line(HEADERS[name]))
            rr_counter = 0
            done = 0
            chunk = 0
            while done < n_customers:
                size = min(chunk_customers, n_customers - done)
                part = generate_chunk(world, chunk_rng(seed, chunk), size, rr_counter)
                rr_counter = part.round_robin_counter
                for name, body in part.text.items():
                    handles[name].write(body)
                    rows[name] += part.rows[name]
                done += size
                chunk += 1
        finally:
            for handle in handles.values():
                handle.close()
        _move_into_place(tmp, out_dir)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "customers": n_customers,
        "orders": rows[ORDERS_FILE],
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "out_dir": str(out_dir),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a folder, optionally print the calibration report."""
    parser = argparse.ArgumentParser(prog="python -m custseg.generate.olist", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=OLIST_CUSTOMERS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chunk-customers", type=int, default=200_000)
    parser.add_argument("--report", action="store_true", help="print the calibration table afterwards")
    args = parser.parse_args(argv)
    result = generate_olist(args.customers, args.seed, args.out, chunk_customers=args.chunk_customers)
    print(f"wrote {result['orders']:,} orders for {args.customers:,} customers to {args.out} "
          f"in {result['seconds']:.1f} s", file=sys.stderr)
    if args.report:
        from .calibration import calibration_report, report_markdown

        table = calibration_report(args.out)
        print(report_markdown(table))
        return 0 if bool(table["ok"].all()) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
