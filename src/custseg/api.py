"""The Python API: `custseg.run(...)` for notebooks and pipelines; the CLI calls the same."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from custseg.config import AnalysisConfig, load_config, with_as_of
from custseg.errors import InputError
from custseg.result import AnalysisResult, PopulationResult, assignment_rows

if TYPE_CHECKING:  # pandas is imported where a frame is made: its ~0.25 s overlap reading the data
    import pandas as pd


def customer_output(result: AnalysisResult) -> pd.DataFrame:
    """customers.csv: every customer's metrics and segments plus, per population, cluster and name."""
    return customer_table(result.customers, result.populations)


def customer_table(customers: pd.DataFrame, populations: list[PopulationResult]) -> pd.DataFrame:
    """:func:`customer_output` from the customer table and the populations' assignments."""
    import pandas as pd

    from custseg.ids import strictly_increasing

    table = customers
    ids = table["customer_id"]
    added = {}
    for pop in populations:  # placed by row (or looked up by id): no merge, no copy of the other columns
        a = pop.assignments
        row = assignment_rows(table, a, pop.rows)  # -1: not in the population (missing)
        added[f"cluster_{pop.name}"] = pd.Series(a["cluster"].array.astype("Int64").take(row, allow_fill=True), index=table.index)
        added[f"cluster_name_{pop.name}"] = pd.Series(a["cluster_name"].array.take(row, allow_fill=True), index=table.index)
    table = table.assign(**added)
    if not strictly_increasing(ids):
        table = table.sort_values("customer_id", kind="stable")
    return table.reset_index(drop=True)


def cluster_assignments(result: AnalysisResult) -> pd.DataFrame:
    """clusters.csv: one row per (population, customer)."""
    return cluster_table(result.populations)


def cluster_table(populations: list[PopulationResult]) -> pd.DataFrame:
    """:func:`cluster_assignments` from the populations' assignments."""
    import pandas as pd

    return pd.concat(cluster_parts(populations), ignore_index=True)


def cluster_parts(populations: list[PopulationResult]) -> list[pd.DataFrame]:
    """Frames whose concatenation is :func:`cluster_table`: written as they are, the whole table
    (~0.8 GB at 10M customers) is never made."""
    import pandas as pd

    from custseg.ids import strictly_increasing

    frames = [p.assignments.assign(population=p.name)[["population", "customer_id", "cluster", "cluster_name"]] for p in populations]
    if not frames:
        return [pd.DataFrame(columns=["population", "customer_id", "cluster", "cluster_name"])]
    names = [p.name for p in populations]
    if len(set(names)) == len(names) and all(strictly_increasing(f["customer_id"]) for f in frames):
        # each population's rows are in id order already (the customer table's): in population
        # order they are the sorted table, without sorting ~10M ids (5 s)
        return [f for _, f in sorted(zip(names, frames), key=lambda pair: pair[0])]
    return [pd.concat(frames, ignore_index=True).sort_values(["population", "customer_id"], kind="stable").reset_index(drop=True)]


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
                write_table(cluster_parts(populations), self.folder, "clusters", csv=csv)
            except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
                self._error = exc

        self._thread = threading.Thread(target=work, name="custseg-tables", daemon=True)
        self._thread.start()

    def start_with(self, populations: list[PopulationResult], customers: pd.DataFrame) -> None:
        """:meth:`start` in the order of the analysis' ``on_fitted`` hook."""
        self.start(customers, populations)

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    def settle(self) -> None:
        if self._thread is not None:
            self._thread.join()


class Background:
    """One function on a thread: ``wait()`` re-raises its failure, ``settle()`` waits and drops it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, func, *args) -> None:
        def work() -> None:
            try:
                func(*args)
            except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
                self._error = exc

        self._thread = threading.Thread(target=work, name=self.name, daemon=True)
        self._thread.start()

    def settle(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def wait(self) -> None:
        self.settle()
        if self._error is not None:
            raise self._error


#: Said when the report is of a sample (:class:`custseg.result.Sample`).
SAMPLE_OUTPUTS_NOTE = ("customers.parquet, clusters.parquet and audiences/ not written: the report is of a sample; every customer's "
                       "clusters are in the labelled customer table (--out-labels / --out-table)")


def write_outputs(result: AnalysisResult, folder: Path, *, report: bool = True, slides: bool = True,
                  tables: TableWriter | None = None, slide_formats: tuple[str, ...] = ("png",),
                  progress: Callable[[str], None] | None = None, slide_export=None, audiences=None, contacts=None) -> dict[str, Path]:
    """Write every output file of an analysis into `folder` (a staging folder).

    ``tables``: a writer already writing the customer and cluster tables (see :class:`TableWriter`);
    ``slide_export``: a browser already drawing the slide images into ``folder/slides``.
    ``audiences``: how to write audiences/ (:class:`custseg.audiences.AudienceSettings`, default
    plain); ``contacts``: the customers' contacts (:func:`custseg.audiences.prepare_contacts`),
    written into the audience files only.
    """
    import pandas as pd

    from custseg.audiences import AudienceSettings, cluster_groupings, describe, plan_audiences, rfm_grouping, write_files

    paths: dict[str, Path] = {}
    audience_files = Background("custseg-audiences")
    tables = tables or TableWriter(folder)
    # A sample's customers are not the customer table, nor its audiences: the engine writes every
    # customer's clusters (the labelled customer table), the report describes the sample.
    whole = result.sample is None
    if whole and not tables.started:  # Parquet and DuckDB's CSV writer release the GIL: beside the report
        tables.start(result.customers, result.populations)
    if tables.csv_skipped and progress:
        progress(tables.csv_skipped)
    if not whole and progress:
        progress(SAMPLE_OUTPUTS_NOTE)
    try:
        excluded = result.excluded if result.excluded is not None else pd.DataFrame(columns=["customer_id", "reason"])
        excluded.to_csv(folder / "excluded.csv", index=False, lineterminator="\n")
        for pop in result.populations:
            if pop.model is not None:
                save_model(pop, folder / "models" / pop.name)
        manifest = None
        if whole:
            paths["customers"] = folder / "customers.parquet"
            groupings = [*cluster_groupings(result.populations), *filter(None, [rfm_grouping(result.customers)])]
            manifest, files = plan_audiences(result.customers, groupings, contacts=contacts, settings=audiences or AudienceSettings())
            paths["audiences"] = folder / "audiences"
            audience_files.start(write_files, paths["audiences"], manifest, files)  # DuckDB's writer, beside the report
            if progress:
                progress(describe(manifest))
        if report:
            from custseg.report import write_report

            paths.update(write_report(result, folder, slides=slides, slide_formats=slide_formats, progress=progress,
                                      slide_export=slide_export, audiences=manifest))
        else:
            (folder / "summary.json").write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n")
    finally:
        tables.settle()
        if slide_export is not None:
            slide_export.settle()
        audience_files.settle()
    tables.wait()  # re-raises a failure of the table writer
    audience_files.wait()
    return paths


def save_model(pop: PopulationResult, directory: Path) -> None:
    """The population's model, and clusters.json: the population and each cluster's name and
    suggested action (so new customers assigned later get the same audience files)."""
    from custseg.audiences.saved import CLUSTERS_FILE

    pop.model.save(directory)
    actions = {} if pop.overview is None else dict(zip(pop.overview["cluster"], pop.overview["action"]))
    clusters = [{"cluster": int(c), "name": str(name), "suggested_action": str(actions.get(c, ""))} for c, name in sorted(pop.cluster_names.items())]
    meta = {"population": pop.name, "title": pop.title, "clusters": clusters}
    (directory / CLUSTERS_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+")  # "s3a://b/x" (a Path keeps "s3a:/b/x")


def local_out(out: str | Path) -> Path:
    """`out` as a local folder. The report is files written by this process, so a URL
    (``s3a://``, ``hdfs://``, ``gs://``) is refused in one line rather than written to a local
    folder named after it; ``file://`` names a local path."""
    text = str(out)
    url = _URL.match(text)
    if url is None:
        return Path(out)
    if url.group(1).lower() == "file":
        return Path("/" + text[url.end():])
    raise InputError(
        f"--out {url.group(1)}://{text[url.end():]}: not a local folder; the report is written on this machine, so give a "
        "local folder (the Spark engine writes the labelled customer table to a lake path or table: --out-labels, --out-table)"
    )


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
    as_of=None,
    audience_format: str | None = None,
    phone_country: str | None = None,
    labels_to: str | None = None,
    driver_customers: int | None = None,
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

    `as_of` (a date or "YYYY-MM-DD"; overrides the config's ``[features] as_of``): every metric as
    if the data ended that day: later orders are left out and recency counts from the day's end
    (custseg.features.as_of; docs/migration.md).
    With `out`, audiences/ holds one CSV per cluster and RFM segment; `audience_format`
    ("plain", "klaviyo", "mailchimp" or "google-customer-match"; default the config's
    ``[audiences] format``, else plain) and `phone_country` (e.g. "BR": phones written without
    + country code) say how (docs/audiences.md).
    `labels_to` (Spark engine): where the executors write the customer table with every
    population's cluster and name: a path Spark writes (Parquet) or ``table:db.t`` (docs/spark.md).
    `driver_customers` (Spark engine, with `labels_to`): above this many customers the driver holds a
    uniform sample of about this many; the report is the sample's and the executors assign every
    customer's clusters into the labelled table (docs/spark.md).
    """
    from custseg.engines import ENGINES, engine_for
    from custseg.machine import check_memory
    from custseg.outputs import staged_output

    out = None if out is None else local_out(out)
    cfg = with_as_of(config if isinstance(config, AnalysisConfig) else load_config(config), as_of)
    log_options = {k: v for k, v in (("date_format", date_format), ("decimal", decimal), ("sheet", sheet), ("dimensions", dimensions)) if v}
    check_memory(cfg)  # a configured step that cannot fit is refused before any work
    engine = engine or cfg.engine
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r}: use \"duckdb\" or \"spark\"")
    if labels_to is not None and engine != "spark":
        raise InputError("--out-labels / --out-table: the labelled customer table is written by the Spark engine; add --engine spark "
                         "(the DuckDB engine writes it as customers.parquet in --out)")
    if driver_customers is not None:
        if engine != "spark":
            raise InputError("--driver-customers: the driver's sample is the Spark engine's; add --engine spark")
        if labels_to is None:
            raise InputError("--driver-customers: the report is then of a sample, so every customer's clusters must go somewhere; "
                             "add --out-labels PATH or --out-table TABLE")
        if int(driver_customers) < 1_000:
            raise InputError(f"--driver-customers {driver_customers}: use at least 1,000 (the clusters are found on that many)")
    if str(data).startswith("table:") and engine != "spark":
        raise InputError(f"--table {str(data)[6:]}: catalog tables are read by the Spark engine; add --engine spark")
    from custseg.audiences import AudienceSettings, check_format, prepare_contacts

    audience = AudienceSettings.of(audience_format, phone_country, cfg.audiences)
    if out is not None and audience.format != "plain":  # a tool's format needs a contact column: refused before any work
        check_format(audience, *mapped_contacts(data, preset, mapping, date_format, decimal))
    contacts = None

    def analyse(heavy, tables: TableWriter | None = None, slide_export=None) -> AnalysisResult:
        nonlocal contacts
        found = heavy.customer_tables(data, cfg, preset=preset, mapping=mapping, log_options=log_options, progress=progress,
                                      contacts=out is not None)
        if found.contacts is not None:
            contacts = prepare_contacts(found.contacts, audience)
        from custseg.pipeline import analyse_customers  # (custseg.tuning may have imported it meanwhile)

        early = tables is not None and found.sample is None and len(found.customers) <= WRITE_TABLES_DURING_VIEWS_UP_TO
        return analyse_customers(found.customers, cfg, source=found.source, excluded_rows=found.excluded_rows,
                                 excluded_customers=found.excluded, progress=progress, backend=heavy.clustering(),
                                 timings=found.timings, attributes=found.attributes, currency=found.currency, sample=found.sample,
                                 on_fitted=tables.start_with if early else None,
                                 on_views=slide_export.draw if slide_export is not None else None)

    with engine_for(engine, spark_master=spark_master, spark=spark, driver_customers=driver_customers) as heavy:
        if out is None:
            result = analyse(heavy)
            if labels_to is not None:
                heavy.write_labels(result, labels_to, progress=progress)
            return result
        with staged_output(out) as staging:
            tables = TableWriter(staging, int(cfg.report.get("csv_max_customers", CSV_MAX_CUSTOMERS)))
            # The browser starts now and draws each population's charts as soon as they exist.
            drawing = _start_slides(staging / "slides", slide_formats) if report and slides else None
            try:
                result = analyse(heavy, tables, drawing)
            except BaseException:
                tables.settle()  # nothing may still write into the staging folder when it is removed
                if drawing is not None:
                    drawing.settle(drop=True)
                raise
            if progress:
                progress("writing report" + (", slides and deck" if slides else ""))
            write_outputs(result, staging, report=report, slides=slides, tables=tables, slide_formats=slide_formats, progress=progress,
                          slide_export=drawing, audiences=audience, contacts=contacts)
            # Last, while the report is still staged: a report that fails leaves no labels written, and
            # labels that cannot be written leave no report (the folder appears only when both are done).
            if labels_to is not None:
                heavy.write_labels(result, labels_to, progress=progress)
    return result


def mapped_contacts(data, preset, mapping, date_format=None, decimal=None) -> tuple[tuple[str, ...], str]:
    """The contact roles a source maps, and how to name the source in a message (read from the
    mapping alone: nothing is loaded)."""
    from custseg.sources import ColumnMapping

    if not (preset or mapping):
        return (), "the Olist data"
    found = ColumnMapping.resolve(Path(str(data)).name, preset, mapping, date_format, decimal)
    return found.contact_roles, (f"the preset {preset!r}" if preset else "the mapping (--map)")
