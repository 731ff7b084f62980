"""Counting text columns that may be pandas ``category`` columns (the customer table's segments
and dimensions are, see :func:`custseg.engines.duckdb.connection.arrow_to_pandas`) as if they were plain text."""

from __future__ import annotations

import numpy as np
import pandas as pd


def plain_index(index: pd.Index) -> pd.Index:
    """A CategoricalIndex as an Index of its values' own dtype (so a new label, e.g. "Other", fits)."""
    if isinstance(index, pd.CategoricalIndex):
        return index.astype(index.categories.dtype)
    return index


def value_counts(values: pd.Series) -> pd.Series:
    """``values.value_counts()`` as plain text gives it, also for a categorical column.

    A categorical's own ``value_counts`` lists categories with no row, and breaks ties in category
    order; plain text lists only values that occur, ties in order of first appearance.
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values.value_counts()
    codes = values.cat.codes.to_numpy()
    codes = codes[codes >= 0]
    seen = pd.unique(codes)  # the codes in order of first appearance
    counts = np.bincount(codes, minlength=len(values.cat.categories))[seen]
    index = pd.Index(values.cat.categories.take(seen), name=values.name)
    return pd.Series(counts, index=index, name="count").sort_values(ascending=False, kind="stable")
