"""The whole analysis, stage by stage: sources -> features -> RFM views -> per population:
prepare, evidence for k, fit, profile, comparisons, observations -> an AnalysisResult.

Pure orchestration: every stage is a function from tables to tables; files are read by
`sources` and written by `report` (via :func:`custseg.api.run`), nowhere else.

The stages of one population are :mod:`.population` (who is in it, evidence for k, the fit and
the names) and :mod:`.views` (its charts and notes, and the RFM views).
"""

from __future__ import annotations

import time
import warnings as warnings_module
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from custseg import profile as pf
from custseg.cluster.threads import single_threaded
from custseg.config import AnalysisConfig, Population
from custseg.errors import InputError
from custseg.profile.caveats import data_caveats
from custseg.result import AnalysisResult, PopulationResult, Sample, Section
from custseg.summary import customer_summary
from custseg.value import VALUE_COLUMNS, ValueSettings, customer_value
from custseg.value.inputs import analysis_end
from custseg.value.section import ValueOutputs, value_outputs, with_value
from custseg.pipeline.population import (FittedPopulation, PopulationSkipped, Progress, fit_population, _in_background)
from custseg.pipeline.views import population_views_of, rfm_section



def cluster_population(customers: pd.DataFrame, population: Population, config: AnalysisConfig,
                       progress: Progress | None = None, warnings: list[str] | None = None,
                       backend=None) -> PopulationResult:
    """Select, prepare, gather evidence for k, fit and profile one population.

    Raises PopulationSkipped (with the reason) when the population cannot be clustered;
    appends to `warnings` what the analysis went on without (e.g. a feature with no value).
    """
    return population_views_of(fit_population(customers, population, config, progress, warnings, backend))


def reconciliation(customers: pd.DataFrame, excluded: pd.DataFrame, populations: list[PopulationResult], excluded_rows: dict[str, int],
                   sample: Sample | None = None) -> pd.DataFrame:
    """Input customers = analysed + excluded, per reason (customers, not rows); with a `sample`,
    the analysed customers are that many of the whole table's."""
    kept = len(customers) if sample is None else sample.customers
    rows = [("customers in the input", kept + len(excluded))]
    for reason, n in excluded["reason"].value_counts().sort_index().items():
        rows.append((f"excluded: {reason}", int(n)))
    if sample is None:
        rows.append(("customers analysed (customers.csv)", len(customers)))
    else:
        rows.append(("customers kept (the labelled customer table)", kept))
        rows.append(("customers analysed: a uniform sample of them", len(customers)))
    rows.append(("never converted (no purchase): profiled, not clustered", int(customers["buys_cnt"].isna().sum())))
    for p in populations:
        rows.append((f"in population '{p.title}' and clustered", p.n_customers))
    for reason, n in sorted(excluded_rows.items()):
        rows.append((f"input rows excluded: {reason}", int(n)))
    return pd.DataFrame(rows, columns=["item", "count"])


def fit_config_to_data(config: AnalysisConfig, customers: pd.DataFrame, attributes=(), currency: str = "") -> tuple[AnalysisConfig, list[str]]:
    """The config as this data can run it, and one line for each thing it goes on without.

    A clustering feature or report dimension the source cannot give (requirements.toml: a log
    without products has no avg_unique_products_cnt) is left out, said once; any other unknown
    feature is an error (a typo must not pass). Dimensions with a single value for every customer
    compare nothing and are left out; the user's own attributes are compared as dimensions.
    """
    from custseg.features import missing_because

    warnings: list[str] = []
    numeric = [c for c in customers.columns if customers[c].dtype.kind in "fiu"]
    left_out: dict[str, list[str]] = {}
    populations = []
    for population in config.populations:  # every population's features, before any clustering
        kept = []
        for feature in population.features:
            if feature not in customers.columns:
                if missing_because(feature) is None:
                    raise InputError(f"population {population.name!r}: feature {feature!r} is not a customer column (this data has: {', '.join(numeric)})")
                left_out.setdefault(feature, []).append(population.title)
                continue
            if feature not in numeric:
                raise InputError(
                    f"population {population.name!r}: feature {feature!r} is not numeric (it is text or a date); "
                    f"cluster on numeric customer columns: {', '.join(numeric)}"
                )
            kept.append(feature)
        populations.append(replace(population, features=tuple(kept)))
    for feature, titles in left_out.items():
        warnings.append(f"feature {feature!r} left out of the clustering ({', '.join(titles)}): it needs {missing_because(feature)}, which this data does not have")
    dimensions = []
    for dim in [*config.report.get("dimensions", []), *attributes]:
        if dim in dimensions:
            continue
        if dim not in customers.columns:
            if config.source != "reference config" and missing_because(dim) is None:  # a typo in the user's list
                warnings.append(f"{config.source} [report] dimensions: {dim!r} is not a customer column of this data; left out of the comparisons")
            elif config.source != "reference config":
                warnings.append(f"dimension {dim!r} left out of the comparisons: it needs {missing_because(dim)}, which this data does not have")
            continue
        buyers = customers[dim] if "buys_cnt" not in customers else customers.loc[customers["buys_cnt"].notna(), dim]
        values = buyers.dropna().unique()  # the populations are buyers: "Never Converted" is no value of theirs
        if len(values) <= 1:
            shown = f"{values[0]!r}" if len(values) else "no value"
            warnings.append(f"dimension {pf.label(dim)!r} left out of the comparisons: every customer has {shown}")
            continue
        dimensions.append(dim)
    report = {**config.report, "dimensions": dimensions, "currency": config.report.get("currency") or currency,
              "top_n_dimensions": [*config.report.get("top_n_dimensions", []), *attributes]}  # an attribute may have many values
    return replace(config, populations=tuple(populations), report=report), warnings


def analyse_customers(customers: pd.DataFrame, config: AnalysisConfig, *, source: str, excluded_rows: dict[str, int],
                      excluded_customers: pd.DataFrame, progress: Progress | None = None, backend=None,
                      timings: dict[str, float] | None = None, on_fitted=None, on_views=None, attributes=(),
                      currency: str = "", sample: Sample | None = None) -> AnalysisResult:
    """Every stage after the customer table (any engine): RFM views, each population, summary.

    ``sample``: `customers` is a uniform sample of a table the engine keeps (the Spark engine's
    ``driver_customers``); the analysis is the sample's, and the summary says so with the whole
    table's headline numbers.

    `backend` clusters (default :class:`LocalClustering`); the Spark engine passes its own.
    ``on_fitted(populations, customers)``: called once every population has its clusters, before
    the views are drawn, with the customer table and its value columns (``custseg.api.run``
    starts writing the customer tables then). ``on_views(views)``: called with each section's
    views as soon as they are made, from any thread (``custseg.api.run`` has the browser draw
    their slide images meanwhile). ``attributes``: the
    user's own customer attributes (compared with the clusters like the config's dimensions).
    """
    say = progress or (lambda _msg: None)
    timings = {} if timings is None else timings
    config, warnings = fit_config_to_data(config, customers, attributes, currency)
    # Lifetime value (numpy and scipy: mostly outside the GIL) is fitted on a thread of its own
    # beside the clustering; its columns join the customer table before the tables are written.
    say("value: fitting BG/NBD and Gamma-Gamma (beside the clustering)")
    value_job = _in_background(customer_value, customers, ValueSettings.from_config(config.value),
                               analysis_end(customers, config.features.get("as_of")))
    valued: list[pd.DataFrame] = []

    def with_value_columns() -> pd.DataFrame:
        if not valued:
            value = value_job.result()
            timings["value"] = value.seconds
            valued.append(customers.assign(**{c: value.scores[c] for c in VALUE_COLUMNS}))
        return valued[0]

    def fitted(populations: list[PopulationResult]) -> None:
        if on_fitted is not None:
            on_fitted(populations, with_value_columns())

    with ThreadPoolExecutor(max_workers=1) as pool:
        # The RFM charts (pandas and Plotly: Python) are drawn on a thread while the first
        # population's evidence runs (KMeans and compiled kernels, which release the GIL).
        rfm = pool.submit(_timed, timings, "rfm_views", _made(rfm_section, on_views), customers, config.report.get("currency")) if customers["rfm_score"].notna().any() else None
        if rfm is not None:
            say("RFM views (beside the first population's evidence)")
        populations, sections = _cluster_populations(customers, config, say, backend, timings, warnings, fitted, on_views)
    if rfm is not None:
        sections.insert(0, rfm.result())
    customers = with_value_columns()
    summary = customer_summary(customers, excluded_rows)
    if sample is not None:
        summary["sample"] = {"customers": int(len(customers)), "of": sample.customers, "how": sample.how, "all_customers": sample.summary}
    started = time.perf_counter()
    value = value_outputs(value_job.result(), customers, populations, config.report.get("currency") or "")
    timings["value_views"] = time.perf_counter() - started
    _add_value(value, summary, populations, sections)
    if warnings:
        summary["warnings"] = warnings
    if config.report.get("currency"):
        summary["currency"] = config.report["currency"]
    if config.features.get("as_of"):
        summary["as_of"] = config.features["as_of"]
    caveats = data_caveats(customers, populations, config.report) + value.caveats
    if caveats:
        summary["caveats"] = caveats
    excluded = excluded_customers
    summary["excluded_customers"] = {str(k): int(v) for k, v in excluded["reason"].value_counts().sort_index().items()}
    recon = reconciliation(customers, excluded, populations, excluded_rows, sample)
    return AnalysisResult(
        title=config.title, source=source, customers=customers, summary=summary,
        reconciliation=recon, sections=sections, populations=populations, timings=timings,
        excluded=excluded, sample=sample,
    )


def _made(make_section, on_views):
    """`make_section`, then ``on_views`` told of the section's views."""
    if on_views is None:
        return make_section

    def make(*args):
        section = make_section(*args)
        if section is not None:
            on_views(section.all_views())
        return section

    return make

def _add_value(value: ValueOutputs, summary: dict, populations: list[PopulationResult], sections: list[Section]) -> None:
    """The value of each RFM segment and cluster into the summary and overviews, and its section
    after the RFM one (which says why, when a model could not be fitted)."""
    summary["value"] = value.summary
    if value.segments is not None and "rfm_segments" in summary:
        by_segment = value.segments.set_index("group")
        for name, row in summary["rfm_segments"].items():
            if name in by_segment.index:
                seg = by_segment.loc[name]
                row.update({"expected_revenue": seg["expected_revenue"], "expected_revenue_low": seg["expected_revenue_low"],
                            "expected_revenue_high": seg["expected_revenue_high"], "expected_revenue_share": seg["expected_revenue_share"],
                            "expected_purchases": seg["expected_purchases"], "mean_p_alive_repeat": seg["mean_p_alive_repeat"]})
    for pop in populations:
        if pop.overview is not None and pop.name in value.clusters:
            pop.overview = with_value(pop.overview, value.clusters[pop.name])
    sections.insert(1 if sections and sections[0].key == "rfm" else 0, value.section)


def _timed(timings: dict[str, float], name: str, func, *args):
    started = time.perf_counter()
    try:
        return func(*args)
    finally:
        timings[name] = time.perf_counter() - started


def _cluster_populations(customers: pd.DataFrame, config: AnalysisConfig, say: Progress, backend,
                         timings: dict[str, float], warnings: list[str], on_fitted=None, on_views=None,
                         ) -> tuple[list[PopulationResult], list[Section]]:
    """Check every population's features, then cluster each (skipped ones become warnings).

    ``on_fitted(populations)`` is called once every population is fitted and before their views
    are drawn, with their results so far (assignments, models, evidence; no sections yet).
    """
    populations, sections = [], []
    if not config.populations:
        return populations, sections

    def fit(population: Population, progress: Progress) -> tuple[FittedPopulation | None, list[str]]:
        notes: list[str] = []
        try:
            return fit_population(customers, population, config, progress=progress, warnings=notes, backend=backend), notes
        except PopulationSkipped as exc:
            notes.append(str(exc))
            progress(f"warning: {exc}")
            return None, notes

    def views_of(fitted: FittedPopulation | None) -> PopulationResult | None:
        return population_views_of(fitted, on_views) if fitted is not None else None

    def beside_first(population: Population, fitted: Future) -> tuple[PopulationResult | None, float]:
        started = time.perf_counter()
        try:
            outcome = fit(population, lambda message: say(f"{message} (beside {first.title})"))
        except BaseException as exc:
            fitted.set_exception(exc)
            raise
        fitted.set_result(outcome)
        return views_of(outcome[0]), time.perf_counter() - started

    first, *others = config.populations
    # The first population is clustered here; the others, one after another, on a thread beside
    # it: each is mostly native work (KMeans, compiled kernels, DuckDB) that fills the cores the
    # other leaves idle. Results, warnings and timings are taken in the config's order, so the
    # analysis is the same as one population after another.
    # single_threaded for the whole section: BLAS's limit is process-wide, so it stays at one thread
    # while the populations run side by side rather than follow whichever thread is fitting.
    with single_threaded(), warnings_module.catch_warnings(), ThreadPoolExecutor(max_workers=1) as pool:
        warnings_module.simplefilter("ignore", ConvergenceWarning)  # see fit_population; set once for all threads
        fitted_others = [Future() for _ in others]
        later = [pool.submit(beside_first, population, f) for population, f in zip(others, fitted_others)]
        started = time.perf_counter()
        fitted_first = fit(first, say)
        first_seconds = time.perf_counter() - started
        fitted = [fitted_first] + [f.result() for f in fitted_others]
        if on_fitted is not None:  # every population's clusters are known: e.g. start writing them
            on_fitted([f.result for f, _ in fitted if f is not None])
        started = time.perf_counter()
        first_result = views_of(fitted_first[0])
        done = [(first_result, first_seconds + time.perf_counter() - started)] + [job.result() for job in later]
    for population, (_, notes), (result, seconds) in zip(config.populations, fitted, done):
        warnings.extend(notes)
        if result is None:
            continue
        populations.append(result)
        sections.append(result.section)
        timings[f"population:{population.name}"] = seconds
    return populations, sections
