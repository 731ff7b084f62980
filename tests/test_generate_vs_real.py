"""Generated Olist data at Olist scale against the REAL Olist tables bundled in custseg/data/olist.

Both sides are computed at test time by custseg.generate.compare (the real side from the bundled
tables); the only numbers written here are in compare.TOLERANCES. Generating 96,096 customers takes
~3 s and comparing ~2 s, so the test runs at full Olist scale, the scale the tolerances are sized for.
"""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from custseg.data import olist_folder
from custseg.generate import compare
from custseg.generate.olist import generate_olist

OLIST_CUSTOMERS = 96_096
SEED = 42


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("vs_real") / "olist"
    generate_olist(OLIST_CUSTOMERS, SEED, out)
    return out


@pytest.fixture(scope="module")
def table(generated) -> pd.DataFrame:
    return compare.compare_to_real(generated).set_index("statistic")


def test_every_statistic_has_a_tolerance_and_a_row(table):
    assert list(table.columns) == ["real", "generated", "tolerance", "ok"]
    assert set(table.index) == set(compare.TOLERANCES)
    assert table[["real", "generated"]].notna().all().all()


@pytest.mark.parametrize("statistic", list(compare.TOLERANCES))
def test_generated_statistic_is_within_tolerance_of_the_real_one(table, statistic):
    row = table.loc[statistic]
    kind, size = compare.TOLERANCES[statistic]
    allowed = size if kind == "abs" else size * abs(row["real"])
    assert abs(row["generated"] - row["real"]) <= allowed + 1e-12, (
        f"{statistic}: real {row['real']:.6g}, generated {row['generated']:.6g}, allowed ± {allowed:.3g}")
    assert row["ok"]


def _real(name: str, **kwargs) -> pd.DataFrame:
    data = gzip.decompress((olist_folder() / (name + ".gz")).read_bytes())
    return pd.read_csv(io.BytesIO(data), **kwargs)


def test_real_side_agrees_with_plain_pandas_on_the_bundled_tables(table):
    """The SQL of compare.py, checked on the real tables against an independent pandas computation."""
    real = table["real"]
    customers = _real(compare.CUSTOMERS)
    per_person = customers.groupby("customer_unique_id").size()
    assert real["customers with 1 order (share)"] == pytest.approx((per_person == 1).mean())
    assert real["customers with 3+ orders (share)"] == pytest.approx((per_person >= 3).mean())
    assert real["customers in SP (share)"] == pytest.approx((customers["customer_state"] == "SP").mean())

    items = _real(compare.ITEMS)
    cents = (items["price"] * 100).round() + (items["freight_value"] * 100).round()
    value = cents.groupby(items["order_id"]).sum()
    assert real["order value, price + freight (median)"] == pytest.approx(value.median() / 100)
    assert real["items per order (mean)"] == pytest.approx(items.groupby("order_id").size().mean())

    pays = _real(compare.PAYMENTS)
    paid = (pays["payment_value"] * 100).round().groupby(pays["order_id"]).sum()
    both = value.index.intersection(paid.index)
    assert real[compare.PAY_MISMATCH] == pytest.approx(((value[both] - paid[both]).abs() > 1).mean())
    card = pays[pays["payment_type"] == "credit_card"]
    assert real["credit card installments (mean)"] == pytest.approx(card["payment_installments"].mean())

    orders = _real(compare.ORDERS, parse_dates=["order_purchase_timestamp"])
    assert real["status delivered (share)"] == pytest.approx((orders["order_status"] == "delivered").mean())
    months = orders["order_purchase_timestamp"].dt.strftime("%Y-%m").value_counts().sort_index()
    assert list(compare.monthly_orders(olist_folder()).astype(int)) == list(months)


def test_real_against_itself_is_exact():
    """Every statistic of the real folder compared with itself: no gap at all."""
    stats = compare.olist_statistics(olist_folder())
    months = compare.monthly_orders(olist_folder())
    assert set(stats) == set(compare.QUERIES)
    monthly = compare.monthly_comparison(months, months)
    assert monthly[compare.MONTHLY_CORRELATION][1] == pytest.approx(1.0)
    assert monthly[compare.MONTHLY_GAP][1] == 0.0


def test_markdown_table(table):
    text = compare.table_markdown(table.reset_index())
    assert text.startswith("| statistic | real | generated | tolerance | ok |")
    assert f"{len(compare.TOLERANCES)} of {len(compare.TOLERANCES)} statistics within tolerance." in text
    assert np.all(table["ok"])
