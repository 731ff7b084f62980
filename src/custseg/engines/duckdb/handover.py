"""The customer table handed from DuckDB to pandas at millions of customers (issue 24).

DuckDB writes the rows of ``customer_rows`` (the customer table before its ORDER BY) to a
Parquet file and closes, so its memory is back before the frame exists; pandas then puts the
rows in customer id order by their integer ``customer_key``. At 10M customers DuckDB's sort of
~50 columns took ~12 s; an argsort of the keys and a take of each column ~5 s, one column read,
converted and copied at a time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from custseg.engines.duckdb.connection import arrow_to_pandas, run_sql

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

KEY = "customer_key"


def write_tables(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    """customers (unordered rows, with their key) and excluded customers, as Parquet files."""
    run_sql(con, f"COPY customer_rows TO '{os.path.join(folder, 'customers.parquet')}' (FORMAT parquet)")
    run_sql(con, f"COPY excluded_customers TO '{os.path.join(folder, 'excluded_customers.parquet')}' (FORMAT parquet)")


def read_tables(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frames of :func:`write_tables`' files: the customers in key order, without the key
    (as the ``customers`` view gives them), text dimensions as categories.

    The customers are read one column at a time, each converted and put in order before the
    next is read: the whole file as Arrow was ~8 GB at 10M customers, as much again as the frame.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    customers = pq.ParquetFile(os.path.join(folder, "customers.parquet"))
    order = np.argsort(customers.read(columns=[KEY]).column(0).to_numpy(), kind="stable")
    columns = {}
    for name in customers.schema_arrow.names:
        if name != KEY:
            column = arrow_to_pandas(customers.read(columns=[name]), categorical_text=True)[name]
            columns[name] = column.take(order).reset_index(drop=True)
            del column
    excluded = arrow_to_pandas(pq.read_table(os.path.join(folder, "excluded_customers.parquet")))
    return pd.DataFrame(columns, copy=False), excluded

