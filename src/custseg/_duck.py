"""Small DuckDB helpers shared by the stages."""

from __future__ import annotations

import duckdb


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> None:
    """Execute statements and finish their results (DuckDB 2 keeps a result open until fetched)."""
    result = con.execute(sql, params) if params is not None else con.execute(sql)
    try:
        result.fetchall()
    except duckdb.InvalidInputException:
        pass  # statements without a result set


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The first row of a query (or None), with the result finished."""
    result = con.execute(sql, params) if params is not None else con.execute(sql)
    rows = result.fetchall()
    return rows[0] if rows else None
