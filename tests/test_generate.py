"""The Olist-schema generator: determinism, file format, integrity, calibration, readability."""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
from decimal import Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.generate import csvtext
from custseg.generate.calibration import calibration_report, report_markdown
from custseg.generate.olist import ALL_FILES, HEADERS, generate_olist

REAL_FILES = ("olist_products_dataset.csv", "olist_sellers_dataset.csv", "product_category_name_translation.csv")
HEX32 = re.compile(r"[0-9a-f]{32}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
MONEY = re.compile(r"\d+\.\d{2}")
OLIST_CUSTOMERS = 96_096


def bundled_real_bytes(name: str) -> bytes:
    """The real file as shipped in the package, read independently of the generator."""
    path = resources.files("custseg") / "data" / "olist" / (name + ".gz")
    return gzip.decompress(path.read_bytes())


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen") / "olist_1k"
    return out, generate_olist(1_000, seed=7, out_dir=out)


@pytest.fixture(scope="module")
def olist_scale(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "olist_96k"
    generate_olist(OLIST_CUSTOMERS, seed=1, out_dir=out)
    return out


@pytest.fixture(scope="module")
def olist_report(olist_scale) -> pd.DataFrame:
    return calibration_report(olist_scale)


def read(folder: Path, name: str) -> pd.DataFrame:
    """Plain pandas, ids and zips as text, as a user would read the Kaggle files."""
    return pd.read_csv(folder / name, dtype={"customer_zip_code_prefix": str, "geolocation_zip_code_prefix": str,
                                             "seller_zip_code_prefix": str})


# --- determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_differs(small, tmp_path):
    first, _ = small
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate_olist(1_000, seed=7, out_dir=again)
    generate_olist(1_000, seed=8, out_dir=other)
    for name in ALL_FILES:
        assert (first / name).read_bytes() == (again / name).read_bytes(), name
    for name in ("olist_orders_dataset.csv", "olist_customers_dataset.csv", "olist_order_items_dataset.csv",
                 "olist_order_payments_dataset.csv", "olist_order_reviews_dataset.csv"):
        assert (first / name).read_bytes() != (other / name).read_bytes(), name
    for name in REAL_FILES:
        assert (first / name).read_bytes() == (other / name).read_bytes(), name


def test_chunked_run_is_complete_and_consistent(tmp_path):
    out = tmp_path / "chunked"
    counts = generate_olist(1_000, seed=3, out_dir=out, chunk_customers=300)
    customers = read(out, "olist_customers_dataset.csv")
    orders = read(out, "olist_orders_dataset.csv")
    assert customers["customer_unique_id"].nunique() == 1_000
    assert len(orders) == len(customers) == counts["orders"]
    assert orders["order_id"].is_unique and customers["customer_id"].is_unique


# --- format ----------------------------------------------------------------------------------------


def test_nine_files_with_exact_headers(small):
    folder, counts = small
    assert sorted(p.name for p in folder.iterdir()) == sorted(ALL_FILES)
    for name, columns in HEADERS.items():
        first_line = (folder / name).read_bytes().split(b"\n", 1)[0]
        assert first_line.decode() == ",".join(f'"{c}"' for c in columns), name
    assert set(counts["rows"]) == set(ALL_FILES)


def test_real_catalogue_files_are_copied_byte_for_byte(small):
    folder, _ = small
    for name in REAL_FILES:
        assert (folder / name).read_bytes() == bundled_real_bytes(name), name
    translation = (folder / "product_category_name_translation.csv").read_bytes()
    assert translation.startswith(b"\xef\xbb\xbf") and b"\r\n" in translation
    products_header = (folder / "olist_products_dataset.csv").read_text().split("\n", 1)[0]
    assert '"product_name_lenght"' in products_header and '"product_description_lenght"' in products_header


def _raw_rows(path: Path) -> list[list[str]]:
    """Fields as written (quotes kept), for files without embedded line breaks."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == ""  # every row ends in LF
    return [line.split(",") for line in lines[1:-1]]


def _check_id_field(raw: str) -> None:
    """The Kaggle style: an id is quoted exactly when it starts with a digit."""
    value = raw.strip('"')
    assert HEX32.fullmatch(value), raw
    assert raw.startswith('"') == value[0].isdigit(), raw


def test_orders_format(small):
    folder, _ = small
    rows = _raw_rows(folder / "olist_orders_dataset.csv")
    statuses = {"delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created", "approved"}
    for row in rows:
        assert len(row) == 8
        _check_id_field(row[0])
        _check_id_field(row[1])
        assert row[2] in statuses
        for ts in row[3:]:
            assert ts == "" or TIMESTAMP.fullmatch(ts), ts
        assert row[3] and row[7].endswith(" 00:00:00")  # purchase always; estimate is a midnight


def test_customers_items_payments_format(small):
    folder, _ = small
    for row in _raw_rows(folder / "olist_customers_dataset.csv"):
        _check_id_field(row[0])
        _check_id_field(row[1])
        assert re.fullmatch(r'"\d{5}"', row[2]), row[2]
        assert row[3] == row[3].lower() and row[3].isascii(), row[3]
        assert re.fullmatch(r"[A-Z]{2}", row[4])
    for row in _raw_rows(folder / "olist_order_items_dataset.csv"):
        _check_id_field(row[0])
        assert row[1].isdigit()
        _check_id_field(row[2])
        _check_id_field(row[3])
        assert TIMESTAMP.fullmatch(row[4]) and MONEY.fullmatch(row[5]) and MONEY.fullmatch(row[6])
    types = {"credit_card", "boleto", "voucher", "debit_card", "not_defined"}
    for row in _raw_rows(folder / "olist_order_payments_dataset.csv"):
        _check_id_field(row[0])
        assert row[1].isdigit() and row[2] in types and row[3].isdigit() and MONEY.fullmatch(row[4])


def test_items_sorted_by_order_like_the_real_file(small):
    folder, _ = small
    items = read(folder, "olist_order_items_dataset.csv")
    keys = list(zip(items["order_id"], items["order_item_id"]))
    assert keys == sorted(keys)
    numbers = items.groupby("order_id")["order_item_id"].agg(list)
    assert all(n == list(range(1, len(n) + 1)) for n in numbers)


def test_reviews_have_quoted_multiline_portuguese_texts(olist_scale):
    with open(olist_scale / "olist_order_reviews_dataset.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0], rows[1:]
    assert header == HEADERS["olist_order_reviews_dataset.csv"]
    messages = [r[4] for r in body if r[4]]
    assert any("\r\n" in m for m in messages)
    assert any(ch in "".join(messages[:2000]) for ch in "ãçéêóú")
    raw = (olist_scale / "olist_order_reviews_dataset.csv").read_bytes().decode("utf-8")
    assert '"' + next(m for m in messages if "\r\n" in m).replace('"', '""') + '"' in raw
    assert all(TIMESTAMP.fullmatch(r[5]) and r[5].endswith("00:00:00") and TIMESTAMP.fullmatch(r[6]) for r in body)
    assert {int(r[2]) for r in body} == {1, 2, 3, 4, 5}


def test_geolocation_inside_brazil_per_state(small):
    folder, _ = small
    geo = read(folder, "olist_geolocation_dataset.csv")
    assert geo["geolocation_zip_code_prefix"].str.fullmatch(r"\d{5}").all()
    assert geo["geolocation_lat"].between(-34, 5.5).all() and geo["geolocation_lng"].between(-74, -34.5).all()
    # States sit where they should: southern states south of northern ones.
    mean_lat = geo.groupby("geolocation_state")["geolocation_lat"].mean()
    assert mean_lat["RS"] < mean_lat["SP"] < mean_lat["BA"] < mean_lat["CE"]
    customers = read(folder, "olist_customers_dataset.csv")
    covered = customers["customer_zip_code_prefix"].isin(set(geo["geolocation_zip_code_prefix"])).mean()
    assert covered > 0.95  # a few prefixes are missing, as in the real file


# --- integrity -------------------------------------------------------------------------------------


def test_referential_integrity(small):
    folder, _ = small
    orders = read(folder, "olist_orders_dataset.csv")
    customers = read(folder, "olist_customers_dataset.csv")
    items = read(folder, "olist_order_items_dataset.csv")
    pays = read(folder, "olist_order_payments_dataset.csv")
    revs = read(folder, "olist_order_reviews_dataset.csv")
    real_products = pd.read_csv(io.BytesIO(bundled_real_bytes("olist_products_dataset.csv")))
    real_sellers = pd.read_csv(io.BytesIO(bundled_real_bytes("olist_sellers_dataset.csv")))
    assert set(items["product_id"]) <= set(real_products["product_id"])
    assert set(items["seller_id"]) <= set(real_sellers["seller_id"])
    assert orders["order_id"].is_unique and customers["customer_id"].is_unique
    assert set(orders["customer_id"]) == set(customers["customer_id"])  # one customer row per order
    for child in (items, pays, revs):
        assert set(child["order_id"]) <= set(orders["order_id"])
    assert not pays.duplicated(["order_id", "payment_sequential"]).any()


def test_payments_add_up_to_price_plus_freight(olist_scale):
    items = read(olist_scale, "olist_order_items_dataset.csv")
    pays = read(olist_scale, "olist_order_payments_dataset.csv")
    cents = lambda s: (s * 100).round().astype("int64")  # noqa: E731
    basket = (cents(items["price"]) + cents(items["freight_value"])).groupby(items["order_id"]).sum()
    paid = cents(pays["payment_value"]).groupby(pays["order_id"]).sum()
    both = basket.index.intersection(paid.index)
    assert len(both) > 0.99 * len(basket)
    # As in the real data (0.31% of orders: card interest, a few discounts), a few orders pay more or
    # less than price + freight, by their donor's ratio; every other order pays it to the cent.
    differs = (basket[both] - paid[both]).abs() > 1
    assert 0.001 < differs.mean() < 0.006
    ratio = paid[both][differs] / basket[both][differs]
    assert ratio.between(0.7, 1.42).all()
    assert (basket[both][~differs] == paid[both][~differs]).mean() > 0.99


def test_status_dependent_dates(olist_scale):
    orders = read(olist_scale, "olist_orders_dataset.csv")
    delivered = orders[orders["order_status"] == "delivered"]
    assert delivered["order_delivered_customer_date"].notna().mean() > 0.999
    assert orders.loc[orders["order_status"] == "shipped", "order_delivered_customer_date"].isna().all()
    assert orders.loc[orders["order_status"] == "created", "order_approved_at"].isna().all()
    for col in ("order_delivered_carrier_date", "order_delivered_customer_date"):
        stuck = orders["order_status"].isin(["unavailable", "invoiced", "processing", "approved"])
        assert orders.loc[stuck, col].isna().all()
    times = orders[["order_purchase_timestamp", "order_delivered_customer_date"]].apply(pd.to_datetime)
    assert (times.iloc[:, 1].dropna() > times.iloc[:, 0][times.iloc[:, 1].notna()]).all()


# --- calibration -----------------------------------------------------------------------------------


def test_calibration_at_olist_scale(olist_report):
    table = olist_report
    assert list(table.columns) == ["statistic", "target", "generated", "tolerance", "ok"]
    assert len(table) > 100
    failing = table.loc[~table["ok"], ["statistic", "target", "generated", "tolerance"]]
    assert failing.empty, "\n" + failing.to_string()
    assert "| statistic | target | generated | tolerance | ok |" in report_markdown(table)


def test_calibration_report_matches_a_plain_pandas_computation(olist_scale, olist_report):
    """The report's SQL agrees with an independent pandas computation on a few statistics."""
    table = olist_report.set_index("statistic")["generated"]
    orders = read(olist_scale, "olist_orders_dataset.csv")
    customers = read(olist_scale, "olist_customers_dataset.csv")
    revs = read(olist_scale, "olist_order_reviews_dataset.csv")
    items = read(olist_scale, "olist_order_items_dataset.csv")
    assert table["status delivered (share)"] == pytest.approx((orders["order_status"] == "delivered").mean())
    per_person = customers.groupby("customer_unique_id").size()
    assert table["repeat customers (share)"] == pytest.approx((per_person > 1).mean())
    assert table["review score (mean)"] == pytest.approx(revs["review_score"].mean())
    assert table["item price median"] == pytest.approx(items["price"].median())
    bf = pd.to_datetime(orders["order_purchase_timestamp"]).dt.date.astype(str) == "2017-11-24"
    assert table["orders on Black Friday 2017-11-24 (share)"] == pytest.approx(bf.mean())


def test_small_folders_skip_olist_scale_only_statistics(small):
    folder, _ = small
    table = calibration_report(folder)
    assert "distinct customer cities" not in set(table["statistic"])
    assert table["generated"].notna().all()


# --- reading -----------------------------------------------------------------------------------------


def test_plain_pandas_reads_every_file(small):
    folder, counts = small
    for name in ALL_FILES:
        frame = read(folder, name)
        assert list(frame.columns) == (HEADERS.get(name) or list(frame.columns))
        assert len(frame) == counts["rows"][name], name
    orders = read(folder, "olist_orders_dataset.csv")
    for col in HEADERS["olist_orders_dataset.csv"][3:]:
        pd.to_datetime(orders[col], format="%Y-%m-%d %H:%M:%S")
    purchase = pd.to_datetime(orders["order_purchase_timestamp"])
    assert purchase.min() >= pd.Timestamp("2016-09-01") and purchase.max() <= pd.Timestamp("2018-10-17 17:30:18")


@pytest.mark.parametrize("which", ["small", "olist_scale"])
def test_olist_adapter_reads_generated_folder_without_warning(which, request):
    olist = pytest.importorskip("custseg.engines.duckdb.olist")
    fixture = request.getfixturevalue(which)
    folder = fixture[0] if isinstance(fixture, tuple) else fixture
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = olist.load_olist(folder)
    assert dataset.warnings == []
    n_orders = dataset.con.execute("SELECT count(*) FROM orders").fetchone()[0]
    assert n_orders == len(read(folder, "olist_orders_dataset.csv"))


# --- atomic output -----------------------------------------------------------------------------------


def test_refuses_to_replace_a_folder_with_foreign_files(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate_olist(50, seed=1, out_dir=out)
    assert (out / "notes.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no partial folder left behind


def test_regenerating_replaces_an_earlier_generated_folder(tmp_path):
    out = tmp_path / "gen"
    generate_olist(50, seed=1, out_dir=out)
    generate_olist(60, seed=2, out_dir=out)
    assert read(out, "olist_customers_dataset.csv")["customer_unique_id"].nunique() == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gen"]


# --- csv text helpers --------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-2_000_000_000, max_value=4_000_000_000), min_size=1, max_size=50))
def test_timestamps_match_numpy(seconds):
    values = np.array(seconds, dtype=np.int64)
    expected = [str(v).replace("T", " ") for v in values.astype("datetime64[s]")]
    assert csvtext.timestamps(values).to_pylist() == expected


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=50))
def test_money_has_two_decimals(cents):
    expected = [str((Decimal(c) / 100).quantize(Decimal("0.01"))) for c in cents]
    assert csvtext.money(np.array(cents)).to_pylist() == expected


def test_zip_prefixes_and_text_quoting():
    assert csvtext.zip_prefixes(np.array([1409, 99990])).to_pylist() == ['"01409"', '"99990"']
    fields = csvtext.text_fields(csvtext.pa.array(["sao paulo", "a, b", 'say "hi"', "04482255"]))
    assert fields.to_pylist() == ["sao paulo", '"a, b"', '"say ""hi"""', '"04482255"']
    assert csvtext.quote_text("linha 1\r\nlinha 2") == '"linha 1\r\nlinha 2"'
