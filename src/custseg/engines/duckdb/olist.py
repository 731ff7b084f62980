"""DuckDB's reading of an Olist folder (:mod:`custseg.sources.olist`: the schema, checks and SQL both
engines share) into the canonical tables."""

from __future__ import annotations

from pathlib import Path

import duckdb

from custseg.engines.duckdb.connection import connect, fetch_one, run_sql
from custseg.engines.duckdb.read import load_table
from custseg.errors import InputError
from custseg.sources.dataset import Dataset
from custseg.sources.olist import AS_LOADED, CANONICAL_TABLES, CAPABILITIES, CURRENCY, REFERENCES, SCHEMA, find_file, missing_file_error, orphan_error, table_rules


def load_olist(folder: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> Dataset:
    """Read and validate the 9 Olist tables; build the canonical tables."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder; point --data at the folder holding the Olist CSV files")
    con = con or connect()
    present = {}
    for name, spec in SCHEMA.items():
        path = find_file(folder, spec["file"])
        if path is None:
            if spec.get("optional"):
                continue
            raise missing_file_error(folder, spec["file"])
        if not spec.get("read", True):  # a file no metric uses (the sellers): there, but not read
            continue
        load_table(con, path, f"src_{name}", spec["columns"], **table_rules(name))
        present[name] = path
    _check_references(con, present)
    for table, select in CANONICAL_TABLES.items():
        if table in AS_LOADED and table in present:  # the loaded table is the canonical one (and its _row)
            run_sql(con, f"ALTER TABLE src_{table} RENAME TO {table}")
        else:
            run_sql(con, f"CREATE OR REPLACE TABLE {table} AS {select}")
    for name in ("orders", "customers", "order_items", "payments", "reviews", "products", "sellers", "category_translation", "geolocation"):
        run_sql(con, f"DROP TABLE IF EXISTS src_{name}")
    return Dataset(
        con=con,
        kind="olist",
        source=str(folder),
        capabilities=CAPABILITIES,
        purchase_rule="olist",
        currency=CURRENCY,
    )


def _check_references(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> None:
    """Every order needs its customer; every item, payment and review needs its order."""
    for child, col, parent, pcol in REFERENCES:
        orphan = fetch_one(con, 
            f"SELECT c._row, c.{col} FROM src_{child} c ANTI JOIN src_{parent} p ON c.{col} = p.{pcol} "
            "ORDER BY c._row LIMIT 1"
        )
        if orphan:
            raise orphan_error(files[child].name, orphan[0], col, orphan[1], files[parent].name)
