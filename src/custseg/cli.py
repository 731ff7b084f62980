"""The `custseg` command line. Bad input ends with one line on stderr and exit code 2."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from custseg.errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Customer segments from order history.")
generate_app = typer.Typer(no_args_is_help=True, help="Generate synthetic data in a real schema.")
app.add_typer(generate_app, name="generate")
console = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"custseg: error: {message}", markup=False)
    raise typer.Exit(code)


def _load(data: Path, preset: Optional[str], mapping: Optional[str]):
    from custseg.sources import load

    return load(data, preset=preset, mapping=mapping)


def _print_summary(summary: dict) -> None:
    out.print(f"customers: {summary['customers']:,}")
    out.print(f"converted customers (>= 1 purchase): {summary['converted_customers']:,}")
    out.print(f"repeat customers (>= 2 purchases): {summary['repeat_customers']:,}")
    for reason, n in summary["excluded_input_rows"].items():
        out.print(f"input rows excluded ({reason}): {n:,}")
    if summary.get("rfm_segments"):
        table = Table(title="RFM segments (converted customers)")
        table.add_column("segment")
        table.add_column("customers", justify="right")
        table.add_column("share", justify="right")
        for name, row in summary["rfm_segments"].items():
            table.add_row(name, f"{row['customers']:,}", f"{row['share']:.2%}")
        out.print(table)


@app.command()
def features(
    data: Path = typer.Option(..., "--data", help="Olist folder, or a transaction log (CSV/Parquet)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for customers.parquet and customers.csv."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Column layout of a known log, e.g. online_retail."),
    mapping: Optional[str] = typer.Option(None, "--map", help="customer=COL,order=COL,timestamp=COL,amount=COL[,product=..,category=..,status=..,country=..]"),
    rfm_bins: int = typer.Option(3, "--rfm-bins", help="3 or 5 score bins."),
) -> None:
    """Per-customer metrics, segments and RFM scores."""
    from custseg.features import FeatureParams, build_customer_table
    from custseg.outputs import staged_output, write_table
    from custseg.summary import customer_summary

    if rfm_bins not in (3, 5):
        raise InputError(f"--rfm-bins {rfm_bins}: use 3 or 5")
    started = time.perf_counter()
    with staged_output(out_dir) as staging:
        dataset = _load(data, preset, mapping)
        customers = build_customer_table(dataset, FeatureParams.for_dataset(dataset, rfm_bins=rfm_bins))
        write_table(customers, staging, "customers")
    summary = customer_summary(customers, dataset.excluded)
    _print_summary(summary)
    out.print(f"wrote {out_dir / 'customers.parquet'} and customers.csv in {time.perf_counter() - started:.1f} s")


def main() -> None:
    """Entry point: one-line errors, exit 2 for bad input, no tracebacks unless CUSTSEG_DEBUG=1."""
    try:
        app(standalone_mode=False)
    except InputError as exc:
        _fail_plain(str(exc), 2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail_plain("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if hasattr(exc, "format_message"):  # a usage error from the command-line parser
            _fail_plain(" ".join(exc.format_message().split()), 2)
        if os.environ.get("CUSTSEG_DEBUG"):
            raise
        _fail_plain(f"internal error: {type(exc).__name__}: {exc} (set CUSTSEG_DEBUG=1 for details)".replace("\n", " "), 1)


def _fail_plain(message: str, code: int) -> None:
    sys.stderr.write(f"custseg: error: {message}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
