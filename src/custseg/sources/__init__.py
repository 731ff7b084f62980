"""Sources: turn a user's order data into the canonical tables (see :mod:`custseg.sources.dataset`).

Two adapters: an Olist folder (the Kaggle release's 9 CSV files) and a flat transaction
log (CSV, Parquet or .xlsx) described by a column mapping or a preset.
"""

from __future__ import annotations

from pathlib import Path

from custseg.errors import InputError
from custseg.sources.dataset import Dataset
from custseg.sources.flat import ColumnMapping, load_flat
from custseg.sources.olist import is_olist_folder, load_olist, not_olist_error

__all__ = ["ColumnMapping", "Dataset", "load", "load_flat", "load_olist"]


def load(path: str | Path, *, preset: str | None = None, mapping: str | ColumnMapping | None = None,
         date_format: str | None = None, decimal: str | None = None, sheet: str | None = None,
         dimensions: dict[str, str] | None = None) -> Dataset:
    """Load an Olist folder, or a flat log with a preset or a column mapping.

    For a log: `date_format` (strptime, e.g. ``%d/%m/%Y``; default: detected), `decimal` ("." or
    ","; default the mapping's, "."), `sheet` of an .xlsx workbook (default: the first), and
    `dimensions`, the user's own customer attributes, name -> column (``--dimension``)."""
    path = Path(path)
    if not path.exists():
        raise no_such_path_error(path)
    if path.is_dir():
        if preset or mapping or date_format or decimal or sheet or dimensions:
            raise InputError(f"{path}: is a folder; --preset, --map, --date-format, --decimal, --sheet and --dimension describe a single transaction-log file")
        if not is_olist_folder(path):
            raise not_olist_error(path)
        return load_olist(path)
    mapping = ColumnMapping.resolve(path.name, preset, mapping, date_format, decimal).with_attributes(dimensions)
    return load_flat(path, mapping, sheet=sheet)


def no_such_path_error(path) -> InputError:
    return InputError(f"{path}: no such file or folder; give an Olist folder or a transaction log (CSV, Parquet or .xlsx)")
