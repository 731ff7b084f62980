"""The `custseg` command line. Bad input ends with one line on stderr and exit code 2."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from custseg.errors import InputError
from custseg.tuning import RUN_MODULES, SLIDE_DRIVER, SLIDE_MODULES, exit_now, tuned

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Customer segments from order history.")
generate_app = typer.Typer(no_args_is_help=True, help="Generate synthetic data in a real schema.")
app.add_typer(generate_app, name="generate")
console = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"custseg: error: {message}", markup=False)
    raise typer.Exit(code)


def _load(data: Path, preset: Optional[str], mapping: Optional[str], log_options: Optional[dict] = None):
    from custseg.engines.duckdb import load

    return load(data, preset=preset, mapping=mapping, **(log_options or {}))


# How to read a log (docs/your_log.md): the same keys as custseg.run / custseg.engines.duckdb.load.
DATE_FORMAT_HELP = "Format of the log's timestamps (strptime, e.g. '%d/%m/%Y %H:%M'); default: detected."
DECIMAL_HELP = "Decimal mark of the log's amounts: . (1,234.56, default) or , (1.234,56)."
SHEET_HELP = "Sheet of an .xlsx log (default: the first)."
AS_OF_HELP = "Analyse the data as it stood at the end of this day (YYYY-MM-DD): later orders left out, recency counted from it."
DIMENSION_HELP = "A customer attribute of the log to compare clusters with, NAME=COLUMN (e.g. segment=Segment; repeatable): each customer's most frequent value."
AUDIENCE_FORMAT_HELP = ("Layout of the audience files' import copies: plain (default; the config's [audiences] format), klaviyo, mailchimp "
                        "or google-customer-match (needs contact columns in --map: email=..., phone=...; docs/audiences.md).")
TABLE_HELP = ("With --engine spark, instead of --data: a catalog table holding a transaction log (db.orders; with --preset or --map), "
              "or a catalog database holding the Olist tables by their file names (db).")
PHONE_COUNTRY_HELP = "Country of phone numbers written without + country code, e.g. BR (for E.164 in the audience files)."


def _log_options(date_format: Optional[str], decimal: Optional[str], sheet: Optional[str], dimension: Optional[list[str]] = None) -> dict:
    """How to read a log: the keyword arguments of custseg.engines.duckdb.load and custseg.run."""
    given = {"date_format": date_format, "decimal": decimal, "sheet": sheet, "dimensions": _dimensions(dimension)}
    return {k: v for k, v in given.items() if v}


def _dimensions(given: Optional[list[str]]) -> Optional[dict]:
    """``--dimension segment=Segment --dimension channel=Channel`` -> {"segment": "Segment", ...}."""
    if not given:
        return None
    parsed = {}
    for text in given:
        name, sep, column = (part.strip() for part in text.partition("="))
        if not sep or not name or not column:
            raise InputError(f"--dimension {text!r}: give NAME=COLUMN, e.g. --dimension segment=Segment")
        if name in parsed:
            raise InputError(f"--dimension {name}: given twice; give each attribute once")
        parsed[name] = column
    return parsed


def _print_summary(summary: dict) -> None:
    if summary.get("sample"):
        from custseg.report.tables import sample_sentence

        out.print(sample_sentence(summary), markup=False, highlight=False, soft_wrap=True)
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
        table.add_column("revenue", justify="right")
        for name, row in summary["rfm_segments"].items():
            table.add_row(name, f"{row['customers']:,}", f"{row['share']:.2%}", f"{row['revenue_share']:.2%}" if "revenue_share" in row else "–")
        out.print(table)


@app.command()
def features(
    data: Optional[str] = typer.Option(None, "--data", help="Olist folder, or a transaction log (CSV, Parquet or .xlsx); with --engine spark any path Spark reads."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for customers.parquet and customers.csv."),
    table: Optional[str] = typer.Option(None, "--table", help=TABLE_HELP),
    preset: Optional[str] = typer.Option(None, "--preset", help="Column layout of a known log, e.g. online_retail."),
    mapping: Optional[str] = typer.Option(None, "--map", help="customer=COL,order=COL,timestamp=COL,amount=COL[,product=..,category=..,status=..,city=..,state=..,region=..,country=..]"),
    rfm_bins: int = typer.Option(3, "--rfm-bins", help="3 or 5 score bins."),
    date_format: Optional[str] = typer.Option(None, "--date-format", help=DATE_FORMAT_HELP),
    decimal: Optional[str] = typer.Option(None, "--decimal", help=DECIMAL_HELP),
    sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (one machine) or spark (docs/spark.md)."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="Spark master URL, e.g. spark://host:7077 (default: spark-submit's, else local[*])."),
    dimension: Optional[list[str]] = typer.Option(None, "--dimension", help=DIMENSION_HELP),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE", help=AS_OF_HELP),
) -> None:
    """Per-customer metrics, segments and RFM scores."""
    from custseg.api import local_out
    from custseg.config import from_dict, with_as_of
    from custseg.engines import engine_for
    from custseg.outputs import staged_output, write_table
    from custseg.summary import customer_summary

    if rfm_bins not in (3, 5):
        raise InputError(f"--rfm-bins {rfm_bins}: use 3 or 5")
    config = with_as_of(from_dict({"features": {"rfm_bins": rfm_bins}}), as_of, "--as-of")
    _check_engine(engine)
    data = _data_or_table(data, table, engine)
    out_dir = local_out(out_dir)
    started = time.perf_counter()
    with staged_output(out_dir) as staging:
        with engine_for(engine, spark_master=spark_master) as heavy:
            found = heavy.customer_tables(data, config, preset=preset, mapping=mapping,
                                          log_options=_log_options(date_format, decimal, sheet, dimension))
        customers, excluded_rows = found.customers, found.excluded_rows
        write_table(customers, staging, "customers")
    summary = customer_summary(customers, excluded_rows)
    _print_summary(summary)
    out.print(f"wrote {out_dir / 'customers.parquet'} and customers.csv in {time.perf_counter() - started:.1f} s", markup=False, highlight=False, soft_wrap=True)


class _Progress:
    """Rich progress on stderr: one line per stage with elapsed time."""

    def __init__(self, quiet: bool = False):
        self.started = time.perf_counter()
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        if not self.quiet:
            console.print(f"[dim]{time.perf_counter() - self.started:6.1f}s[/dim] {escape(message)}", highlight=False, soft_wrap=True)


def _data_or_table(data: Optional[str], table: Optional[str], engine: Optional[str] = None) -> str:
    """What to read: --data, or --table as ``table:NAME`` (read by the Spark engine's catalog)."""
    if (data is None) == (table is None):
        raise InputError("give the data to analyse with --data PATH, or a catalog table with --table DB.TABLE (one of them)")
    if table is None:
        return data
    if engine is not None and engine != "spark":
        raise InputError(f"--table {table}: catalog tables are read by the Spark engine; add --engine spark")
    return f"table:{table}"


def _check_engine(engine: Optional[str]) -> None:
    if engine is not None and engine not in ("duckdb", "spark"):
        raise InputError(f"--engine {engine}: use duckdb or spark")


def _slide_formats(text: str) -> tuple[str, ...]:
    from custseg.report.slides import parse_formats

    try:
        return parse_formats(text)
    except ValueError as exc:
        raise InputError(f"--slide-format {text}: {exc}") from None


def _run_analysis(data, out_dir: Path, config: Optional[Path], preset: Optional[str], mapping: Optional[str], quiet: bool, slides: bool = True,
                  engine: Optional[str] = None, spark_master: Optional[str] = None, log_options: Optional[dict] = None,
                  slide_format: str = "png", as_of: Optional[str] = None, audience_format: Optional[str] = None,
                  phone_country: Optional[str] = None, labels_to: Optional[str] = None, driver_customers: Optional[int] = None) -> None:
    from custseg.api import local_out, run as run_api
    from custseg.features.as_of import parse_as_of

    _check_engine(engine)
    out_dir = local_out(out_dir)
    slide_formats = _slide_formats(slide_format)
    as_of = None if as_of is None else parse_as_of(as_of, "--as-of")
    progress = _Progress(quiet)
    with tuned(RUN_MODULES + (SLIDE_MODULES if slides else ()), first=SLIDE_DRIVER if slides else ()):
        result = run_api(data, config=config, out=out_dir, preset=preset, mapping=mapping, progress=progress, slides=slides,
                         slide_formats=slide_formats, engine=engine, spark_master=spark_master, as_of=as_of, audience_format=audience_format,
                         phone_country=phone_country, labels_to=labels_to, driver_customers=driver_customers, **(log_options or {}))
    progress("report written")
    for warning in result.summary.get("warnings", []):
        console.print(f"custseg: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    _print_summary(result.summary)
    for pop in result.populations:
        out.print(f"{pop.title}: {pop.n_customers:,} customers, k = {pop.k}, silhouette {pop.silhouette_label or 'n/a'}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"report: {(out_dir / 'report.html').resolve()}", markup=False, highlight=False, soft_wrap=True)
    if (out_dir / "audiences").is_dir():
        out.print(f"audiences: {(out_dir / 'audiences').resolve()}", markup=False, highlight=False, soft_wrap=True)
    if labels_to is not None:
        out.print(f"labelled customer table: {labels_to.removeprefix('table:')}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def run(
    data: Optional[str] = typer.Option(None, "--data", help="Olist folder, or a transaction log (CSV, Parquet or .xlsx); with --engine spark any path Spark reads."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for report.html, slides/, deck.pptx, customers.parquet/.csv, summary.json."),
    table: Optional[str] = typer.Option(None, "--table", help=TABLE_HELP),
    config: Optional[Path] = typer.Option(None, "--config", help="Analysis config (TOML); default: the reference analysis."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Column layout of a known log, e.g. online_retail."),
    mapping: Optional[str] = typer.Option(None, "--map", help="customer=COL,order=COL,timestamp=COL,amount=COL[,...]"),
    date_format: Optional[str] = typer.Option(None, "--date-format", help=DATE_FORMAT_HELP),
    decimal: Optional[str] = typer.Option(None, "--decimal", help=DECIMAL_HELP),
    sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines."),
    slides: bool = typer.Option(True, "--slides/--no-slides", help="Also write slide images and deck.pptx."),
    slide_format: str = typer.Option("png", "--slide-format", help="Slide image formats: png (default) or png,svg."),
    engine: Optional[str] = typer.Option(None, "--engine", help="duckdb (one machine) or spark (docs/spark.md); default: the config's engine."),
    spark_master: Optional[str] = typer.Option(None, "--spark-master", help="Spark master URL, e.g. spark://host:7077 (default: spark-submit's, else local[*])."),
    dimension: Optional[list[str]] = typer.Option(None, "--dimension", help=DIMENSION_HELP),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE", help=AS_OF_HELP + " Default: the config's, else the whole data."),
    audience_format: Optional[str] = typer.Option(None, "--audience-format", help=AUDIENCE_FORMAT_HELP),
    phone_country: Optional[str] = typer.Option(None, "--phone-country", help=PHONE_COUNTRY_HELP),
    out_labels: Optional[str] = typer.Option(None, "--out-labels", help="With --engine spark: also write the labelled customer table as Parquet here (any path Spark writes, e.g. s3a://bucket/segments)."),
    out_table: Optional[str] = typer.Option(None, "--out-table", help="With --engine spark: also save the labelled customer table as this catalog table (db.segments)."),
    driver_customers: Optional[int] = typer.Option(None, "--driver-customers", metavar="N", help="With --engine spark and --out-labels/--out-table: above N customers the report is of a uniform sample of about N, and the executors assign every customer's clusters (docs/spark.md)."),
) -> None:
    """The whole analysis: features, RFM, clusters with evidence, profiles, report, slides and audience files."""
    if out_labels is not None and out_table is not None:
        raise InputError("--out-labels and --out-table: give one of them")
    _run_analysis(_data_or_table(data, table), out_dir, config, preset, mapping, quiet, slides, engine, spark_master, _log_options(date_format, decimal, sheet, dimension),
                  slide_format, as_of=as_of, audience_format=audience_format, phone_country=phone_country,
                  labels_to=out_labels if out_table is None else f"table:{out_table}",
                  driver_customers=driver_customers)


DEMO_CUSTOMERS = 96_000
DEMO_SEED = 42


@app.command()
def demo(
    out_dir: Path = typer.Option(Path("demo-output"), "--out", help="Where the report (and any generated data) go."),
    synthetic: Optional[int] = typer.Option(None, "--synthetic", metavar="N",
                                            help="Instead of the real Olist data: N generated Olist-schema customers (e.g. 1000000, for scale)."),
    seed: int = typer.Option(DEMO_SEED, "--seed", help="With --synthetic: the generator's seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines."),
    slides: bool = typer.Option(True, "--slides/--no-slides", help="Also write slide images and deck.pptx."),
    slide_format: str = typer.Option("png", "--slide-format", help="Slide image formats: png (default) or png,svg."),
    as_of: Optional[str] = typer.Option(None, "--as-of", metavar="DATE", help=AS_OF_HELP),
) -> None:
    """Run the reference analysis on the bundled real Olist data (or, with --synthetic N, on generated data)."""
    progress = _Progress(quiet)
    if synthetic is None:
        from custseg.data import olist_folder

        data_dir = olist_folder()
        progress(f"demo: the reference analysis on the real Olist data bundled with custseg ({data_dir})")
    else:
        from custseg.generate.olist import generate_olist

        if synthetic < 1:
            raise InputError(f"--synthetic {synthetic}: give a number of customers, at least 1")
        data_dir = out_dir / "data" / f"olist-{synthetic}-seed{seed}"
        if not (data_dir / "olist_orders_dataset.csv").is_file():
            progress(f"generating demo data: {synthetic:,} customers (synthetic, real Olist catalogue) -> {data_dir}")
            generate_olist(synthetic, seed, data_dir)
    _run_analysis(data_dir, out_dir / "report", None, None, None, quiet, slides, slide_format=slide_format, as_of=as_of)


@app.command()
def migrate(
    data: str = typer.Option(..., "--data", help="Olist folder, or a transaction log (CSV, Parquet or .xlsx)."),
    from_date: str = typer.Option(..., "--from", metavar="DATE", help="The earlier date (YYYY-MM-DD): segments and clusters as of its end."),
    to_date: str = typer.Option(..., "--to", metavar="DATE", help="The later date (YYYY-MM-DD)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for migration.csv, prediction.csv, customer_moves.csv, migration.json, migration.html."),
    config: Optional[Path] = typer.Option(None, "--config", help="Analysis config (TOML); default: the reference analysis."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Column layout of a known log, e.g. online_retail."),
    mapping: Optional[str] = typer.Option(None, "--map", help="customer=COL,order=COL,timestamp=COL,amount=COL[,...]"),
    date_format: Optional[str] = typer.Option(None, "--date-format", help=DATE_FORMAT_HELP),
    decimal: Optional[str] = typer.Option(None, "--decimal", help=DECIMAL_HELP),
    sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
    dimension: Optional[list[str]] = typer.Option(None, "--dimension", help=DIMENSION_HELP),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines."),
) -> None:
    """Who moved where between two dates (RFM segments and clusters), and did the segments predict who bought again."""
    from custseg.migration.run import check_dates, migrate as run_migrate

    check_dates(from_date, to_date)
    progress = _Progress(quiet)
    with tuned():
        result = run_migrate(data, from_date, to_date, config=config, out=out_dir, preset=preset, mapping=mapping, progress=progress,
                             **_log_options(date_format, decimal, sheet, dimension))
    progress("report written")
    for warning in result.warnings:
        console.print(f"custseg: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    s = result.summary
    out.print(f"customers on {s['from']}: {s['customers_at_from']:,}; bought again by {s['to']}: {s['bought_again']:,} "
              f"({s['bought_again_share']:.1%}); new customers: {s['new_customers']:,}", markup=False, highlight=False, soft_wrap=True)
    out.print(f"report: {(out_dir / 'migration.html').resolve()}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def assign(
    model: Path = typer.Option(..., "--model", help="A saved model folder: OUT/models/POPULATION of an earlier run."),
    data: Path = typer.Option(..., "--data", help="New order data (same kind as the run that made the model)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for assignments.csv/.parquet and audiences/."),
    preset: Optional[str] = typer.Option(None, "--preset"),
    mapping: Optional[str] = typer.Option(None, "--map"),
    date_format: Optional[str] = typer.Option(None, "--date-format", help=DATE_FORMAT_HELP),
    decimal: Optional[str] = typer.Option(None, "--decimal", help=DECIMAL_HELP),
    sheet: Optional[str] = typer.Option(None, "--sheet", help=SHEET_HELP),
    dimension: Optional[list[str]] = typer.Option(None, "--dimension", help=DIMENSION_HELP),
    audience_format: Optional[str] = typer.Option(None, "--audience-format", help=AUDIENCE_FORMAT_HELP),
    phone_country: Optional[str] = typer.Option(None, "--phone-country", help=PHONE_COUNTRY_HELP),
) -> None:
    """Put the customers of new data into a saved model's clusters (nearest cluster centre); write
    their audience files (one per cluster and per RFM segment of the new data)."""
    from custseg.api import mapped_contacts
    from custseg.audiences import AudienceSettings, check_format, prepare_contacts, write_audiences
    from custseg.audiences.saved import assigned_groupings
    from custseg.cluster import ClusterModel
    from custseg.engines.duckdb.features import build_customer_table
    from custseg.outputs import staged_output, write_table

    if not (model / "model.json").is_file():
        raise InputError(f"{model}: no model.json here; give a folder OUT/models/POPULATION written by 'custseg run'")
    fitted = ClusterModel.load(model)
    settings = AudienceSettings.of(audience_format, phone_country)
    if settings.format != "plain":
        check_format(settings, *mapped_contacts(data, preset, mapping, date_format, decimal))
    with staged_output(out_dir) as staging:
        dataset = _load(data, preset, mapping, _log_options(date_format, decimal, sheet, dimension))
        contacts = prepare_contacts(dataset.contact_table(), settings)
        customers = build_customer_table(dataset)
        indexed = customers.set_index("customer_id")
        missing = [f for f in fitted.features if f not in indexed.columns]
        if missing:
            raise InputError(f"{data}: the model needs customer column {missing[0]!r}, which this data does not give")
        labels = fitted.assign(indexed)
        table = labels.rename("cluster").rename_axis("customer_id").reset_index()
        write_table(table, staging, "assignments")
        write_audiences(staging / "audiences", customers, assigned_groupings(model, table, customers, fitted.k),
                        contacts=contacts, settings=settings)
    assigned = int(table["cluster"].notna().sum())
    out.print(f"assigned {assigned:,} of {len(table):,} customers to {fitted.k} clusters; {len(table) - assigned:,} lack a feature")
    out.print(f"wrote {out_dir / 'assignments.csv'} and {out_dir / 'audiences'}", markup=False, highlight=False, soft_wrap=True)


@generate_app.command("olist")
def generate_olist_cmd(
    customers: int = typer.Option(DEMO_CUSTOMERS, "--customers", help="How many people (customer_unique_id)."),
    seed: int = typer.Option(DEMO_SEED, "--seed", help="Same seed, same bytes."),
    out_dir: Optional[Path] = typer.Option(None, "--out", help="Folder for the 9 CSV files."),
    report: Optional[Path] = typer.Option(None, "--report", help="Print the calibration table of this generated folder (instead of generating)."),
) -> None:
    """Olist-schema data (9 CSV files) around the real Olist catalogue, calibrated to the real data's statistics."""
    from custseg.generate.calibration import calibration_report, report_markdown
    from custseg.generate.olist import generate_olist

    if report is not None:
        if not report.is_dir():
            raise InputError(f"--report {report}: not a folder; give a folder written by 'custseg generate olist'")
        out.print(report_markdown(calibration_report(report)), markup=False, highlight=False)
        return
    if out_dir is None:
        raise InputError("--out is required: the folder for the generated CSV files")
    if customers < 1:
        raise InputError(f"--customers {customers}: give at least 1")
    if seed < 0:
        raise InputError(f"--seed {seed}: give a non-negative integer")
    started = time.perf_counter()
    counts = generate_olist(customers, seed, out_dir)
    out.print(f"wrote {out_dir} in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in counts.get("rows", counts).items() if isinstance(v, int)))


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


def entry() -> None:
    """The ``custseg`` command: :func:`main`, then the process ends without Python's teardown
    (:func:`custseg.tuning.exit_now`). A run that started Spark exits normally (its session is
    stopped by the handlers Python runs at exit)."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stderr.write(f"{exc.code}\n")
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if "pyspark" in sys.modules:
        sys.exit(code)
    exit_now(code)


def _fail_plain(message: str, code: int) -> None:
    sys.stderr.write(f"custseg: error: {message}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
