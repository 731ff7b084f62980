"""The Olist adapter: a folder with the Kaggle release's CSV files (plain or .gz): its schema, checks and
canonical-table SQL, which every engine reads it by (custseg.engines.duckdb.olist, custseg.engines.spark.sources)."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from custseg.errors import InputError

SCHEMA: dict = tomllib.loads(resources.files("custseg.sources").joinpath("olist_schema.toml").read_text())

# Source column -> canonical column, for the tables whose names change.
RENAMES = {
    "orders": {
        "order_purchase_timestamp": "purchase_ts",
        "order_approved_at": "approved_ts",
        "order_delivered_carrier_date": "carrier_ts",
        "order_delivered_customer_date": "delivered_ts",
        "order_estimated_delivery_date": "estimated_ts",
    },
    "order_items": {"order_item_id": "item_no"},
    "reviews": {"review_creation_date": "review_created_ts"},
    "products": {
        "product_category_name": "category",
        "product_weight_g": "weight_g",
        "product_length_cm": "length_cm",
        "product_height_cm": "height_cm",
        "product_width_cm": "width_cm",
    },
    "category_translation": {"product_category_name": "category", "product_category_name_english": "category_english"},
}


# What an Olist folder tells: every feature of the reference analysis.
CAPABILITIES = frozenset({"payments", "reviews", "delivery", "weight", "sellers", "products", "city", "state", "categories", "status", "freight"})
FILE_SUFFIXES = (".csv", ".csv.gz")
CURRENCY = "R$"  # Olist sells in Brazil: prices and payments in reais

# Every order needs its customer; every item, payment and review its order; every item its
# product: (child table, column, parent table, column), checked in this order.
REFERENCES = (
    ("orders", "customer_id", "customers", "customer_id"),
    ("order_items", "order_id", "orders", "order_id"),
    ("payments", "order_id", "orders", "order_id"),
    ("reviews", "order_id", "orders", "order_id"),
    ("order_items", "product_id", "products", "product_id"),
)

# The canonical tables (custseg.sources.dataset) from the typed source tables src_<name>:
# SQL that DuckDB and Spark SQL both run as it stands.
CANONICAL_TABLES = {
    "orders": """
        SELECT o.order_id, c.customer_unique_id AS customer_id, o.order_status,
               lower(o.order_status) IN ('canceled', 'cancelled') AS is_canceled,
               o.purchase_ts, o.approved_ts, o.carrier_ts, o.delivered_ts, o.estimated_ts,
               c.customer_city, upper(trim(c.customer_state)) AS customer_state,
               CAST(NULL AS STRING) AS customer_region, CAST(NULL AS STRING) AS customer_country,
               o._row
        FROM src_orders o JOIN src_customers c USING (customer_id)""",
    "order_items": "SELECT order_id, item_no, product_id, seller_id, price, freight_value FROM src_order_items",
    "payments": "SELECT order_id, payment_sequential, payment_type, payment_installments, payment_value FROM src_payments",
    "reviews": "SELECT order_id, review_score, review_created_ts FROM src_reviews",
    "products": "SELECT product_id, category, weight_g, length_cm, height_cm, width_cm FROM src_products",
    "category_translation": "SELECT category, category_english FROM src_category_translation",
    # Every person of the input, so none can go missing unnoticed (see excluded.csv).
    "input_customers": "SELECT DISTINCT customer_unique_id AS customer_id FROM src_customers",
    "order_attributes": "SELECT order_id, CAST(NULL AS STRING) AS name, CAST(NULL AS STRING) AS value FROM src_orders WHERE false",
}
#: The canonical tables that are a loaded file's columns as they are (renamed by the schema): an
#: engine may use the loaded table itself rather than a copy (DuckDB renames it; at 10M orders the
#: copies held the data twice).
AS_LOADED = ("order_items", "payments", "reviews", "products", "category_translation")


def table_rules(name: str) -> dict:
    """The keyword arguments of ``load_table`` for the Olist table `name`: renames and checks."""
    spec = SCHEMA[name]
    return {
        "rename": RENAMES.get(name), "not_null": spec.get("not_null", []),
        "key": spec.get("key", []), "non_negative": spec.get("non_negative", []),
    }


def missing_file_error(folder, stem: str, suffixes=FILE_SUFFIXES) -> InputError:
    others = ", ".join(s for s in suffixes if s != ".csv")
    return InputError(
        f"{folder}: missing file {stem}.csv (or {others}); the Olist folder needs all of: "
        + ", ".join(s["file"] for s in SCHEMA.values() if not s.get("optional"))
    )


def not_olist_error(folder) -> InputError:
    return InputError(f"{folder}: no olist_orders_dataset.csv(.gz) in this folder; is it the Olist download?")


def orphan_error(child_file: str, row: int, column: str, value, parent_file: str) -> InputError:
    return InputError(
        f"{child_file}, row {row}, column {column!r}: {value!r} is not in {parent_file}; add it there or remove the row"
    )


def find_file(folder: Path, stem: str) -> Path | None:
    for suffix in FILE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def is_olist_folder(path: Path) -> bool:
    return path.is_dir() and find_file(path, SCHEMA["orders"]["file"]) is not None
