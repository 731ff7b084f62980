"""``--as-of DATE``: every metric as if the data ended that day.

The as-of run is checked against an independent route: the input cut by hand with pandas at the
end of the day and run without --as-of. Every customer column must be equal, except what
differs by definition: recency (the cut data's "now" is its latest purchase; the as-of "now" is
the end of the day) and what is ranked on it (recency_score, rfm_score, rfm_segment); recency
itself is checked against the calendar days from the last purchase to the day, counted in pandas.
Without --as-of the outputs are those of commit ce8512b, before the option existed.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.data import olist_folder
from tests.conftest import ONLINE_RETAIL
from tests.test_bad_input import assert_rejected

BY_DEFINITION = {"recency", "recency_score", "rfm_score", "rfm_segment"}
BEFORE = json.loads((Path(__file__).parent / "data" / "before_as_of_online_retail.json").read_text(encoding="utf-8"))


def end_of(day: str) -> pd.Timestamp:
    return pd.Timestamp(day) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def read_customers(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=True).sort_values("customer_id").reset_index(drop=True)


def assert_same_customers(as_of: pd.DataFrame, cut: pd.DataFrame, day: str) -> None:
    assert list(as_of["customer_id"]) == list(cut["customer_id"])
    assert list(as_of.columns) == list(cut.columns)
    compared = [c for c in cut.columns if c not in BY_DEFINITION]
    assert len(compared) > 20
    pd.testing.assert_frame_equal(as_of[compared], cut[compared], check_exact=False, rtol=1e-12)
    # recency: whole calendar days from the last purchase's day to the as-of day
    bought = as_of["last_purchase_ts"].notna()
    expected = (pd.Timestamp(day) - pd.to_datetime(as_of.loc[bought, "last_purchase_ts"]).dt.normalize()).dt.days
    np.testing.assert_array_equal(as_of.loc[bought, "recency"].to_numpy(), expected.to_numpy())
    assert as_of.loc[~bought, "recency"].isna().all()


def test_online_retail_as_of_equals_the_log_cut_by_hand(run_cli, tmp_path):
    day = "2011-06-30"
    log = pd.read_csv(ONLINE_RETAIL, dtype=str, keep_default_na=False, encoding="utf-8")
    kept = log[pd.to_datetime(log["InvoiceDate"]) <= end_of(day)]
    assert 0 < len(kept) < len(log)
    cut = tmp_path / "cut.csv"
    kept.to_csv(cut, index=False)
    a, b = tmp_path / "as_of", tmp_path / "cut"
    assert run_cli("features", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--as-of", day, "--out", a).exit_code == 0
    assert run_cli("features", "--data", cut, "--preset", "online_retail", "--out", b).exit_code == 0
    as_of, by_hand = read_customers(a / "customers.csv"), read_customers(b / "customers.csv")
    assert_same_customers(as_of, by_hand, day)
    assert pd.to_datetime(as_of["last_purchase_ts"]).max() <= end_of(day)


def test_olist_as_of_equals_the_orders_cut_by_hand(tmp_path):
    """The real Olist data: orders purchased after the day's end removed (with their items,
    payments and reviews); an order without a purchase time stays, as the window keeps it."""
    from custseg.engines.duckdb.features import build_customer_table
    from custseg.features import FeatureParams
    from custseg.engines.duckdb import load

    day = "2017-09-01"
    folder = tmp_path / "olist"
    folder.mkdir()
    source = olist_folder()
    orders = pd.read_csv(source / "olist_orders_dataset.csv.gz", dtype=str, keep_default_na=False)
    ts = pd.to_datetime(orders["order_purchase_timestamp"].replace("", None))
    orders = orders[ts.isna() | (ts <= end_of(day))]
    orders.to_csv(folder / "olist_orders_dataset.csv", index=False)
    kept = set(orders["order_id"])
    for f in source.iterdir():
        if f.name.startswith("olist_orders_dataset"):
            continue
        if f.name.startswith(("olist_order_items", "olist_order_payments", "olist_order_reviews_dataset")):
            table = pd.read_csv(f, dtype=str, keep_default_na=False)
            table[table["order_id"].isin(kept)].to_csv(folder / f.name.removesuffix(".gz"), index=False)
        else:
            (folder / f.name).write_bytes(f.read_bytes())

    def table(path, params):
        dataset = load(path)
        customers = build_customer_table(dataset, FeatureParams.for_dataset(dataset, **params))
        excluded = dataset.con.table("excluded_customers").df()
        return customers.sort_values("customer_id").reset_index(drop=True), excluded

    as_of, as_of_excluded = table(source, {"as_of": day})
    by_hand, cut_excluded = table(folder, {})
    assert len(as_of) > 20_000
    assert_same_customers(as_of, by_hand, day)
    # who is left out is the same people; the reason names the as-of date
    assert set(as_of_excluded["customer_id"]) == set(cut_excluded["customer_id"])
    later = as_of_excluded["reason"].str.contains(f"after the as-of date {day}")
    assert later.sum() > 50_000


def test_without_as_of_the_outputs_are_those_before_the_option(run_cli, tmp_path):
    out = tmp_path / "out"
    result = run_cli("run", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--no-slides", "--quiet", "--out", out)
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(open(out / "customers.csv", newline="", encoding="utf-8")))
    assert len(rows) - 1 == BEFORE["rows"]
    header = rows[0]
    for name, digest in BEFORE["customers_csv_columns"].items():
        i = header.index(name)
        assert hashlib.sha256("\n".join(r[i] for r in rows[1:]).encode("utf-8")).hexdigest() == digest, name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert_contains(summary, BEFORE["summary_json"])
    assert "as_of" not in summary


def assert_contains(actual, expected, where="summary.json") -> None:
    """Every key of ``expected`` is in ``actual`` with the same value (keys added later are allowed;
    floats to 1e-12: the summary's sums may be added up in another order)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}: {key} missing"
            assert_contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (got, value) in enumerate(zip(actual, expected)):
            assert_contains(got, value, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12, abs=1e-12), where
    else:
        assert actual == expected, where


def test_as_of_is_in_the_summary_and_the_config(tmp_path):
    from custseg.api import run

    config = tmp_path / "c.toml"
    config.write_text("[features]\nas_of = 2011-06-30\n", encoding="utf-8")  # a TOML date
    result = run(ONLINE_RETAIL, preset="online_retail", config=config, report=False)
    assert result.summary["as_of"] == "2011-06-30"
    assert pd.to_datetime(result.customers["last_purchase_ts"]).max() <= end_of("2011-06-30")
    # the value models' customer age T counts to the as-of day's end too, not to the last purchase
    assert pd.Timestamp(result.summary["value"]["end_of_data"]) == end_of("2011-06-30")
    overridden = run(ONLINE_RETAIL, preset="online_retail", config=config, report=False, as_of="2011-03-31")
    assert overridden.summary["as_of"] == "2011-03-31"
    assert overridden.summary["customers"] < result.summary["customers"]


@pytest.mark.parametrize("day, fragments", [
    ("2010-11-30", ("as-of date 2010-11-30 is before the first order", "2010-12-01 to 2011-12-09")),
    ("2011-12-10", ("as-of date 2011-12-10 is after the last order", "2010-12-01 to 2011-12-09")),
    ("2011-02-30", ("--as-of '2011-02-30': not a date", "YYYY-MM-DD")),
    ("31/12/2011", ("--as-of '31/12/2011': not a date",)),
])
def test_bad_as_of_dates_are_one_line(run_cli, tmp_path, day, fragments):
    for command in (("run", "--quiet"), ("features",)):  # (run's progress lines are not errors: --quiet)
        out = tmp_path / command[0]
        assert_rejected(run_cli(*command, "--data", ONLINE_RETAIL, "--preset", "online_retail", "--as-of", day, "--out", out), out, *fragments)


def test_as_of_outside_the_olist_window_is_one_line(run_cli, tmp_path):
    """Olist's raw orders reach 2018-10-17, but the analysis window ends on 2018-08-31."""
    out = tmp_path / "out"
    assert_rejected(run_cli("features", "--data", olist_folder(), "--as-of", "2018-09-15", "--out", out), out,
                    "after the last order in the analysis window", "2017-01-05 to 2018-08-31")


def test_bad_as_of_in_a_config_is_one_line(run_cli, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[features]\nas_of = "2011-6-30"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert_rejected(run_cli("run", "--quiet", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--config", config, "--out", out),
                    out, "c.toml [features] as_of", "not a date")


def test_the_reference_instant_is_one_value_in_sql_and_python():
    """analysis_reference (SQL) and reference_of (a customer table and its as-of date) agree."""
    from custseg.features import FeatureParams
    from custseg.engines.duckdb.features import build_customer_table, reference_time
    from custseg.features.as_of import reference_of
    from custseg.engines.duckdb import load

    for as_of in (None, "2011-06-30"):
        dataset = load(ONLINE_RETAIL, preset="online_retail")
        customers = build_customer_table(dataset, FeatureParams.for_dataset(dataset, as_of=as_of))
        assert pd.Timestamp(reference_time(dataset.con)) == reference_of(customers, as_of)
        bought = customers["last_purchase_ts"].notna()
        days = (reference_of(customers, as_of) - customers.loc[bought, "last_purchase_ts"]).dt.days
        np.testing.assert_array_equal(customers.loc[bought, "recency"].to_numpy(), days.to_numpy())
    assert reference_of(customers, as_of) == pd.Timestamp("2011-06-30 23:59:59.999999")
