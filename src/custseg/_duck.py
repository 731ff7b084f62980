"""Small DuckDB helpers shared by the stages."""

from __future__ import annotations

import os
import tempfile

import duckdb

#: Share of the machine's memory DuckDB may hold before it spills to disk. The rest is for the
#: customer table in pandas, the clustering and the report (DuckDB's own default is 80 %).
MEMORY_SHARE = 0.35


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return None


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to the temporary folder beyond its share of memory.

    ``CUSTSEG_DUCKDB_MEMORY`` (e.g. ``4GB``) sets the limit explicitly.
    """
    config = {"temp_directory": os.path.join(tempfile.gettempdir(), f"custseg-duckdb-{os.getpid()}")}
    limit = os.environ.get("CUSTSEG_DUCKDB_MEMORY")
    if not limit:
        total = _physical_memory()
        limit = f"{max(1, int(total * MEMORY_SHARE) >> 20)}MB" if total else None
    if limit:
        config["memory_limit"] = limit
    return duckdb.connect(config=config)


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

