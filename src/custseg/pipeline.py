"""The whole analysis, stage by stage: sources -> features -> RFM views -> per population:
prepare, evidence for k, fit, profile, comparisons, observations -> an AnalysisResult.

Pure orchestration: every stage is a function from tables to tables; files are read by
`sources` and written by `report` (via :func:`custseg.api.run`), nowhere else.
"""

from __future__ import annotations

import re
import time
import warnings as warnings_module
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

from custseg import profile as pf
from custseg.cluster import (
    evaluate_k,
    fit_clusters,
    prepare_features,
    recommend_k,
    ward_linkage,
    measure_silhouette,
)
from custseg.cluster.threads import single_threaded
from custseg.cluster.ward import distinct_rows, exact_ward_bytes
from custseg.config import AnalysisConfig, Population
from custseg.errors import InputError
from custseg.features import compute_customer_tables
from custseg.profile.caveats import data_caveats
from custseg.profile.findings import derived_from
from custseg.profile.findings import select as select_findings
from custseg.profile.overview import SUMMARY_METRICS, cluster_overview, headline_findings
from custseg.profile.tables import with_revenue_share
from custseg.result import AnalysisResult, Note, PopulationResult, Section, View
from custseg.sources.dataset import Dataset
from custseg.summary import customer_summary
from custseg.value import VALUE_COLUMNS, ValueSettings, customer_value
from custseg.value.inputs import analysis_end
from custseg.value.section import ValueOutputs, value_outputs, with_value

Progress = Callable[[str], None]
RFM_COLUMNS = ["customer_id", "recency", "frequency", "monetary", "recency_score", "frequency_score", "monetary_score", "rfm_score", "rfm_segment"]


def _notes(observations) -> list[Note]:
    """A view's notes: its findings first (at most five, ranked), then every other statistic."""
    shown, rest = select_findings(list(observations))
    return [Note(text=o.text, confidence=o.confidence, values=_jsonable(o.figure_values), finding=finding)
            for group, finding in ((shown, True), (rest, False)) for o in group]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def _key(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", str(p).lower()).strip("-") for p in parts)


def select_population(customers: pd.DataFrame, population: Population) -> pd.DataFrame:
    """The customers matching the population's SQL filter (see :func:`population_mask`)."""
    return customers[population_mask(customers, population)]


def population_mask(customers: pd.DataFrame, population: Population) -> np.ndarray:
    """Which customers (rows, in order) match the population's SQL filter (evaluated by DuckDB).

    The filter is one SQL expression over the customer table: it runs as a single SELECT on a
    connection that cannot touch the file system (no COPY, no read_csv of other files).
    """
    con = duckdb.connect(config={"enable_external_access": False})
    con.register("customers", customers)
    query = f"SELECT coalesce(({population.filter})::BOOLEAN, false) FROM customers"  # NULL: not selected, as in WHERE
    try:
        statements = con.extract_statements(query)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise InputError(
                f"population {population.name!r}: filter {population.filter!r} cannot be evaluated (it is not one SQL "
                "expression: ';' ends the statement); use SQL over the customer table's columns, e.g. buys_cnt >= 2"
            )
        keep = con.execute(query).fetchnumpy()  # one flag per row, in the frame's row order
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise InputError(f"population {population.name!r}: filter {population.filter!r} cannot be evaluated ({message}); use SQL over the customer table's columns") from None
    finally:
        con.close()
    (flags,) = keep.values()
    return np.asarray(flags, dtype=bool)


#: RFM observation view -> the view key its chart has
_RFM_VIEWS = {"rfm_histograms": "rfm-histograms", "rfm_rf_heatmap": "rfm-rf-heatmap", "rfm_score_heatmaps": "rfm-score-pairs",
              "rfm_fm_by_r": "rfm-fm-by-r", "rfm_segment_bar": "rfm-segment-bar", "rfm_segment_treemap": "rfm-segment-treemap"}


def rfm_section(customers: pd.DataFrame, currency: str | None = None) -> Section:
    rfm = customers.loc[customers["rfm_score"].notna(), RFM_COLUMNS]
    builders = [
        ("rfm-histograms", pf.rfm_histograms),
        ("rfm-rf-heatmap", pf.rfm_rf_heatmap),
        ("rfm-score-pairs", pf.rfm_score_heatmaps),
        ("rfm-fm-by-r", pf.rfm_fm_by_r),
        ("rfm-segment-bar", pf.rfm_segment_bar),
        ("rfm-segment-treemap", pf.rfm_segment_treemap),
    ]
    views = []
    by_view: dict[str, list] = {}
    for o in pf.rfm_observations(rfm, currency=currency):  # each finding under its own chart
        by_view.setdefault(_RFM_VIEWS.get(o.view, "rfm-segment-bar"), []).append(o)
    for key, build in builders:
        fig = build(rfm)
        views.append(View(key=key, title=fig.layout.title.text or key, figure=fig, notes=_notes(by_view.get(key, []))))
    return Section(key="rfm", title="RFM analysis", intro=f"Recency, frequency and monetary scores of {len(rfm):,} converted customers.", views=views)


def population_views(frame: pd.DataFrame, pop: PopulationResult, metrics: list[str], config: AnalysisConfig,
                     medians: pd.DataFrame | None = None, on_views=None) -> list[View]:
    """Profile, polar and cluster x dimension comparisons of one clustered population.

    ``medians``: the population's median profile table, when the caller has it already;
    ``on_views``: told of each view as soon as it is made (see :func:`analyse_customers`).
    """
    told = on_views or (lambda _views: None)
    agg = config.report.get("profile_aggregate", "median")
    names = pop.cluster_names
    if medians is None:
        medians = pf.profile_table(frame, metrics, agg="median")
    table = medians if agg == "median" else pf.profile_table(frame, metrics, agg=agg)
    shown = table
    if pop.overview is not None and "revenue_share" in pop.overview:
        shown = with_revenue_share(table, pop.overview.set_index("cluster")["revenue_share"])
    styled = pf.style_profile(shown, names=names)
    text, colours = styled.display()
    views = [
        View(key=_key(pop.name, "profile"), title=f"{pop.title}: cluster profile ({agg})", table=text, table_colors=colours,
             notes=_notes(pf.profile_observations(frame, metrics, agg=agg, names=names, table=table,
                                                  currency=config.report.get("currency")))),
        View(key=_key(pop.name, "polar"), title=f"{pop.title}: clusters by metric",
             figure=pf.segment_polar(medians, names=names, title=f"{pop.title}: clusters by metric"),
             notes=_notes(pf.polar_observations(medians, names=names, n_customers=len(frame)))),
    ]
    told(views)
    top_dims = set(config.report.get("top_n_dimensions", []))
    top_n = int(config.report.get("top_n", 5))
    one_row_each = bool(frame["customer_id"].is_unique)
    for dim in config.report.get("dimensions", []):
        if dim not in frame.columns or frame[dim].nunique() <= 1:  # one value in this population: nothing to compare
            continue
        ct = pf.cross_tab(frame, "cluster", dim, top_n=top_n if dim in top_dims else None, one_row_per_customer=one_row_each)
        title = f"{pop.title}: clusters by {pf.label(dim)}"
        notes = _notes(pf.compare_observations(ct, names=names, derived_from=derived_from(dim, pop.features_used or [])))
        views.append(View(key=_key(pop.name, dim, "by-cluster"), title=title, figure=pf.cat_compare(ct, graph=2, names=names, title=title), notes=notes))
        title3 = f"{pop.title}: {pf.label(dim)} by cluster"
        views.append(View(key=_key(pop.name, dim, "by-value"), title=title3, figure=pf.cat_compare(ct, graph=3, names=names, title=title3),
                          same_as=views[-1].key))
        told(views[-2:])
    return views


def _k_range(population: Population, n: int, distinct: int | None = None) -> list[int]:
    """The k to gather evidence for: k_min..k_max, at most n - 1 and at most the distinct rows."""
    hi = min(population.k_max, n - 1, n if distinct is None else distinct)
    return list(range(population.k_min, hi + 1)) if hi >= population.k_min else []


def _usable_features(members: pd.DataFrame, population: Population) -> tuple[list[str], list[str]]:
    """The population's features that have a value for at least one member, and a warning per
    feature that has none (e.g. from_first_to_last_days among one-time buyers).

    Raises PopulationSkipped when no feature is left, or when every feature has a single value
    over the customers that have them all (all customers identical: nothing to cluster).
    """
    features = list(population.features)
    empty = [f for f in features if members[f].isna().all()]
    usable = [f for f in features if f not in empty]
    n = len(members)
    warnings = [
        f"population {population.name!r}: feature {f!r} has no value for any of its {n:,} customers; clustered without it"
        for f in empty
    ] if usable else []
    if not usable:
        raise PopulationSkipped(
            f"population {population.name!r}: no feature has a value for any of its {n:,} customers "
            f"(missing everywhere: {', '.join(map(repr, features))}); not clustered"
        )
    complete = members[usable].dropna()
    if len(complete) >= 3 and all(complete[f].nunique() <= 1 for f in usable):
        raise PopulationSkipped(
            f"population {population.name!r}: every feature ({', '.join(usable)}) has the same value for every one of "
            f"its {len(complete):,} customers; there is nothing to cluster"
        )
    return usable, warnings


class LocalClustering:
    """The single-machine clustering backend (scikit-learn and custseg.cluster): the default.

    A backend answers the four questions :func:`cluster_population` asks — evidence for k, the
    final fit, its silhouette and the Ward tree for the dendrogram — with custseg.cluster's
    result types. The Spark engine passes :class:`custseg.engines.spark.cluster.SparkClustering`.
    """

    name = "local"

    def evaluate_k(self, prepared, ks, population: Population, cl: dict):
        return evaluate_k(
            prepared, ks, method=population.method, random_state=population.random_state,
            stability_resamples=int(cl.get("stability_resamples", 10)),
            stability_sample_size=int(cl.get("stability_sample_size", 20_000)),
            exact_limit=int(cl.get("evidence_silhouette_exact_limit", cl.get("silhouette_exact_limit", 100_000))),
            silhouette_sample_size=int(cl.get("silhouette_sample_size", 10_000)),
            memory_budget=int(cl.get("memory_budget_bytes", 4_000_000_000)),
        )

    def fit(self, prepared, k: int, population: Population, cl: dict, evidence=None):
        return fit_clusters(
            prepared, k=k, method=population.method, random_state=population.random_state,
            memory_budget=int(cl.get("memory_budget_bytes", 4_000_000_000)), evidence=evidence,
        )

    def silhouette(self, prepared, labels, population: Population, cl: dict, evidence=None):
        exact_limit = int(cl.get("silhouette_exact_limit", 100_000))
        sample_size = int(cl.get("silhouette_sample_size", 20_000))
        if evidence is not None and prepared.index.is_monotonic_increasing:  # evidence rows: customer-id order
            k = int(labels.max())
            same = evidence.silhouette_if_same(np.asarray(labels) - 1, k, exact_limit=exact_limit,
                                               sample_size=sample_size, random_state=population.random_state)
            if same is not None:  # the evidence measured this very partition: the same number
                return same
        return measure_silhouette(prepared.X, labels, exact_limit=exact_limit, sample_size=sample_size,
                                  random_state=population.random_state)

    def ward_tree(self, prepared, population: Population, cl: dict):
        # Only drawn (truncated to 30 leaves), for a population clustered by another method: exact
        # Ward up to 2,000 customers, else 200 micro-clusters (0.4 s at 93k customers; exact Ward
        # on 10k customers would take 3.5 s and 800 MB for a drawing).
        budget = min(int(cl.get("memory_budget_bytes", 4_000_000_000)), exact_ward_bytes(2_000))
        return ward_linkage(prepared, memory_budget=budget, max_leaves=200, random_state=population.random_state)


def cluster_population(customers: pd.DataFrame, population: Population, config: AnalysisConfig,
                       progress: Progress | None = None, warnings: list[str] | None = None,
                       backend=None) -> PopulationResult:
    """Select, prepare, gather evidence for k, fit and profile one population.

    Raises PopulationSkipped (with the reason) when the population cannot be clustered;
    appends to `warnings` what the analysis went on without (e.g. a feature with no value).
    """
    return population_views_of(fit_population(customers, population, config, progress, warnings, backend))


@dataclass
class FittedPopulation:
    """A population clustered but not yet profiled: its result (assignments, model, evidence),
    what its views need, and the dendrogram's tree (a future: it may still be growing)."""

    result: PopulationResult
    population: Population
    config: AnalysisConfig
    clustered: pd.DataFrame
    metrics: list[str]
    medians: pd.DataFrame
    evidence: Any
    ks: list[int]
    tree: Future
    say: Progress


def fit_population(customers: pd.DataFrame, population: Population, config: AnalysisConfig,
                   progress: Progress | None = None, warnings: list[str] | None = None,
                   backend=None) -> FittedPopulation:
    """The first half of :func:`cluster_population`: select, prepare, evidence for k, fit and name."""
    say = progress or (lambda _msg: None)
    cl = config.cluster
    backend = backend or LocalClustering()
    # Only the columns this population's clustering and views read: at 10M customers a copy of
    # every column would cost ~6 GB per population.
    wanted = ["customer_id", *population.features, *(m for m in SUMMARY_METRICS if m in customers.columns),
              *(d for d in config.report.get("dimensions", []) if d in customers.columns)]
    members = customers.loc[population_mask(customers, population), list(dict.fromkeys(wanted))]
    if len(members) == 0:
        raise PopulationSkipped(f"population {population.name!r}: the filter {population.filter!r} selects no customer")
    if len(members) < 3:
        raise PopulationSkipped(
            f"population {population.name!r}: only {len(members)} customer(s) match the filter {population.filter!r}; "
            "at least 3 are needed to cluster"
        )
    features, feature_warnings = _usable_features(members, population)
    frame = members.set_index("customer_id")
    prep = population.preparation
    try:
        prepared = prepare_features(
            frame, features, corr_threshold=prep.corr_threshold,
            transform=None if prep.transform == "none" else prep.transform,
            scaler=prep.scaler, winsorize_quantile=prep.winsorize_quantile,
        )
    except InputError as exc:  # the config was checked before: what is left is this population's data
        raise PopulationSkipped(f"population {population.name!r}: {exc}; not clustered") from None
    n = prepared.X.shape[0]
    distinct = len(distinct_rows(prepared.X)[0]) if n else 0
    k_fixed = population.k if population.k != "auto" else None
    if n < 3 or distinct < 2:
        raise PopulationSkipped(
            f"population {population.name!r}: {n} customer(s) with {distinct} distinct feature row(s) after preparation; "
            "at least 3 customers with 2 different rows are needed to cluster"
        )
    if k_fixed is not None and k_fixed > min(n, distinct):
        raise InputError(
            f"population {population.name!r}: k = {k_fixed} but only {n:,} customers ({distinct:,} distinct rows) remain; "
            f"lower k or use k = \"auto\""
        )
    ks = _k_range(population, n, distinct)
    # The dendrogram's tree (KMeans micro-clusters and scipy: native, GIL released) grows beside
    # the evidence, the fit and the profile views; it is only needed for the evidence views.
    # Ward's evidence grows the tree itself.
    tree = _in_background(backend.ward_tree, prepared, population, cl) if population.method != "ward" else None
    say(f"{population.title}: evidence for k = {ks[0] if ks else '-'}..{ks[-1] if ks else '-'} on {n:,} customers")
    try:
        with warnings_module.catch_warnings():
            # Resamples for stability repeat customers, so a resample can hold fewer distinct rows
            # than k; scikit-learn says so once per fit, which is expected here, not news.
            warnings_module.simplefilter("ignore", ConvergenceWarning)
            evidence = backend.evaluate_k(prepared, ks or [k_fixed or 2], population, cl)
        recommendation = recommend_k(evidence)
        if k_fixed is not None:
            k = int(k_fixed)
            verdict = "agrees" if recommendation.k == k else "disagrees"
            k_reason = f"k = {k} is set in the config; the evidence {verdict}. {recommendation.reason}"
        elif recommendation.k is not None:
            k, k_reason = recommendation.k, recommendation.reason
        else:
            table = evidence.table.dropna(subset=["silhouette"])
            k = int(table["silhouette"].idxmax()) if len(table) else 2
            k_reason = f"{recommendation.reason} Using k = {k}, the highest silhouette; treat the clusters as a convenience, not a finding."
        say(f"{population.title}: fitting {population.method} with k = {k}")
        result, clustered, metrics, medians = _fit_and_name(backend, prepared, members, k, k_reason, population, cl, evidence,
                                                            feature_warnings, currency=config.report.get("currency") or "")
    except BaseException:
        if tree is not None:
            wait([tree])  # nothing left running in the background
        raise
    if tree is None and evidence.ward_tree is not None:
        tree = Future()
        tree.set_result(evidence.ward_tree)
    elif tree is None:  # a backend whose Ward evidence keeps no tree
        tree = _in_background(backend.ward_tree, prepared, population, cl)
    if warnings is not None:
        warnings.extend(feature_warnings)
    return FittedPopulation(result, population, config, clustered, metrics, medians, evidence, ks, tree, say)


def population_views_of(fitted: FittedPopulation, on_views=None) -> PopulationResult:
    """The second half of :func:`cluster_population`: the profile, comparison and evidence views
    (``on_views``: told of each as soon as it is made)."""
    result, population, ks, k = fitted.result, fitted.population, fitted.ks, fitted.result.k
    fitted.say(f"{population.title}: views")
    try:
        profile_views = population_views(fitted.clustered, result, fitted.metrics, fitted.config, medians=fitted.medians,
                                         on_views=on_views)
    finally:
        tree = fitted.tree.result()
    evidence_views = _evidence_views(population, result, fitted.evidence, tree, k)
    if on_views is not None:
        on_views(evidence_views)
    k_reason = result.k_reason
    result.section = Section(
        key=_key(population.name), title=population.title, intro=population.description,
        subsections=[
            Section(key=_key(population.name, "definition"), title="Cluster definition: how many clusters",
                    intro=f"Evidence for every k from {ks[0] if ks else k} to {ks[-1] if ks else k}. {k_reason}", views=evidence_views),
            Section(key=_key(population.name, "analysis"), title="Cluster analysis: distribution by clustering metrics",
                    intro="Each cluster's share of customers and its median of every clustering metric.", views=profile_views[:2]),
            Section(key=_key(population.name, "comparisons"), title="Clusters compared with customer attributes",
                    intro="Share of customers of each cluster in every segment and dimension; ▲/▼ mark cells significantly over- or under-represented (adjusted residuals, Bonferroni).",
                    views=profile_views[2:]),
        ],
    )
    return result


def _in_background(func, *args) -> Future:
    """``func(*args)`` on a thread of its own; the future holds its result or exception."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="custseg-background")
    try:
        return pool.submit(func, *args)
    finally:
        pool.shutdown(wait=False)  # the call still runs; its thread ends with it


def _fit_and_name(backend, prepared, members: pd.DataFrame, k: int, k_reason: str, population: Population, cl: dict,
                  evidence, feature_warnings: list[str], currency: str = "") -> tuple[PopulationResult, pd.DataFrame, list[str], pd.DataFrame]:
    """The final fit, its silhouette, cluster names and the summary overview: (result without
    views, members with their cluster, the profile's metrics, their median profile table)."""
    model = backend.fit(prepared, k, population, cl, evidence=evidence)
    labels = model.labels
    sil = None if k < 2 else backend.silhouette(prepared, labels.loc[prepared.index].to_numpy(), population, cl, evidence=evidence)

    if labels.index.equals(pd.Index(members["customer_id"])):  # every member clustered, same order: no merge copy
        clustered = members.assign(cluster=labels.to_numpy().astype(int)).reset_index(drop=True)
    else:  # members with a missing feature are not clustered
        clustered = members.merge(labels.rename("cluster").rename_axis("customer_id").reset_index(), on="customer_id", how="inner")
        clustered["cluster"] = clustered["cluster"].astype(int)
    metrics = list(population.features)
    medians = pf.profile_table(clustered, metrics, agg="median")
    overall = pf.overall_values(clustered, metrics)
    names = pf.name_clusters(medians, overall, noun=population.noun)
    assignments = clustered[["customer_id", "cluster"]].assign(cluster_name=lambda d: d["cluster"].map(names))
    overview = cluster_overview(clustered, names, pf.cluster_traits(medians, overall, currency=currency))

    result = PopulationResult(
        name=population.name, title=population.title, description=population.description,
        n_customers=len(clustered), method_label=model.method_label, k=k, k_reason=k_reason,
        silhouette=None if sil is None else float(sil.value), silhouette_label="" if sil is None else sil.label(),
        silhouette_method="" if sil is None else sil.method,
        features_used=list(prepared.features),
        preparation_notes=feature_warnings + prepared.summary_lines() + list(model.notes) + list(evidence.notes),
        evidence=evidence.table.reset_index(), assignments=assignments, cluster_names=names, model=model,
        overview=overview, findings=headline_findings(overview, currency=currency),
        cluster_silhouettes=({} if sil is None or sil.per_cluster is None else
                             dict(zip(sorted(int(c) for c in np.unique(labels)), sil.per_cluster))),
    )
    return result, clustered, metrics, medians


class PopulationSkipped(Exception):
    """A population that cannot be clustered; the analysis goes on and the report says why."""


def _evidence_views(population: Population, result: PopulationResult, evidence, tree, k: int) -> list[View]:
    table = evidence.table.reset_index()
    linkage = tree.linkage if tree is not None else None
    observed: dict[str, list] = {}
    for o in pf.evidence_observations(table, chosen_k=k, linkage=linkage):
        observed.setdefault(o.view, []).append(o)
    notes = {view: _notes(obs) for view, obs in observed.items()}
    views = []
    charts = [("elbow", pf.elbow_chart), ("silhouette", pf.silhouette_chart), ("stability", pf.stability_chart), ("validity", pf.validity_indices_chart)]
    for name, build in charts:
        fig = build(table, chosen_k=k, title=f"{population.title}: {_EVIDENCE_TITLES[name]}")
        views.append(View(key=_key(population.name, name), title=fig.layout.title.text, figure=fig, notes=notes.get(fig.layout.meta.get("view", name), []) if fig.layout.meta else []))
    if result.cluster_silhouettes:
        sizes = result.assignments["cluster"].value_counts()
        title = f"{population.title}: silhouette of each cluster"
        fig = pf.cluster_silhouette_chart(result.cluster_silhouettes, sizes, result.silhouette, names=result.cluster_names,
                                          title=title, method=result.silhouette_method)
        views.append(View(key=_key(population.name, "cluster-silhouette"), title=title, figure=fig,
                          caption="Each cluster's members' mean silhouette (1: far from every other cluster; 0: on the border; "
                                  f"below {pf.POORLY_SEPARATED}: poorly separated), with the cluster's size."))
    if linkage is not None and len(linkage):
        fig = pf.dendrogram_chart(linkage, chosen_k=k, title=f"{population.title}: Ward dendrogram" + ("" if tree.exact else f" ({tree.method_label})"))
        views.append(View(key=_key(population.name, "dendrogram"), title=fig.layout.title.text, figure=fig, notes=notes.get("dendrogram", [])))
    return views


_EVIDENCE_TITLES = {"elbow": "elbow method", "silhouette": "silhouette by number of clusters", "stability": "stability by number of clusters", "validity": "Calinski-Harabasz and Davies-Bouldin by number of clusters"}


def reconciliation(customers: pd.DataFrame, excluded: pd.DataFrame, populations: list[PopulationResult], excluded_rows: dict[str, int]) -> pd.DataFrame:
    """Input customers = analysed + excluded, per reason (customers, not rows)."""
    rows = [("customers in the input", len(customers) + len(excluded))]
    for reason, n in excluded["reason"].value_counts().sort_index().items():
        rows.append((f"excluded: {reason}", int(n)))
    rows.append(("customers analysed (customers.csv)", len(customers)))
    rows.append(("never converted (no purchase): profiled, not clustered", int(customers["buys_cnt"].isna().sum())))
    for p in populations:
        rows.append((f"in population '{p.title}' and clustered", p.n_customers))
    for reason, n in sorted(excluded_rows.items()):
        rows.append((f"input rows excluded: {reason}", int(n)))
    return pd.DataFrame(rows, columns=["item", "count"])


def run_analysis(dataset: Dataset, config: AnalysisConfig, progress: Progress | None = None) -> AnalysisResult:
    """Every stage after loading: features, RFM views, each population, observations."""
    customers, excluded, timings = compute_customer_tables(dataset, config, progress=progress)
    return analyse_customers(
        customers, config, source=dataset.source, excluded_rows=dataset.excluded,
        excluded_customers=excluded, progress=progress, timings=timings,
    )


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
                      currency: str = "") -> AnalysisResult:
    """Every stage after the customer table (any engine): RFM views, each population, summary.

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
    recon = reconciliation(customers, excluded, populations, excluded_rows)
    return AnalysisResult(
        title=config.title, source=source, customers=customers, summary=summary,
        reconciliation=recon, sections=sections, populations=populations, timings=timings,
        excluded=excluded,
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
