"""What every engine checks in an input file, and how each problem is worded, so both engines
reject the same input with the same line (the readers: custseg.engines.duckdb.read and
custseg.engines.spark.sources). Row numbers are data rows counted from 1 (the header is not a row).
"""

from __future__ import annotations

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


def value_checks(
    columns: dict[str, str],
    *,
    rename: dict[str, str] | None = None,
    not_null=(),
    non_negative=(),
    quote=None,
) -> list[tuple[str, str, str]]:
    """The checks of a typed table as (source column, check, SQL condition on a row), in the
    order they are reported: dates outside MIN_TIMESTAMP..MAX_TIMESTAMP ("range"), missing
    required values ("null"), negative amounts ("negative"). `quote` quotes an identifier in the
    engine's dialect (default DuckDB's)."""
    rename = rename or {}
    quote = quote or quote_ident
    checks = []
    for col, kind in columns.items():
        q = quote(rename.get(col, col))
        if kind == "timestamp":
            checks.append((col, "range", f"{q} < TIMESTAMP '{MIN_TIMESTAMP}' OR {q} >= TIMESTAMP '{MAX_TIMESTAMP}'"))
        if col in not_null:
            checks.append((col, "null", f"{q} IS NULL" + (f" OR trim({q}) = ''" if kind == "text" else "")))
        if col in non_negative:
            checks.append((col, "negative", f"{q} < 0"))
    return checks


def value_error(file: str, row: int, column: str, check: str, value: str | None, kind: str | None = None) -> InputError:
    """The one-line error for the first row failing `check` ("cast" with the column's `kind`,
    or one of :func:`value_checks`); `value` is the offending value as text."""
    where = f"{file}, row {row}, column {column!r}"
    shown = (value or "")[:60]
    if check == "cast":
        return InputError(f"{where}: {shown!r} is not {TYPE_HINTS[kind]}; fix or remove that row")
    if check == "range":
        return InputError(f"{where}: {shown!r} is outside {MIN_TIMESTAMP[:4]}-{MAX_TIMESTAMP[:4]}; fix the date or remove that row")
    if check == "null":
        return InputError(f"{where}: value is missing; every row needs one")
    if check == "negative":
        return InputError(f"{where}: {shown!r} is negative; amounts, weights and sizes must be >= 0")
    raise ValueError(f"unknown check {check!r}")


def missing_column_error(file: str, column: str, header: list[str]) -> InputError:
    return InputError(
        f"{file}: missing column {column!r} (found: {', '.join(header[:12])}); "
        "add it or map another column to it"
    )


def duplicate_key_error(file: str, first_row: int, second_row: int, key, values) -> InputError:
    shown = ", ".join(f"{k}={v!r}" for k, v in zip(key, values))
    return InputError(f"{file}, rows {first_row} and {second_row}: duplicated key ({shown}); remove the duplicate row")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"

XLSX_SUFFIXES = (".xlsx", ".xlsm")


def is_xlsx(path) -> bool:
    return str(path).lower().endswith(XLSX_SUFFIXES)
