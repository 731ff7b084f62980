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

METHODS = ("kmeans", "ward")
SCALERS = ("standard", "robust", "none")
TRANSFORMS = ("none", "log1p")
AGGREGATES = ("median", "mean", "sum", "min", "max")

TOP_KEYS = {"title", "features", "cluster", "populations", "report", "engine"}
FEATURE_KEYS = {"rfm_bins", "window_start", "window_end", "review_min_date", "grace_days", "top_n", "segments"}
CLUSTER_KEYS = {"silhouette_exact_limit", "silhouette_sample_size", "stability_resamples", "memory_budget_bytes"}
POPULATION_KEYS = {"name", "title", "description", "filter", "features", "method", "k", "k_min", "k_max", "random_state", "preparation"}
PREPARATION_KEYS = {"corr_threshold", "scaler", "transform", "winsorize_quantile"}
REPORT_KEYS = {"dimensions", "top_n", "top_n_dimensions", "profile_aggregate"}


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


@dataclass(frozen=True)
class AnalysisConfig:
    title: str
    features: dict
    cluster: dict
    populations: tuple[Population, ...]
    report: dict
    engine: str = "duckdb"
    source: str = "reference"


def _reference_dict() -> dict:
    return tomllib.loads(resources.files("custseg.config").joinpath("reference.toml").read_text(encoding="utf-8"))


def _check_keys(where: str, given: dict, allowed: set[str]) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}")


def _population(where: str, raw: dict) -> Population:
    _check_keys(where, raw, POPULATION_KEYS)
    for key in ("name", "filter", "features"):
        if key not in raw:
            raise InputError(f"{where}: missing key {key!r}")
    prep_raw = raw.get("preparation", {})
    _check_keys(f"{where}.preparation", prep_raw, PREPARATION_KEYS)
    prep = Preparation(**prep_raw)
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
    k_min, k_max = int(raw.get("k_min", 2)), int(raw.get("k_max", 14))
    if not 1 <= k_min <= k_max:
        raise InputError(f"{where}: k_min = {k_min}, k_max = {k_max}; need 1 <= k_min <= k_max")
    features = raw["features"]
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise InputError(f"{where}.features: give a list of customer column names")
    name = str(raw["name"])
    if not name.replace("_", "").replace("-", "").isalnum():
        raise InputError(f"{where}.name = {name!r}: use letters, digits, '-' and '_' only")
    return Population(
        name=name, title=str(raw.get("title", name)), filter=str(raw["filter"]), features=tuple(features),
        method=method, k=k, k_min=k_min, k_max=k_max, random_state=int(raw.get("random_state", 42)),
        description=str(raw.get("description", "")), preparation=prep,
    )


def from_dict(raw: dict, source: str = "config") -> AnalysisConfig:
    """Validate a config dict laid over the reference defaults."""
    base = _reference_dict()
    _check_keys(source, raw, TOP_KEYS)
    merged = copy.deepcopy(base)
    for section, allowed in (("features", FEATURE_KEYS), ("cluster", CLUSTER_KEYS), ("report", REPORT_KEYS)):
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
    if bins not in (3, 5):
        raise InputError(f"{source} [features] rfm_bins = {bins!r}: use 3 or 5")
    return AnalysisConfig(
        title=str(merged.get("title", "Customer clustering")), features=merged["features"], cluster=merged["cluster"],
        populations=populations, report=merged["report"], engine=engine, source=source,
    )


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
