"""The flat transaction-log adapter: one row per order line, CSV or Parquet, with a column mapping.

Roles: customer, order, timestamp, amount (or quantity + unit_price), and optionally
product, category, status, country. Rows without a customer are excluded and counted.
An order is cancelled when its status is a cancellation status or its id starts with the
configured prefix; every other order is a purchase.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb

from custseg._duck import fetch_one, run_sql
from custseg.errors import InputError
from custseg.sources._read import load_table, quote_ident, read_header
from custseg.sources.dataset import Dataset

ROLES = ("customer", "order", "timestamp", "amount", "quantity", "unit_price", "product", "category", "status", "country")
REQUIRED = ("customer", "timestamp")
CANCELED_STATUSES = ("canceled", "cancelled", "cancel", "void", "refunded", "returned")


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which role, and how cancellations are recognised."""

    columns: dict[str, str]
    cancel_prefix: str | None = None
    canceled_statuses: tuple[str, ...] = CANCELED_STATUSES
    description: str = ""

    def __post_init__(self):
        unknown = [r for r in self.columns if r not in ROLES]
        if unknown:
            raise InputError(f"--map: unknown role {unknown[0]!r}; roles are: {', '.join(ROLES)}")
        for role in REQUIRED:
            if role not in self.columns:
                raise InputError(f"--map: the role {role!r} is required (e.g. --map {role}=COLUMN)")
        has_amount = "amount" in self.columns
        has_qp = "quantity" in self.columns and "unit_price" in self.columns
        if not (has_amount or has_qp):
            raise InputError("--map: give amount=COLUMN, or both quantity=COLUMN and unit_price=COLUMN")

    @classmethod
    def parse(cls, text: str, cancel_prefix: str | None = None) -> "ColumnMapping":
        """Parse ``customer=CustomerID,order=InvoiceNo,...``."""
        columns = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            if "=" not in part:
                raise InputError(f"--map: {part!r} is not role=COLUMN; example: customer=CustomerID,timestamp=InvoiceDate,amount=Total")
            role, col = (s.strip() for s in part.split("=", 1))
            columns[role] = col
        return cls(columns=columns, cancel_prefix=cancel_prefix)

    @classmethod
    def preset(cls, name: str) -> "ColumnMapping":
        path = resources.files("custseg.sources").joinpath("presets", f"{name}.toml")
        if not path.is_file():
            known = sorted(p.name[:-5] for p in resources.files("custseg.sources").joinpath("presets").iterdir() if p.name.endswith(".toml"))
            raise InputError(f"--preset: unknown preset {name!r}; known presets: {', '.join(known)}")
        spec = tomllib.loads(path.read_text())
        cancel = spec.get("cancellation", {})
        return cls(
            columns=dict(spec["columns"]),
            cancel_prefix=cancel.get("order_prefix"),
            canceled_statuses=tuple(cancel.get("statuses", CANCELED_STATUSES)),
            description=spec.get("description", ""),
        )


def load_flat(path: str | Path, mapping: ColumnMapping, con: duckdb.DuckDBPyConnection | None = None) -> Dataset:
    """Read and validate a flat log; build canonical orders and order lines."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; point --data at a CSV or Parquet transaction log")
    con = con or duckdb.connect()
    header = read_header(con, path)
    for role, col in mapping.columns.items():
        if col not in header:
            raise InputError(
                f"{path.name}: column {col!r} (mapped to {role}) not found; columns are: {', '.join(header[:15])}"
            )
    kinds = {"customer": "text", "order": "text", "timestamp": "timestamp", "amount": "money",
             "quantity": "money", "unit_price": "money", "product": "text", "category": "text",
             "status": "text", "country": "text"}
    columns = {}
    rename = {}
    for role, col in mapping.columns.items():
        if col in columns:  # one column in two roles (e.g. order=customer): read once
            continue
        columns[col] = kinds[role]
        rename[col] = role
    # Rows without a customer are counted and left out before anything else is checked.
    load_table(con, path, "src_log", columns, rename=rename)
    for role, col in mapping.columns.items():
        if rename.get(col) != role:
            run_sql(con, f"ALTER TABLE src_log ADD COLUMN {quote_ident(role)} VARCHAR")
            run_sql(con, f"UPDATE src_log SET {quote_ident(role)} = {quote_ident(rename[col])}")
    no_customer = fetch_one(con, "SELECT count(*) FROM src_log WHERE customer IS NULL OR trim(customer) = ''")[0]
    run_sql(con, "DELETE FROM src_log WHERE customer IS NULL OR trim(customer) = ''")
    if fetch_one(con, "SELECT count(*) FROM src_log")[0] == 0:
        raise InputError(f"{path.name}: no row has a customer (column {mapping.columns['customer']!r}); nothing to analyse")

    has = set(mapping.columns)
    order_expr = "\"order\"" if "order" in has else "customer || '@' || CAST(timestamp AS VARCHAR)"
    amount_expr = "amount" if "amount" in has else "quantity * unit_price"
    cancel_terms = []
    if mapping.cancel_prefix:
        cancel_terms.append(f"starts_with(\"order\", '{mapping.cancel_prefix}')" if "order" in has else "false")
    if "status" in has:
        statuses = ", ".join("'" + s.replace("'", "''") + "'" for s in mapping.canceled_statuses)
        cancel_terms.append(f"lower(trim(status)) IN ({statuses})")
    cancel_expr = " OR ".join(cancel_terms) or "false"
    run_sql(con, 
        f"""
        CREATE OR REPLACE TEMP TABLE log_lines AS
        SELECT _row, trim(customer) AS customer_id, CAST({order_expr} AS VARCHAR) AS order_id,
               timestamp AS ts, CAST({amount_expr} AS DECIMAL(18,4)) AS amount,
               coalesce({cancel_expr}, false) AS is_canceled,
               {"product" if "product" in has else "NULL"} AS product_id,
               {"category" if "category" in has else "NULL"} AS category,
               {"status" if "status" in has else "NULL"} AS status,
               {"country" if "country" in has else "NULL"} AS country
        FROM src_log
        """
    )
    _validate_lines(con, path, mapping)
    run_sql(con, 
        """
        CREATE OR REPLACE TABLE orders AS
        SELECT order_id, any_value(customer_id) AS customer_id,
               coalesce(any_value(status), CASE WHEN bool_or(is_canceled) THEN 'Canceled' ELSE 'Completed' END) AS order_status,
               bool_or(is_canceled) AS is_canceled,
               min(ts) AS purchase_ts,
               CAST(NULL AS TIMESTAMP) AS approved_ts, CAST(NULL AS TIMESTAMP) AS carrier_ts,
               CAST(NULL AS TIMESTAMP) AS delivered_ts, CAST(NULL AS TIMESTAMP) AS estimated_ts,
               CAST(NULL AS VARCHAR) AS customer_city, CAST(NULL AS VARCHAR) AS customer_state,
               arg_min(country, _row) AS customer_country, min(_row) AS _row
        FROM log_lines GROUP BY order_id ORDER BY min(_row)
        """
    )
    run_sql(con, 
        """
        CREATE OR REPLACE TABLE order_items AS
        SELECT order_id, CAST(row_number() OVER (PARTITION BY order_id ORDER BY _row) AS BIGINT) AS item_no,
               coalesce(product_id, 'line-' || CAST(_row AS VARCHAR)) AS product_id,
               CAST(NULL AS VARCHAR) AS seller_id, amount AS price,
               CAST(NULL AS DECIMAL(18,4)) AS freight_value, category
        FROM log_lines ORDER BY _row
        """
    )
    run_sql(con, 
        """
        CREATE OR REPLACE TABLE products AS
        SELECT product_id, any_value(category) AS category, CAST(NULL AS DOUBLE) AS weight_g,
               CAST(NULL AS DOUBLE) AS length_cm, CAST(NULL AS DOUBLE) AS height_cm, CAST(NULL AS DOUBLE) AS width_cm
        FROM order_items GROUP BY product_id
        """
    )
    run_sql(con, "ALTER TABLE order_items DROP COLUMN category")
    run_sql(con, "CREATE OR REPLACE TABLE payments (order_id VARCHAR, payment_sequential BIGINT, payment_type VARCHAR, payment_installments BIGINT, payment_value DECIMAL(18,4))")
    run_sql(con, "CREATE OR REPLACE TABLE reviews (review_id VARCHAR, order_id VARCHAR, review_score BIGINT, review_created_ts TIMESTAMP)")
    run_sql(con, "CREATE OR REPLACE TABLE category_translation (category VARCHAR, category_english VARCHAR)")
    run_sql(con, "CREATE OR REPLACE TABLE input_customers AS SELECT DISTINCT customer_id FROM orders")
    run_sql(con, "DROP TABLE src_log")
    run_sql(con, "DROP TABLE log_lines")
    capabilities = {"status"} if "status" in has else set()
    if "category" in has:
        capabilities.add("categories")
    if "country" in has:
        capabilities.add("country")
    return Dataset(
        con=con,
        kind="flat",
        source=str(path),
        capabilities=frozenset(capabilities | {"cancellations"} if (mapping.cancel_prefix or "status" in has) else capabilities),
        purchase_rule="not_canceled",
        excluded={"no customer id": int(no_customer)} if no_customer else {},
    )


def _validate_lines(con: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping) -> None:
    """Checks that need more than one column: amounts, timestamps and order ownership."""
    amount_cols = mapping.columns.get("amount") or f"{mapping.columns['quantity']} x {mapping.columns['unit_price']}"
    bad = fetch_one(con, "SELECT _row, amount FROM log_lines WHERE amount IS NULL ORDER BY _row LIMIT 1")
    if bad:
        raise InputError(f"{path.name}, row {bad[0]}, column {amount_cols!r}: amount is missing; every line needs one")
    bad = fetch_one(con, "SELECT _row, amount FROM log_lines WHERE amount < 0 AND NOT is_canceled ORDER BY _row LIMIT 1")
    if bad:
        raise InputError(
            f"{path.name}, row {bad[0]}, column {amount_cols!r}: negative amount {float(bad[1]):g} on an order that is not "
            "cancelled; fix the row or mark the order as cancelled"
        )
    bad = fetch_one(con, "SELECT _row FROM log_lines WHERE ts IS NULL ORDER BY _row LIMIT 1")
    if bad:
        raise InputError(f"{path.name}, row {bad[0]}, column {mapping.columns['timestamp']!r}: timestamp is missing; every line needs one")
    bad = fetch_one(con, "SELECT _row FROM log_lines WHERE order_id IS NULL ORDER BY _row LIMIT 1")
    if bad:
        raise InputError(f"{path.name}, row {bad[0]}, column {mapping.columns.get('order')!r}: order id is missing; every line needs one")
    clash = fetch_one(con, 
        """
        SELECT order_id, min(_row), max(_row) FROM log_lines GROUP BY order_id
        HAVING count(DISTINCT customer_id) > 1 ORDER BY 2 LIMIT 1
        """
    )
    if clash:
        raise InputError(
            f"{path.name}, rows {clash[1]}-{clash[2]}: order {clash[0]!r} belongs to more than one customer; "
            "an order id must identify one customer's order"
        )
