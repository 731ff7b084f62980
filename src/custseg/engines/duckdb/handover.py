"""The customer table handed from DuckDB to pandas at millions of customers (issue 24).

DuckDB writes the rows of ``customer_rows`` (the customer table before its ORDER BY) to a
Parquet file and closes, so its memory is back before the frame exists; pandas then puts the
rows in customer id order by their integer ``customer_key``. At 10M customers DuckDB's sort of
~50 columns took ~12 s; placing the keys and a take of each column ~5 s, a column (two at once)
read, converted and copied at a time.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from custseg.engines.duckdb.connection import arrow_to_pandas, run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

KEY = "customer_key"


def write_tables(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    """customers (unordered rows, with their key) and excluded customers, as Parquet files.
    Uncompressed: the files are read once, from the temporary folder (at 10M customers 1.2 GB
    instead of 0.9, written and read ~2 s faster)."""
    run_sql(con, f"COPY customer_rows TO '{os.path.join(folder, 'customers.parquet')}' (FORMAT parquet, COMPRESSION uncompressed)")
    run_sql(con, f"COPY excluded_customers TO '{os.path.join(folder, 'excluded_customers.parquet')}' (FORMAT parquet)")


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


#: Columns read, converted and put in order at once: two cores, two columns (7 s instead of 13 s
#: at 10M customers); each reader opens the file itself (a ParquetFile is not shared by threads).
READERS = 2


def read_tables(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames of :func:`write_tables`' files: the customers in key order, without the key
    (as the ``customers`` view gives them), text dimensions as categories.

    The customers are read a column at a time, each converted and put in order while it alone is
    in memory as Arrow: the whole file as Arrow was ~8 GB at 10M customers, as much again as the frame.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = os.path.join(folder, "customers.parquet")
    described = pq.ParquetFile(path)  # the schema and which columns are dictionary-encoded
    text = dictionary_text(described)
    readers = threading.local()

    def read(names: list[str]):
        if not hasattr(readers, "file"):
            readers.file = pq.ParquetFile(path, read_dictionary=text)
        return readers.file.read(columns=names, use_threads=False)

    order = key_order(read([KEY]).column(0).to_numpy())

    def column(name: str) -> pd.Series:
        return arrow_to_pandas(read([name]), categorical_text=True)[name].take(order).reset_index(drop=True)

    names = [name for name in described.schema_arrow.names if name != KEY]
    with ThreadPoolExecutor(READERS, thread_name_prefix="custseg-handover") as pool:
        columns = dict(zip(names, pool.map(column, names)))
    excluded = arrow_to_pandas(pq.read_table(os.path.join(folder, "excluded_customers.parquet")))
    # Arrow's allocator keeps the freed read buffers for reuse that does not come: ~0.5 GB at 10M customers
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(columns, copy=False), excluded
