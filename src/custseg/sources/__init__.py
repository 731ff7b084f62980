"""Sources: what a user's order data is and how it becomes the canonical tables (see
:mod:`custseg.sources.dataset`), whichever engine reads it.

Two adapters: an Olist folder (the Kaggle release's 9 CSV files: :mod:`.olist`) and a flat
transaction log (CSV, Parquet or .xlsx) described by a column mapping or a preset (:mod:`.flat`).
Their schemas, checks and the wording of every problem (:mod:`.checks`) are shared by the engines'
readers (:func:`custseg.engines.duckdb.load`, :mod:`custseg.engines.spark.sources`).
"""

from __future__ import annotations

from custseg.errors import InputError
from custseg.sources.dataset import Dataset
from custseg.sources.flat import ColumnMapping

__all__ = ["ColumnMapping", "Dataset", "no_such_path_error"]


def no_such_path_error(path) -> InputError:
    return InputError(f"{path}: no such file or folder; give an Olist folder or a transaction log (CSV, Parquet or .xlsx)")
