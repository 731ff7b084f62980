"""Generated Olist data against the REAL Olist tables: the same statistics computed from both.

`olist_statistics(folder)` computes a fixed set of statistics (shares, means, quantiles) from any folder
holding the Olist CSVs (plain ``.csv`` or gzip ``.csv.gz``, e.g. the bundled real folder
``custseg.data.olist_folder()``) with DuckDB SQL, independently of the generator's code.
`compare_to_real(generated_folder)` computes them for a generated folder and for the real one and
checks each within its tolerance (`TOLERANCES`); the monthly volume is compared as a whole (correlation
of the monthly order counts and the largest gap between monthly shares).

Tolerances are sized for a generated folder at Olist scale (96,096 customers, ~99k orders) and say how
close a generator that draws each order independently from the real distributions can be expected to
come: sampling noise (about 4 standard errors at Olist scale) plus a small allowance where the generator
models a relationship instead of copying it (order value, installments). Shares use an absolute
tolerance, values (means, quantiles) a relative one. See docs/generator.md.

Run ``python -m custseg.generate.compare GENERATED_DIR`` to print the markdown table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ORDERS = "olist_orders_dataset.csv"
CUSTOMERS = "olist_customers_dataset.csv"
ITEMS = "olist_order_items_dataset.csv"
PAYMENTS = "olist_order_payments_dataset.csv"
REVIEWS = "olist_order_reviews_dataset.csv"
PRODUCTS = "olist_products_dataset.csv"
TRANSLATION = "product_category_name_translation.csv"

PAYMENT_TYPES = ("credit_card", "boleto", "voucher", "debit_card")
STATUSES = ("delivered", "shipped", "canceled", "unavailable")
STATES = ("SP", "RJ", "MG", "RS", "PR", "SC", "BA")
#: The ten categories with the most order items in the real data (English names).
CATEGORIES = ("bed_bath_table", "health_beauty", "sports_leisure", "furniture_decor", "computers_accessories",
              "housewares", "watches_gifts", "telephony", "garden_tools", "auto")

MONTHLY_CORRELATION = "monthly orders, correlation with real"
MONTHLY_GAP = "monthly share of orders, largest gap to real"
PAY_MISMATCH = "orders whose payments differ from price + freight by > 1 cent (share)"

# (kind, size): "abs" = |generated - real| <= size, "rel" = |generated - real| <= size * |real|.
# How they are sized: a generator that draws each customer, order and item independently from the
# real distributions differs from the real data by sampling noise. At Olist scale a share p over n
# units has a standard error sd = sqrt(p (1 - p) / n), n = 96k customers, ~99k orders, ~113k items
# (~99k orders: items of one order share a product, so categories count per order), ~104k payment rows
# or ~99k reviews. Shares get about 4 sd (rounded up); a seed then fails only for a real model error.
# Values where the generator models a relationship instead of copying it (order value: prices are
# drawn per product, freight from weight and distance) get 4 sd plus ~1% for the model.
TOLERANCES: dict[str, tuple[str, float]] = {
    # Orders per customer: the real histogram is drawn (sd 0.0006 for the one-order share).
    "customers with 1 order (share)": ("abs", 0.0025),
    "customers with 2 orders (share)": ("abs", 0.0025),
    "customers with 3+ orders (share)": ("abs", 0.0007),
    "orders per customer (mean)": ("rel", 0.004),
    # Baskets: the real histogram of items per order (sd 0.0010 for the one-item share, 0.0017 items
    # for the mean, whose tail goes to 21 items).
    "orders without items (share)": ("abs", 0.0012),
    "items per order (mean)": ("rel", 0.008),
    "orders with 1 item (share)": ("abs", 0.004),
    # Order value (sum of price + freight of an order's items): sd ~0.5% (median, mean) and ~1% (p90).
    "order value, price + freight (median)": ("rel", 0.03),
    "order value, price + freight (mean)": ("rel", 0.03),
    "order value, price + freight (p90)": ("rel", 0.04),
    # Payments are copied in shape from a real order of similar value (sd 0.0014 for credit card,
    # 0.0004 for debit card; 0.01 installments for the card mean).
    "payment rows credit_card (share)": ("abs", 0.0055),
    "payment rows boleto (share)": ("abs", 0.005),
    "payment rows voucher (share)": ("abs", 0.003),
    "payment rows debit_card (share)": ("abs", 0.0016),
    "payment rows per order (mean)": ("abs", 0.006),
    "credit card installments (mean)": ("rel", 0.015),
    "credit card rows with 1 installment (share)": ("abs", 0.007),
    # Review scores: drawn from mixes that depend on lateness and status, solved so that the overall
    # shares come out (sd 0.0016 for 5 stars, 0.0006 for 2 stars, 0.004 for the mean).
    "review score 1 (share)": ("abs", 0.005),
    "review score 2 (share)": ("abs", 0.0025),
    "review score 3 (share)": ("abs", 0.0035),
    "review score 4 (share)": ("abs", 0.005),
    "review score 5 (share)": ("abs", 0.007),
    "review score (mean)": ("abs", 0.02),
    # Status: drawn per month from the real mix (sd 0.0005 for delivered, 0.0003 for shipped).
    "status delivered (share)": ("abs", 0.0025),
    "status shipped (share)": ("abs", 0.0014),
    "status canceled (share)": ("abs", 0.0011),
    "status unavailable (share)": ("abs", 0.0011),
    "status other (share)": ("abs", 0.0011),
    # States: customers are placed by the real state counts (sd 0.0016 for SP, 0.0006 for BA).
    "customers in SP (share)": ("abs", 0.0065),
    "customers in RJ (share)": ("abs", 0.0045),
    "customers in MG (share)": ("abs", 0.0045),
    "customers in RS (share)": ("abs", 0.003),
    "customers in PR (share)": ("abs", 0.003),
    "customers in SC (share)": ("abs", 0.0025),
    "customers in BA (share)": ("abs", 0.0025),
    # Categories: products are picked by popularity within the real category mix; counted per order
    # and x1.2 for orders with several items (sd 0.0010 for bed_bath_table, 0.0006 for auto).
    "items in bed_bath_table (share)": ("abs", 0.0045),
    "items in health_beauty (share)": ("abs", 0.0045),
    "items in sports_leisure (share)": ("abs", 0.004),
    "items in furniture_decor (share)": ("abs", 0.004),
    "items in computers_accessories (share)": ("abs", 0.004),
    "items in housewares (share)": ("abs", 0.0035),
    "items in watches_gifts (share)": ("abs", 0.0035),
    "items in telephony (share)": ("abs", 0.003),
    "items in garden_tools (share)": ("abs", 0.003),
    "items in auto (share)": ("abs", 0.003),
    "items without category (share)": ("abs", 0.002),
    "items in the top 10 categories (share)": ("abs", 0.008),
    # Calendar: purchase days come from the real monthly and daily volume (sd 0.0002 for 2016,
    # 0.0016 for 2017, 0.0008 for Nov 2017, 3% of the Black Friday count).
    "orders in 2016 (share)": ("abs", 0.0008),
    "orders in 2017 (share)": ("abs", 0.0065),
    "orders in Nov 2017 (share)": ("abs", 0.0035),
    "orders on Black Friday 2017-11-24 (share)": ("rel", 0.12),
    # Monthly counts: noise of ~sqrt(7,000) = 84 orders on a spread of ~2,500 between months gives a
    # correlation of ~0.9994; the largest of 25 monthly share gaps is ~3 sd of the largest month.
    MONTHLY_CORRELATION: ("abs", 0.002),
    MONTHLY_GAP: ("abs", 0.0035),
    # Real orders paying more (card interest) or less (discounts) than price + freight: 0.31%,
    # sd 0.00018.
    PAY_MISMATCH: ("abs", 0.0008),
}


def _path(folder: Path, name: str) -> str:
    for candidate in (folder / name, folder / (name + ".gz")):
        if candidate.exists():
            return str(candidate).replace("'", "''")
    raise FileNotFoundError(f"{folder} has neither {name} nor {name}.gz")


def _views(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """The tables the statistics read, with explicit types (ids as text)."""
    def csv(name: str, columns: dict[str, str]) -> str:
        cols = ", ".join(f"'{k}': '{v}'" for k, v in columns.items())
        return (f"read_csv('{_path(folder, name)}', header = true, quote = '\"', escape = '\"', "
                f"columns = {{{cols}}})")

    text, ts, num = "VARCHAR", "TIMESTAMP", "DOUBLE"
    con.execute("CREATE TEMP TABLE orders AS SELECT order_id, customer_id, order_status, order_purchase_timestamp "
                "FROM " + csv(ORDERS, {
                    "order_id": text, "customer_id": text, "order_status": text, "order_purchase_timestamp": ts,
                    "order_approved_at": ts, "order_delivered_carrier_date": ts,
                    "order_delivered_customer_date": ts, "order_estimated_delivery_date": ts}))
    con.execute("CREATE TEMP TABLE customers AS SELECT customer_id, customer_unique_id, customer_state FROM " + csv(
        CUSTOMERS, {"customer_id": text, "customer_unique_id": text, "customer_zip_code_prefix": text,
                    "customer_city": text, "customer_state": text}))
    con.execute("CREATE TEMP TABLE items AS SELECT order_id, product_id, price, freight_value FROM " + csv(ITEMS, {
        "order_id": text, "order_item_id": "INTEGER", "product_id": text, "seller_id": text,
        "shipping_limit_date": ts, "price": num, "freight_value": num}))
    con.execute("CREATE TEMP TABLE payments AS SELECT * FROM " + csv(PAYMENTS, {
        "order_id": text, "payment_sequential": "INTEGER", "payment_type": text,
        "payment_installments": "INTEGER", "payment_value": num}))
    con.execute("CREATE TEMP TABLE reviews AS SELECT order_id, review_score FROM " + csv(REVIEWS, {
        "review_id": text, "order_id": text, "review_score": "INTEGER", "review_comment_title": text,
        "review_comment_message": text, "review_creation_date": ts, "review_answer_timestamp": ts}))
    con.execute("CREATE TEMP TABLE products AS SELECT product_id, product_category_name FROM " + csv(PRODUCTS, {
        "product_id": text, "product_category_name": text, "product_name_lenght": num,
        "product_description_lenght": num, "product_photos_qty": num, "product_weight_g": num,
        "product_length_cm": num, "product_height_cm": num, "product_width_cm": num}))
    con.execute("CREATE TEMP TABLE translation AS SELECT * FROM " + csv(TRANSLATION, {
        "product_category_name": text, "product_category_name_english": text}))
    # Per order: value of its items (price + freight, in cents to avoid float sums) and what was paid.
    con.execute("""CREATE TEMP TABLE order_value AS
                   SELECT order_id, count(*) n_items,
                          sum(round(price * 100) + round(freight_value * 100))::BIGINT cents
                   FROM items GROUP BY order_id""")
    con.execute("""CREATE TEMP TABLE order_paid AS
                   SELECT order_id, sum(round(payment_value * 100))::BIGINT cents FROM payments GROUP BY order_id""")
    con.execute("""CREATE TEMP TABLE item_category AS
                   SELECT p.product_category_name IS NULL no_category,
                          coalesce(t.product_category_name_english, p.product_category_name) category
                   FROM items i LEFT JOIN products p USING (product_id)
                   LEFT JOIN translation t USING (product_category_name)""")


def _share(condition: str, source: str, where: str = "") -> str:
    where = f" WHERE {where}" if where else ""
    return f"SELECT avg(coalesce({condition}, false)::INT) FROM {source}{where}"


_PER_PERSON = "(SELECT count(*) n FROM customers GROUP BY customer_unique_id)"
_MONTH = "strftime(order_purchase_timestamp, '%Y-%m')"
_CREDIT = "payment_type = 'credit_card'"

QUERIES: dict[str, str] = {
    "customers with 1 order (share)": _share("n = 1", _PER_PERSON),
    "customers with 2 orders (share)": _share("n = 2", _PER_PERSON),
    "customers with 3+ orders (share)": _share("n >= 3", _PER_PERSON),
    "orders per customer (mean)": f"SELECT avg(n) FROM {_PER_PERSON}",
    "orders without items (share)": _share("order_id NOT IN (SELECT order_id FROM order_value)", "orders"),
    "items per order (mean)": "SELECT avg(n_items) FROM order_value",
    "orders with 1 item (share)": _share("n_items = 1", "order_value"),
    "order value, price + freight (median)": "SELECT quantile_cont(cents, 0.5) / 100 FROM order_value",
    "order value, price + freight (mean)": "SELECT avg(cents) / 100 FROM order_value",
    "order value, price + freight (p90)": "SELECT quantile_cont(cents, 0.9) / 100 FROM order_value",
    **{f"payment rows {t} (share)": _share(f"payment_type = '{t}'", "payments") for t in PAYMENT_TYPES},
    "payment rows per order (mean)": "SELECT count(*) / count(DISTINCT order_id) FROM payments",
    "credit card installments (mean)": f"SELECT avg(payment_installments) FROM payments WHERE {_CREDIT}",
    "credit card rows with 1 installment (share)": _share("payment_installments <= 1", "payments", _CREDIT),
    **{f"review score {s} (share)": _share(f"review_score = {s}", "reviews") for s in range(1, 6)},
    "review score (mean)": "SELECT avg(review_score) FROM reviews",
    **{f"status {s} (share)": _share(f"order_status = '{s}'", "orders") for s in STATUSES},
    "status other (share)": _share(f"order_status NOT IN ({', '.join(repr(s) for s in STATUSES)})", "orders"),
    **{f"customers in {s} (share)": _share(f"customer_state = '{s}'", "customers") for s in STATES},
    **{f"items in {c} (share)": _share(f"category = '{c}'", "item_category") for c in CATEGORIES},
    "items without category (share)": _share("no_category", "item_category"),
    "items in the top 10 categories (share)": _share(
        f"category IN ({', '.join(repr(c) for c in CATEGORIES)})", "item_category"),
    "orders in 2016 (share)": _share("year(order_purchase_timestamp) = 2016", "orders"),
    "orders in 2017 (share)": _share("year(order_purchase_timestamp) = 2017", "orders"),
    "orders in Nov 2017 (share)": _share(f"{_MONTH} = '2017-11'", "orders"),
    "orders on Black Friday 2017-11-24 (share)": _share("order_purchase_timestamp::DATE = DATE '2017-11-24'",
                                                        "orders"),
    PAY_MISMATCH: _share("abs(v.cents - p.cents) > 1", "order_value v JOIN order_paid p USING (order_id)"),
}


def _connect(folder: str | Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    try:
        _views(con, Path(folder))
    except BaseException:
        con.close()
        raise
    return con


def _statistics(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    out = {}
    for name, sql in QUERIES.items():
        value = con.execute(sql).fetchone()[0]
        out[name] = float("nan") if value is None else float(value)
    return out


def _monthly(con: duckdb.DuckDBPyConnection) -> pd.Series:
    rows = con.execute(f"SELECT {_MONTH} m, count(*) FROM orders GROUP BY m ORDER BY m").fetchall()
    return pd.Series({m: float(n) for m, n in rows}, dtype=float)


def olist_statistics(folder: str | Path) -> dict[str, float]:
    """The statistics of one Olist folder (plain or gzip CSVs), keyed by name (see `QUERIES`)."""
    con = _connect(folder)
    try:
        return _statistics(con)
    finally:
        con.close()


def monthly_orders(folder: str | Path) -> pd.Series:
    """Orders per purchase month ('YYYY-MM' -> count) of one Olist folder."""
    con = _connect(folder)
    try:
        return _monthly(con)
    finally:
        con.close()


def real_folder() -> Path:
    from custseg.data import olist_folder

    return olist_folder()


def _both(folder: str | Path) -> tuple[dict[str, float], pd.Series]:
    con = _connect(folder)
    try:
        return _statistics(con), _monthly(con)
    finally:
        con.close()


def monthly_comparison(real: pd.Series, generated: pd.Series) -> dict[str, tuple[float, float]]:
    """(real, generated) of the two whole-calendar statistics: the correlation of monthly counts (real
    with itself is 1) and the largest gap between monthly shares (0 for the real data)."""
    months = real.index.union(generated.index)
    r = real.reindex(months, fill_value=0.0)
    g = generated.reindex(months, fill_value=0.0)
    corr = float(np.corrcoef(r.to_numpy(), g.to_numpy())[0, 1])
    gap = float((r / r.sum() - g / g.sum()).abs().max())
    return {MONTHLY_CORRELATION: (1.0, corr), MONTHLY_GAP: (0.0, gap)}


def compare_to_real(generated_folder: str | Path, real: str | Path | None = None) -> pd.DataFrame:
    """Real vs generated for every statistic: columns statistic, real, generated, tolerance, ok."""
    real_stats, real_months = _both(real if real is not None else real_folder())
    gen_stats, gen_months = _both(generated_folder)
    pairs = {name: (real_stats[name], gen_stats[name]) for name in QUERIES}
    pairs.update(monthly_comparison(real_months, gen_months))
    rows = []
    for name, (r, g) in pairs.items():
        kind, size = TOLERANCES[name]
        allowed = size if kind == "abs" else size * abs(r)
        ok = bool(np.isfinite(g) and abs(g - r) <= allowed + 1e-12)
        rows.append({"statistic": name, "real": r, "generated": g,
                     "tolerance": f"± {size:g}" if kind == "abs" else f"± {size * 100:g}%", "ok": ok})
    return pd.DataFrame(rows, columns=["statistic", "real", "generated", "tolerance", "ok"])


def table_markdown(table: pd.DataFrame) -> str:
    """The comparison as a markdown table with a closing count."""
    from custseg.generate.calibration import comparison_markdown

    return comparison_markdown(table, "real")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m custseg.generate.compare",
                                     description="Compare a generated Olist folder with the real Olist tables.")
    parser.add_argument("generated", help="folder written by `custseg generate olist`")
    parser.add_argument("--real", default=None, help="real Olist folder (default: the bundled one)")
    args = parser.parse_args(argv)
    table = compare_to_real(args.generated, args.real)
    print(table_markdown(table))
    return 0 if bool(table["ok"].all()) else 1


if __name__ == "__main__":
    sys.exit(main())
