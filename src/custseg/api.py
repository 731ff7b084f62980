"""The Python API: `custseg.run(...)` for notebooks and pipelines; the CLI calls the same."""

from __future__ import annotations

import gc
import importlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from custseg.config import AnalysisConfig, load_config
from custseg.errors import InputError
from custseg.result import AnalysisResult, PopulationResult

if TYPE_CHECKING:  # pandas is imported where a frame is made: its ~0.25 s overlap reading the data
    import pandas as pd


def customer_output(result: AnalysisResult) -> pd.DataFrame:
    """customers.csv: every customer's metrics and segments plus, per population, cluster and name."""
    return customer_table(result.customers, result.populations)


def customer_table(customers: pd.DataFrame, populations: list[PopulationResult]) -> pd.DataFrame:
    """:func:`customer_output` from the customer table and the populations' assignments."""
    import pandas as pd

    table = customers
    ids = table["customer_id"]
    added = {}
    for pop in populations:  # placed by row (or looked up by id): no merge, no copy of the other columns
        a = pop.assignments
        row = _assignment_rows(table, a, pop.rows)  # -1: not in the population (missing)
        added[f"cluster_{pop.name}"] = pd.Series(a["cluster"].array.astype("Int64").take(row, allow_fill=True), index=table.index)
        added[f"cluster_name_{pop.name}"] = pd.Series(a["cluster_name"].array.take(row, allow_fill=True), index=table.index)
    table = table.assign(**added)
    if not ids.is_monotonic_increasing:
        table = table.sort_values("customer_id", kind="stable")
    return table.reset_index(drop=True)


def _assignment_rows(table: pd.DataFrame, assignments: pd.DataFrame, labels):
    """For each row of the customer table, the row of its assignment (-1: none).

    From the assignments' index labels in the table when known and they hold the same ids (a
    check of 10M ids takes ~1 s), else by matching ids (13 s per population at 10M customers).
    """
    import numpy as np
    import pandas as pd

    if labels is not None and len(labels) == len(assignments):
        at = table.index.get_indexer(labels) if not isinstance(table.index, pd.RangeIndex) else None
        positions = np.asarray(labels if at is None else at, dtype=np.int64)
        inside = len(positions) == 0 or (positions.min() >= 0 and positions.max() < len(table))
        if inside and (table["customer_id"].array.take(positions) == assignments["customer_id"].array).all():
            if not isinstance(table.index, pd.RangeIndex) or table.index.equals(pd.RangeIndex(len(table))):
                row = np.full(len(table), -1, dtype=np.intp)
                row[positions] = np.arange(len(positions))
                return row
    return pd.Index(assignments["customer_id"]).get_indexer(table["customer_id"])


def cluster_assignments(result: AnalysisResult) -> pd.DataFrame:
    """clusters.csv: one row per (population, customer)."""
    return cluster_table(result.populations)


def cluster_table(populations: list[PopulationResult]) -> pd.DataFrame:
    """:func:`cluster_assignments` from the populations' assignments."""
    import pandas as pd

    frames = [p.assignments.assign(population=p.name)[["population", "customer_id", "cluster", "cluster_name"]] for p in populations]
    if not frames:
        return pd.DataFrame(columns=["population", "customer_id", "cluster", "cluster_name"])
    names = [p.name for p in populations]
    if len(set(names)) == len(names) and all(f["customer_id"].is_monotonic_increasing for f in frames):
        # each population's rows are in id order already (the customer table's): in population
        # order they are the sorted table, without sorting ~10M ids (5 s)
        ordered = [f for _, f in sorted(zip(names, frames), key=lambda pair: pair[0])]
        return pd.concat(ordered, ignore_index=True)
    return pd.concat(frames, ignore_index=True).sort_values(["population", "customer_id"], kind="stable").reset_index(drop=True)


#: Up to this many customers the customer and cluster tables are written while the views are drawn
#: (native writers beside Python charts); above it after them, so the copy with the cluster
#: columns (~3 GB at 10M customers) is not held beside the views' frames.
WRITE_TABLES_DURING_VIEWS_UP_TO = 2_000_000


#: Up to this many customers customers.csv and clusters.csv are written beside the Parquet files;
#: above it only Parquet, unless [report] csv_max_customers asks for more (0: always CSV). At 10M
#: customers the CSV is ~4 GB and took longer to write than the rest of the outputs (issue 24).
CSV_MAX_CUSTOMERS = 2_000_000


def csv_skipped_note(n_customers: int, limit: int) -> str:
    """What a run says when it writes the tables as Parquet only."""
    return (f"customers.csv and clusters.csv not written: {n_customers:,} customers are more than [report] "
            f"csv_max_customers = {limit:,}; customers.parquet and clusters.parquet hold every row "
            "(set csv_max_customers = 0 in the config to write the CSV too)")


class TableWriter:
    """Writes customers and clusters (Parquet, and CSV up to ``csv_max_customers``) into a folder
    on a background thread.

    ``start(customers, populations)`` begins; ``wait()`` re-raises the writer's failure;
    ``settle()`` waits and drops the outcome (the analysis is failing anyway). Started by the
    analysis' ``on_fitted`` hook, the tables are written while the views are drawn.
    ``csv_skipped``: the note saying why there is no CSV, once started without it (else None).
    """

    def __init__(self, folder: Path, csv_max_customers: int = CSV_MAX_CUSTOMERS) -> None:
        self.folder = folder
        self.csv_max_customers = int(csv_max_customers)
        self.csv_skipped: str | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, customers: pd.DataFrame, populations: list[PopulationResult]) -> None:
        from custseg.outputs import write_table

        csv = not self.csv_max_customers or len(customers) <= self.csv_max_customers
        if not csv:
            self.csv_skipped = csv_skipped_note(len(customers), self.csv_max_customers)

        def work() -> None:
            try:
                write_table(customer_table(customers, populations), self.folder, "customers", csv=csv)
                write_table(cluster_table(populations), self.folder, "clusters", csv=csv)
            except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
                self._error = exc

        self._thread = threading.Thread(target=work, name="custseg-tables", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    def settle(self) -> None:
        if self._thread is not None:
            self._thread.join()


def write_outputs(result: AnalysisResult, folder: Path, *, report: bool = True, slides: bool = True,
                  tables: TableWriter | None = None, slide_formats: tuple[str, ...] = ("png",),
                  progress: Callable[[str], None] | None = None, slide_export=None) -> dict[str, Path]:
    """Write every output file of an analysis into `folder` (a staging folder).

    ``tables``: a writer already writing the customer and cluster tables (see :class:`TableWriter`);
    ``slide_export``: a browser already drawing the slide images into ``folder/slides``.
    """
    import pandas as pd

    paths: dict[str, Path] = {}
    if tables is None or not tables.started:
        # Parquet and DuckDB's CSV writer release the GIL: beside the report
        tables = tables or TableWriter(folder)
        tables.start(result.customers, result.populations)
    if tables.csv_skipped and progress:
        progress(tables.csv_skipped)
    try:
        excluded = result.excluded if result.excluded is not None else pd.DataFrame(columns=["customer_id", "reason"])
        excluded.to_csv(folder / "excluded.csv", index=False, lineterminator="\n")
        paths["customers"] = folder / "customers.parquet"
        for pop in result.populations:
            if pop.model is not None:
                pop.model.save(folder / "models" / pop.name)
        if report:
            from custseg.report import write_report

            paths.update(write_report(result, folder, slides=slides, slide_formats=slide_formats, progress=progress,
                                      slide_export=slide_export))
        else:
            (folder / "summary.json").write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n")
    finally:
        tables.settle()
        if slide_export is not None:
            slide_export.settle()
    tables.wait()  # re-raises a failure of the table writer
    return paths


def _import_in_background(*modules: str) -> threading.Thread:
    """Import ``modules`` on a daemon thread (an import error shows again where the module is used)."""

    def work() -> None:
        for name in modules:
            try:
                module = importlib.import_module(name)
                if hasattr(module, "compile_now"):  # Numba kernels: load the cached machine code too
                    module.compile_now()
                if hasattr(module, "warm_up"):  # the report's template and Plotly's script
                    module.warm_up()
            except Exception:  # noqa: BLE001 - the main thread's own import reports it
                return

    thread = threading.Thread(target=work, name="custseg-imports", daemon=True)
    thread.start()
    return thread


def _start_slides(folder: Path, formats: tuple[str, ...]):
    from custseg.report.slides import SlideExport

    return SlideExport(folder, formats).start()


def run(
    data: str | Path,
    *,
    config: str | Path | AnalysisConfig | None = None,
    out: str | Path | None = None,
    preset: str | None = None,
    mapping: str | None = None,
    date_format: str | None = None,
    decimal: str | None = None,
    sheet: str | None = None,
    dimensions: dict[str, str] | None = None,
    report: bool = True,
    slides: bool = True,
    slide_formats: tuple[str, ...] = ("png",),
    progress: Callable[[str], None] | None = None,
    engine: str | None = None,
    spark_master: str | None = None,
    spark=None,
) -> AnalysisResult:
    """Run the whole analysis on `data` (Olist folder or transaction log).

    With `out`, also write report.html, slides/ (PNG; `slide_formats=("png", "svg")` adds SVG), deck.pptx, customers.parquet/.csv,
    clusters.csv, models/ and summary.json there (all or nothing). The result's frames,
    figures and notes display in Jupyter.

    For a transaction log: `date_format` (strptime, e.g. "%d/%m/%Y"; default detected), `decimal`
    ("." or ","), `sheet` of an .xlsx workbook, and `dimensions`, the log's own customer
    attributes, name -> column (e.g. ``{"segment": "Segment"}``), compared with every cluster
    (docs/your_log.md).

    `engine` ("duckdb" or "spark") overrides the config's; with "spark", `spark_master` is the
    master URL (default: the active session, spark-submit's master or local[*]) and `spark` an
    existing SparkSession to use (see docs/spark.md).
    """
    from custseg._duck import short_gil_turns
    from custseg.outputs import staged_output
    from custseg.sources import load

    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    log_options = {k: v for k, v in (("date_format", date_format), ("decimal", decimal), ("sheet", sheet), ("dimensions", dimensions)) if v}
    engine = engine or cfg.engine
    if engine not in ("duckdb", "spark"):
        raise InputError(f"engine {engine!r}: use \"duckdb\" or \"spark\"")

    def analyse(tables: TableWriter | None = None, slide_export=None) -> AnalysisResult:
        if engine == "spark":
            from custseg.engines.spark import require_pyspark

            require_pyspark()
            from custseg.engines.spark import run_analysis_spark

            return run_analysis_spark(data, cfg, preset=preset, mapping=mapping, master=spark_master, spark=spark, progress=progress,
                                      **log_options)
        # The clustering and report libraries take ~1.5 s to import, all Python; reading and the
        # feature SQL run in DuckDB and Arrow, which release the GIL: import them meanwhile.
        # The collector waits until they are in: the imports' ~250k new objects would set off
        # full collections that walk them all (4 of them, 0.2 s of the imports' 1.3 s).
        collecting, frozen = gc.isenabled(), False
        gc.disable()
        try:
            warm = _import_in_background("pandas", "custseg.pipeline", "custseg.cluster._kernels", "custseg.report.html",
                                         "pyarrow.parquet", *(["custseg.report.deck"] if out is not None and report and slides else []))
            if progress:
                progress(f"load: reading and checking {data}")
            dataset = load(data, preset=preset, mapping=mapping, **log_options)
            from custseg.features import compute_customer_tables

            # the dataset is ours (load opened it): release DuckDB's memory before pandas takes over
            customers, excluded, timings = compute_customer_tables(dataset, cfg, progress=progress, release=True)
            warm.join()
            from custseg.pipeline import analyse_customers

            # The libraries' objects are moved out of the collector's sight for the run: each
            # full collection would walk them all again (5 collections, ~0.5 s at 96k customers).
            gc.freeze()
            frozen = True
            if collecting:
                gc.enable()
            early = tables is not None and len(customers) <= WRITE_TABLES_DURING_VIEWS_UP_TO
            return analyse_customers(customers, cfg, source=dataset.source, excluded_rows=dataset.excluded,
                                     excluded_customers=excluded, progress=progress, timings=timings, attributes=dataset.attributes,
                                     currency=dataset.currency,
                                     on_fitted=(lambda populations: tables.start(customers, populations)) if early else None,
                                     on_views=slide_export.draw if slide_export is not None else None)
        finally:
            if frozen:
                gc.unfreeze()
            if collecting:
                gc.enable()

    # DuckDB runs beside Python threads throughout (imports, populations, views, writers)
    with short_gil_turns():
        if out is None:
            return analyse()
        with staged_output(out) as staging:
            tables = TableWriter(staging, int(cfg.report.get("csv_max_customers", CSV_MAX_CUSTOMERS)))
            # The browser starts now and draws each population's charts as soon as they exist.
            drawing = _start_slides(staging / "slides", slide_formats) if report and slides else None
            try:
                result = analyse(tables, drawing)
            except BaseException:
                tables.settle()  # nothing may still write into the staging folder when it is removed
                if drawing is not None:
                    drawing.settle(drop=True)
                raise
            if progress:
                progress("writing report" + (", slides and deck" if slides else ""))
            write_outputs(result, staging, report=report, slides=slides, tables=tables, slide_formats=slide_formats, progress=progress,
                          slide_export=drawing)
        return result
