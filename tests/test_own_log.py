"""A shop's own log: metrics the data cannot support are absent, places and the user's own
customer attributes are compared with the clusters.

Two hand-made logs in the Online Retail column layout (so tests/reference_pandas.py computes
their customer table independently): one without a product column, one with a state and two
attributes of the user's (a segment such as Consumer / Corporate, and a channel).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.engines.duckdb.features import build_customer_table
from custseg.engines.duckdb import load
from tests.reference_pandas import reference_customers
from tests.test_features_vs_pandas import FLAT_COLUMNS, assert_same_table

PRODUCT_COLUMNS = {"avg_products_cnt", "avg_unique_products_cnt", "products_cnt_segment"}
BASE_MAP = "customer=CustomerID,order=InvoiceNo,timestamp=InvoiceDate,quantity=Quantity,unit_price=UnitPrice,country=Country"
STATES = ["California", "Texas", "New York", "Florida", "Washington", "Ohio"]
SEGMENTS = ["Consumer", "Corporate", "Home Office"]


def write_log(path: Path, *, customers: int = 400, seed: int = 3) -> pd.DataFrame:
    """Invoice lines of `customers` people over two years: 1-6 orders each, 1-3 lines an order;
    most customers keep one segment and channel, some change (their most frequent value wins)."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2023-01-01")
    for c in range(customers):
        home_state, home_segment = rng.choice(STATES), rng.choice(SEGMENTS, p=[0.5, 0.3, 0.2])
        home_channel = rng.choice(["Web", "Store"])
        for o in range(int(rng.choice([1, 1, 1, 2, 2, 3, 4, 6]))):
            when = start + pd.Timedelta(minutes=int(rng.integers(0, 730 * 24 * 60)))
            segment = home_segment if rng.random() < 0.85 else rng.choice(SEGMENTS)
            channel = home_channel if rng.random() < 0.9 else rng.choice(["Web", "Store"])
            invoice = f"{c:04d}{o:02d}"
            for line in range(int(rng.integers(1, 4))):
                rows.append({
                    "InvoiceNo": invoice, "StockCode": f"P{int(rng.integers(0, 40)):03d}",
                    "Quantity": int(rng.integers(1, 6)), "InvoiceDate": when.strftime("%Y-%m-%d %H:%M:%S"),
                    "UnitPrice": f"{rng.lognormal(2.5, 0.8):.2f}", "CustomerID": f"C{c:04d}",
                    "Country": "United States" if c % 7 else "Canada", "State": home_state,
                    "Segment": segment, "Channel": channel,
                })
    log = pd.DataFrame(rows)
    log.to_csv(path, index=False)
    return log


@pytest.fixture(scope="module")
def log(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("log") / "shop.csv"
    return path, write_log(path)


def most_frequent_per_customer(log: pd.DataFrame, column: str) -> pd.Series:
    """Each customer's most frequent value over their orders (an order's value: its first line's),
    ties by name: written from the rule, not from custseg's SQL."""
    orders = log.groupby("InvoiceNo", sort=False).agg(customer=("CustomerID", "first"), value=(column, "first"))
    counts = orders.groupby(["customer", "value"]).size().rename("n").reset_index()
    counts = counts.sort_values(["customer", "n", "value"], ascending=[True, False, True])
    return counts.drop_duplicates("customer").set_index("customer")["value"]


def test_log_without_products_has_no_product_metric(log):
    path, frame = log
    ours = build_customer_table(load(path, mapping=BASE_MAP))
    reference = reference_customers("flat", frame.drop(columns=["StockCode"]))
    expected = [c for c in FLAT_COLUMNS if c not in PRODUCT_COLUMNS]
    assert_same_table(ours, reference, expected)
    assert not PRODUCT_COLUMNS & set(ours.columns)


def test_places_and_attributes_equal_an_independent_computation(log):
    path, frame = log
    dataset = load(path, mapping=BASE_MAP + ",product=StockCode,state=State", dimensions={"segment": "Segment", "channel": "Channel"})
    ours = build_customer_table(dataset).set_index("customer_id")
    reference = reference_customers("flat", frame).set_index("customer_id")
    assert_same_table(ours.drop(columns=["segment", "channel", "customer_state"]).reset_index(), reference.reset_index(), FLAT_COLUMNS)
    for name, column in (("segment", "Segment"), ("channel", "Channel")):
        expected = most_frequent_per_customer(frame, column)
        pd.testing.assert_series_equal(ours[name].astype(str), expected.reindex(ours.index).astype(str), check_names=False)
    # the state on the latest order (every customer here has one state)
    assert (ours["customer_state"].astype(str) == frame.groupby("CustomerID")["State"].last().reindex(ours.index)).all()
    assert set(ours["customer_state"].astype(str)) == set(STATES)  # as written: not upper-cased


@pytest.fixture(scope="module")
def runs(log, tmp_path_factory):
    """`custseg run` on the log without products, and with a state and two attributes."""
    from custseg.cli import main
    import sys

    path, _ = log
    out = tmp_path_factory.mktemp("runs")
    results = {}
    for name, extra in (("no_products", []),
                        ("attributes", ["--map", BASE_MAP + ",product=StockCode,state=State", "--dimension", "segment=Segment",
                                        "--dimension", "channel=Channel"])):
        args = ["run", "--data", str(path), "--out", str(out / name), "--no-slides", "--quiet"]
        args += extra or ["--map", BASE_MAP]
        argv, sys.argv = sys.argv, ["custseg", *args]
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
        finally:
            sys.argv = argv
        results[name] = out / name
    return results


def _report_text(folder: Path) -> str:
    html = (folder / "report.html").read_text()
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_run_without_products_never_mentions_them_and_says_so_once(runs, capsys):
    folder = runs["no_products"]
    summary = json.loads((folder / "summary.json").read_text())
    for pop in summary["populations"].values():
        assert pop["features"] and set(pop["features"]) <= {"recency", "frequency", "monetary"}
    customers = pd.read_csv(folder / "customers.csv", nrows=5)
    assert not PRODUCT_COLUMNS & set(customers.columns)
    clusters = pd.read_csv(folder / "clusters.csv")
    assert not clusters["cluster_name"].str.contains("product", case=False).any()
    said = [w for w in summary["warnings"] if "avg_unique_products_cnt" in w]
    assert said == ["feature 'avg_unique_products_cnt' left out of the clustering (All Customers, Customers with Multiple Purchases): "
                    "it needs product ids (map a product column: product=COL), which this data does not have"]
    text = _report_text(folder)
    assert text.count("avg_unique_products_cnt") == 1  # the one warning line
    assert "Avg Unique Products" not in text and "Products Count" not in text


def test_run_with_state_and_attributes_compares_them(runs):
    text = _report_text(runs["attributes"])
    for label in ("State", "Segment", "Channel", "Country"):
        assert f"All Customers: clusters by {label}" in text, label
    # a dimension of one value compares nothing: Olist's general categories are not made up for a log
    assert "General Product Categories" not in text


@pytest.mark.parametrize("source", ["online_retail", "log without products", "olist fixture"])
def test_requirements_name_exactly_the_columns_a_source_lacks(source, log, tmp_path):
    """requirements.toml is data the analysis trusts: a column it lists is in the customer table
    exactly when the source has the capability it names."""
    import tomllib

    from custseg.data import online_retail_file
    from tests.olist_fixture import write_olist_fixture

    if source == "online_retail":
        dataset = load(online_retail_file(), preset="online_retail")
    elif source == "log without products":
        dataset = load(log[0], mapping=BASE_MAP)
    else:
        dataset = load(write_olist_fixture(tmp_path))
    columns = set(build_customer_table(dataset).columns)
    needs = tomllib.loads((Path(__file__).resolve().parents[1] / "src/custseg/features/requirements.toml").read_text())["columns"]
    wrong = {c: cap for c, cap in needs.items() if (c in columns) != dataset.has(cap)}
    assert not wrong, wrong
