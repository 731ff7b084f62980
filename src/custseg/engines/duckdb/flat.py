"""DuckDB's reading of a flat transaction log (:mod:`custseg.sources.flat`: the mapping, the checks and
the SQL both engines share) into the canonical tables."""

from __future__ import annotations

from pathlib import Path

import duckdb

from custseg.engines.duckdb.connection import connect, fetch_one, run_sql
from custseg.engines.duckdb.formats import AmountColumn, TimestampColumn
from custseg.engines.duckdb.read import load_table, read_header
from custseg.errors import InputError
from custseg.sources.checks import is_xlsx, quote_ident
from custseg.sources.dataset import Dataset
from custseg.sources.flat import LINE_CHECKS, ORDER_CLASH_SQL, ColumnMapping, contacts_sql, no_customer, order_attributes_sql, order_clash_error


def readers(mapping: ColumnMapping) -> dict:
    """How each typed input column's text is read (:mod:`.formats`): the timestamp with the
    mapping's date format, amounts with its decimal mark; keyed by source column."""
    columns, _ = mapping.source_columns()
    timestamp = TimestampColumn.of(mapping.date_format)
    amount = AmountColumn.of(mapping.decimal)
    return {col: timestamp if kind == "timestamp" else amount for col, kind in columns.items() if kind in ("timestamp", "money")}


def load_flat(path: str | Path, mapping: ColumnMapping, con: duckdb.DuckDBPyConnection | None = None,
              sheet: str | None = None) -> Dataset:
    """Read and validate a flat log (CSV, Parquet or .xlsx: `sheet`, default the first);
    build canonical orders and order lines."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; point --data at a CSV, Parquet or .xlsx transaction log")
    if sheet is not None and not is_xlsx(path):
        raise InputError(f"--sheet {sheet}: {path.name} is not an Excel workbook (.xlsx); leave --sheet out")
    con = con or connect()
    mapping.check_header(path.name, read_header(con, path, sheet))
    columns, rename = mapping.source_columns()
    # Rows without a customer are counted and left out before anything else is checked.
    load_table(con, path, "src_log", columns, rename=rename, readers=readers(mapping), sheet=sheet)
    for role, col in mapping.roles_and_attributes():
        if rename.get(col) != role:
            run_sql(con, f"ALTER TABLE src_log ADD COLUMN {quote_ident(role)} VARCHAR")
            run_sql(con, f"UPDATE src_log SET {quote_ident(role)} = {quote_ident(rename[col])}")
    without_customer = no_customer(quote_ident)
    no_customer_rows = fetch_one(con, f"SELECT count(*) FROM src_log WHERE {without_customer}")[0]
    run_sql(con, f"DELETE FROM src_log WHERE {without_customer}")
    if fetch_one(con, "SELECT count(*) FROM src_log")[0] == 0:
        raise InputError(f"{path.name}: no row has a customer (column {mapping.columns['customer']!r}); nothing to analyse")
    run_sql(con, f"CREATE OR REPLACE TEMP TABLE log_lines AS {mapping.log_lines_sql('duckdb', 'src_log')}")
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
               arg_min(city, _row) AS customer_city, arg_min(state, _row) AS customer_state,
               arg_min(region, _row) AS customer_region, arg_min(country, _row) AS customer_country, min(_row) AS _row
        FROM log_lines GROUP BY order_id ORDER BY min(_row)
        """
    )
    run_sql(con, f"CREATE OR REPLACE TABLE order_attributes AS {order_attributes_sql(mapping.attributes, quote_ident)}")
    if mapping.contact_roles:
        run_sql(con, f"CREATE OR REPLACE TABLE customer_contacts AS {contacts_sql(mapping.contact_roles)}")
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
    return Dataset(
        con=con,
        kind="flat",
        source=str(path),
        capabilities=mapping.capabilities(),
        purchase_rule="not_canceled",
        excluded={"no customer id": int(no_customer_rows)} if no_customer_rows else {},
        attributes=tuple(mapping.attributes),
        currency=mapping.currency,
        contacts=mapping.contact_columns,
    )


def _validate_lines(con: duckdb.DuckDBPyConnection, path: Path, mapping: ColumnMapping) -> None:
    """Checks that need more than one column: amounts, timestamps and order ownership."""
    for check, condition in LINE_CHECKS:
        bad = fetch_one(con, f"SELECT _row, amount FROM log_lines WHERE {condition} ORDER BY _row LIMIT 1")
        if bad:
            raise mapping.line_error(path.name, check, bad[0], bad[1])
    clash = fetch_one(con, ORDER_CLASH_SQL)
    if clash:
        raise order_clash_error(path.name, *clash)
