"""Features: from canonical tables to one row per customer (spec sections 2-7), in SQL.

Each derived table is one SQL file under ``sql/`` (a Jinja template, as in dbt), run in
file-name order by an engine (:mod:`custseg.engines.duckdb.features`, :mod:`custseg.engines.spark.features`). Rules that are data — segment bins and labels,
category groups, RFM segment names — are read from files beside the SQL.

The few functions the two dialects spell differently are macros from :mod:`custseg.dialect`.
"""

from __future__ import annotations

import csv
import tomllib
from functools import lru_cache
from dataclasses import dataclass, field
from importlib import resources

import jinja2

from custseg.errors import InputError
from custseg.features.as_of import reference_instant, window_bounds
from custseg.dialect import sql_macros
from custseg.sources.dataset import Dataset

NEVER_CONVERTED = "Never Converted"
UNKNOWN = "Unknown"
MISSING_CATEGORY = "Missing in Products"


@dataclass(frozen=True)
class FeatureParams:
    """The parameters of the feature stage; the defaults are the reference analysis."""

    window_start: str | None = "2017-01-01"  # orders purchased before are left out (Olist)
    window_end: str | None = "2018-09-01"  # ... and from this day on
    review_min_date: str | None = "2017-01-01"
    grace_days: int = 31  # undelivered orders this close to their estimated date still count
    top_n: int = 3  # how many top categories / weekdays a customer's dimension keeps
    rfm_bins: int = 3
    use_category_groups: bool = True
    segments: dict = field(default_factory=dict)  # overrides of segments.toml entries
    as_of: str | None = None  # "YYYY-MM-DD": the data as it stood at the end of that day (features/as_of.py)

    @classmethod
    def for_dataset(cls, dataset: Dataset, **overrides) -> "FeatureParams":
        """Reference defaults for Olist; no time window for other sources."""
        if dataset.kind != "olist":
            overrides = {"window_start": None, "window_end": None, "review_min_date": None, **overrides}
        return cls(**overrides)


def _data_text(name: str) -> str:
    return resources.files("custseg.features").joinpath(name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _requirements() -> dict:
    return tomllib.loads(_data_text("requirements.toml"))


def missing_because(column: str) -> str | None:
    """Why a source may lack the customer column (what the data must give for it), or None when
    every source has it, or it is no column of custseg's (requirements.toml)."""
    rules = _requirements()
    needs = rules["columns"].get(column)
    return None if needs is None else rules["needs"][needs]


def segment_rules(overrides: dict | None = None) -> dict:
    rules = tomllib.loads(_data_text("segments.toml"))
    for name, spec in (overrides or {}).items():
        rules[name] = {**rules.get(name, {}), **spec}
    return rules


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def segment_labels(spec: dict) -> list[str]:
    """Every label a segment rule can give, sorted."""
    given = [spec.get("never_converted"), spec.get("single_purchase"), spec.get("missing", UNKNOWN)]
    given += [rule["label"] for rule in spec.get("rules", ())] + list(spec.get("labels", ()))
    return sorted({str(x) for x in given if x is not None})


def segment_case_sql(name: str, spec: dict, dialect: str = "duckdb") -> str:
    """One segment rule as a SQL CASE over customer_metrics columns; its values are the dialect's
    ``label`` of the rule's labels (:mod:`custseg.dialect`)."""
    metric = spec["metric"]
    labels = segment_labels(spec)
    label_macro = sql_macros(dialect)["label"]

    def label(text: str) -> str:
        return label_macro(text, labels)

    whens = []
    if "never_converted" in spec:
        whens.append(f"WHEN buys_cnt IS NULL THEN {label(spec['never_converted'])}")
    if "single_purchase" in spec:
        whens.append(f"WHEN buys_cnt = 1 THEN {label(spec['single_purchase'])}")
    if "rules" in spec:
        whens += [f"WHEN {rule['when']} THEN {label(rule['label'])}" for rule in spec["rules"]]
    else:
        edges, labels_in_order = spec["edges"], spec["labels"]
        if len(labels_in_order) != len(edges) + 1:
            raise InputError(f"segment {name!r}: {len(labels_in_order)} labels for {len(edges)} edges; give one label more than edges")
        if list(edges) != sorted(edges):
            raise InputError(f"segment {name!r}: edges {edges} are not in increasing order")
        whens.append(f"WHEN {metric} IS NULL THEN {label(spec.get('missing', UNKNOWN))}")
        op = "<=" if spec.get("closed", "right") == "right" else "<"
        whens += [f"WHEN {metric} {op} {float(edge)!r} THEN {label(text)}" for edge, text in zip(edges, labels_in_order)]
        whens.append(f"ELSE {label(labels_in_order[-1])}")
    return "CASE " + " ".join(whens) + (" ELSE " + label(spec.get("missing", UNKNOWN)) if "rules" in spec else "") + " END"


#: The places a source may give (capability = role): customer_<place> is the value on the latest purchase.
PLACES = ("city", "state", "region", "country")


#: A category's name for its code (02_clean_products.sql).
_CODES = "SELECT DISTINCT {name}_code AS code, {name} AS name FROM clean_products"


def _top_dimensions(dataset: Dataset, params: FeatureParams) -> list[dict]:
    """The "top values" dimensions the source supports, then the user's attributes (top 1: the
    customer's most frequent value), each with the SQL of its (customer, order, value) rows from
    the purchases ``{bought}`` (a format field: the purchases it is read from) and,
    where order_facts has them, the columns of an order's smallest and largest value
    (``order_values``: a customer with one purchase whose order has one value takes it as it
    stands, 07_customer_dimensions.sql) and, when they are codes, the SQL of (code, name)."""
    dims = []
    if dataset.has("payments"):
        dims.append({"name": "customer_payment_types", "top_n": 10**9, "order_values": ("min_payment_type", "max_payment_type", None),
                     "source_sql": "SELECT b.customer_key, b.order_key, p.payment_type AS value FROM {bought} b JOIN clean_payments p ON p.order_key = b.order_key"})
    if dataset.has("categories"):
        dims.append({"name": "customer_top_product_categories", "top_n": params.top_n, "order_values": ("min_category_code", "max_category_code", _CODES.format(name="category")),
                     "source_sql": "SELECT b.customer_key, b.order_key, i.category AS value FROM {bought} b JOIN clean_items i ON i.order_key = b.order_key WHERE i.category IS NOT NULL"})
        if _uses_category_groups(dataset, params):
            dims.append({"name": "customer_top_general_product_categories", "top_n": params.top_n,
                         "order_values": ("min_general_category_code", "max_general_category_code", _CODES.format(name="general_category")),
                         "source_sql": "SELECT b.customer_key, b.order_key, i.general_category AS value FROM {bought} b JOIN clean_items i ON i.order_key = b.order_key WHERE i.general_category IS NOT NULL"})
    dims.append({"name": "customer_top_purchase_weekdays", "top_n": params.top_n, "order_values": ("purchase_weekday", "purchase_weekday", None),
                 "source_sql": "SELECT customer_key, order_key, purchase_weekday AS value FROM {bought} WHERE purchase_weekday IS NOT NULL"})
    taken = {d["name"] for d in dims} | {f"customer_{p}" for p in PLACES}
    for name in getattr(dataset, "attributes", ()):
        if name in taken:
            raise attribute_name_error(name)
        dims.append({"name": name, "top_n": 1, "order_values": None,
                     "source_sql": f"SELECT b.customer_key, b.order_key, a.value FROM {{bought}} b "
                                   f"JOIN clean_attributes a ON a.order_key = b.order_key WHERE a.name = {_literal(name)}"})
    return dims


def _uses_category_groups(dataset: Dataset, params: FeatureParams) -> bool:
    """Olist's general category groups (category_groups.csv) name Olist's categories only."""
    return params.use_category_groups and dataset.kind == "olist"


def attribute_name_error(name: str) -> InputError:
    return InputError(f"--dimension {name}=...: custseg already has a customer column {name!r}; give the attribute another name")


SQL_FILES = sorted(p.name for p in resources.files("custseg.features").joinpath("sql").iterdir() if p.name.endswith(".sql"))
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def rule_tables(bins: int) -> dict[str, list[dict]]:
    """The rule tables the SQL joins (category groups, overrides, RFM segment map) as rows."""
    if bins not in (3, 5):
        raise InputError(f"rfm bins = {bins}: only 3 or 5 bins have named RFM segments")

    def rows(package: str, name: str) -> list[dict]:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        return list(csv.DictReader(text.splitlines()))

    return {
        "category_groups": rows("custseg.features", "category_groups.csv"),
        "category_overrides": rows("custseg.features", "category_overrides.csv"),
        "rfm_segment_map": rows("custseg.rfm", f"segments_{bins}.csv"),
    }


def feature_context(dataset, params: FeatureParams, *, dialect: str = "duckdb", columns=None,
                    in_memory_lists: bool = False) -> dict:
    """What the SQL templates see: the source's capabilities, parameters and dialect macros.

    `columns(table)` names a created table's columns (for ``star_except``); ``in_memory_lists``:
    see :data:`custseg.dialect.IN_MEMORY_LISTS_UP_TO`.
    """

    def star_except(alias: str, table: str, excluded: list[str]) -> str:
        return ", ".join(f"{alias}.{macros['quote'](c)}" for c in columns(table) if c not in excluded)

    macros = sql_macros(dialect, in_memory_lists=in_memory_lists)
    return {
        **macros,
        "star_except": star_except,
        "has": dataset.has,
        "window_start": params.window_start,
        "window_end": params.window_end,
        # orders kept: inside the window and, with an as-of date, purchased by the end of its day
        "order_bounds": window_bounds(params.window_start, params.window_end)
                        + ([f"purchase_ts <= TIMESTAMP '{reference_instant(params.as_of)}'"] if params.as_of else []),
        "window_bounds": window_bounds(params.window_start, params.window_end),
        "as_of": params.as_of,
        "as_of_end": reference_instant(params.as_of),  # the reference instant ("now"); None: the latest order
        "review_min_date": params.review_min_date,
        "grace_days": int(params.grace_days),
        "bins": int(params.rfm_bins),
        "rfm_block": RFM_BLOCK,
        "median_accuracy": SPARK_MEDIAN_ACCURACY,
        "purchase_rule": dataset.purchase_rule,
        "use_category_groups": _uses_category_groups(dataset, params),
        "places": [p for p in PLACES if dataset.has(p)],
        "missing_category": MISSING_CATEGORY,
        "never_converted": NEVER_CONVERTED,
        "unknown": UNKNOWN,
        "top_dimensions": _top_dimensions(dataset, params),
        "segments": [],
    }


#: Customers per block of customer_key when 09_rfm.sql looks for the customer at a rank among
#: those of one value: a value most customers share is counted a block at a time, and only the
#: block holding the rank is sorted (small enough to sort at once, few blocks at 10M customers).
RFM_BLOCK = 65_536

#: Spark's approximate percentiles bound the exact stage medians of 01_clean_orders.sql from both
#: sides: their rank error is at most 1 / this of the orders, and the bounds lie 4 such errors from
#: the middle, so the durations between them are ~0.08 % of all (~8k at 10M orders).
SPARK_MEDIAN_ACCURACY = 10_000


def segments_for(metric_columns, params: FeatureParams, dialect: str = "duckdb") -> list[dict]:
    """The segment CASEs whose metric the customer_metrics table has."""
    metric_cols = set(metric_columns)
    return [
        {"name": seg, "case_sql": segment_case_sql(seg, spec, dialect)}
        for seg, spec in segment_rules(params.segments).items()
        if spec["metric"] in metric_cols
    ]


def render_feature_sql(name: str, context: dict) -> str:
    """One SQL file rendered with `context` (see :func:`feature_context`)."""
    return _ENV.from_string(_data_text(f"sql/{name}")).render(**context)


#: The tables no SQL file reads after the named one (issue 24): ``drop_inputs`` drops them there, the
#: canonical tables and the intermediate ones alike, so DuckDB keeps only what is still to be read (at
#: 10M customers the inputs hold ~5 GB, as much as DuckDB's share of memory, and the intermediates
#: ~3 GB more). The views over dropped tables (order_metrics) can then no longer be read.
LAST_READ_BY = {
    "01_clean_orders.sql": ("orders", "input_customers"),
    "02_clean_products.sql": ("products", "category_translation"),
    "03_clean_lines.sql": ("order_items", "payments", "reviews", "order_attributes"),
    "05_order_metrics.sql": ("purchases", "clean_reviews", "clean_orders"),
    "07_customer_dimensions.sql": ("repeat_purchases", "clean_items", "clean_payments", "clean_products", "clean_attributes"),
    "09_rfm.sql": ("order_facts", "rfm_values"),
    "11_excluded.sql": ("left_out_customers",),
}


def check_attribute_names(dataset, column_lists) -> None:
    """An InputError when a user's attribute has the name of one of custseg's customer columns
    (the customer table would hold two columns of one name)."""
    taken = {c for columns in column_lists for c in columns} - {"customer_id"}
    for name in getattr(dataset, "attributes", ()):
        if name in taken or name == "customer_id":
            raise attribute_name_error(name)
