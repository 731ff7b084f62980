"""Small DuckDB helpers shared by the stages."""

from __future__ import annotations

import os
import tempfile

import duckdb

from custseg.machine import DUCKDB_MEMORY_VARIABLE, physical_memory

#: Share of the machine's memory DuckDB may hold before it spills to disk. The rest is for the
#: customer table in pandas, the clustering and the report (DuckDB's own default is 80 %).
MEMORY_SHARE = 0.25


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to the temporary folder beyond its share of memory.

    ``CUSTSEG_DUCKDB_MEMORY`` (e.g. ``4GB``) sets the limit explicitly (checked against the
    machine by :func:`custseg.machine.check_memory`).
    """
    # Rows come out in the order a query's ORDER BY gives, never by accident of insertion: DuckDB
    # may then load and aggregate in parallel without keeping the input's order (at 10M customers
    # the load and features took 18 s less, 163 -> 144 s; the tables are the same).
    config = {"temp_directory": os.path.join(tempfile.gettempdir(), f"custseg-duckdb-{os.getpid()}"),
              "preserve_insertion_order": False}
    limit = os.environ.get(DUCKDB_MEMORY_VARIABLE)
    if not limit:
        total = physical_memory()
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



#: A text column becomes a pandas ``category`` column (with ``categorical_text``) when it has at
#: most this many distinct values per row (an identifier has one per row) ...
CATEGORICAL_MAX_SHARE = 0.5
#: ... and fewer distinct values than this (a segment or dimension has tens to thousands; a
#: dictionary this big is closer to free text than to a segment).
CATEGORICAL_MAX_VALUES = 65_536


def to_pandas(relation: duckdb.DuckDBPyRelation, *, categorical_text: bool = False):
    """``relation.df()`` through a stream of Arrow batches: the same frame, dtypes included.

    At 10M customers DuckDB's own conversion first materialises the whole result (~6 GB beside
    the frame it builds); the Arrow stream does not, and is ~4x faster. DuckDB's dtype rules are
    kept: an integer or boolean column with NULLs becomes pandas' nullable dtype, without them
    NumPy's; DECIMAL becomes float64; a text column with only NULLs an object column of None.
    ``categorical_text``: see :func:`arrow_to_pandas`.
    """
    table = relation.arrow().read_all()
    if table.num_rows == 0:
        return relation.df()
    return arrow_to_pandas(table, categorical_text=categorical_text)


def sorted_dictionary(column):
    """A text column dictionary-encoded with its values in sorted order, or None when it has too
    many distinct values (see :data:`CATEGORICAL_MAX_SHARE`).

    Sorted, so that pandas' category order (groupby, sort) and DuckDB's ENUM order (``<``) are
    the text's own order, as they were for plain strings. A column that is already
    dictionary-encoded (read from Parquet with ``read_dictionary``) keeps its codes, put in that
    order: no text of its rows is read or hashed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        return _resorted_dictionary(column)
    head = 2 * CATEGORICAL_MAX_VALUES
    if len(column) > head and len(pc.unique(column.slice(0, head)).drop_null()) >= CATEGORICAL_MAX_VALUES:
        return None  # the first rows already hold too many values (an id): no need to hash them all
    values = pc.unique(column).drop_null()
    if _too_many(len(values), len(column)):
        return None
    values = values.take(pc.sort_indices(values))
    codes = pc.index_in(column, value_set=values)  # NULL stays NULL
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    return pa.DictionaryArray.from_arrays(codes, values)


def _too_many(n_values: int, n_rows: int) -> bool:
    """Too many distinct values for a category column (:data:`CATEGORICAL_MAX_SHARE`, :data:`CATEGORICAL_MAX_VALUES`)."""
    return n_values > CATEGORICAL_MAX_SHARE * n_rows or n_values >= CATEGORICAL_MAX_VALUES


def _resorted_dictionary(column):
    """:func:`sorted_dictionary` of a dictionary-encoded column: its dictionary's values that rows
    use, sorted, and each row's code moved to its value's place."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.unify_dictionaries()
        dictionary = column.chunk(0).dictionary if column.num_chunks else pa.array([], pa.string())
        indices = pa.chunked_array([chunk.indices for chunk in column.chunks], type=column.type.index_type).combine_chunks()
    else:
        dictionary, indices = column.dictionary, column.indices
    used = np.bincount(indices.drop_null().to_numpy(), minlength=len(dictionary)) > 0
    values = dictionary.filter(pa.array(used))
    if _too_many(len(values), len(indices)):
        return None
    order = pc.sort_indices(values).to_numpy()
    place = np.full(len(dictionary), -1, dtype=np.int32)  # a used value's place among the sorted ones
    place[np.flatnonzero(used)[order]] = np.arange(len(order), dtype=np.int32)
    return pa.DictionaryArray.from_arrays(pc.take(pa.array(place), indices), values.take(pa.array(order)))


def arrow_to_pandas(table, *, categorical_text: bool = False):
    """An Arrow table (from DuckDB, directly or through Parquet) as DuckDB's ``.df()`` would give it.

    With ``categorical_text`` a text column with few distinct values (:func:`sorted_dictionary`)
    becomes a pandas ``category`` column instead: the same values in 1-2 bytes a row instead of
    ~20 (the customer table at 1M customers: 297 instead of 569 MiB). A unique column (the
    customer id) stays text.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    columns, all_null_text = [], []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_decimal(field.type):
            column = pc.cast(column, pa.float64())
        # text, plain or dictionary-encoded (as handover.read_tables reads it from Parquet)
        dictionary = pa.types.is_dictionary(field.type)
        if dictionary or pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            encoded = sorted_dictionary(column) if categorical_text and column.null_count < len(column) else None
            if column.null_count == len(column):
                all_null_text.append(field.name)
            elif encoded is not None:
                column = encoded
            elif dictionary:
                column = column.cast(field.type.value_type)
        columns.append(column)
    table = pa.Table.from_arrays(columns, names=table.column_names)
    nullable = {
        pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype(),
    }
    plain = [f.name for f, c in zip(table.schema, table.columns) if f.type in nullable and c.null_count == 0]
    frame = table.to_pandas(types_mapper=nullable.get, split_blocks=True, self_destruct=True)
    del table, columns
    for name in plain:
        frame[name] = frame[name].to_numpy(dtype=frame[name].dtype.numpy_dtype)
    for name in all_null_text:
        frame[name] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame
