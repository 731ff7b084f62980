"""The customer table handed from DuckDB to pandas at millions of customers (issue 24).

DuckDB writes the tables the ``customers`` view joins (10_customers.sql), each as it stands, to
Parquet files, and closes, so its memory is back before the frame exists; pandas then joins them
by their integer ``customer_key`` and puts the rows in customer id order (the key's order). At
10M customers DuckDB's sort of ~50 columns took ~12 s and its joins ~5 s; placing the keys and a
take of each column ~5 s, a column (two at once) read, converted and copied at a time.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from custseg.dialect import sql_macros
from custseg.engines.duckdb.connection import arrow_to_pandas, run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

KEY = "customer_key"

#: The ``customers`` view's tables, as it joins them: the first gives the rows; a table joined
#: inner has every one of them (checked), a left-joined one gives NULLs where it has none.
PARTS = (("customer_segmented", "inner"), ("customer_keys", "inner"), ("customer_dimensions", "inner"),
         ("customer_rfm", "left"))


def write_tables(con: duckdb.DuckDBPyConnection, folder: str) -> list[str]:
    """Each of :data:`PARTS` (its key and the columns the customer table shows) and the excluded
    customers as Parquet files; returns the customer table's columns, in order.
    Uncompressed: the files are read once, from the temporary folder (at 10M customers 1.2 GB
    instead of 0.9, written and read ~2 s faster)."""
    columns, quote = con.table("customers").columns, sql_macros("duckdb")["quote"]
    for table, _ in PARTS:
        select = ", ".join(quote(c) for c in con.table(table).columns if c == KEY or c in columns)
        run_sql(con, f"COPY (SELECT {select} FROM {table}) TO '{os.path.join(folder, table + '.parquet')}' "
                     "(FORMAT parquet, COMPRESSION uncompressed)")
    run_sql(con, f"COPY excluded_customers TO '{os.path.join(folder, 'excluded_customers.parquet')}' (FORMAT parquet)")
    return columns


def dictionary_text(parquet) -> list[str]:
    """The text columns DuckDB wrote dictionary-encoded in every row group (the segments and
    dimensions, not the customer id): read as such, a column of 10M rows becomes a category
    without its text being decoded and hashed again (issue 24: ~0.4 s a column at 10M customers)."""
    import pyarrow as pa

    metadata, schema = parquet.metadata, parquet.schema_arrow
    return [name for j, name in enumerate(schema.names)
            if pa.types.is_string(schema.field(j).type) and metadata.num_row_groups
            and all(metadata.row_group(i).column(j).has_dictionary_page for i in range(metadata.num_row_groups))]


def key_order(keys: np.ndarray) -> np.ndarray:
    """The positions that put rows in the order of their keys: ``np.argsort(keys)``, in linear
    time, for unique non-negative integers (customer_key numbers the input's customers 1..N)."""
    present = np.zeros(int(keys.max(initial=0)) + 1, dtype=bool)
    present[keys] = True
    if np.count_nonzero(present) != len(keys):
        raise RuntimeError(f"{KEY} is not unique in the handed-over customer table")
    order = np.empty(len(keys), dtype=np.intp)
    order[(np.cumsum(present) - 1)[keys]] = np.arange(len(keys))
    return order


def positions(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """For each of ``wanted`` (unique keys), the position of its row among ``keys``, or -1."""
    where = np.full(int(max(keys.max(initial=0), wanted.max(initial=0))) + 1, -1, dtype=np.intp)
    where[keys] = np.arange(len(keys))
    return where[wanted]


#: Columns read, converted and put in order at once: two cores, two columns (7 s instead of 13 s
#: at 10M customers); each reader opens its file itself (a ParquetFile is not shared by threads).
READERS = 2


def read_tables(folder: str, columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames of :func:`write_tables`' files: the customer table's ``columns``, its rows in
    key order (as the ``customers`` view gives them), text dimensions as categories.

    Read a column at a time, each taken into place, converted and copied while it alone is in
    memory as Arrow: the whole table as Arrow was ~8 GB at 10M customers, as much again as the frame.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = {table: os.path.join(folder, table + ".parquet") for table, _ in PARTS}
    described = {table: pq.ParquetFile(path) for table, path in paths.items()}
    dictionaries = {table: dictionary_text(parquet) for table, parquet in described.items()}
    readers = threading.local()

    def read(table: str, names: list[str]) -> pa.Table:
        if not hasattr(readers, "files"):
            readers.files = {}
        if table not in readers.files:
            readers.files[table] = pq.ParquetFile(paths[table], read_dictionary=dictionaries[table])
        return readers.files[table].read(columns=names, use_threads=False)

    (rows, _), *joined = PARTS
    keys = read(rows, [KEY]).column(0).to_numpy()
    order = key_order(keys)
    takes = {rows: pa.array(order)}
    for table, how in joined:
        at = positions(read(table, [KEY]).column(0).to_numpy(), keys[order])
        if how == "inner" and (at < 0).any():
            raise RuntimeError(f"{table} lacks customers of {rows} in the handed-over customer table")
        takes[table] = pa.array(at, mask=at < 0)  # no row: NULL, as the view's LEFT JOIN
    source = {name: table for table, _ in PARTS for name in described[table].schema_arrow.names if name != KEY}

    def column(name: str) -> pd.Series:
        part = read(source[name], [name])
        return arrow_to_pandas(part.take(takes[source[name]]), categorical_text=True)[name]

    with ThreadPoolExecutor(READERS, thread_name_prefix="custseg-handover") as pool:
        frame = dict(zip(columns, pool.map(column, columns)))
    excluded = arrow_to_pandas(pq.read_table(os.path.join(folder, "excluded_customers.parquet")))
    # Arrow's allocator keeps the freed read buffers for reuse that does not come: ~0.5 GB at 10M customers
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(frame, copy=False), excluded
