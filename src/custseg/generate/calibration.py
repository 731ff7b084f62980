"""Calibration report: how close a folder of Olist CSVs is to the published statistics of the real data.
(Over 400 lines: ~200 of them are the list of checks, one SQL statistic per published figure.)

Every statistic is computed from the written CSV files with DuckDB SQL, independently of the
generator's code, and compared with its target from targets.toml (copied from STATS.md) within a
tolerance (also in targets.toml). Targets are shares, means and quantiles, so they apply at any scale,
but the tolerances are sized for the sampling noise of an Olist-scale folder (~96k customers): much
smaller folders miss some of them by chance. The few statistics that only make sense at Olist scale
(distinct cities and zip prefixes, "every product sells once") are reported only for folders with
about 96k customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from .catalogue import load_targets

OLIST_SCALE = (0.9 * 96_096, 1.1 * 96_096)


@dataclass(frozen=True)
class Check:
    name: str
    target: Callable[[dict], float]
    sql: str                      # returns one number
    olist_scale_only: bool = False


def _share(section: str, key: str, total: Callable[[dict], float]) -> Callable[[dict], float]:
    return lambda t: t[section][key] / total(t)


def _orders(t: dict) -> float:
    return float(t["scale"]["orders"])


def _status(name: str) -> Callable[[dict], float]:
    return lambda t: t["order_status"]["counts"][name] / sum(t["order_status"]["counts"].values())


def _month_share(months: list[str]) -> Callable[[dict], float]:
    def share(t: dict) -> float:
        monthly = {m: v[0] for m, v in t["monthly_orders"].items() if m != "source"}
        return sum(monthly.get(m, 0) for m in months) / sum(monthly.values())
    return share


def _score_share(score: int) -> Callable[[dict], float]:
    return lambda t: t["review_scores"]["counts"][str(score)] / sum(t["review_scores"]["counts"].values())


def _category_share(name: str) -> Callable[[dict], float]:
    def category_share(t: dict) -> float:
        count = t["category_items"].get(name) or t["category_items_untranslated"][name]
        return count / t["scale"]["order_items"]
    return category_share


def _state_share(state: str) -> Callable[[dict], float]:
    return lambda t: t["customer_states"][state] / _orders(t)


def _city_share(city: str) -> Callable[[dict], float]:
    return lambda t: t["customer_cities"][city] / _orders(t)


def _top20_share(t: dict) -> float:
    counts = sorted((v for k, v in t["category_items"].items() if k != "source"), reverse=True)
    return sum(counts[:20]) / t["scale"]["order_items"]


def _ratio(num: list[str], den: list[str]) -> Callable[[dict], float]:
    return lambda t: _month_share(num)(t) / _month_share(den)(t)


def _months(t: dict) -> list[str]:
    return [m for m in t["monthly_orders"] if m != "source"]


_TIME = "order_purchase_timestamp"
_WINDOW = f"{_TIME} >= TIMESTAMP '2017-01-01' AND {_TIME} < TIMESTAMP '2018-09-01'"
_DELIVERED = "order_status = 'delivered' AND order_delivered_customer_date IS NOT NULL"
_MONTH = f"strftime({_TIME}, '%Y-%m')"
_PER_ORDER_PAID = "(SELECT sum(payment_value) v FROM payments GROUP BY order_id)"
_ITEMS_PER_ORDER = "(SELECT count(*) n FROM items GROUP BY order_id)"
_ORDERS_PER_PERSON = "(SELECT count(*) n FROM customers GROUP BY customer_unique_id)"
_ITEM_CATEGORY = ("items i JOIN products p USING (product_id) "
                  "LEFT JOIN translation t USING (product_category_name)")


def _where(where: str) -> str:
    return f" WHERE {where}" if where else ""


def share(condition: str, source: str, where: str = "") -> str:
    """SQL: share of rows meeting `condition` (rows where it is NULL count as not meeting it)."""
    return f"SELECT avg(coalesce({condition}, false)::INT) FROM {source}{_where(where)}"


def mean(expr: str, source: str, where: str = "") -> str:
    return f"SELECT avg({expr}) FROM {source}{_where(where)}"


def quantile(expr: str, q: float, source: str, where: str = "") -> str:
    return f"SELECT quantile_cont({expr}, {q}) FROM {source}{_where(where)}"


def days(start: str, end: str) -> str:
    return f"epoch({end} - {start}) / 86400.0"


_DELIVERY_DAYS = days(_TIME, "order_delivered_customer_date")
_VS_ESTIMATE = days("order_estimated_delivery_date", "order_delivered_customer_date")
_APPROVAL_HOURS = f"epoch(order_approved_at - {_TIME}) / 3600"
_R = "reference_analysis"

CHECKS: list[Check] = [
    # §4 customers and orders
    Check("orders per customer (mean)", lambda t: t["scale"]["orders"] / t["scale"]["unique_customers"],
          mean("n", _ORDERS_PER_PERSON)),
    Check("repeat customers (share)",
          lambda t: 1 - t["orders_per_customer"]["counts"]["1"] / t["scale"]["unique_customers"],
          share("n > 1", _ORDERS_PER_PERSON)),
    Check("customers with 3+ orders (share)",
          lambda t: sum(v for k, v in t["orders_per_customer"]["counts"].items() if int(k) >= 3)
          / t["scale"]["unique_customers"],
          share("n >= 3", _ORDERS_PER_PERSON)),
    # §2 status, §1 missing dates
    *[Check(f"status {s} (share)", _status(s), share(f"order_status = '{s}'", "orders"))
      for s in ("delivered", "shipped", "canceled", "unavailable", "invoiced", "processing")],
    *[Check(f"{col} missing (share)", _share("order_nulls", col, _orders), share(f"{col} IS NULL", "orders"))
      for col in ("order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date")],
    # §3 time
    Check("orders in 2016 (share)", lambda t: _month_share([m for m in _months(t) if m < "2017"])(t),
          share(f"year({_TIME}) = 2016", "orders")),
    Check("orders in 2017 (share)", lambda t: _month_share([m for m in _months(t) if m[:4] == "2017"])(t),
          share(f"year({_TIME}) = 2017", "orders")),
    Check("orders in Nov 2017 (share)", _month_share(["2017-11"]), share(f"{_MONTH} = '2017-11'", "orders")),
    Check("orders Nov / Oct 2017", _ratio(["2017-11"], ["2017-10"]),
          f"SELECT count(*) FILTER ({_MONTH} = '2017-11') / count(*) FILTER ({_MONTH} = '2017-10') FROM orders"),
    Check("orders Dec / Nov 2017", _ratio(["2017-12"], ["2017-11"]),
          f"SELECT count(*) FILTER ({_MONTH} = '2017-12') / count(*) FILTER ({_MONTH} = '2017-11') FROM orders"),
    Check("orders on Black Friday 2017-11-24 (share)", _share("notable_days", "black_friday_orders", _orders),
          share(f"{_TIME}::DATE = DATE '2017-11-24'", "orders")),
    Check("monthly share, largest gap to published (abs)", lambda t: 0.0, "MONTHLY"),
    Check("orders on Mondays, 2017-01..2018-08 (share)",
          lambda t: t["weekday_orders"]["counts"][0] / sum(t["weekday_orders"]["counts"]),
          share(f"isodow({_TIME}) = 1", "orders", _WINDOW)),
    Check("orders at weekends, 2017-01..2018-08 (share)",
          lambda t: sum(t["weekday_orders"]["counts"][5:]) / sum(t["weekday_orders"]["counts"]),
          share(f"isodow({_TIME}) >= 6", "orders", _WINDOW)),
    Check("orders 12-16h, 2017-01..2018-08 (share)",
          lambda t: sum(t["hour_orders"]["counts"][12:17]) / sum(t["hour_orders"]["counts"]),
          share(f"hour({_TIME}) BETWEEN 12 AND 16", "orders", _WINDOW)),
    Check("orders 23-04h, 2017-01..2018-08 (share)",
          lambda t: (sum(t["hour_orders"]["counts"][:5]) + t["hour_orders"]["counts"][23])
          / sum(t["hour_orders"]["counts"]),
          share(f"hour({_TIME}) >= 23 OR hour({_TIME}) <= 4", "orders", _WINDOW)),
    # §5 baskets
    Check("orders without items (share)", lambda t: 1 - t["scale"]["orders_with_items"] / t["scale"]["orders"],
          share("order_id NOT IN (SELECT order_id FROM items)", "orders")),
    Check("items per order (mean)", lambda t: t["items_per_order"]["mean"], mean("n", _ITEMS_PER_ORDER)),
    Check("orders with 1 item (share)",
          lambda t: t["items_per_order"]["counts"]["1"] / t["scale"]["orders_with_items"],
          share("n = 1", _ITEMS_PER_ORDER)),
    Check("orders with 2 items (share)",
          lambda t: t["items_per_order"]["counts"]["2"] / t["scale"]["orders_with_items"],
          share("n = 2", _ITEMS_PER_ORDER)),
    Check("delivered orders with >1 distinct product (share)",
          lambda t: t["basket"]["delivered_multi_product_orders"] / t["basket"]["delivered_orders_with_items"],
          share("n > 1", f"(SELECT count(DISTINCT product_id) n FROM items JOIN orders USING (order_id) "
                         f"WHERE {_DELIVERED} GROUP BY order_id)")),
    Check("delivered orders with >1 seller (share)",
          lambda t: t["basket"]["delivered_multi_seller_orders"] / t["basket"]["delivered_orders_with_items"],
          share("n > 1", f"(SELECT count(DISTINCT seller_id) n FROM items JOIN orders USING (order_id) "
                         f"WHERE {_DELIVERED} GROUP BY order_id)")),
    Check("products sold at least once (share of catalogue)", lambda t: 1.0,
          "SELECT count(DISTINCT product_id) / (SELECT count(*) FROM products) FROM items", olist_scale_only=True),
    Check("sellers with a sale (share of sellers)", lambda t: 1.0,
          "SELECT count(DISTINCT seller_id) / (SELECT count(*) FROM sellers) FROM items", olist_scale_only=True),
    Check("products in exactly 1 order (share)", lambda t: t["products_sold"]["share_one_order"],
          share("n = 1", "(SELECT count(DISTINCT order_id) n FROM items GROUP BY product_id)"),
          olist_scale_only=True),
    # §9 categories
    *[Check(f"items in {c} (share)", _category_share(c),
            share(f"coalesce(t.product_category_name_english, p.product_category_name) = '{c}'", _ITEM_CATEGORY))
      for c in ("bed_bath_table", "health_beauty", "sports_leisure", "furniture_decor", "computers_accessories",
                "watches_gifts", "telephony")],
    Check("items without category (share)", _category_share("NULL"),
          share("p.product_category_name IS NULL", _ITEM_CATEGORY)),
    Check("items in the top 20 categories (share)", _top20_share, "TOP20"),
    # §6 money
    Check("item price mean", lambda t: t["price"]["mean"], mean("price", "items")),
    *[Check(f"item price {name}", (lambda k: lambda t: t["price"][k])(key), quantile("price", q, "items"))
      for name, key, q in (("p25", "p25", 0.25), ("median", "median", 0.5), ("p75", "p75", 0.75),
                           ("p95", "p95", 0.95))],
    Check("freight mean", lambda t: t["freight"]["mean"], mean("freight_value", "items")),
    *[Check(f"freight {name}", (lambda k: lambda t: t["freight"][k])(key), quantile("freight_value", q, "items"))
      for name, key, q in (("p25", "p25", 0.25), ("median", "median", 0.5), ("p75", "p75", 0.75))],
    Check("zero freight items (share)", lambda t: t["freight"]["zero_rows"] / t["scale"]["order_items"],
          share("freight_value = 0", "items")),
    Check("corr(product weight, freight)", lambda t: t["freight"]["corr_weight"],
          "SELECT corr(product_weight_g, freight_value) FROM items JOIN products USING (product_id)"),
    Check("corr(price, freight)", lambda t: t["freight"]["corr_price"], "SELECT corr(price, freight_value) FROM items"),
    Check("payment per order mean", lambda t: t["payment_per_order"]["mean"], mean("v", _PER_ORDER_PAID)),
    *[Check(f"payment per order {name}", (lambda k: lambda t: t["payment_per_order"][k])(key),
            quantile("v", q, _PER_ORDER_PAID))
      for name, key, q in (("p25", "p25", 0.25), ("median", "median", 0.5), ("p75", "p75", 0.75))],
    *[Check(f"payment rows {p} (share)", _share("payment_type_rows", p, lambda t: t["scale"]["payment_rows"]),
            share(f"payment_type = '{p}'", "payments"))
      for p in ("credit_card", "boleto", "voucher", "debit_card")],
    Check("installments per payment row (mean)", lambda t: t["payment_installments"]["mean"],
          mean("payment_installments", "payments")),
    Check("payment rows with 1 installment (share)",
          _share("payment_installments", "rows_with_one", lambda t: t["scale"]["payment_rows"]),
          share("payment_installments = 1", "payments")),
    Check("payment rows per order (mean)", lambda t: t["payment_installments"]["payment_rows_per_order_mean"],
          "SELECT count(*) / count(DISTINCT order_id) FROM payments"),
    # §7 reviews
    *[Check(f"review score {s} (share)", _score_share(s), share(f"review_score = {s}", "reviews"))
      for s in (5, 4, 3, 2, 1)],
    Check("review score (mean)", lambda t: t["review_scores"]["mean"], mean("review_score", "reviews")),
    Check("review score, delivered on time (mean)", lambda t: t["review_scores"]["on_time_mean"],
          mean("review_score", "reviews JOIN orders USING (order_id)",
               f"{_DELIVERED} AND order_delivered_customer_date <= order_estimated_delivery_date")),
    Check("review score, delivered late (mean)", lambda t: t["review_scores"]["late_mean"],
          mean("review_score", "reviews JOIN orders USING (order_id)",
               f"{_DELIVERED} AND order_delivered_customer_date > order_estimated_delivery_date")),
    Check("orders without review (share)", lambda t: 1 - t["reviews"]["orders_reviewed"] / t["scale"]["orders"],
          share("order_id NOT IN (SELECT order_id FROM reviews)", "orders")),
    Check("reviewed orders with 2+ reviews (share)",
          lambda t: (t["reviews"]["orders_with_two"] + t["reviews"]["orders_with_three"])
          / t["reviews"]["orders_reviewed"],
          share("n > 1", "(SELECT count(*) n FROM reviews GROUP BY order_id)")),
    Check("review rows reusing a review_id (share)",
          lambda t: t["reviews"]["reused_review_ids"] / t["scale"]["review_rows"],
          "SELECT 1 - count(DISTINCT review_id) / count(*) FROM reviews"),
    Check("review title missing (share)", _share("reviews", "title_missing", lambda t: t["scale"]["review_rows"]),
          share("review_comment_title IS NULL", "reviews")),
    Check("review message missing (share)",
          _share("reviews", "message_missing", lambda t: t["scale"]["review_rows"]),
          share("review_comment_message IS NULL", "reviews")),
    Check("review answer delay, days (median)", lambda t: t["reviews"]["answer_median_days"],
          quantile(days("review_creation_date", "review_answer_timestamp"), 0.5, "reviews")),
    # §8 geography
    *[Check(f"customers in {s} (share)", _state_share(s), share(f"customer_state = '{s}'", "customers"))
      for s in ("SP", "RJ", "MG", "RS", "PR", "BA")],
    *[Check(f"customers in {c} (share)", _city_share(c), share(f"customer_city = '{c}'", "customers"))
      for c in ("sao paulo", "rio de janeiro", "belo horizonte", "brasilia")],
    Check("distinct customer cities", lambda t: t["scale"]["customer_cities"],
          "SELECT count(DISTINCT customer_city) FROM customers", olist_scale_only=True),
    Check("distinct customer zip prefixes", lambda t: t["scale"]["customer_zip_prefixes"],
          "SELECT count(DISTINCT customer_zip_code_prefix) FROM customers", olist_scale_only=True),
    # §10 delivery
    Check("purchase to delivery, days (mean)", lambda t: t["delivery"]["mean_days"],
          mean(_DELIVERY_DAYS, "orders", _DELIVERED)),
    Check("purchase to delivery, days (median)", lambda t: t["delivery"]["median_days"],
          quantile(_DELIVERY_DAYS, 0.5, "orders", _DELIVERED)),
    Check("purchase to delivery, days (p95)", lambda t: t["delivery"]["p95_days"],
          quantile(_DELIVERY_DAYS, 0.95, "orders", _DELIVERED)),
    Check("delivered after the estimated date (share)",
          lambda t: t["delivery"]["late_orders"] / t["delivery"]["late_base"],
          share("order_delivered_customer_date > order_estimated_delivery_date", "orders", _DELIVERED)),
    Check("delivered minus estimated, days (median)", lambda t: t["delivery"]["delay_vs_estimate_median"],
          quantile(_VS_ESTIMATE, 0.5, "orders", _DELIVERED)),
    Check("delivered minus estimated, days (p5)", lambda t: t["delivery"]["delay_vs_estimate_p05"],
          quantile(_VS_ESTIMATE, 0.05, "orders", _DELIVERED)),
    Check("delivered minus estimated, days (p95)", lambda t: t["delivery"]["delay_vs_estimate_p95"],
          quantile(_VS_ESTIMATE, 0.95, "orders", _DELIVERED)),
    Check("purchase to approval, hours (median)", lambda t: t["approval"]["median_hours"],
          quantile(_APPROVAL_HOURS, 0.5, "orders", _DELIVERED)),
    Check("purchase to approval, hours (p75)", lambda t: t["approval"]["p75_hours"],
          quantile(_APPROVAL_HOURS, 0.75, "orders", _DELIVERED)),
    Check("purchase to approval, hours (mean)", lambda t: t["approval"]["mean_hours"],
          mean(_APPROVAL_HOURS, "orders", _DELIVERED)),
    Check("approval to carrier, days (median)", lambda t: t["handover"]["median_days"],
          quantile(days("order_approved_at", "order_delivered_carrier_date"), 0.5, "orders", _DELIVERED)),
    Check("carrier to customer, days (median)", lambda t: t["transit"]["median_days"],
          quantile(days("order_delivered_carrier_date", "order_delivered_customer_date"), 0.5, "orders",
                   _DELIVERED)),
    *[Check(f"delivery days in {s} (mean)", (lambda s_: lambda t: t["delivery_by_state"][s_])(s),
            mean(_DELIVERY_DAYS, "orders JOIN customers USING (customer_id)",
                 f"{_DELIVERED} AND customer_state = '{s}'"))
      for s in ("SP", "RJ", "MG", "BA")],
    # §11 customer-level picture of the reference analysis (purchases in 2017-01..2018-08)
    Check("customers who bought (share of customers in window)",
          lambda t: t[_R]["buyers"] / t[_R]["customers"],
          "SELECT count(*) / (SELECT count(DISTINCT customer_unique_id) FROM window_orders) FROM buyers"),
    Check("repeat buyers (share of buyers)", lambda t: t[_R]["repeat_buyers"] / t[_R]["buyers"],
          share("purchases >= 2", "buyers")),
    *[Check(f"buyer spend {name}", (lambda k: lambda t: t[_R][k])(key), quantile("spend", q, "buyers"))
      for name, key, q in (("p25", "spend_p25", 0.25), ("median", "spend_median", 0.5),
                           ("p75", "spend_p75", 0.75))],
    Check("promoters, mean score 5 (share of buyers)", lambda t: t[_R]["promoters"] / t[_R]["buyers"],
          share("mean_score = 5", "buyers")),
    Check("critics, mean score < 3 (share of buyers)", lambda t: t[_R]["critics"] / t[_R]["buyers"],
          share("mean_score < 3", "buyers")),
    Check("buyers using installments (share)", lambda t: t[_R]["installment_buyers"] / t[_R]["buyers"],
          share("used_installments", "buyers")),
    Check("buyers buying only on weekdays (share)", lambda t: t[_R]["weekday_only_buyers"] / t[_R]["buyers"],
          share("weekday_only", "buyers")),
    Check("buyers with one item per order (share)", lambda t: t[_R]["single_item_buyers"] / t[_R]["buyers"],
          share("mean_items = 1", "buyers")),
    Check("repeat buyers' 1st to 2nd purchase, days (median)", lambda t: t["repeat_gaps"]["median_days"],
          quantile("gap_days", 0.5, "repeat_gaps")),
    Check("repeat buyers buying again within 24 h (share)", lambda t: t[_R]["repeat_within_24h_share"],
          share("gap_days <= 1", "repeat_gaps")),
]


def _views(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """Register the CSV files as typed views (ids and zips stay text)."""
    def csv(name: str, types: dict[str, str]) -> str:
        path = str(folder / name).replace("'", "''")
        cols = ", ".join(f"'{k}': '{v}'" for k, v in types.items())
        return f"read_csv('{path}', header = true, quote = '\"', escape = '\"', columns = {{{cols}}})"

    ts = "TIMESTAMP"
    con.execute("CREATE VIEW orders AS SELECT * FROM " + csv("olist_orders_dataset.csv", {
        "order_id": "VARCHAR", "customer_id": "VARCHAR", "order_status": "VARCHAR", "order_purchase_timestamp": ts,
        "order_approved_at": ts, "order_delivered_carrier_date": ts, "order_delivered_customer_date": ts,
        "order_estimated_delivery_date": ts}))
    con.execute("CREATE VIEW customers AS SELECT * FROM " + csv("olist_customers_dataset.csv", {
        "customer_id": "VARCHAR", "customer_unique_id": "VARCHAR", "customer_zip_code_prefix": "VARCHAR",
        "customer_city": "VARCHAR", "customer_state": "VARCHAR"}))
    con.execute("CREATE VIEW items AS SELECT * FROM " + csv("olist_order_items_dataset.csv", {
        "order_id": "VARCHAR", "order_item_id": "INTEGER", "product_id": "VARCHAR", "seller_id": "VARCHAR",
        "shipping_limit_date": ts, "price": "DOUBLE", "freight_value": "DOUBLE"}))
    con.execute("CREATE VIEW payments AS SELECT * FROM " + csv("olist_order_payments_dataset.csv", {
        "order_id": "VARCHAR", "payment_sequential": "INTEGER", "payment_type": "VARCHAR",
        "payment_installments": "INTEGER", "payment_value": "DOUBLE"}))
    con.execute("CREATE VIEW reviews AS SELECT * FROM " + csv("olist_order_reviews_dataset.csv", {
        "review_id": "VARCHAR", "order_id": "VARCHAR", "review_score": "INTEGER", "review_comment_title": "VARCHAR",
        "review_comment_message": "VARCHAR", "review_creation_date": ts, "review_answer_timestamp": ts}))
    con.execute("CREATE VIEW products AS SELECT * FROM " + csv("olist_products_dataset.csv", {
        "product_id": "VARCHAR", "product_category_name": "VARCHAR", "product_name_lenght": "DOUBLE",
        "product_description_lenght": "DOUBLE", "product_photos_qty": "DOUBLE", "product_weight_g": "DOUBLE",
        "product_length_cm": "DOUBLE", "product_height_cm": "DOUBLE", "product_width_cm": "DOUBLE"}))
    con.execute("CREATE VIEW sellers AS SELECT * FROM " + csv("olist_sellers_dataset.csv", {
        "seller_id": "VARCHAR", "seller_zip_code_prefix": "VARCHAR", "seller_city": "VARCHAR",
        "seller_state": "VARCHAR"}))
    con.execute("CREATE VIEW translation AS SELECT * FROM " + csv("product_category_name_translation.csv", {
        "product_category_name": "VARCHAR", "product_category_name_english": "VARCHAR"}))
    # The reference analysis' purchase rule and its per-customer table (STATS §11 definitions).
    con.execute(f"""
        CREATE TEMP TABLE window_orders AS
        SELECT o.*, c.customer_unique_id,
               order_status = 'delivered' OR (order_status NOT IN ('canceled', 'unavailable')
                 AND floor(epoch((SELECT max({_TIME}) FROM orders) - order_estimated_delivery_date) / 86400) <= 31)
                 AS is_purchase
        FROM orders o JOIN customers c USING (customer_id) WHERE {_WINDOW}""")
    con.execute(f"""
        CREATE TEMP TABLE buyers AS
        WITH p AS (SELECT * FROM window_orders WHERE is_purchase),
             pay AS (SELECT order_id, sum(payment_value) v, max(payment_installments) > 1 inst
                     FROM payments GROUP BY order_id),
             it AS (SELECT order_id, count(*) n FROM items GROUP BY order_id),
             sc AS (SELECT p.customer_unique_id, avg(r.review_score) mean_score
                    FROM p JOIN reviews r USING (order_id) GROUP BY p.customer_unique_id),
             base AS (
               SELECT p.customer_unique_id, count(*) purchases, sum(coalesce(pay.v, 0)) spend,
                      coalesce(bool_or(pay.inst), false) used_installments,
                      bool_and(isodow(p.{_TIME}) <= 5) weekday_only, avg(coalesce(it.n, 0)) mean_items
               FROM p LEFT JOIN pay USING (order_id) LEFT JOIN it USING (order_id)
               GROUP BY p.customer_unique_id)
        SELECT base.*, sc.mean_score FROM base LEFT JOIN sc USING (customer_unique_id)""")
    con.execute(f"""
        CREATE TEMP TABLE repeat_gaps AS
        SELECT epoch(t2 - t1) / 86400.0 gap_days FROM (
          SELECT customer_unique_id, min({_TIME}) t1,
                 list_sort(list({_TIME}))[2] t2, count(*) n
          FROM window_orders WHERE is_purchase GROUP BY customer_unique_id) WHERE n >= 2""")


def _special(con: duckdb.DuckDBPyConnection, key: str, targets: dict) -> float:
    if key == "MONTHLY":
        gen = con.execute(f"SELECT strftime({_TIME}, '%Y-%m') m, count(*) FROM orders GROUP BY m").fetchall()
        gen_n = sum(n for _, n in gen)
        gen_share = {m: n / gen_n for m, n in gen}
        months = _months(targets)
        total = sum(targets["monthly_orders"][m][0] for m in months)
        keys = set(months) | set(gen_share)
        return max(abs(gen_share.get(m, 0.0) - targets["monthly_orders"].get(m, [0])[0] / total) for m in keys)
    if key == "TOP20":
        top = sorted((k for k in targets["category_items"] if k != "source"),
                     key=lambda k: -targets["category_items"][k])[:20]
        names = ", ".join(f"'{c}'" for c in top)
        return con.execute(share(f"t.product_category_name_english IN ({names})", _ITEM_CATEGORY)).fetchone()[0]
    raise KeyError(key)


def calibration_report(folder: str | Path) -> pd.DataFrame:
    """Each target statistic, its value in the folder's CSVs, the tolerance and whether it is met."""
    folder = Path(folder)
    targets = load_targets()
    tolerances = {k: v for k, v in targets["tolerance"].items() if k != "source"}
    con = duckdb.connect()
    try:
        _views(con, folder)
        people = con.execute("SELECT count(DISTINCT customer_unique_id) FROM customers").fetchone()[0]
        at_olist_scale = OLIST_SCALE[0] <= people <= OLIST_SCALE[1]
        rows = []
        for check in CHECKS:
            if check.olist_scale_only and not at_olist_scale:
                continue
            target = float(check.target(targets))
            if check.sql in ("MONTHLY", "TOP20"):
                value = _special(con, check.sql, targets)
            else:
                value = con.execute(check.sql).fetchone()[0]
            value = float("nan") if value is None else float(value)
            tol = tolerances[check.name]
            allowed = tol["abs"] if "abs" in tol else tol["rel"] * abs(target)
            ok = bool(np.isfinite(value) and abs(value - target) <= allowed + 1e-12)
            tol_text = f"± {tol['abs']:g}" if "abs" in tol else f"± {tol['rel']:.0%}"
            rows.append({"statistic": check.name, "target": target, "generated": value,
                         "tolerance": tol_text, "ok": ok})
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["statistic", "target", "generated", "tolerance", "ok"])


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.2f}"
    return f"{x:.4g}"


def comparison_markdown(table: pd.DataFrame, reference: str, fmt=None) -> str:
    """A statistic / `reference` / generated / tolerance / ok table as markdown, with a closing count."""
    fmt = fmt or _fmt
    lines = [f"| statistic | {reference} | generated | tolerance | ok |", "|---|---:|---:|---:|---|"]
    for row in table.to_dict("records"):
        lines.append(f"| {row['statistic']} | {fmt(row[reference])} | {fmt(row['generated'])} | {row['tolerance']} | "
                     f"{'yes' if row['ok'] else '**NO**'} |")
    lines.append(f"\n{int(table['ok'].sum())} of {len(table)} statistics within tolerance.")
    return "\n".join(lines)


def report_markdown(table: pd.DataFrame) -> str:
    """The calibration table as markdown (what `custseg generate --report` prints)."""
    return comparison_markdown(table, "target")
