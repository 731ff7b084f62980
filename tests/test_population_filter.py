"""Population filters: DuckDB's verdict per row equals pandas' boolean mask, NULL meaning 'not selected'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.config import Population
from custseg.pipeline.population import select_population


def _customers(n: int = 5000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    buys = pd.array(rng.integers(0, 5, n), dtype="Int64")
    buys[rng.random(n) < 0.2] = pd.NA  # never converted
    segments = pd.array(rng.choice(["Champions", "Loyal", "Lost"], n), dtype="string")
    segments[rng.random(n) < 0.1] = pd.NA
    frame = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in rng.permutation(n)], "buys_cnt": buys, "rfm_segment": segments})
    return frame.iloc[rng.permutation(n)]  # neither sorted by id nor by index


def test_filter_matches_pandas_row_by_row():
    customers = _customers()
    pop = Population(name="p", title="P", filter="buys_cnt >= 2 AND rfm_segment = 'Champions'", features=("buys_cnt",))
    selected = select_population(customers, pop)
    expected = customers[(customers["buys_cnt"] >= 2).fillna(False).astype(bool) & (customers["rfm_segment"] == "Champions").fillna(False).astype(bool)]
    assert len(expected) > 100
    pd.testing.assert_frame_equal(selected, expected)


def test_null_filter_value_selects_nobody_and_true_selects_all():
    customers = _customers(300)
    none = select_population(customers, Population(name="n", title="N", filter="NULL", features=("buys_cnt",)))
    assert len(none) == 0
    everyone = select_population(customers, Population(name="a", title="A", filter="buys_cnt IS NOT NULL OR buys_cnt IS NULL", features=("buys_cnt",)))
    pd.testing.assert_frame_equal(everyone, customers)


@pytest.mark.parametrize("sql", [
    "rfm_segment = 'Champions'", "rfm_segment <> 'Champions'", "rfm_segment = 'Not A Segment'",
    "rfm_segment IN ('Lost', 'Not A Segment')", "rfm_segment < 'Lost'", "rfm_segment LIKE 'L%'",
    "rfm_segment IS NULL", "length(rfm_segment) = 4", "lower(rfm_segment) = 'loyal'",
    "buys_cnt >= 2 AND rfm_segment = 'Champions'",
])
def test_filter_on_a_categorical_column_selects_as_on_text(sql):
    """The customer table's segments are pandas categories (DuckDB sees an ENUM): a filter selects
    the same customers as on plain text, also for a label no customer has."""
    customers = _customers()
    categorical = customers.assign(rfm_segment=customers["rfm_segment"].astype("category"))
    pop = Population(name="p", title="P", filter=sql, features=("buys_cnt",))
    expected = select_population(customers, pop)
    got = select_population(categorical, pop)
    pd.testing.assert_index_equal(got.index, expected.index)
    assert len(got) or sql in ("rfm_segment = 'Not A Segment'",)
