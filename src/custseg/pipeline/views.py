"""The views of an analysis: the RFM charts, and per population its profile, comparisons and the
evidence for k, each with its notes (findings first)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from custseg import profile as pf
from custseg.config import AnalysisConfig, Population
from custseg.profile.findings import derived_from
from custseg.profile.findings import select as select_findings
from custseg.profile.tables import with_revenue_share
from custseg.ids import unique_ids
from custseg.result import Note, PopulationResult, Section, View

if TYPE_CHECKING:
    from custseg.pipeline.population import FittedPopulation

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


#: RFM observation view -> the view key its chart has
_RFM_VIEWS = {"rfm_histograms": "rfm-histograms", "rfm_rf_heatmap": "rfm-rf-heatmap", "rfm_score_heatmaps": "rfm-score-pairs",
              "rfm_fm_by_r": "rfm-fm-by-r", "rfm_segment_bar": "rfm-segment-bar", "rfm_segment_treemap": "rfm-segment-treemap"}


def rfm_section(customers: pd.DataFrame, currency: str | None = None) -> Section:
    # the scores without the ids (no view reads them; ~400 MB at 10M customers)
    rfm = customers.loc[customers["rfm_score"].notna(), [c for c in RFM_COLUMNS if c != "customer_id"]]
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
    one_row_each = unique_ids(frame["customer_id"])
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
        title = f"{population.title}: Ward dendrogram" + ("" if tree.exact else f" (on {tree.n_leaves:,} micro-clusters)")
        fig = pf.dendrogram_chart(linkage, chosen_k=k, title=title, leaf_weights=tree.leaf_weights)
        views.append(View(key=_key(population.name, "dendrogram"), title=fig.layout.title.text, figure=fig, notes=notes.get("dendrogram", [])))
    return views


_EVIDENCE_TITLES = {"elbow": "elbow method", "silhouette": "silhouette by number of clusters", "stability": "stability by number of clusters", "validity": "Calinski-Harabasz and Davies-Bouldin by number of clusters"}
