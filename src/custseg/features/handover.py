"""The customer table handed from DuckDB to pandas at millions of customers (issue 24).

DuckDB writes the rows of ``customer_rows`` (the customer table before its ORDER BY) to a
Parquet file and closes, so its memory is back before the frame exists; pandas then puts the
rows in customer id order by their integer ``customer_key``. At 10M customers DuckDB's sort of
~50 columns took ~12 s; an argsort of the keys and a take of each column ~5 s, one column
copied at a time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from custseg._duck import arrow_to_pandas, run_sql

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
    (as the ``customers`` view gives them), text dimensions as categories."""
    import pyarrow.parquet as pq

    rows = arrow_to_pandas(pq.read_table(os.path.join(folder, "customers.parquet")), categorical_text=True)
    excluded = arrow_to_pandas(pq.read_table(os.path.join(folder, "excluded_customers.parquet")))
    return in_key_order(rows), excluded


def in_key_order(frame: pd.DataFrame, key: str = KEY) -> pd.DataFrame:
    """``frame``'s rows sorted by the integer column ``key``, without it, with a fresh index.
    Column by column, each dropped from ``frame`` once taken: one column's copy at a time."""
    import pandas as pd

    order = np.argsort(frame.pop(key).to_numpy(), kind="stable")
    columns = {}
    for name in list(frame.columns):
        columns[name] = frame.pop(name).take(order).reset_index(drop=True)
    return pd.DataFrame(columns, copy=False)
