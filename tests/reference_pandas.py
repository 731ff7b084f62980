"""The customer table of docs/metrics.md, computed independently in plain pandas.

This is the yardstick the DuckDB feature stage is tested against. It is written from the
contract (docs/metrics.md) and ANALYSIS_SPEC.md sections 1-7 only, never from custseg's SQL.

    reference_customers("olist", folder_or_frames, bins=3)
    reference_customers("online_retail", csv_path_or_frame, bins=3)

`folder_or_frames` for Olist is a folder of the Kaggle CSV files, or a dict of DataFrames keyed
orders, customers, items, payments, reviews, products, translation (all columns as text).

Choices where the contract leaves room (also listed in the test module's docstring):
- Money is parsed from its text and summed as integers of the smallest unit in the data.
- An order without payment rows: payments_cnt 0; total_payment, order_has_installment and the
  payment types missing. An order without items: products_cnt, unique_products_cnt and
  sellers_cnt 0; weight and free shipping missing. total_customer_payment is NULL when no
  purchase of the customer has a payment (SQL SUM); RFM monetary is 0 then (the contract says so).
- The "Missing in Products" label is used as written (not title-cased to "Missing In Products").
- A category with neither a translation nor an override keeps its Portuguese name, normalised.
- Dimensions that are 0 are treated like weight 0 (replaced by the category median).
- RFM "now" is the latest purchase time over purchases (not over all orders).
- A purchase without a purchase time (delivered, timestamp missing) counts in buys_cnt but has no
  weekday; it sorts after the timed purchases, so from_first_to_second_days needs two timed ones,
  while first/last, from_first_to_last_days, months_with_buys and days_with_buys use the timed purchases only.
"""

from __future__ import annotations

import math
import tomllib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

PKG = Path(__file__).resolve().parents[1] / "src" / "custseg"
FEATURES_DIR = PKG / "features"
RFM_DIR = PKG / "rfm"

MISSING_CATEGORY = "Missing in Products"
NEVER = "Never Converted"
UNKNOWN = "Unknown"
DAY = pd.Timedelta(days=1)

OLIST_FILES = {
    "orders": "olist_orders_dataset.csv",
    "customers": "olist_customers_dataset.csv",
    "items": "olist_order_items_dataset.csv",
    "payments": "olist_order_payments_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
    "products": "olist_products_dataset.csv",
    "translation": "product_category_name_translation.csv",
}


# ----------------------------------------------------------------------------- helpers

def read_text_csv(path) -> pd.DataFrame:
    """Every column as text; empty fields are missing; a byte-order mark is dropped."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")


def normalise(values: pd.Series) -> pd.Series:
    """underscores -> spaces, Python str.title(), trimmed."""
    return values.map(lambda v: v.replace("_", " ").title().strip() if isinstance(v, str) else v)


def money_scale(*columns: pd.Series) -> int:
    """The number of decimal places needed to hold every value of the columns exactly."""
    places = 0
    for col in columns:
        for v in col.dropna().unique():
            places = max(places, -Decimal(v.strip()).as_tuple().exponent)
    return places


def to_units(values: pd.Series, places: int) -> pd.Series:
    """Text amounts -> exact integers of 10**-places (nullable Int64)."""
    def conv(v):
        scaled = Decimal(v.strip()).scaleb(places)
        assert scaled == scaled.to_integral_value(), v
        return int(scaled)
    exact = {v: conv(v) for v in values.dropna().unique()}
    return values.map(exact).astype("Int64")


def to_ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d %H:%M:%S")


def days(delta: pd.Series) -> pd.Series:
    """Exact fractional days."""
    return delta.dt.total_seconds() / 86400.0


def join_sorted(values) -> str:
    return ", ".join(sorted(set(values)))


def top_values(df: pd.DataFrame, value_col: str, n: int = 3) -> pd.Series:
    """Per customer: each value counted once per order, the n most frequent (ties alphabetical),
    joined alphabetically. df has customer_id, order_id, value_col (one row per order and value)."""
    d = df.dropna(subset=[value_col]).drop_duplicates(["customer_id", "order_id", value_col])
    counts = d.groupby(["customer_id", value_col]).size().rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", value_col], ascending=[True, False, True])
    top = counts.groupby("customer_id").head(n)
    return top.groupby("customer_id")[value_col].agg(join_sorted)


# ----------------------------------------------------------------------------- sources

def _olist_frames(folder_or_frames) -> dict:
    if isinstance(folder_or_frames, dict):
        return {k: v.copy() for k, v in folder_or_frames.items()}
    folder = Path(folder_or_frames)
    return {key: read_text_csv(folder / name if (folder / name).is_file() else folder / f"{name}.gz") for key, name in OLIST_FILES.items()}


def _clean_products(products: pd.DataFrame, translation: pd.DataFrame) -> pd.DataFrame:
    overrides = read_text_csv(FEATURES_DIR / "category_overrides.csv")
    groups = read_text_csv(FEATURES_DIR / "category_groups.csv")
    to_english = dict(zip(translation["product_category_name"].str.strip(),
                          translation["product_category_name_english"].str.strip()))
    to_english.update(dict(zip(overrides["source_category"], overrides["category"])))

    p = products.copy()
    raw = p["product_category_name"].str.strip()
    english = raw.map(lambda c: to_english.get(c, c) if isinstance(c, str) else c)
    p["category"] = normalise(english).fillna(MISSING_CATEGORY)
    p["general_category"] = p["category"].map(dict(zip(groups["category"], groups["general_category"])))
    p["general_category"] = p["general_category"].fillna(MISSING_CATEGORY)

    for col in ["product_weight_g", "product_length_cm", "product_height_cm", "product_width_cm"]:
        v = pd.to_numeric(p[col]).astype(float)
        v = v.where(v > 0)                       # 0 or missing -> fill
        by_category = v.groupby(p["category"]).transform("median")
        p[col] = v.fillna(by_category).fillna(v.median())
    return p


def _olist_orders(f: dict):
    """Cleaned orders (one row per order, with the person) and the cleaned child tables."""
    customers = f["customers"][["customer_id", "customer_unique_id", "customer_city", "customer_state"]]
    o = f["orders"].merge(customers, on="customer_id", how="inner")
    o = o.drop(columns="customer_id").rename(columns={"customer_unique_id": "customer_id"})
    o["status"] = normalise(o["order_status"])
    for col in ["order_purchase_timestamp", "order_approved_at", "order_delivered_carrier_date",
                "order_delivered_customer_date", "order_estimated_delivery_date"]:
        o[col] = to_ts(o[col])
    p = o["order_purchase_timestamp"]
    o = o[p.isna() | ((p >= pd.Timestamp("2017-01-01")) & (p < pd.Timestamp("2018-09-01")))].copy()

    # date imputation; medians over windowed orders having both ends, from the original dates
    purchase, approved = o["order_purchase_timestamp"], o["order_approved_at"]
    carrier, delivered = o["order_delivered_carrier_date"], o["order_delivered_customer_date"]
    med_approval_carrier = (carrier - approved).dropna().median()
    med_purchase_approval = (approved - purchase).dropna().median()
    med_carrier_delivery = (delivered - carrier).dropna().median()
    is_delivered = o["status"] == "Delivered"
    new_carrier = carrier.where(~(is_delivered & carrier.isna() & approved.notna()),
                                approved + med_approval_carrier)
    new_approved = approved.where(~(approved.isna() & carrier.notna()), purchase + med_purchase_approval)
    new_delivered = delivered.where(~(is_delivered & delivered.isna() & new_carrier.notna()),
                                    new_carrier + med_carrier_delivery)
    o["order_delivered_carrier_date"] = new_carrier
    o["order_approved_at"] = new_approved
    o["order_delivered_customer_date"] = new_delivered

    kept = set(o["order_id"])
    items = f["items"][f["items"]["order_id"].isin(kept)].copy()
    payments = f["payments"][f["payments"]["order_id"].isin(kept)].copy()
    reviews = f["reviews"][f["reviews"]["order_id"].isin(kept)].copy()
    created = to_ts(reviews["review_creation_date"])
    reviews = reviews[~(created < pd.Timestamp("2017-01-01"))]
    return o, items, payments, reviews


def _olist_order_metrics(f: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Order metrics (one row per order) plus the per-order category and payment-type rows."""
    o, items, payments, reviews = _olist_orders(f)
    products = _clean_products(f["products"], f["translation"])

    # purchases
    last = o["order_purchase_timestamp"].max()
    grace_days = (last - o["order_estimated_delivery_date"]).dt.days     # floor, NaN when missing
    o["is_purchase"] = (o["status"] == "Delivered") | (
        (grace_days <= 31) & ~o["status"].isin(["Canceled", "Unavailable"]))

    # payments
    places = money_scale(payments["payment_value"], items["price"], items["freight_value"])
    payments["value"] = to_units(payments["payment_value"], places)
    payments["installments"] = pd.to_numeric(payments["payment_installments"]).replace(0, 1)
    payments["type"] = normalise(payments["payment_type"])
    payments["installment"] = (payments["installments"] > 1).astype(float)
    pay = payments.groupby("order_id").agg(
        payments_cnt=("value", "size"),
        total_payment_units=("value", "sum"),
        order_has_installment=("installment", "max"),     # any installments > 1
    )

    # items + products
    items = items.merge(products[["product_id", "category", "general_category", "product_weight_g"]],
                        on="product_id", how="left")
    items["freight"] = to_units(items["freight_value"], places)
    it = items.groupby("order_id").agg(
        products_cnt=("product_id", "size"),
        unique_products_cnt=("product_id", "nunique"),
        sellers_cnt=("seller_id", "nunique"),
        total_freight_units=("freight", "sum"),
        total_weight_g=("product_weight_g", "sum"),
    )
    it["total_weight_kg"] = it["total_weight_g"] / 1000
    it["order_is_free_shipping"] = (it["total_freight_units"] == 0).astype(float)

    # reviews
    reviews = reviews.assign(score=pd.to_numeric(reviews["review_score"]))
    rv = reviews.groupby("order_id").agg(reviews_cnt=("score", "size"), mean_score=("score", "mean"))
    rv["order_avg_reviews_score"] = np.floor(rv["mean_score"])

    om = o.set_index("order_id")
    om = om.join(pay).join(it[["products_cnt", "unique_products_cnt", "sellers_cnt", "total_weight_kg",
                                "order_is_free_shipping"]]).join(rv[["reviews_cnt", "order_avg_reviews_score"]])
    for col in ["payments_cnt", "products_cnt", "unique_products_cnt", "sellers_cnt", "reviews_cnt"]:
        om[col] = om[col].fillna(0)
    om["total_payment"] = om["total_payment_units"].astype(float) / 10 ** places
    om["money_units"] = om["total_payment_units"]
    om["money_scale"] = 10 ** places
    purchase = om["order_purchase_timestamp"]
    om["delivery_time_days"] = days(om["order_delivered_customer_date"] - purchase)
    om["delivery_delay_days"] = days(om["order_delivered_customer_date"] - om["order_estimated_delivery_date"])
    both = om["order_delivered_customer_date"].notna() & om["order_estimated_delivery_date"].notna()
    om["is_delayed"] = (om["order_delivered_customer_date"] > om["order_estimated_delivery_date"]).astype(float).where(both)
    om["city"] = normalise(om["customer_city"])
    om["state"] = om["customer_state"].str.strip().str.upper()
    om = om.reset_index()

    cats = items[["order_id", "category", "general_category"]].merge(om[["order_id", "customer_id"]], on="order_id")
    types = payments[["order_id", "type"]].merge(om[["order_id", "customer_id"]], on="order_id")
    return om, cats, types


def _flat_order_metrics(path_or_frame):
    """Online Retail preset: customer=CustomerID, order=InvoiceNo, timestamp=InvoiceDate,
    price=Quantity x UnitPrice, product=StockCode, country=Country, 'C' prefix = cancelled."""
    df = read_text_csv(path_or_frame) if not isinstance(path_or_frame, pd.DataFrame) else path_or_frame.copy()
    excluded = int(df["CustomerID"].isna().sum())
    df = df[df["CustomerID"].notna()].copy()
    df["customer_id"] = df["CustomerID"].str.strip()
    df["ts"] = to_ts(df["InvoiceDate"])
    places = money_scale(df["UnitPrice"])
    df["amount"] = df["Quantity"].astype("int64") * to_units(df["UnitPrice"], places).astype("int64")

    g = df.groupby("InvoiceNo", sort=False)
    om = pd.DataFrame({
        "customer_id": g["customer_id"].first(),
        "order_purchase_timestamp": g["ts"].min(),
        "country": g["Country"].first().str.strip(),      # first line (in file order)
        "money_units": g["amount"].sum(),
    }).rename_axis("order_id").reset_index()
    if "StockCode" in df:  # a log without products has no product metrics
        om["products_cnt"] = g.size().to_numpy()
        om["unique_products_cnt"] = g["StockCode"].nunique().to_numpy()
    om["money_scale"] = 10 ** places
    om["total_payment"] = om["money_units"] / 10 ** places
    om["cancelled"] = om["order_id"].str.startswith("C")
    om["is_purchase"] = ~om["cancelled"]
    return om, excluded


# ----------------------------------------------------------------------------- customers

def _customer_metrics(om: pd.DataFrame, olist: bool) -> pd.DataFrame:
    om = om.copy()
    om["weekday"] = om["order_purchase_timestamp"].dt.day_name()
    om["weekend"] = om["weekday"].isin(["Saturday", "Sunday"]).astype(float).where(om["weekday"].notna())

    if olist:
        om["cancelled"] = om["status"] == "Canceled"
        om["not_delivered"] = (om["status"] != "Delivered").astype(float)
    every = om.groupby("customer_id")
    cust = pd.DataFrame({"orders_cnt": every.size()})
    cust["canceled_orders_cnt"] = every["cancelled"].sum().astype(int)
    cust["canceled_share"] = cust["canceled_orders_cnt"] / cust["orders_cnt"]
    if olist:
        cust["not_delivered_share"] = every["not_delivered"].mean()

    p = om[om["is_purchase"]].sort_values(["customer_id", "order_purchase_timestamp", "order_id"])
    p = p.assign(month=p["order_purchase_timestamp"].dt.to_period("M"), day=p["order_purchase_timestamp"].dt.normalize())
    g = p.groupby("customer_id")
    c = pd.DataFrame({"buys_cnt": g["order_id"].nunique()})
    if olist:
        c["avg_delivery_time_days"] = g["delivery_time_days"].mean()
        c["avg_delivery_delay_days"] = g["delivery_delay_days"].mean()
        c["delayed_orders_share"] = g["is_delayed"].mean()
    c["purchase_weekend_share"] = g["weekend"].mean()
    if olist:
        c["avg_payments_cnt"] = g["payments_cnt"].mean()
    c["avg_total_order_payment"] = g["total_payment"].mean()
    if olist:
        c["installment_orders_share"] = g["order_has_installment"].mean()
    if "products_cnt" in om:
        c["avg_products_cnt"] = g["products_cnt"].mean()
        c["avg_unique_products_cnt"] = g["unique_products_cnt"].mean()
    if olist:
        c["avg_sellers_cnt"] = g["sellers_cnt"].mean()
        c["avg_order_total_weight_kg"] = g["total_weight_kg"].mean()
        c["free_shipping_share"] = g["order_is_free_shipping"].mean()
        c["reviews_cnt"] = g["reviews_cnt"].sum()
        c["customer_avg_reviews_score"] = g["order_avg_reviews_score"].mean()
    scale = om["money_scale"].iloc[0]
    money = g["money_units"].sum(min_count=1)               # NULL when no purchase has a payment
    c["total_customer_payment"] = money.astype(float) / scale
    c["first_purchase_ts"] = g["order_purchase_timestamp"].min()
    c["last_purchase_ts"] = g["order_purchase_timestamp"].max()
    second = g["order_purchase_timestamp"].nth(1)
    second = pd.Series(second.values, index=p.loc[second.index, "customer_id"])
    c["from_first_to_second_days"] = days(second - c["first_purchase_ts"])
    span = days(c["last_purchase_ts"] - c["first_purchase_ts"])
    c["from_first_to_last_days"] = span.where(c["buys_cnt"] > 1)
    c["avg_buys_diff_days"] = c["from_first_to_last_days"] / (c["buys_cnt"] - 1)
    c["months_with_buys"] = g["month"].nunique()
    c["days_with_buys"] = g["day"].nunique()
    c["money_units"] = money.fillna(0).astype("int64")       # for RFM monetary (0 when no payment)
    c["latest_order"] = g["order_id"].last()                 # by (purchase time, order id)
    return cust.join(c)


def _dimension(cust: pd.DataFrame, values: pd.Series) -> pd.Series:
    converted = cust["buys_cnt"].notna()
    out = values.reindex(cust.index)
    out = out.where(out.notna(), UNKNOWN)
    return out.where(converted, NEVER)


def _segments(c: pd.DataFrame) -> pd.DataFrame:
    with open(FEATURES_DIR / "segments.toml", "rb") as fh:
        config = tomllib.load(fh)
    converted = c["buys_cnt"].notna()
    for name, spec in config.items():
        metric = spec["metric"]
        if metric not in c.columns:
            continue                                           # the source lacks the metric
        x = c[metric].astype(float)
        if "rules" in spec:
            seg = pd.Series(pd.NA, index=c.index, dtype=object)
            for rule in reversed(spec["rules"]):               # first match wins
                cond = rule["when"].replace(" AND ", " and ").replace(" OR ", " or ").replace(" = ", " == ")
                hit = c.eval(cond).fillna(False).astype(bool)
                seg = seg.mask(hit, rule["label"])
        else:
            side = "left" if spec["closed"] == "right" else "right"
            idx = np.searchsorted(np.asarray(spec["edges"], dtype=float), x.fillna(0).to_numpy(), side=side)
            seg = pd.Series(np.asarray(spec["labels"], dtype=object)[idx], index=c.index)
            seg = seg.mask(x.isna(), spec.get("missing", UNKNOWN))
        if "single_purchase" in spec:
            seg = seg.mask(c["buys_cnt"] == 1, spec["single_purchase"])
        if "never_converted" in spec:
            seg = seg.mask(~converted, spec["never_converted"])
        c[name] = seg
    return c


def _scores(values: pd.Series, bins: int) -> pd.Series:
    """Rank 1..n ascending, ties broken by customer id; rank r goes to the smallest bin b with
    (r - 1) * bins <= (n - 1) * b."""
    n = len(values)
    if n == 1:
        return pd.Series([bins], index=values.index)
    order = pd.DataFrame({"v": values.to_numpy(), "id": values.index}).sort_values(["v", "id"])
    rank = pd.Series(np.arange(1, n + 1), index=order["id"].to_numpy())
    score = rank.map(lambda r: max(1, math.ceil((r - 1) * bins / (n - 1))))   # exact ints
    return score.reindex(values.index)


def _rfm(c: pd.DataFrame, om: pd.DataFrame, bins: int) -> pd.DataFrame:
    purchases = om[om["is_purchase"]]
    now = purchases["order_purchase_timestamp"].max()
    conv = c[c["buys_cnt"].notna()]
    r = pd.DataFrame(index=conv.index)
    r["recency"] = (now - conv["last_purchase_ts"]).dt.days
    r["frequency"] = purchases.groupby("customer_id")["order_id"].nunique().reindex(conv.index)
    r["monetary"] = conv["money_units"] / om["money_scale"].iloc[0]
    # exact integers for ranking so that equal amounts tie
    r["recency_score"] = bins + 1 - _scores(r["recency"].astype("int64"), bins)
    r["frequency_score"] = _scores(r["frequency"].astype("int64"), bins)
    r["monetary_score"] = _scores(conv["money_units"].astype("int64"), bins)
    r["rfm_score"] = (r["recency_score"].astype(str) + r["frequency_score"].astype(str)
                      + r["monetary_score"].astype(str))
    names = read_text_csv(RFM_DIR / f"segments_{bins}.csv")
    r["rfm_segment"] = r["rfm_score"].map(dict(zip(names["rfm_score"], names["rfm_segment"])))
    assert r["rfm_segment"].notna().all()
    return c.join(r)


def reference_customers(kind: str, paths_or_frames, bins: int = 3) -> pd.DataFrame:
    """One row per customer, sorted by customer_id (text), with the contract's columns."""
    olist = kind == "olist"
    if olist:
        om, cats, types = _olist_order_metrics(_olist_frames(paths_or_frames))
    elif kind in ("online_retail", "flat"):
        om, _ = _flat_order_metrics(paths_or_frames)
    else:
        raise ValueError(kind)

    c = _customer_metrics(om, olist)
    purchases = om[om["is_purchase"]]
    if olist:
        pt = types[types["order_id"].isin(purchases["order_id"])]
        c["customer_payment_types"] = _dimension(c, pt.groupby("customer_id")["type"].agg(join_sorted))
        pc = cats[cats["order_id"].isin(purchases["order_id"])]
        c["customer_top_product_categories"] = _dimension(c, top_values(pc, "category"))
        c["customer_top_general_product_categories"] = _dimension(c, top_values(pc, "general_category"))
    weekdays = purchases.assign(weekday=purchases["order_purchase_timestamp"].dt.day_name())
    c["customer_top_purchase_weekdays"] = _dimension(c, top_values(weekdays, "weekday"))
    latest = om.set_index("order_id").loc[c["latest_order"].dropna()]
    latest.index = c["latest_order"].dropna().index
    if olist:
        c["customer_city"] = _dimension(c, latest["city"])
        c["customer_state"] = _dimension(c, latest["state"])
    else:
        c["customer_country"] = _dimension(c, latest["country"])

    c = _segments(c)
    c = _rfm(c, om, bins)
    c = c.drop(columns=["money_units", "latest_order"])
    c.index = c.index.astype(str)
    return c.sort_index().rename_axis("customer_id").reset_index()


def reference_excluded(path_or_frame) -> int:
    """Flat log rows without a customer id."""
    return _flat_order_metrics(path_or_frame)[1]
