"""Analysis config: populations, features, preparation, method and k, report dimensions.

A config is a TOML file; `custseg.config.reference()` is the reference analysis and the
default of `custseg run`. A user's file is laid over the defaults key by key, and unknown
keys are an error (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from custseg.errors import InputError

# What the clustering stage implements (custseg.cluster imports these; kept here so that
# checking a config does not import scikit-learn).
METHODS = ("kmeans", "ward")
TRANSFORMS = ("none", "log1p")
SCALERS = ("standard", "robust")
AGGREGATES = ("median", "mean", "sum", "min", "max")

TOP_KEYS = {"title", "features", "cluster", "populations", "report", "value", "engine", "audiences"}
FEATURE_KEYS = {"as_of", "rfm_bins", "window_start", "window_end", "review_min_date", "grace_days", "top_n", "segments"}
CLUSTER_KEYS = {"silhouette_exact_limit", "evidence_silhouette_exact_limit", "silhouette_sample_size", "stability_resamples", "stability_sample_size", "memory_budget_bytes",
                "evidence_sample_size", "silhouette_reference_size"}
POPULATION_KEYS = {"name", "title", "noun", "description", "filter", "features", "method", "k", "k_min", "k_max", "random_state", "preparation"}
PREPARATION_KEYS = {"corr_threshold", "scaler", "transform", "winsorize_quantile"}
REPORT_KEYS = {"dimensions", "top_n", "top_n_dimensions", "profile_aggregate", "split_basket_hours", "min_population", "currency",
               "csv_max_customers"}
AUDIENCE_KEYS = {"format", "phone_country"}
VALUE_KEYS = {"horizon_days", "sample_size", "random_state", "min_repeat_customers", "spend_correlation_warning"}
SEGMENT_KEYS = {"metric", "edges", "labels", "closed", "rules", "never_converted", "single_purchase", "missing"}


@dataclass(frozen=True)
class Preparation:
    corr_threshold: float | None = 0.6
    scaler: str = "standard"
    transform: str = "none"
    winsorize_quantile: float | None = None


@dataclass(frozen=True)
class Population:
    """A named set of customers (a SQL filter over the customer table) and how to cluster it."""

    name: str
    title: str
    filter: str
    features: tuple[str, ...]
    method: str = "kmeans"
    k: int | str = "auto"
    k_min: int = 2
    k_max: int = 14
    random_state: int = 42
    description: str = ""
    preparation: Preparation = field(default_factory=Preparation)
    noun: str = "customers"  # what cluster names call the members: "More recent customers"


@dataclass(frozen=True)
class AnalysisConfig:
    title: str
    features: dict
    cluster: dict
    populations: tuple[Population, ...]
    report: dict
    engine: str = "duckdb"
    source: str = "reference"
    audiences: dict = field(default_factory=dict)  # [audiences]: format, phone_country (custseg.audiences)
    value: dict = field(default_factory=dict)  # [value]: lifetime value (custseg.value.ValueSettings)


def _reference_dict() -> dict:
    return tomllib.loads(resources.files("custseg.config").joinpath("reference.toml").read_text(encoding="utf-8"))


def _check_keys(where: str, given: dict, allowed: set[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}")


def _whole(where: str, value, low: int | None = None) -> int:
    """`value` as a whole number (>= low), or an InputError naming where it is."""
    if isinstance(value, bool) or not isinstance(value, int) or (low is not None and value < low):
        raise InputError(f"{where} = {value!r}: use a whole number" + (f" >= {low}" if low is not None else ""))
    return value


def _number(where: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{where} = {value!r}: use a number")
    return float(value)


def _text(where: str, value) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where} = {value!r}: use text in quotes")
    return value


def _names(where: str, value, *, empty_ok: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or (not value and not empty_ok):
        raise InputError(f"{where}: give a list of customer column names, e.g. [\"recency\", \"monetary\"]")
    return value


def _one_sql_expression(where: str, text: str) -> None:
    """`text` must be a single SQL condition (no ';' and a second statement)."""
    import duckdb

    try:
        statements = duckdb.connect(config={"enable_external_access": False}).extract_statements(f"SELECT 1 WHERE {text}")
    except duckdb.Error as exc:
        message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"{where} = {text!r}: not valid SQL ({message})") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise InputError(f"{where} = {text!r}: give one SQL condition (no ';'), e.g. buys_cnt >= 2")


def _population(where: str, raw: dict) -> Population:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: each population must be a [[populations]] table")
    _check_keys(where, raw, POPULATION_KEYS)
    for key in ("name", "filter", "features"):
        if key not in raw:
            raise InputError(f"{where}: missing key {key!r}")
    prep_raw = raw.get("preparation", {})
    if not isinstance(prep_raw, dict):
        raise InputError(f"{where}.preparation must be a table")
    _check_keys(f"{where}.preparation", prep_raw, PREPARATION_KEYS)
    prep = Preparation(**prep_raw)
    if prep.corr_threshold is not None and not 0 < _number(f"{where}.preparation.corr_threshold", prep.corr_threshold) <= 1:
        raise InputError(f"{where}.preparation.corr_threshold = {prep.corr_threshold}: use a correlation in (0, 1], e.g. 0.6")
    if prep.winsorize_quantile is not None:
        _number(f"{where}.preparation.winsorize_quantile", prep.winsorize_quantile)

    if prep.scaler not in SCALERS:
        raise InputError(f"{where}.preparation.scaler = {prep.scaler!r}: use one of {', '.join(SCALERS)}")
    if prep.transform not in TRANSFORMS:
        raise InputError(f"{where}.preparation.transform = {prep.transform!r}: use one of {', '.join(TRANSFORMS)}")
    if prep.winsorize_quantile is not None and not 0.5 < float(prep.winsorize_quantile) < 1:
        raise InputError(f"{where}.preparation.winsorize_quantile = {prep.winsorize_quantile}: use a quantile between 0.5 and 1, e.g. 0.99")
    method = raw.get("method", "kmeans")
    if method not in METHODS:
        raise InputError(f"{where}.method = {method!r}: use one of {', '.join(METHODS)}")
    k = raw.get("k", "auto")
    if not (k == "auto" or (isinstance(k, int) and not isinstance(k, bool) and k >= 1)):
        raise InputError(f"{where}.k = {k!r}: use a whole number >= 1 or \"auto\"")
    k_min, k_max = _whole(f"{where}.k_min", raw.get("k_min", 2)), _whole(f"{where}.k_max", raw.get("k_max", 14))
    if not 1 <= k_min <= k_max:
        raise InputError(f"{where}: k_min = {k_min}, k_max = {k_max}; need 1 <= k_min <= k_max")
    features = _names(f"{where}.features", raw["features"], empty_ok=False)
    if len(set(features)) != len(features):
        twice = next(f for f in features if features.count(f) > 1)
        raise InputError(f"{where}.features: {twice!r} is listed twice; list each feature once")
    name = _text(f"{where}.name", raw["name"])
    if not name.isascii() or not name.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"{where}.name = {name!r}: use letters, digits, '-' and '_' only")
    filter_sql = _text(f"{where}.filter", raw["filter"])
    _one_sql_expression(f"{where}.filter", filter_sql)
    return Population(
        name=name, title=_text(f"{where}.title", raw.get("title", name)), filter=filter_sql, features=tuple(features),
        method=method, k=k, k_min=k_min, k_max=k_max, random_state=_whole(f"{where}.random_state", raw.get("random_state", 42), 0),
        description=_text(f"{where}.description", raw.get("description", "")), preparation=prep,
        noun=_text(f"{where}.noun", raw.get("noun", "customers")),
    )


def _check_sections(source: str, merged: dict) -> None:
    """Types and ranges of [features], [cluster] and [report] (a wrong type fails here, not mid-run)."""
    import datetime as _dt

    feats = merged["features"]
    for key in ("window_start", "window_end", "review_min_date"):
        value = feats.get(key)
        if value is None:
            continue
        if isinstance(value, _dt.datetime | _dt.date):
            feats[key] = value.isoformat(sep=" ") if isinstance(value, _dt.datetime) else value.isoformat()
            continue
        try:
            _dt.datetime.fromisoformat(_text(f"{source} [features] {key}", value))
        except ValueError:
            raise InputError(f"{source} [features] {key} = {value!r}: use a date like \"2017-01-01\"") from None
    if feats.get("as_of") is not None:
        from custseg.features.as_of import parse_as_of

        feats["as_of"] = parse_as_of(feats["as_of"], f"{source} [features] as_of =")
    _whole(f"{source} [features] grace_days", feats.get("grace_days", 31), 0)
    _whole(f"{source} [features] top_n", feats.get("top_n", 3), 1)
    segments = feats.get("segments", {})
    if not isinstance(segments, dict) or not all(isinstance(v, dict) for v in segments.values()):
        raise InputError(f"{source} [features] segments: give a table per segment, e.g. [features.segments.value_segment]")
    if segments:
        from custseg.features import segment_rules

        known = segment_rules()
    for seg, spec in segments.items():
        where = f"{source} [features.segments.{seg}]"
        _check_keys(where, spec, SEGMENT_KEYS)
        if seg not in known and not ("metric" in spec and ("rules" in spec or ("edges" in spec and "labels" in spec))):
            raise InputError(f"{where}: unknown segment; known segments: {', '.join(known)} (a new one needs metric and edges + labels, or rules)")
        if spec.get("closed", "right") not in ("right", "left"):
            raise InputError(f"{where} closed = {spec['closed']!r}: use \"right\" or \"left\"")
        _text(f"{where} metric", spec.get("metric", ""))
        if "edges" in spec:
            if not isinstance(spec["edges"], list):
                raise InputError(f"{where} edges = {spec['edges']!r}: give a list of numbers")
            for edge in spec["edges"]:
                _number(f"{where} edges", edge)
        if "labels" in spec:
            if not isinstance(spec["labels"], list) or not all(isinstance(v, str) for v in spec["labels"]):
                raise InputError(f"{where} labels: give a list of texts")
        for rule in spec.get("rules", []) if isinstance(spec.get("rules", []), list) else [None]:
            if not isinstance(rule, dict) or set(rule) != {"label", "when"}:
                raise InputError(f"{where} rules: give a list of {{ label = \"...\", when = \"SQL condition\" }}")
            _one_sql_expression(f"{where} rules.when", _text(f"{where} rules.when", rule["when"]))
        merged_rule = segment_rules(segments)[seg]  # the override laid over the built-in rule
        if "rules" not in merged_rule:
            edges, labels = merged_rule.get("edges", []), merged_rule.get("labels", [])
            if len(labels) != len(edges) + 1:
                raise InputError(f"{where}: {len(labels)} labels for {len(edges)} edges; give one label more than edges")
            if edges != sorted(edges):
                raise InputError(f"{where} edges = {edges}: give them in increasing order")
    cluster = merged["cluster"]
    for key, low in (("silhouette_exact_limit", 2), ("evidence_silhouette_exact_limit", 2), ("silhouette_sample_size", 2),
                     ("stability_resamples", 0), ("stability_sample_size", 2), ("memory_budget_bytes", 1),
                     ("evidence_sample_size", 1000), ("silhouette_reference_size", 1000)):
        if key in cluster:
            _whole(f"{source} [cluster] {key}", cluster[key], low)
    report = merged["report"]
    _names(f"{source} [report] dimensions", report.get("dimensions", []))
    _names(f"{source} [report] top_n_dimensions", report.get("top_n_dimensions", []))
    _whole(f"{source} [report] top_n", report.get("top_n", 5), 1)
    _whole(f"{source} [report] split_basket_hours", report.get("split_basket_hours", 1), 0)
    _whole(f"{source} [report] csv_max_customers", report.get("csv_max_customers", 0), 0)
    _text(f"{source} [report] currency", report.get("currency", ""))
    _whole(f"{source} [report] min_population", report.get("min_population", 100), 1)
    _text(f"{source} title", merged.get("title", ""))
    value = merged["value"]
    for key, low in (("horizon_days", 1), ("sample_size", 100), ("random_state", 0), ("min_repeat_customers", 2)):
        _whole(f"{source} [value] {key}", value.get(key, low), low)
    threshold = _number(f"{source} [value] spend_correlation_warning", value.get("spend_correlation_warning", 0.3))
    if not 0 < threshold <= 1:
        raise InputError(f"{source} [value] spend_correlation_warning = {threshold}: use a correlation in (0, 1], e.g. 0.3")


def from_dict(raw: dict, source: str = "config") -> AnalysisConfig:
    """Validate a config dict laid over the reference defaults."""
    base = _reference_dict()
    _check_keys(source, raw, TOP_KEYS)
    merged = copy.deepcopy(base)
    for section, allowed in (("features", FEATURE_KEYS), ("cluster", CLUSTER_KEYS), ("report", REPORT_KEYS), ("value", VALUE_KEYS),
                             ("audiences", AUDIENCE_KEYS)):
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise InputError(f"{source}: [{section}] must be a table")
        _check_keys(f"{source} [{section}]", given, allowed)
        merged[section] = {**base.get(section, {}), **given}
    if "populations" in raw:
        merged["populations"] = raw["populations"]
    for key in ("title", "engine"):
        if key in raw:
            merged[key] = raw[key]
    pops = merged.get("populations") or []
    if not isinstance(pops, list) or not pops:
        raise InputError(f"{source}: give at least one [[populations]] table")
    if not all(isinstance(p, dict) for p in pops):
        raise InputError(f"{source}: populations must be [[populations]] tables")
    populations = tuple(_population(f"{source} populations[{i}] ({p.get('name', '?')})", p) for i, p in enumerate(pops))
    names = [p.name for p in populations]
    if len(set(names)) != len(names):
        raise InputError(f"{source}: population names must be unique (got {', '.join(names)})")
    engine = merged.get("engine", "duckdb")
    if engine not in ("duckdb", "spark"):
        raise InputError(f"{source}: engine = {engine!r}: use \"duckdb\" or \"spark\"")
    agg = merged["report"].get("profile_aggregate", "median")
    if not (agg in AGGREGATES or (isinstance(agg, str) and agg.startswith("p") and agg[1:].isdigit() and 0 < int(agg[1:]) < 100)):
        raise InputError(f"{source} [report] profile_aggregate = {agg!r}: use median, mean, sum, min, max or pNN (e.g. p90)")
    bins = merged["features"].get("rfm_bins", 3)
    if isinstance(bins, bool) or bins not in (3, 5):
        raise InputError(f"{source} [features] rfm_bins = {bins!r}: use 3 or 5")
    _check_sections(source, merged)
    audiences = merged["audiences"]
    for key in AUDIENCE_KEYS & set(audiences):
        _text(f"{source} [audiences] {key}", audiences[key])
    if audiences:  # the values' meaning is checked where they are used (custseg.audiences.AudienceSettings)
        from custseg.audiences import AudienceSettings

        try:
            AudienceSettings.of(config=audiences)
        except InputError as exc:
            raise InputError(f"{source} [audiences]: {exc}".replace("--audience-format ", "format = ").replace("--phone-country ", "phone_country = ")) from None
    return AnalysisConfig(
        title=str(merged.get("title", "Customer clustering")), features=merged["features"], cluster=merged["cluster"],
        populations=populations, report=merged["report"], engine=engine, source=source, value=merged["value"], audiences=dict(audiences),
    )


def with_as_of(config: AnalysisConfig, as_of, where: str = "as_of") -> AnalysisConfig:
    """The config with its as-of date set (``as_of`` None: the config as it is)."""
    if as_of is None:
        return config
    from dataclasses import replace

    from custseg.features.as_of import parse_as_of

    return replace(config, features={**config.features, "as_of": parse_as_of(as_of, where)})


def reference() -> AnalysisConfig:
    """The reference analysis."""
    return from_dict({}, source="reference config")


def load_config(path: str | Path | None) -> AnalysisConfig:
    """Read a TOML config (None: the reference analysis)."""
    if path is None:
        return reference()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: config file not found; omit --config to run the reference analysis")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path.name}: not UTF-8 text; save the config as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc})") from None
    return from_dict(raw, source=path.name)
