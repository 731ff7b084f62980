"""Sources on Spark: an Olist folder or a flat transaction log read by Spark into the canonical
tables (see :mod:`custseg.sources.dataset`), held as cached temporary views of the session.

The same inputs as the DuckDB engine — CSV (plain or .gz) or Parquet, the Olist folder layout,
the flat-log column mapping and presets — on any path Spark reads (local, ``hdfs://``,
``s3a://`` ...; on a cluster the path must be visible to the executors).

What is not about Spark comes from the DuckDB engine's adapters, not a copy of them: the Olist
schema, renames, reference checks and canonical-table SQL (:mod:`custseg.sources.olist`); the
flat-log mapping, its column types, log_lines query, line checks and capabilities
(:mod:`custseg.sources.flat`); the checks of a typed table and the wording of every problem
(:mod:`custseg.sources.checks`). So the same bad input gives the same line on both engines
(``tests/test_spark.py`` compares them); only what Spark reads beyond DuckDB (Parquet files in an
Olist folder, a folder of Parquet part files as a log) shows in a few messages.
Spark runs the checks in a few aggregate passes over the cached tables: values that do not cast
(with the file, row and column), dates outside 1970-2100, missing required values, negative
amounts, duplicated keys, orphan rows. Every problem is a one-line
:class:`~custseg.errors.InputError`, never a Java stack trace. Row numbers are data rows
counted from 1 in Spark's read order, which is the file's order for a single file (CSV files
are read whole by one task each — RFC 4180 quoted newlines — so use Parquet or several files
for parallel reads of a very large input).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from custseg.engines.spark.session import checkpoint_dir, collect_pandas, first_line, spark_error_types
from custseg.errors import InputError
from custseg.dialect import sql_macros
from custseg.sources import no_such_path_error
from custseg.sources.checks import SQL_TYPES, duplicate_key_error, is_xlsx, missing_column_error, value_checks, value_error
from custseg.sources.flat import LINE_CHECKS, ORDER_CLASH_SQL, ColumnMapping, no_customer, order_attributes_sql, order_clash_error
from custseg.sources.olist import (
    CANONICAL_TABLES,
    CAPABILITIES as OLIST_CAPABILITIES,
    CURRENCY as OLIST_CURRENCY,
    FILE_SUFFIXES,
    REFERENCES,
    SCHEMA,
    missing_file_error,
    not_olist_error,
    orphan_error,
    table_rules,
)

SPARK_TYPES = {**SQL_TYPES, "text": "STRING"}
OLIST_SUFFIXES = (*FILE_SUFFIXES, ".parquet")  # Spark also reads an Olist folder of Parquet files
_SPARK_SQL = sql_macros("spark")
q = _SPARK_SQL["quote"]  # a Spark SQL identifier
lit = _SPARK_SQL["literal"]  # a Spark SQL string literal
_REPLACEMENT = "\ufffd"  # what Spark's UTF-8 decoder puts in place of a byte that is not UTF-8


@contextmanager
def input_errors(where: str, hint: str):
    """Turn a Spark failure while reading `where` into a one-line InputError."""
    try:
        yield
    except InputError:
        raise
    except spark_error_types() as exc:
        raise InputError(f"{where}: cannot be read ({first_line(exc)}); {hint}") from None


@dataclass
class SparkDataset:
    """Canonical tables as cached temporary views of a SparkSession, plus what the source can tell."""

    spark: Any
    kind: str  # "olist" or "flat"
    source: str
    capabilities: frozenset[str] = frozenset()
    purchase_rule: str = "olist"
    excluded: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    frames: dict[str, Any] = field(default_factory=dict)  # view name -> cached DataFrame
    attributes: tuple[str, ...] = ()  # the user's customer attributes (order_attributes.name)
    currency: str = ""  # the amounts' currency sign where the source says
    reliable: bool | None = None  # checkpoints in the context's checkpoint directory (else local); found on first use

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def materialise(self, name: str, frame) -> Any:
        """Compute `frame` now, keep it on the executors and register it as the view `name`.

        A checkpoint also cuts the lineage, so the next table's plan starts from this one's rows
        instead of re-planning everything before it. With a checkpoint directory on the
        SparkContext (``spark.checkpoint.dir``: HDFS, S3) it is a reliable checkpoint there, which
        survives a lost executor; else a local checkpoint (executors' memory, spilling to disk).
        """
        if self.reliable is None:
            self.reliable = checkpoint_dir(self.spark) is not None
        if self.reliable:  # computed once (persisted), then written to the checkpoint directory
            computed = frame.persist()
            frame = computed.checkpoint(eager=True)
            computed.unpersist()
        else:
            frame = frame.localCheckpoint(eager=True)
        return self.view(name, frame)

    def view(self, name: str, frame) -> Any:
        """Register `frame` as the view `name` as it is, replacing an earlier one: a plan not stored
        is computed where it is read (a VIEW of the feature SQL, as in DuckDB: the order table no
        step of a run reads; the customer table's joins, which the engine stores as it collects them)."""
        old = self.frames.pop(name, None)
        frame.createOrReplaceTempView(name)
        self.frames[name] = frame
        if old is not None:
            old.unpersist()
        return frame

    def drop(self, *names: str) -> None:
        for name in names:
            frame = self.frames.pop(name, None)
            if frame is not None:
                frame.unpersist()
            self.spark.catalog.dropTempView(name)

    def table(self, name: str) -> pd.DataFrame:
        """A table as a pandas frame (for inspection and tests)."""

        return collect_pandas(self.spark.table(name))

    def release(self) -> None:
        """Unpersist and drop every view this dataset created."""
        self.drop(*list(self.frames))


# ----------------------------------------------------------------------------- paths


TABLE_PREFIX = "table:"  # a catalog table (`--table db.orders`), not a path


def catalog_name(path: str) -> str | None:
    """The catalog table `path` names (``table:db.orders`` -> ``db.orders``), else None."""
    return path[len(TABLE_PREFIX):] if path.startswith(TABLE_PREFIX) else None


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[{")


class _Paths:
    """Existence and listing of paths through Hadoop's FileSystem (what Spark itself reads),
    globs (``orders/*.parquet``) and catalog tables (``table:db.orders``)."""

    def __init__(self, spark):
        self._spark = spark
        try:
            self._jvm = spark._jvm
            self._conf = spark._jsc.hadoopConfiguration()
        except Exception:  # noqa: BLE001 - Spark Connect has no JVM on the client
            self._jvm = None

    def _status(self, path: str):
        jpath = self._jvm.org.apache.hadoop.fs.Path(path)
        fs = jpath.getFileSystem(self._conf)
        return fs, jpath

    def exists(self, path: str) -> bool:
        table = catalog_name(path)
        if table is not None:
            try:
                return bool(self._spark.catalog.tableExists(table)) or self.is_database(path)
            except spark_error_types():
                return False
        if _is_glob(path):
            return bool(self.glob(path))
        if self._jvm is None:
            import os

            return "://" in path or os.path.exists(path)
        try:
            fs, jpath = self._status(path)
            return bool(fs.exists(jpath))
        except spark_error_types() as exc:
            raise InputError(f"{path}: cannot be reached ({first_line(exc)}); check the path and the cluster's file system settings") from None

    def is_database(self, path: str) -> bool:
        """``table:shop`` naming a catalog database (of Olist tables), not a table."""
        name = catalog_name(path)
        try:
            return name is not None and bool(self._spark.catalog.databaseExists(name))
        except spark_error_types():
            return False

    def glob(self, path: str) -> list[str]:
        """The files a glob matches (Hadoop's glob syntax, as Spark reads it)."""
        if self._jvm is None:
            import glob

            return sorted(glob.glob(path))
        try:
            fs, jpath = self._status(path)
            found = fs.globStatus(jpath)
        except spark_error_types() as exc:
            raise InputError(f"{path}: cannot be reached ({first_line(exc)}); check the path and the cluster's file system settings") from None
        return sorted(str(s.getPath()) for s in (found or []))

    def parquet_below(self, path: str, depth: int = 4) -> bool:
        """Whether the folder holds Parquet files, directly or in partition folders (``year=2018/``)."""
        if depth < 0 or not self.is_dir(path):
            return False
        names = [n for n in self.names(path) if not n.startswith(("_", "."))]
        if any(n.lower().endswith((".parquet", ".pq")) for n in names):
            return True
        return any(self.parquet_below(_join(path, n), depth - 1) for n in names if "=" in n)

    def is_dir(self, path: str) -> bool:
        if catalog_name(path) is not None or _is_glob(path):
            return False
        if self._jvm is None:
            import os

            return os.path.isdir(path)
        fs, jpath = self._status(path)
        return bool(fs.exists(jpath) and fs.getFileStatus(jpath).isDirectory())

    def names(self, path: str) -> list[str]:
        if self._jvm is None:
            import os

            return sorted(os.listdir(path)) if os.path.isdir(path) else []
        fs, jpath = self._status(path)
        return sorted(str(s.getPath().getName()) for s in fs.listStatus(jpath))


def _join(folder: str, name: str) -> str:
    return folder.rstrip("/") + "/" + name


def _base_name(path: str) -> str:
    table = catalog_name(path)
    if table is not None:
        return table
    if _is_glob(path):
        return path
    return PurePosixPath(path.rstrip("/")).name or path


def _is_parquet(paths: _Paths, path: str) -> bool:
    """Parquet: a .parquet file, a glob of them, or a folder of part files (hive-partitioned too).
    A catalog table counts as typed data too (no text-encoding checks)."""
    name = path.lower().rstrip("/")
    if catalog_name(path) is not None or name.endswith((".parquet", ".pq")):
        return True
    if _is_glob(path):
        return any(f.lower().endswith((".parquet", ".pq")) for f in paths.glob(path)[:20])
    return paths.parquet_below(path)


def _read_raw(spark, paths: _Paths, path: str):
    """The file (or folder of part files) with its own columns, as Spark reads it."""
    from pyspark.sql import functions as F

    name = _base_name(path)
    with input_errors(name, "check that it is a CSV (UTF-8, with a header row) or Parquet file"):
        if catalog_name(path) is not None:
            frame = spark.table(catalog_name(path))  # Hive, Delta, Iceberg ...: whatever the catalog reads
        elif _is_parquet(paths, path):
            # a hive-partitioned folder: its partition columns (year=2018/) are columns too, read as text
            frame = spark.read.parquet(path)
        else:
            frame = (
                spark.read.option("header", True).option("inferSchema", False).option("multiLine", True)
                .option("quote", '"').option("escape", '"').option("mode", "FAILFAST").option("encoding", "UTF-8")
                .csv(path)
            )
        columns = frame.columns
    if any("\x00" in c or "\ufffd" in c for c in columns):
        raise InputError(
            f"{name}: cannot be read as a table (binary data or text that is not UTF-8 in the first line); "
            "check that it is a CSV file saved as UTF-8, or a Parquet file"
        )
    if columns and columns[0].startswith("\ufeff"):  # a UTF-8 byte-order mark
        frame = frame.withColumnRenamed(columns[0], columns[0].lstrip("\ufeff"))
    return frame.withColumn("_row", F.monotonically_increasing_id())


def _row_number(frame, row_id: int) -> int:
    """The data row (from 1, in read order) of the row whose `_row` id is `row_id`."""
    return int(frame.where(f"_row <= {int(row_id)}").count())


# ----------------------------------------------------------------------------- one table


# strptime codes -> Spark datetime pattern letters (a --date-format on the Spark engine)
_SPARK_PATTERN = {"%Y": "yyyy", "%y": "yy", "%m": "M", "%d": "d", "%H": "H", "%I": "h", "%M": "mm", "%S": "ss",
                  "%p": "a", "%f": "SSSSSS", "%z": "XXX", "%b": "MMM", "%B": "MMMM", "%j": "D", "%%": "%"}


def spark_pattern(date_format: str) -> str:
    """A strptime format as a Spark datetime pattern (letters other than codes are quoted);
    1-digit days and months parse under M and d, as under strptime's %m and %d."""
    out, i = [], 0
    while i < len(date_format):
        code = date_format[i:i + 2]
        if code in _SPARK_PATTERN:
            out.append(_SPARK_PATTERN[code])
            i += 2
            continue
        if code.startswith("%"):
            raise InputError(f"--date-format {date_format!r}: {code} is not supported by the Spark engine; "
                             f"use {', '.join(sorted(_SPARK_PATTERN))} (or --engine duckdb)")
        ch = date_format[i]
        out.append(f"'{ch}'" if ch.isalpha() else ("''" if ch == "'" else ch))
        i += 1
    return "".join(out)


def _typed_expr(col: str, kind: str, date_format: str | None = None) -> str:
    text = f"CAST({q(col)} AS STRING)"
    if kind == "text":
        return text
    value = f"nullif(trim({text}), '')"
    if kind == "timestamp" and date_format:
        return f"try_to_timestamp({value}, {lit(spark_pattern(date_format))})"
    if kind == "int":  # DuckDB's cast also takes '1.0' or '1e3', rounding half away from zero
        return f"coalesce(try_cast({value} AS BIGINT), CAST(round(try_cast({value} AS DECIMAL(38,10))) AS BIGINT))"
    return f"try_cast({value} AS {SPARK_TYPES[kind]})"


def load_table(
    ds: SparkDataset,
    path: str,
    table: str,
    columns: dict[str, str],
    *,
    paths: _Paths,
    rename: dict[str, str] | None = None,
    not_null: list[str] = (),
    key: list[str] = (),
    non_negative: list[str] = (),
    date_format: str | None = None,
    cast_hint: str = "",
) -> int:
    """Spark's :func:`custseg.engines.duckdb.read.load_table`: the view `table` with typed columns,
    the same checks (:func:`~custseg.sources.checks.value_checks`) and the same messages.
    `date_format` (strptime) reads the timestamp columns; `cast_hint` ends a cast failure's line."""
    rename = rename or {}
    name = _base_name(path)
    raw = _read_raw(ds.spark, paths, path)
    header = [c for c in raw.columns if c != "_row"]
    missing = [c for c in columns if c not in header]
    if missing:
        raise missing_column_error(name, missing[0], header)
    typed_cols = [(c, k) for c, k in columns.items() if k != "text"]
    bad_flag = " ".join(
        f"WHEN nullif(trim(CAST({q(c)} AS STRING)), '') IS NOT NULL AND {_typed_expr(c, k, date_format)} IS NULL THEN {i}"
        for i, (c, k) in enumerate(typed_cols)
    )
    select = [f"{_typed_expr(c, k, date_format)} AS {q(rename.get(c, c))}" for c, k in columns.items()]
    select.append(f"CASE {bad_flag} END AS _cast_bad" if typed_cols else "CAST(NULL AS INT) AS _cast_bad")
    hint = "check the file's format and encoding (UTF-8)"
    with input_errors(name, hint):
        typed = ds.materialise(table, raw.selectExpr("_row", *select))

    # One aggregate pass: the first row failing each check, casts first (as DuckDB reports them).
    # Spark reads bytes that are not UTF-8 as U+FFFD without complaint (DuckDB's reader stops at
    # them): a text column of a CSV file holding U+FFFD is reported first.
    checks = []
    if not _is_parquet(paths, path):
        checks += [(c, "encoding", f"instr({q(rename.get(c, c))}, '{_REPLACEMENT}') > 0") for c, k in columns.items() if k == "text"]
    checks += [(c, "cast", f"_cast_bad = {i}") for i, (c, _k) in enumerate(typed_cols)]
    checks += value_checks(columns, rename=rename, not_null=not_null, non_negative=non_negative, quote=q)
    with input_errors(name, hint):
        result = typed.selectExpr(*[f"min(CASE WHEN {c[2]} THEN _row END) AS c{i}" for i, c in enumerate(checks)], "count(*) AS n").collect()[0]
        for i, (col, what, _) in enumerate(checks):
            bad = result[f"c{i}"]
            if bad is None:
                continue
            frame, shown_col = (raw, col) if what == "cast" else (typed, rename.get(col, col))
            value = frame.where(f"_row = {int(bad)}").selectExpr(f"CAST({q(shown_col)} AS STRING)").collect()[0][0]
            if what == "encoding":
                raise InputError(
                    f"{name}, row {_row_number(typed, bad)}, column {col!r}: {value[:60]!r} holds bytes that are not UTF-8 text "
                    f"(shown as {_REPLACEMENT}); save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                )
            error = value_error(name, _row_number(typed, bad), col, what, value, columns[col])
            if what == "cast" and cast_hint:
                raise InputError(f"{error}; {cast_hint}")
            raise error
        if key:
            key_cols = [rename.get(k, k) for k in key]
            dup = ds.spark.sql(
                f"SELECT min(_row) AS a, max(_row) AS b, {', '.join(q(k) for k in key_cols)} FROM {q(table)} "
                f"GROUP BY {', '.join(q(k) for k in key_cols)} HAVING count(*) > 1 ORDER BY a LIMIT 1"
            ).collect()
            if dup:
                raise duplicate_key_error(name, _row_number(typed, dup[0]["a"]), _row_number(typed, dup[0]["b"]), key, list(dup[0])[2:])
    return int(result["n"])


# ----------------------------------------------------------------------------- Olist


def find_file(paths: _Paths, folder: str, stem: str) -> str | None:
    """The Olist file `stem` in `folder` (any of its suffixes), or the table `stem` when `folder`
    is a catalog database (``table:shop`` -> ``shop.olist_orders_dataset``)."""
    if paths.is_database(folder):
        candidate = f"{folder}.{stem}"
        return candidate if paths.exists(candidate) else None
    for suffix in OLIST_SUFFIXES:
        candidate = _join(folder, stem + suffix)
        if paths.exists(candidate):
            return candidate
    return None


def load_olist(ds: SparkDataset, folder: str, paths: _Paths) -> SparkDataset:
    """Read and validate the Olist tables (:mod:`custseg.sources.olist`'s schema, checks and SQL);
    build the canonical views."""
    present: dict[str, str] = {}
    for name, spec in SCHEMA.items():
        if spec.get("optional"):
            continue  # geolocation: no feature uses it, so Spark does not read (or check) it
        path = find_file(paths, folder, spec["file"])
        if path is None:
            raise missing_file_error(folder, spec["file"], OLIST_SUFFIXES)
        load_table(ds, path, f"src_{name}", spec["columns"], paths=paths, **table_rules(name))
        present[name] = path
    _check_references(ds, present)
    for table, select in CANONICAL_TABLES.items():
        ds.materialise(table, ds.spark.sql(select))
    ds.drop(*[f"src_{name}" for name in present])
    ds.kind, ds.capabilities, ds.purchase_rule, ds.currency = "olist", OLIST_CAPABILITIES, "olist", OLIST_CURRENCY
    return ds


def _check_references(ds: SparkDataset, files: dict[str, str]) -> None:
    """Every order needs its customer; every item, payment and review needs its order."""
    for child, col, parent, pcol in REFERENCES:
        orphan = ds.spark.sql(
            f"SELECT c._row, c.{col} FROM src_{child} c LEFT ANTI JOIN src_{parent} p ON c.{col} = p.{pcol} "
            "ORDER BY c._row LIMIT 1"
        ).collect()
        if orphan:
            row = _row_number(ds.frames[f"src_{child}"], orphan[0][0])
            raise orphan_error(_base_name(files[child]), row, col, orphan[0][1], _base_name(files[parent]))


# ----------------------------------------------------------------------------- flat log


# What the Spark engine reads of a log's formats (docs/your_log.md): ISO timestamps or a given
# --date-format, plain numbers (1234.56), CSV and Parquet. It does not detect date formats, nor
# read thousands separators, decimal commas, currency signs or .xlsx: those stop with one line
# that says so. (To do: run custseg.engines.duckdb.formats' candidate counts in Spark SQL.)
SPARK_FORMATS_HINT = ("the Spark engine reads ISO timestamps (or a given --date-format) and plain numbers like 1234.56; "
                      "for other formats use --engine duckdb")


def load_flat(ds: SparkDataset, path: str, mapping: ColumnMapping, paths: _Paths) -> SparkDataset:
    """Spark's :func:`custseg.engines.duckdb.flat.load_flat`: orders and order lines from a flat log,
    with the mapping's columns, checks and log_lines query."""
    spark = ds.spark
    name = _base_name(path)
    if mapping.decimal != ".":
        raise InputError(f"--decimal {mapping.decimal}: the Spark engine reads amounts with a decimal point only; use --engine duckdb")
    raw = _read_raw(spark, paths, path)
    mapping.check_header(name, [c for c in raw.columns if c != "_row"])
    columns, rename = mapping.source_columns()
    load_table(ds, path, "src_log", columns, paths=paths, rename=rename, date_format=mapping.date_format, cast_hint=SPARK_FORMATS_HINT)
    log = ds.frames["src_log"]
    for role, col in mapping.roles_and_attributes():
        if rename.get(col) != role:
            log = log.withColumn(role, log[rename[col]].cast("string"))
    no_customer_rows = log.where(no_customer(q)).count()
    log.createOrReplaceTempView("_custseg_log")
    lines = ds.materialise("log_lines", spark.sql(mapping.log_lines_sql("spark", "_custseg_log")))
    spark.catalog.dropTempView("_custseg_log")
    with input_errors(name, "check the file's format and encoding (UTF-8)"):
        if lines.limit(1).count() == 0:
            raise InputError(f"{name}: no row has a customer (column {mapping.columns['customer']!r}); nothing to analyse")
        _validate_lines(ds, name, mapping)
    orders = spark.sql(
        """
        SELECT order_id, first(customer_id) AS customer_id,
               coalesce(min_by(status, CASE WHEN status IS NOT NULL THEN _row END),
                        CASE WHEN bool_or(is_canceled) THEN 'Canceled' ELSE 'Completed' END) AS order_status,
               bool_or(is_canceled) AS is_canceled,
               min(ts) AS purchase_ts,
               CAST(NULL AS TIMESTAMP) AS approved_ts, CAST(NULL AS TIMESTAMP) AS carrier_ts,
               CAST(NULL AS TIMESTAMP) AS delivered_ts, CAST(NULL AS TIMESTAMP) AS estimated_ts,
               min_by(city, CASE WHEN city IS NOT NULL THEN _row END) AS customer_city,
               min_by(state, CASE WHEN state IS NOT NULL THEN _row END) AS customer_state,
               min_by(region, CASE WHEN region IS NOT NULL THEN _row END) AS customer_region,
               min_by(country, CASE WHEN country IS NOT NULL THEN _row END) AS customer_country, min(_row) AS _row
        FROM log_lines GROUP BY order_id
        """
    )
    ds.materialise("orders", orders)
    ds.materialise("order_attributes", spark.sql(order_attributes_sql(mapping.attributes, lambda name: f"`{name}`")))
    ds.materialise("input_customers", spark.sql("SELECT DISTINCT customer_id FROM orders"))
    items = ds.materialise("_items_with_category", spark.sql(
        """
        SELECT order_id, CAST(row_number() OVER (PARTITION BY order_id ORDER BY _row) AS BIGINT) AS item_no,
               coalesce(product_id, concat('line-', CAST(_row AS STRING))) AS product_id,
               CAST(NULL AS STRING) AS seller_id, amount AS price,
               CAST(NULL AS DECIMAL(18,4)) AS freight_value, category, _row
        FROM log_lines
        """
    ))
    ds.materialise("products", spark.sql(
        """
        SELECT product_id, min_by(category, CASE WHEN category IS NOT NULL THEN _row END) AS category,
               CAST(NULL AS DOUBLE) AS weight_g, CAST(NULL AS DOUBLE) AS length_cm,
               CAST(NULL AS DOUBLE) AS height_cm, CAST(NULL AS DOUBLE) AS width_cm
        FROM _items_with_category GROUP BY product_id
        """
    ))
    ds.materialise("order_items", items.select("order_id", "item_no", "product_id", "seller_id", "price", "freight_value"))
    ds.materialise("payments", spark.createDataFrame([], "order_id STRING, payment_sequential BIGINT, payment_type STRING, payment_installments BIGINT, payment_value DECIMAL(18,4)"))
    ds.materialise("reviews", spark.createDataFrame([], "review_id STRING, order_id STRING, review_score BIGINT, review_created_ts TIMESTAMP"))
    ds.materialise("category_translation", spark.createDataFrame([], "category STRING, category_english STRING"))
    ds.drop("_items_with_category", "log_lines", "src_log")
    ds.kind, ds.capabilities, ds.purchase_rule = "flat", mapping.capabilities(), "not_canceled"
    ds.attributes, ds.currency = tuple(mapping.attributes), mapping.currency
    ds.excluded = {"no customer id": int(no_customer_rows)} if no_customer_rows else {}
    return ds


def _validate_lines(ds: SparkDataset, name: str, mapping: ColumnMapping) -> None:
    """The checks of :data:`custseg.sources.flat.LINE_CHECKS` in one pass, then order ownership."""
    spark = ds.spark
    lines = ds.frames["log_lines"]
    source = ds.frames["src_log"]
    first = spark.sql(
        "SELECT " + ", ".join(f"min(CASE WHEN {condition} THEN _row END) AS c{i}" for i, (_, condition) in enumerate(LINE_CHECKS))
        + " FROM log_lines"
    ).collect()[0]
    for i, (check, _) in enumerate(LINE_CHECKS):
        row = first[f"c{i}"]
        if row is not None:
            amount = lines.where(f"_row = {int(row)}").select("amount").collect()[0][0]
            raise mapping.line_error(name, check, _row_number(source, row), amount)
    clash = spark.sql(ORDER_CLASH_SQL).collect()
    if clash:
        raise order_clash_error(name, clash[0]["order_id"], _row_number(source, clash[0]["first_row"]), _row_number(source, clash[0]["last_row"]))


# ----------------------------------------------------------------------------- entry point


def load_spark(path, *, spark, preset: str | None = None, mapping: str | ColumnMapping | None = None,
               date_format: str | None = None, decimal: str | None = None, sheet: str | None = None,
               dimensions: dict[str, str] | None = None) -> SparkDataset:
    """Load an Olist folder, or a flat log with a preset or a column mapping (and the user's
    attributes, ``dimensions``), into `spark` (`date_format`, `decimal`: see SPARK_FORMATS_HINT;
    .xlsx is not read on Spark)."""
    path = str(path)
    if is_xlsx(path) or sheet is not None:
        raise InputError(f"{_base_name(path)}: the Spark engine does not read Excel workbooks; save the sheet as CSV or Parquet, or use --engine duckdb")
    paths = _Paths(spark)
    if not paths.exists(path):
        if catalog_name(path) is not None:
            raise InputError(f"--table {catalog_name(path)}: no such table or database in the Spark catalog; "
                             "check the name (spark.catalog.listTables('db') lists them)")
        raise no_such_path_error(path)
    ds = SparkDataset(spark=spark, kind="", source=path)
    try:
        with input_errors(_base_name(path), "check the files' format and encoding (UTF-8)"):
            return _load(ds, path, paths, preset, mapping, date_format, decimal, dimensions)
    except BaseException:
        ds.release()
        raise


def _load(ds: SparkDataset, path: str, paths: _Paths, preset, mapping, date_format=None, decimal=None, dimensions=None) -> SparkDataset:
    """Which source `path` is, and its loader."""
    olist_folder = (paths.is_dir(path) or paths.is_database(path)) and find_file(paths, path, SCHEMA["orders"]["file"]) is not None
    if olist_folder:
        if preset or mapping or date_format or decimal or dimensions:
            raise InputError(f"{path}: is an Olist folder; --preset, --map, --date-format, --decimal and --dimension describe a single transaction-log file")
        return load_olist(ds, path, paths)
    if paths.is_dir(path) and not _is_parquet(paths, path) and not preset and not mapping:
        raise not_olist_error(path)
    mapping = ColumnMapping.resolve(_base_name(path), preset, mapping, date_format, decimal).with_attributes(dimensions)
    contacts = [r for r in mapping.contact_roles if r != "country"]  # country is a place role too
    if contacts:
        raise InputError(f"--map {contacts[0]}=...: the Spark engine does not read contact columns (they go into the audience files); "
                         "leave them out of --map, or use --engine duckdb")
    return load_flat(ds, path, mapping, paths)
