"""custseg's customer table (DuckDB SQL) against an independent pandas computation of the
contract in docs/metrics.md (tests/reference_pandas.py).

Compared: the set of columns (exactly the contract's), the customers, and every shared column:
floats to 1e-9 (relative and absolute), strings exactly, timestamps exactly, NULL pattern equal.

Where the contract leaves room, the reference chooses (see reference_pandas.py):
- an order without payments has payments_cnt 0 but total_payment / installment flag / types NULL;
  total_customer_payment is NULL when none of a customer's purchases has a payment (value and
  installment segments "Unknown"), RFM monetary 0;
- "Missing in Products" is used as written; RFM "now" = latest purchase (not latest order).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg.features import FeatureParams
from custseg.engines.duckdb.features import build_customer_table, run_feature_sql
from custseg.engines.duckdb import load

from tests.olist_fixture import write_olist_fixture
from tests.reference_pandas import reference_customers, reference_excluded

ROOT = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = ROOT / "src" / "custseg" / "data" / "online_retail" / "online_retail.csv.gz"

# The contract's columns (docs/metrics.md), written out here independently of both tables.
CUSTOMER_METRICS = [
    "orders_cnt", "canceled_orders_cnt", "canceled_share", "not_delivered_share", "buys_cnt",
    "avg_delivery_time_days", "avg_delivery_delay_days", "delayed_orders_share", "purchase_weekend_share",
    "avg_payments_cnt", "avg_total_order_payment", "installment_orders_share", "avg_products_cnt",
    "avg_unique_products_cnt", "avg_sellers_cnt", "avg_order_total_weight_kg", "free_shipping_share",
    "reviews_cnt", "customer_avg_reviews_score", "total_customer_payment", "first_purchase_ts",
    "last_purchase_ts", "from_first_to_second_days", "from_first_to_last_days", "avg_buys_diff_days",
    "months_with_buys", "days_with_buys",
]
DIMENSIONS = ["customer_payment_types", "customer_top_product_categories",
              "customer_top_general_product_categories", "customer_top_purchase_weekdays",
              "customer_city", "customer_state"]
SEGMENTS = ["value_segment", "activity_segment", "purchase_freq_segment", "repeat_segment", "loyalty_segment",
            "risk_segment", "weekday_segment", "installment_segment", "products_cnt_segment", "weight_segment"]
RFM = ["recency", "frequency", "monetary", "recency_score", "frequency_score", "monetary_score",
       "rfm_score", "rfm_segment"]
OLIST_COLUMNS = ["customer_id"] + CUSTOMER_METRICS + DIMENSIONS + SEGMENTS + RFM

# A flat log (Online Retail preset) has no payments, reviews, delivery dates, weights, sellers,
# freight, categories or geography other than the country: those columns are absent.
FLAT_ABSENT = {
    "not_delivered_share", "avg_delivery_time_days", "avg_delivery_delay_days", "delayed_orders_share",
    "avg_payments_cnt", "installment_orders_share", "avg_sellers_cnt", "avg_order_total_weight_kg",
    "free_shipping_share", "reviews_cnt", "customer_avg_reviews_score", "customer_payment_types",
    "customer_top_product_categories", "customer_top_general_product_categories", "customer_city",
    "customer_state", "loyalty_segment", "installment_segment", "weight_segment",
}
FLAT_COLUMNS = [c for c in OLIST_COLUMNS if c not in FLAT_ABSENT] + ["customer_country"]


# ----------------------------------------------------------------------------- comparison

def _kind(s: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return "number"
    if s.isna().all():
        return "empty"
    return "text"


def column_problems(ours: pd.DataFrame, ref: pd.DataFrame) -> list[str]:
    missing_in_custseg = [c for c in ref.columns if c not in ours.columns]
    missing_in_reference = [c for c in ours.columns if c not in ref.columns]
    out = []
    if missing_in_custseg:
        out.append(f"columns missing in custseg: {missing_in_custseg}")
    if missing_in_reference:
        out.append(f"columns custseg has that the reference does not: {missing_in_reference}")
    return out


def value_problems(ours: pd.DataFrame, ref: pd.DataFrame, examples: int = 6) -> list[str]:
    """Every difference between the shared columns, one line per column with examples."""
    out = []
    ids = list(ours["customer_id"].astype(str))
    if ids != sorted(ids):
        out.append("custseg's table is not sorted by customer_id (text)")
    a = ours.assign(customer_id=ours["customer_id"].astype(str)).set_index("customer_id")
    b = ref.set_index("customer_id")
    only_a, only_b = a.index.difference(b.index), b.index.difference(a.index)
    if len(only_a) or len(only_b):
        out.append(f"customers only in custseg: {list(only_a[:10])} ({len(only_a)}); "
                   f"only in reference: {list(only_b[:10])} ({len(only_b)})")
    if a.index.has_duplicates:
        out.append("custseg has duplicate customer_id rows")
        return out
    idx = a.index.intersection(b.index)
    for col in [c for c in b.columns if c in a.columns]:
        x, y = a.loc[idx, col], b.loc[idx, col]
        kx, ky = _kind(x), _kind(y)
        kinds = {kx, ky} - {"empty"}
        if len(kinds) > 1:
            out.append(f"{col}: custseg dtype {x.dtype} vs reference dtype {y.dtype}")
            continue
        kind = kinds.pop() if kinds else "text"
        if kind == "number":
            xf, yf = pd.to_numeric(x).astype(float), pd.to_numeric(y).astype(float)
            bad = (xf.isna() != yf.isna()) | (
                xf.notna() & yf.notna() & ~np.isclose(xf.fillna(0), yf.fillna(0), rtol=1e-9, atol=1e-9))
        elif kind == "datetime":
            xt = pd.to_datetime(x).astype("datetime64[ns]")
            yt = pd.to_datetime(y).astype("datetime64[ns]")
            bad = (xt.isna() != yt.isna()) | (xt.notna() & yt.notna() & (xt != yt))
        else:
            xs = x.astype(object).where(x.notna(), None)
            ys = y.astype(object).where(y.notna(), None)
            bad = pd.Series([p != q for p, q in zip(xs, ys)], index=idx)
        if bad.any():
            shown = ", ".join(f"{cid}: custseg={x[cid]!r} ref={y[cid]!r}" for cid in bad[bad].index[:examples])
            out.append(f"{col}: {int(bad.sum())} of {len(idx)} customers differ; {shown}")
    return out


def assert_same_table(ours: pd.DataFrame, ref: pd.DataFrame, expected_columns: list[str]) -> None:
    problems = column_problems(ours, ref)
    unexpected = sorted(set(ours.columns) - set(expected_columns))
    absent = sorted(set(expected_columns) - set(ours.columns))
    if unexpected:
        problems.append(f"custseg columns the contract does not define for this source: {unexpected}")
    if absent:
        problems.append(f"contract columns custseg lacks: {absent}")
    assert set(ref.columns) == set(expected_columns), (
        f"reference columns off the contract: +{sorted(set(ref.columns) - set(expected_columns))} "
        f"-{sorted(set(expected_columns) - set(ref.columns))}")
    problems += value_problems(ours, ref)
    assert not problems, "custseg vs pandas reference:\n  " + "\n  ".join(problems)


# ----------------------------------------------------------------------------- (a) Olist fixture

@pytest.fixture(scope="module")
def fixture_folder(tmp_path_factory):
    return write_olist_fixture(tmp_path_factory.mktemp("olist_fixture"))


@pytest.fixture(scope="module")
def fixture_tables(fixture_folder):
    ds = load(fixture_folder)
    return {"custseg": build_customer_table(ds), "reference": reference_customers("olist", fixture_folder)}


@pytest.mark.parametrize("bins", [3, 5])
def test_olist_fixture_matches_reference(fixture_folder, bins):
    ds = load(fixture_folder)
    ours = build_customer_table(ds, FeatureParams.for_dataset(ds, rfm_bins=bins))
    assert_same_table(ours, reference_customers("olist", fixture_folder, bins=bins), OLIST_COLUMNS)


def _row(table: pd.DataFrame, customer: str) -> pd.Series:
    rows = table[table["customer_id"].astype(str) == customer]
    assert len(rows) == 1, customer
    return rows.iloc[0]


def _close(value, expected) -> bool:
    return value is not None and not pd.isna(value) and abs(float(value) - expected) < 1e-9


@pytest.mark.parametrize("side", ["custseg", "reference"])
def test_olist_fixture_hand_checked(fixture_tables, side):
    t = fixture_tables[side]
    # u13 (only a 2016 order) and u14 (a customers row without orders) are not customers.
    assert list(t["customer_id"].astype(str)) == [f"u{i:02d}" for i in range(1, 13)]

    # `last` (for the purchase rule) = o403, canceled, 2018-08-20 10:00:00.
    # RFM now = the latest *purchase* = o1101 (processing, estimated 2018-09-04) 2018-08-15 18:00:00.
    u01 = _row(t, "u01")
    assert (u01["orders_cnt"], u01["canceled_orders_cnt"], u01["buys_cnt"]) == (6, 1, 5)
    assert u01["from_first_to_second_days"] == 0.0                 # o101, o102 both 2017-03-04 10:00:00
    # 2018-02-01 09:30 -> 2018-08-15 18:00 = 195 days 8.5 h
    assert u01["recency"] == 195
    # latest purchases o104 (rio de janeiro) and o105 (" campinas ") share the timestamp: larger id
    assert (u01["customer_city"], u01["customer_state"]) == ("Campinas", "SP")
    # categories once per order: Bed Bath Table 2 (o101, o104), Health Beauty 2 (o101, o105),
    # Gaming Pc 1, Sports Leisure 1 -> tie broken alphabetically
    assert u01["customer_top_product_categories"] == "Bed Bath Table, Gaming Pc, Health Beauty"
    assert u01["customer_top_purchase_weekdays"] == "Saturday, Thursday"   # Thu 3, Sat 2
    assert _close(u01["purchase_weekend_share"], 2 / 5)
    # reviews: o101 5; o102 4 and 3 -> floor(3.5) = 3; mean 4 -> Neutral [3, 5)
    assert u01["reviews_cnt"] == 3 and _close(u01["customer_avg_reviews_score"], 4.0)
    assert u01["loyalty_segment"] == "Neutral"
    # installments 0 on o103 count as 1: o101 (3) and o105 (2) of 5 purchases
    assert _close(u01["installment_orders_share"], 2 / 5)

    u02 = _row(t, "u02")                                             # canceled + unavailable
    assert pd.isna(u02["buys_cnt"]) and pd.isna(u02["recency"]) and pd.isna(u02["rfm_segment"])
    for col in ["value_segment", "activity_segment", "loyalty_segment", "customer_city",
                "customer_top_product_categories", "customer_payment_types"]:
        assert u02[col] == "Never Converted", col
    assert u02["risk_segment"] == "Risky" and _close(u02["canceled_share"], 0.5)

    # o301 shipped, estimated 2018-07-19 10:00:01: last - estimated = 31 d 23:59:59 -> 31 -> purchase
    u03 = _row(t, "u03")
    assert u03["buys_cnt"] == 2 and u03["recency"] == 45             # 2018-07-01 12:00 -> 45 d 6 h
    assert u03["customer_city"] == "Santa Barbara D'Oeste"           # str.title()
    # o401 shipped, estimated 2018-07-19 10:00:00: exactly 32 days -> not a purchase
    u04 = _row(t, "u04")
    assert (u04["orders_cnt"], u04["buys_cnt"]) == (3, 1)

    # u05: only o503 (2017-01-01 00:00:00) is in the window; its 2016-12-31 review (score 1) dropped
    u05 = _row(t, "u05")
    assert u05["orders_cnt"] == 1 and _close(u05["customer_avg_reviews_score"], 5.0)
    assert u05["loyalty_segment"] == "Promoter"
    assert pd.Timestamp(u05["first_purchase_ts"]) == pd.Timestamp("2017-01-01 00:00:00")

    # u06/o602: delivered, no carrier, no delivery date. Medians over windowed orders with both
    # ends: approval->carrier 48 h (every such order), carrier->delivery 120 h (all but o103).
    # carrier = 2017-07-07 11:00 + 48 h = 2017-07-09 11:00; delivered = + 120 h = 2017-07-14 11:00;
    # delivery time = 7 d 1 h. o603 (approval imputed, not used): 2017-10-10 10:00 -> 10-17 11:00.
    u06 = _row(t, "u06")
    assert (u06["orders_cnt"], u06["buys_cnt"], u06["canceled_orders_cnt"]) == (3, 2, 1)  # o601: no time
    assert _close(u06["avg_delivery_time_days"], 169 / 24)
    assert _close(u06["avg_delivery_delay_days"], 169 / 24 - 20)     # estimated = purchase + 20 d

    # u07/o701: p5 (no category, no weight -> overall median over weights > 0 of
    # 500,1500,2000,250,800,3000,120,350 = 650 g), p2 (0 g -> Bed Bath Table median of 500,1500 =
    # 1000 g), p8 3000 g -> 4.65 kg -> Heavy
    u07 = _row(t, "u07")
    assert _close(u07["avg_order_total_weight_kg"], 4.65) and u07["weight_segment"] == "Heavy"
    assert u07["customer_top_product_categories"] == \
        "Bed Bath Table, Kitchen Appliances And Food Preparers, Missing in Products"
    assert u07["customer_top_general_product_categories"] == "Electronics, Furniture, Missing in Products"

    u08 = _row(t, "u08")
    assert _close(u08["installment_orders_share"], 0.0) and _close(u08["free_shipping_share"], 1.0)
    assert u08["customer_payment_types"] == "Credit Card, Debit Card, Voucher"

    # monetary 0 (u12) < 75 (u04) < 89.99 (u05) < 100.10 x 4 (u08, u09, u10, u11) < ...; n = 11:
    # ranks 4..7 -> bins ceil(3*3/10) = 1, ceil(4*3/10) = 2, 2, 2
    scores = {c: int(_row(t, c)["monetary_score"]) for c in ["u04", "u05", "u08", "u09", "u10", "u11", "u12"]}
    assert scores == {"u04": 1, "u05": 1, "u08": 1, "u09": 2, "u10": 2, "u11": 2, "u12": 1}
    for c in ["u08", "u09", "u10", "u11"]:
        assert _close(_row(t, c)["monetary"], 100.10) and _close(_row(t, c)["total_customer_payment"], 100.10)

    u11 = _row(t, "u11")                                           # processing, estimated after last
    assert u11["buys_cnt"] == 1 and u11["recency"] == 0 and u11["recency_score"] == 3
    assert u11["customer_top_general_product_categories"] == "Electronics, Missing in Products"

    u12 = _row(t, "u12")                                           # a purchase without payment rows
    assert _close(u12["avg_payments_cnt"], 0.0) and _close(u12["monetary"], 0.0)
    assert u12["customer_payment_types"] == "Unknown"


def _customers_joined_by(dataset, in_memory_lists: bool) -> pd.DataFrame:
    run_feature_sql(dataset, in_memory_lists=in_memory_lists)
    return dataset.con.table("customers").df()


@pytest.mark.parametrize("source", ["olist fixture", "online retail"])
def test_sorted_values_joined_alike_by_lists_and_by_ordered_aggregate(fixture_folder, source):
    """Small data joins sorted values (payment types, categories, top values) through in-memory
    lists, large data through DuckDB's ordered string_agg: the same table either way, and the
    large path matches the pandas reference too."""
    folder = fixture_folder if source == "olist fixture" else ONLINE_RETAIL
    dataset = load(folder) if source == "olist fixture" else load(ONLINE_RETAIL, preset="online_retail")
    ordered = _customers_joined_by(dataset, in_memory_lists=False)
    lists = _customers_joined_by(dataset, in_memory_lists=True)
    pd.testing.assert_frame_equal(lists, ordered)
    joined = [c for c in ordered.columns if c.startswith("customer_") and ordered[c].astype(str).str.contains(", ").any()]
    assert joined, "the data has customers with several values joined"
    reference = reference_customers("olist" if source == "olist fixture" else "online_retail", folder)
    assert_same_table(ordered, reference, OLIST_COLUMNS if source == "olist fixture" else FLAT_COLUMNS)


def test_a_failing_sql_file_is_named(fixture_folder, monkeypatch):
    import custseg.engines.duckdb.features as runner

    real = runner.render_feature_sql
    monkeypatch.setattr(runner, "render_feature_sql",
                        lambda name, context: "SELECT no_such_column FROM clean_orders" if name.startswith("09_") else real(name, context))
    dataset = load(fixture_folder)
    with pytest.raises(RuntimeError, match="feature SQL 09_rfm.sql failed"):
        run_feature_sql(dataset)


# ----------------------------------------------------------------------------- (b) Online Retail

@pytest.fixture(scope="module")
def retail_dataset():
    return load(ONLINE_RETAIL, preset="online_retail")


@pytest.fixture(scope="module")
def retail_tables(retail_dataset):
    tables = {}
    for bins in (3, 5):
        ours = build_customer_table(retail_dataset, FeatureParams.for_dataset(retail_dataset, rfm_bins=bins))
        tables[bins] = (ours, reference_customers("online_retail", ONLINE_RETAIL, bins=bins))
    return tables


@pytest.mark.parametrize("bins", [3, 5])
def test_online_retail_matches_reference(retail_tables, bins):
    ours, ref = retail_tables[bins]
    assert_same_table(ours, ref, FLAT_COLUMNS)


def test_online_retail_default_params_equal_bins_3(retail_dataset, retail_tables):
    ours, ref = retail_tables[3]
    assert not value_problems(build_customer_table(retail_dataset), ref)


def _summary(t: pd.DataFrame) -> dict:
    converted = t[t["buys_cnt"].notna()]
    shares = converted["rfm_segment"].value_counts(normalize=True).sort_index()
    return {"customers": len(t), "converted": len(converted),
            "repeat": int((converted["buys_cnt"] >= 2).sum()),
            "rfm_segment_shares": {k: round(float(v), 12) for k, v in shares.items()}}


@pytest.fixture(scope="module")
def retail_excluded():
    return reference_excluded(ONLINE_RETAIL)


@pytest.mark.parametrize("bins", [3, 5])
def test_online_retail_counts(retail_dataset, retail_tables, retail_excluded, bins):
    ours, ref = retail_tables[bins]
    assert retail_dataset.excluded == {"no customer id": retail_excluded}
    assert _summary(ours) == _summary(ref)
    # known facts of the real log (spec section 7: 4,339 converted customers; 135,080 rows without id)
    assert retail_excluded == 135080
    assert _summary(ref)["customers"] == 4372 and _summary(ref)["converted"] == 4339


# ----------------------------------------------------------------------------- (c) generated Olist

def _generator():
    try:
        module = importlib.import_module("custseg.generate.olist")
        return module.generate_olist
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"custseg.generate.olist.generate_olist is not importable yet ({exc})")


@pytest.mark.parametrize("bins", [3])
def test_generated_olist_matches_reference(tmp_path, bins):
    generate_olist = _generator()
    result = generate_olist(3000, 11, tmp_path)
    folder = Path(result) if isinstance(result, (str, Path)) and Path(result).is_dir() else tmp_path
    assert (folder / "olist_geolocation_dataset.csv").is_file()  # present (and not read: no metric uses it)
    ds = load(folder)
    ours = build_customer_table(ds, FeatureParams.for_dataset(ds, rfm_bins=bins))
    assert_same_table(ours, reference_customers("olist", folder, bins=bins), OLIST_COLUMNS)


# ----------------------------------------------------------------------------- `custseg features`

def _numbers(line: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*(?:\.\d+)?", line)]


def test_cli_features_prints_the_reference_counts(tmp_path, monkeypatch, capsys, retail_tables):
    """`custseg features` on Online Retail: the counts it prints and the customers.csv it writes."""
    cli = pytest.importorskip("custseg.cli", reason="custseg.cli is not importable yet")
    out = tmp_path / "out"
    monkeypatch.setattr("sys.argv", ["custseg", "features", "--data", str(ONLINE_RETAIL), "--out", str(out),
                                     "--preset", "online_retail"])
    try:
        cli.main()
    except SystemExit as exc:
        assert exc.code in (0, None), capsys.readouterr().err
    printed = capsys.readouterr().out
    expected = _summary(retail_tables[3][1])

    def first_number(keyword: str) -> float:
        lines = [ln for ln in printed.splitlines() if ln.strip().lower().startswith(keyword)]
        assert lines, (keyword, printed)
        return _numbers(lines[0].rsplit(":", 1)[-1])[0]         # "label (...): 4,372"

    assert first_number("customers") == expected["customers"]
    assert first_number("converted") == expected["converted"]
    assert first_number("repeat") == expected["repeat"]
    assert first_number("input rows excluded") == 135080

    # the RFM table: one row per segment "│ name │ customers │ share │"
    rows = {}
    for line in printed.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line)]
        if len(cells) >= 4 and cells[1] in expected["rfm_segment_shares"]:
            rows[cells[1]] = (_numbers(cells[2]), _numbers(cells[3]))
    assert set(rows) == set(expected["rfm_segment_shares"]), printed
    for segment, share in expected["rfm_segment_shares"].items():
        (count,), (percent,) = rows[segment]
        assert count == round(share * expected["converted"]), (segment, count, printed)
        assert abs(percent - 100 * share) <= 0.005 + 1e-9, (segment, percent, 100 * share)

    written = pd.read_csv(out / "customers.csv", dtype={"customer_id": str, "rfm_score": str})
    for col in written.columns:
        if col.endswith("_ts"):
            written[col] = pd.to_datetime(written[col])
    assert not column_problems(written, retail_tables[3][1]) + value_problems(written, retail_tables[3][1])
