"""Sources: turn a user's order data into the canonical tables (see :mod:`custseg.sources.dataset`).

Two adapters: an Olist folder (the Kaggle release's 9 CSV files) and a flat transaction
log (CSV or Parquet) described by a column mapping or a preset.
"""

from __future__ import annotations

from pathlib import Path

from custseg.errors import InputError
from custseg.sources.dataset import Dataset
from custseg.sources.flat import ColumnMapping, load_flat
from custseg.sources.olist import is_olist_folder, load_olist

__all__ = ["ColumnMapping", "Dataset", "load", "load_flat", "load_olist"]


def load(path: str | Path, *, preset: str | None = None, mapping: str | ColumnMapping | None = None) -> Dataset:
    """Load an Olist folder, or a flat log with a preset or a column mapping."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file or folder; give an Olist folder or a transaction log (CSV/Parquet)")
    if path.is_dir():
        if preset or mapping:
            raise InputError(f"{path}: is a folder; --preset and --map describe a single transaction-log file")
        if not is_olist_folder(path):
            raise InputError(f"{path}: no olist_orders_dataset.csv(.gz) in this folder; is it the Olist download?")
        return load_olist(path)
    if preset and mapping:
        raise InputError("give either --preset or --map, not both")
    if preset:
        return load_flat(path, ColumnMapping.preset(preset))
    if mapping is None:
        raise InputError(f"{path.name}: a transaction log needs --preset NAME or --map customer=COL,order=COL,timestamp=COL,amount=COL")
    if isinstance(mapping, str):
        mapping = ColumnMapping.parse(mapping)
    return load_flat(path, mapping)
