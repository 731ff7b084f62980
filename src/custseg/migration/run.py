"""``custseg migrate``: segments and clusters at two dates, who moved where, and whether the
earlier segments predicted the period between (:func:`migrate`; the CLI calls the same).

The customer table is computed as of each date on one loaded dataset (custseg.features.as_of);
each population is clustered at the earlier date exactly as ``custseg run --as-of FROM`` does,
and its customers at the later date are put into those clusters by the earlier model (nearest
centre, as ``custseg assign``), so both dates speak of the same clusters.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable
from concurrent.futures import wait
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from custseg.config import AnalysisConfig, load_config, with_as_of
from custseg.machine import check_memory
from custseg.errors import InputError
from custseg.features.as_of import parse_as_of, reference_instant
from custseg.migration import tables as mt

Progress = Callable[[str], None]


@dataclass
class KindResult:
    """One segmentation followed over the period: RFM segments, or one population's clusters."""

    kind: str  # "rfm_segment" or the population's name
    title: str
    order: list[str]  # its states in reading order
    colors: dict[str, str]  # state -> colour
    description: str = ""
    method: str = ""  # how the clusters were fitted (populations)


@dataclass
class MigrationResult:
    """What ``custseg migrate`` computes; ``write_migration`` writes it."""

    title: str
    source: str
    from_date: str
    to_date: str
    kinds: list[KindResult]
    moves: pd.DataFrame  # kind, customer_id, from, to (one row per customer and kind)
    transitions: pd.DataFrame  # migration.csv
    period: pd.DataFrame  # customer_id, purchases, revenue: every purchase in the period
    outcomes: pd.DataFrame  # per customer who had bought by the earlier date: purchases and revenue in the period
    prediction: pd.DataFrame  # prediction.csv
    earlier: pd.DataFrame  # the customer table as of the earlier date
    summary: dict
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def period_purchases_sql(from_date: str) -> str:
    """Purchases after the end of ``from_date`` per customer, on a connection whose feature
    tables were computed as of the later date (they hold no order after it)."""
    return ("SELECT customer_id, count(DISTINCT order_id) AS purchases, "
            "count(DISTINCT date_trunc('day', purchase_ts)) AS purchase_days, "
            "CAST(coalesce(sum(total_payment), 0) AS DOUBLE) AS revenue FROM order_metrics "
            f"WHERE is_purchase AND purchase_ts > TIMESTAMP '{reference_instant(from_date)}' GROUP BY customer_id ORDER BY customer_id")


def value_prediction(cfg: AnalysisConfig, start: str) -> Callable[[pd.DataFrame, int], pd.Series]:
    """Expected purchase days in the period per customer id: BG/NBD fitted on the customer table as
    of ``start`` (the run's own lifetime-value model, its horizon the period): the calibration /
    holdout check of the BTYD literature. All NaN when the model cannot be fitted."""
    from custseg.value import ValueSettings, customer_value
    from custseg.value.inputs import analysis_end

    def predict(earlier: pd.DataFrame, period_days: int) -> pd.Series:
        settings = replace(ValueSettings.from_config(cfg.value), horizon_days=period_days)
        scored = customer_value(earlier.reset_index(drop=True), settings, analysis_end(earlier, start))
        return pd.Series(scored.scores["expected_purchases"].to_numpy(), index=pd.Index(earlier["customer_id"]))

    return predict


def check_dates(from_date, to_date) -> tuple[str, str]:
    """Both dates as ISO text, the earlier first, or a one-line InputError."""
    start, end = parse_as_of(from_date, "--from"), parse_as_of(to_date, "--to")
    if start >= end:
        raise InputError(f"--from {start} is not before --to {end}; give the earlier date as --from")
    return start, end


def migrate(data, from_date, to_date, *, config: str | Path | AnalysisConfig | None = None, out: str | Path | None = None,
            preset: str | None = None, mapping: str | None = None, date_format: str | None = None, decimal: str | None = None,
            sheet: str | None = None, dimensions: dict[str, str] | None = None, progress: Progress | None = None,
            predict_purchases: Callable[[pd.DataFrame, int], pd.Series] | None = None) -> MigrationResult:
    """Segments and clusters of ``data`` at ``from_date`` and ``to_date`` (days, "YYYY-MM-DD"),
    who moved where, and how the earlier segments' customers bought in the period.

    With ``out``, write migration.csv, prediction.csv, customer_moves.csv, migration.json and
    migration.html there (all or nothing). ``predict_purchases``: expected purchase days in the
    period per customer (see :func:`custseg.migration.tables.customer_outcomes`); default the
    lifetime-value models fitted on the earlier table (:func:`value_prediction`).
    """
    from custseg.engines.duckdb import load

    say = progress or (lambda _m: None)
    start, end = check_dates(from_date, to_date)
    cfg = config if isinstance(config, AnalysisConfig) else load_config(config)
    check_memory(cfg)  # a configured step that cannot fit is refused before any work
    if cfg.engine != "duckdb":
        raise InputError(f"{cfg.source}: engine = {cfg.engine!r}; custseg migrate runs on the DuckDB engine only (leave engine out of the config)")
    log_options = {k: v for k, v in (("date_format", date_format), ("decimal", decimal), ("sheet", sheet), ("dimensions", dimensions)) if v}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    say(f"load: reading and checking {data}")
    dataset = load(data, preset=preset, mapping=mapping, **log_options)
    try:
        timings["load"] = time.perf_counter() - t0
        earlier, later, period = _customer_tables(dataset, cfg, start, end, say, timings)
        source, attributes, currency = dataset.source, dataset.attributes, dataset.currency
    finally:
        dataset.con.close()
    result = compare(earlier, later, period, cfg, start, end, source=source, attributes=attributes, currency=currency,
                     progress=say, timings=timings, predict_purchases=predict_purchases)
    if out is not None:
        from custseg.outputs import staged_output

        say("writing migration tables and report")
        t0 = time.perf_counter()
        with staged_output(out) as staging:
            write_migration(result, staging)
        timings["write"] = time.perf_counter() - t0
    return result


def _customer_tables(dataset, cfg: AnalysisConfig, start: str, end: str, say: Progress, timings: dict) -> tuple:
    """The customer tables as of both dates, and the purchases of the period per customer."""
    from custseg.engines.duckdb.connection import to_pandas
    from custseg.engines.duckdb.features import compute_customer_tables

    tables = []
    for day in (start, end):
        say(f"features as of {day}")
        customers, _, took = compute_customer_tables(dataset, with_as_of(cfg, day))
        timings[f"features {day}"] = took["features"]
        tables.append(customers)
    period = to_pandas(dataset.con.sql(period_purchases_sql(start)))
    return tables[0], tables[1], period


def compare(earlier: pd.DataFrame, later: pd.DataFrame, period: pd.DataFrame, cfg: AnalysisConfig, start: str, end: str, *,
            source: str = "", attributes=(), currency: str = "", progress: Progress | None = None,
            timings: dict | None = None, predict_purchases=None) -> MigrationResult:
    """Everything after the customer tables: clusters at both dates, moves, transitions, outcomes."""
    from custseg.pipeline import fit_config_to_data
    from custseg.pipeline.population import PopulationSkipped, fit_population, population_mask
    from custseg.profile.colors import NOISE_COLOR, cluster_color, rfm_segment_colors

    say = progress or (lambda _m: None)
    timings = {} if timings is None else timings
    if any(p.name == mt.RFM_KIND for p in cfg.populations):
        raise InputError(f"{cfg.source}: a population is named {mt.RFM_KIND!r}, which migration.csv uses for the RFM segments; rename it")
    fitted_cfg, warnings = fit_config_to_data(cfg, earlier, attributes, currency)
    moves = [mt.rfm_moves(earlier, later)]
    rfm_states = mt.state_order(mt.RFM_KIND, list(moves[0]["from"]) + list(moves[0]["to"]))
    special = {s: NOISE_COLOR for s in mt.SPECIAL_STATES}
    kinds = [KindResult(mt.RFM_KIND, "RFM segments", rfm_states, {**rfm_segment_colors(rfm_states), **special},
                        "Recency, frequency and monetary scores of the customers who had bought, at each date.")]
    groups = {mt.RFM_KIND: mt.by_id(earlier, "rfm_segment").dropna()}
    for population in fitted_cfg.populations:
        t0 = time.perf_counter()
        try:
            fitted = fit_population(earlier, population, fitted_cfg, progress=lambda m: say(f"as of {start}: {m}"), warnings=warnings)
        except PopulationSkipped as exc:
            warnings.append(str(exc))
            continue
        wait([fitted.tree])  # the dendrogram's tree is not drawn here; nothing left running
        pop = fitted.result
        names = {int(c): str(n) for c, n in pop.cluster_names.items()}
        before = pd.Series(pop.assignments["cluster"].map(names).to_numpy(), index=pd.Index(pop.assignments["customer_id"]))
        members_after = later.loc[population_mask(later, population)].set_index("customer_id")
        labels = pop.model.assign(members_after) if len(members_after) else pd.Series(dtype="Int64")
        after = labels.dropna().astype(int).map(names)
        moves.append(mt.cluster_moves(population.name, earlier, later, earlier.loc[population_mask(earlier, population), "customer_id"],
                                      before, members_after.index.to_series(), after))
        cluster_names = [names[c] for c in sorted(names)]
        order = mt.state_order(population.name, list(moves[-1]["from"]) + list(moves[-1]["to"]), cluster_names)
        kinds.append(KindResult(population.name, population.title, order,
                                {**{names[c]: cluster_color(c) for c in names}, **special}, population.description, pop.method_label))
        groups[population.name] = before
        timings[f"population:{population.name}"] = time.perf_counter() - t0
    moves_table = pd.concat(moves, ignore_index=True)
    orders = {k.kind: k.order for k in kinds}
    transitions = mt.transition_table(moves_table, period, orders)
    period_days = (_dt.date.fromisoformat(end) - _dt.date.fromisoformat(start)).days
    predict = predict_purchases or value_prediction(cfg, start)
    outcomes = mt.customer_outcomes(earlier, period, period_days=period_days, predict=predict)
    prediction = mt.prediction_table(outcomes, groups, orders)
    summary = _summary(earlier, later, period, moves_table, start, end, currency)
    if warnings:
        summary["warnings"] = warnings
    return MigrationResult(title=f"Customer movement {start} to {end}", source=source, from_date=start, to_date=end,
                           kinds=kinds, moves=moves_table, transitions=transitions, period=period, outcomes=outcomes, prediction=prediction,
                           earlier=earlier, summary=summary, warnings=warnings, timings=timings)


def _summary(earlier, later, period, moves, start, end, currency) -> dict:
    """The headline numbers of the period (migration.json and the report's cards)."""
    rfm = moves[moves["kind"] == mt.RFM_KIND]
    bought_before = int(earlier["buys_cnt"].notna().sum())
    returning = period["customer_id"].isin(earlier.loc[earlier["buys_cnt"].notna(), "customer_id"])
    revenue = float(period["revenue"].sum())
    summary = {
        "from": start, "to": end,
        "period_days": (_dt.date.fromisoformat(end) - _dt.date.fromisoformat(start)).days,
        "customers_at_from": bought_before,
        "customers_at_to": int(later["buys_cnt"].notna().sum()),
        "bought_again": int(returning.sum()),
        "bought_again_share": float(returning.sum() / bought_before) if bought_before else None,
        "new_customers": int((rfm["from"] == mt.NEW).sum()),
        "period_revenue": revenue,
        "period_revenue_from_returning": float(period.loc[returning.to_numpy(), "revenue"].sum()),
    }
    if currency:
        summary["currency"] = currency
    return summary


def write_migration(result: MigrationResult, folder: Path) -> dict[str, Path]:
    """migration.csv, prediction.csv, customer_moves.csv, migration.json and migration.html."""
    from custseg.migration.report import render_migration_html

    folder = Path(folder)
    paths = {name: folder / name for name in ("migration.csv", "prediction.csv", "customer_moves.csv", "migration.json", "migration.html")}
    result.transitions.to_csv(paths["migration.csv"], index=False, lineterminator="\n")
    result.prediction.to_csv(paths["prediction.csv"], index=False, lineterminator="\n")
    customer_moves(result).to_csv(paths["customer_moves.csv"], index=False, lineterminator="\n")
    paths["migration.json"].write_text(json.dumps(result.summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    paths["migration.html"].write_text(render_migration_html(result), encoding="utf-8")
    return paths


def customer_moves(result: MigrationResult) -> pd.DataFrame:
    """customer_moves.csv: one row per customer, their state at both dates per kind, and what
    they bought in the period (who to act on: e.g. the Champions who fell to At Risk)."""
    wide = None
    for kind in result.kinds:
        part = result.moves[result.moves["kind"] == kind.kind].set_index("customer_id")[["from", "to"]]
        part.columns = [f"{kind.kind}_{result.from_date}", f"{kind.kind}_{result.to_date}"] if kind.kind == mt.RFM_KIND else \
            [f"cluster_{kind.kind}_{result.from_date}", f"cluster_{kind.kind}_{result.to_date}"]
        wide = part if wide is None else wide.join(part, how="outer")
    wide = wide.sort_index().rename_axis("customer_id").reset_index()
    bought = result.period.set_index("customer_id")
    wide["purchases_in_period"] = wide["customer_id"].map(bought["purchases"]).fillna(0).astype("int64")
    wide["revenue_in_period"] = wide["customer_id"].map(bought["revenue"]).fillna(0.0)
    return wide

