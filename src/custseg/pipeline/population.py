"""One population's clustering: who is in it, the evidence for k, the final fit and the cluster
names (:func:`fit_population`). The heavy steps run on a backend: :class:`LocalClustering` in the
process, or an engine's (the Spark engine's on Spark)."""

from __future__ import annotations

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
from custseg.cluster.sampling import DEFAULT_EVIDENCE_SAMPLE_SIZE, DEFAULT_REFERENCE_SIZE
from custseg.cluster.ward import distinct_rows, exact_ward_bytes
from custseg.config import AnalysisConfig, Population
from custseg.errors import InputError
from custseg.ids import strictly_increasing
from custseg.profile.overview import SUMMARY_METRICS, cluster_overview, headline_findings
from custseg.result import PopulationResult

Progress = Callable[[str], None]



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


def _distinct_rows_up_to(X: np.ndarray, enough: int, head: int = 100_000) -> int:
    """The number of distinct rows of X, or a smaller count of at least ``enough`` of them: every
    use (k range, at least 2 rows) only compares it with ``enough - 1`` or less. Counted on the
    first ``head`` rows first (sorting 10M rows to count them took 6 s)."""
    if X.shape[0] > head:
        found = len(distinct_rows(X[:head])[0])
        if found >= enough:
            return found
    return len(distinct_rows(X)[0])


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
    if len(complete) >= 3 and all(complete[f].min() == complete[f].max() for f in usable):  # one value each
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
            sample_size=int(cl.get("evidence_sample_size", DEFAULT_EVIDENCE_SAMPLE_SIZE)),  # above it: on a sample (issue 24)
        )

    def fit(self, prepared, k: int, population: Population, cl: dict, evidence=None):
        return fit_clusters(
            prepared, k=k, method=population.method, random_state=population.random_state,
            memory_budget=int(cl.get("memory_budget_bytes", 4_000_000_000)), evidence=evidence,
        )

    def silhouette(self, prepared, labels, population: Population, cl: dict, evidence=None):
        exact_limit = int(cl.get("silhouette_exact_limit", 100_000))
        sample_size = int(cl.get("silhouette_sample_size", 20_000))
        if evidence is not None and strictly_increasing(prepared.index):  # evidence rows: customer-id order
            k = int(labels.max())
            same = evidence.silhouette_if_same(np.asarray(labels) - 1, k, exact_limit=exact_limit,
                                               sample_size=sample_size, random_state=population.random_state)
            if same is not None:  # the evidence measured this very partition: the same number
                return same
        return measure_silhouette(prepared.X, labels, exact_limit=exact_limit, sample_size=sample_size,
                                  random_state=population.random_state,
                                  reference_size=int(cl.get("silhouette_reference_size", DEFAULT_REFERENCE_SIZE)))

    def ward_tree(self, prepared, population: Population, cl: dict):
        # Only drawn (truncated to 30 leaves), for a population clustered by another method: exact
        # Ward up to 2,000 customers, else 200 micro-clusters (0.4 s at 93k customers; exact Ward
        # on 10k customers would take 3.5 s and 800 MB for a drawing).
        budget = min(int(cl.get("memory_budget_bytes", 4_000_000_000)), exact_ward_bytes(2_000))
        return ward_linkage(prepared, memory_budget=budget, max_leaves=200, random_state=population.random_state)


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
    k_fixed = population.k if population.k != "auto" else None
    distinct = _distinct_rows_up_to(prepared.X, max(population.k_max, k_fixed or 0) + 1) if n else 0
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
    model = replace(model, labels=None)  # the assignments hold them; a saved model is its centres (~0.5 GB at 10M)
    # reindex, not .loc: the same ids in the same order are told apart without a hash table of them
    sil = None if k < 2 else backend.silhouette(prepared, labels.reindex(prepared.index).to_numpy(), population, cl, evidence=evidence)

    rows = None
    if labels.index.equals(pd.Index(members["customer_id"])):  # every member clustered, same order: no merge copy
        rows = members.index.to_numpy()  # where they are in the customer table
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
                             dict(zip(sorted(int(c) for c in np.unique(labels.to_numpy())), sil.per_cluster))),
        rows=rows, filter=population.filter,
    )
    return result, clustered, metrics, medians


class PopulationSkipped(Exception):
    """A population that cannot be clustered; the analysis goes on and the report says why."""
