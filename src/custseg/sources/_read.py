"""Read one input file into a typed DuckDB table, validating before any work is done.

Files are read with every column as text, then each typed column is cast with TRY_CAST;
the first row that does not cast is reported by file, row and column. Row numbers are
data rows counted from 1 (the header is not a row).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from custseg._duck import fetch_one, run_sql
from custseg.errors import InputError

SQL_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "int": "BIGINT",
    "money": "DECIMAL(18,4)",
    "float": "DOUBLE",
}
TYPE_HINTS = {
    "timestamp": "a timestamp like 2017-10-02 10:56:33",
    "int": "a whole number",
    "money": "a number (amount of money)",
    "float": "a number",
}
# Dates outside this window are typos (year 0201, 9999) rather than orders.
MIN_TIMESTAMP = "1970-01-01"
MAX_TIMESTAMP = "2100-01-01"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def scan_expression(path: Path) -> str:
    """A DuckDB table expression that reads CSV or Parquet with every column as text."""
    name = path.name.lower()
    literal = quote_literal(str(path))
    if name.endswith(".parquet") or name.endswith(".pq"):
        return f"read_parquet({literal})"
    return (
        f"read_csv({literal}, all_varchar=true, header=true, quote='\"', escape='\"', "
        "delim=',', strict_mode=false, null_padding=false, auto_detect=false, columns=NULL)"
    )


def _csv_scan(path: Path, names: list[str]) -> str:
    literal = quote_literal(str(path))
    cols = ", ".join(f"{quote_literal(n)}: 'VARCHAR'" for n in names)
    return (
        f"read_csv({literal}, header=true, quote='\"', escape='\"', delim=',', "
        f"columns={{{cols}}}, auto_detect=false)"
    )


def read_header(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a CSV or Parquet file, or an InputError naming the file."""
    try:
        if path.name.lower().endswith((".parquet", ".pq")):
            rel = con.sql(f"SELECT * FROM read_parquet({quote_literal(str(path))}) LIMIT 0")
        else:
            rel = con.sql(
                f"SELECT * FROM read_csv({quote_literal(str(path))}, all_varchar=true, header=true, "
                "sample_size=1) LIMIT 0"
            )
        return list(rel.columns)
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot be read as a table ({_first_line(exc)}); check that it is a CSV or Parquet file") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def load_table(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    columns: dict[str, str],
    *,
    rename: dict[str, str] | None = None,
    not_null: list[str] = (),
    key: list[str] = (),
    non_negative: list[str] = (),
) -> int:
    """Create `table` in `con` from `path` with typed `columns`; return its row count.

    `columns` maps source column name -> type; `rename` maps source name -> table name.
    """
    rename = rename or {}
    header = read_header(con, path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(
            f"{path.name}: missing column {missing[0]!r} (found: {', '.join(header[:12])}); "
            "add it or map another column to it"
        )
    is_parquet = path.name.lower().endswith((".parquet", ".pq"))
    if is_parquet:
        source = f"read_parquet({quote_literal(str(path))}, file_row_number=true)"
        raw_cols = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in columns)
        raw = f"SELECT file_row_number + 1 AS _row, {raw_cols} FROM {source}"
    else:
        raw_cols = ", ".join(quote_ident(c) for c in columns)
        raw = f"SELECT row_number() OVER () AS _row, {raw_cols} FROM {_csv_scan(path, header)}"
    raw_name = f"_raw_{table}"
    try:
        run_sql(con, f"CREATE OR REPLACE TEMP TABLE {raw_name} AS {raw}")
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot be read ({_first_line(exc)}); check the file's format and encoding (UTF-8)") from None

    def typed(col: str, kind: str) -> str:
        q = quote_ident(col)
        if kind == "text":
            return q
        return f"TRY_CAST(NULLIF(trim({q}), '') AS {SQL_TYPES[kind]})"

    # One pass finds, for every typed column, the first row that does not cast.
    checks = []
    for col, kind in columns.items():
        q = quote_ident(col)
        if kind != "text":
            checks.append((col, kind, "cast", f"min(_row) FILTER (WHERE NULLIF(trim({q}), '') IS NOT NULL AND {typed(col, kind)} IS NULL)"))
        if kind == "timestamp":
            checks.append((col, kind, "range", f"min(_row) FILTER (WHERE {typed(col, kind)} < TIMESTAMP '{MIN_TIMESTAMP}' OR {typed(col, kind)} >= TIMESTAMP '{MAX_TIMESTAMP}')"))
        if col in not_null:
            checks.append((col, kind, "null", f"min(_row) FILTER (WHERE NULLIF(trim({q}), '') IS NULL)"))
        if col in non_negative:
            checks.append((col, kind, "negative", f"min(_row) FILTER (WHERE {typed(col, kind)} < 0)"))
    if checks:
        row = fetch_one(con, f"SELECT {', '.join(c[3] for c in checks)} FROM {raw_name}")
        for (col, kind, what, _), bad_row in zip(checks, row):
            if bad_row is None:
                continue
            value = fetch_one(con, f"SELECT {quote_ident(col)} FROM {raw_name} WHERE _row = ?", [bad_row])[0]
            shown = (value or "")[:60]
            where = f"{path.name}, row {bad_row}, column {col!r}"
            if what == "cast":
                raise InputError(f"{where}: {shown!r} is not {TYPE_HINTS[kind]}; fix or remove that row")
            if what == "range":
                raise InputError(f"{where}: {shown!r} is outside {MIN_TIMESTAMP[:4]}-{MAX_TIMESTAMP[:4]}; fix the date or remove that row")
            if what == "null":
                raise InputError(f"{where}: value is missing; every row needs one")
            if what == "negative":
                raise InputError(f"{where}: {shown!r} is negative; amounts, weights and sizes must be >= 0")
    if key:
        key_sql = ", ".join(quote_ident(k) for k in key)
        dup = fetch_one(con, 
            f"SELECT min(_row), max(_row), {key_sql} FROM {raw_name} GROUP BY {key_sql} "
            "HAVING count(*) > 1 ORDER BY 1 LIMIT 1"
        )
        if dup:
            shown = ", ".join(f"{k}={v!r}" for k, v in zip(key, dup[2:]))
            raise InputError(
                f"{path.name}, rows {dup[0]} and {dup[1]}: duplicated key ({shown}); remove the duplicate row"
            )
    select = ", ".join(f"{typed(c, k)} AS {quote_ident(rename.get(c, c))}" for c, k in columns.items())
    run_sql(con, f"CREATE OR REPLACE TABLE {table} AS SELECT _row, {select} FROM {raw_name} ORDER BY _row")
    run_sql(con, f"DROP TABLE {raw_name}")
    return fetch_one(con, f"SELECT count(*) FROM {table}")[0]
