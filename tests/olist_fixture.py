"""A small hand-made Olist folder that exercises the tricky cases of docs/metrics.md.

`write_olist_fixture(folder)` writes the 8 Kaggle CSV files (no geolocation). Every value is
chosen by hand; the hand-computed expectations live in tests/test_features_vs_pandas.py.

People (customer_unique_id) and what each one is for:

  u01  six orders under three customer_id rows in three cities; two purchases at the same
       timestamp (2017-03-04 10:00:00, first two purchases) and two more at the same timestamp
       (2018-02-01 09:30:00, the latest ones: city tie -> larger order id o105, " campinas ");
       one canceled order; an order with two reviews (4 and 3 -> floor 3); installments 0;
       boleto + voucher payments; a late delivery.
  u02  never converted: a canceled order and an unavailable order without items.
  u03  a shipped order whose estimated date is 31 days 23:59:59 before `last` (a purchase),
       with no approval date (imputed); a city with an apostrophe.
  u04  a shipped order 32 days exactly past its estimated date (not a purchase); the latest
       order of the whole data set (2018-08-20 10:00:00) is its canceled order.
  u05  orders in 2016-10, 2018-09-01 00:00:00, 2018-09-03 (all outside the window) and one at
       2017-01-01 00:00:00 (inside); that order has a review created 2016-12-31 (dropped).
  u06  an order with no purchase timestamp (canceled); a delivered order with no carrier and no
       delivery date (both imputed); a delivered order with no approval date.
  u07  products with zero weight, missing weight and missing category, and the untranslated
       portateis_cozinha_e_preparadores_de_alimentos.
  u08  installments 0, several payments of different types, free shipping; monetary 100.10.
  u09  monetary 100.10 in one payment; same last purchase time as u10.
  u10  monetary 100.10 in three payments (33.37 + 33.37 + 33.36).
  u11  a "processing" order whose estimated date lies after `last` (a purchase); pc_gamer and a
       category with no general group; monetary 100.10; the latest purchase (RFM "now").
  u12  a delivered order without any payment row.
  u13  only an order from 2016: absent from the output.
  u14  a customers row with no order: absent from the output.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

_FMT = "%Y-%m-%d %H:%M:%S"


def _plus(ts: str | None, hours: float) -> str | None:
    if ts is None:
        return None
    return (datetime.strptime(ts, _FMT) + timedelta(hours=hours)).strftime(_FMT)


def _order(order_id, person, city, state, status, purchase, *, approved="+1h", carrier="+48h",
           delivered="+120h", estimated_days=20):
    """One order with the usual timeline: approved 1 h after purchase, handed to the carrier
    48 h after approval, delivered 120 h after that, estimated 20 days after purchase.
    Pass None to leave a date missing, or an explicit timestamp string."""

    def rel(value, base):          # "+48h" -> base + 48 hours; None or a timestamp as given
        if isinstance(value, str) and value.startswith("+"):
            return _plus(base, float(value[1:].rstrip("h")))
        return value

    a = rel(approved, purchase)
    c = rel(carrier, a)
    d = rel(delivered, c)
    e = _plus(purchase, 24 * estimated_days) if isinstance(estimated_days, (int, float)) else estimated_days
    return dict(order_id=order_id, customer_id=f"c_{order_id}", person=person, city=city, state=state,
                order_status=status, order_purchase_timestamp=purchase, order_approved_at=a,
                order_delivered_carrier_date=c, order_delivered_customer_date=d,
                order_estimated_delivery_date=e)


ORDERS = [
    # u01: several orders, same-timestamp purchases, three cities
    _order("o101", "u01", "sao paulo", "SP", "delivered", "2017-03-04 10:00:00"),
    _order("o102", "u01", "rio de janeiro", "RJ", "delivered", "2017-03-04 10:00:00"),
    _order("o103", "u01", "sao paulo", "SP", "delivered", "2017-06-15 14:30:00", delivered="+720h"),
    _order("o104", "u01", "rio de janeiro", "RJ", "delivered", "2018-02-01 09:30:00"),
    _order("o105", "u01", " campinas ", "sp", "delivered", "2018-02-01 09:30:00"),
    _order("o106", "u01", "sao paulo", "SP", "canceled", "2018-03-01 08:00:00", carrier=None, delivered=None),
    # u02: never converted
    _order("o201", "u02", "curitiba", "PR", "canceled", "2017-08-01 11:00:00", carrier=None, delivered=None),
    _order("o202", "u02", "curitiba", "PR", "unavailable", "2017-09-01 16:00:00", carrier=None, delivered=None),
    # u03: shipped within the grace period, no approval date
    _order("o301", "u03", "santa barbara d'oeste", "sp", "shipped", "2018-07-01 12:00:00",
           approved=None, carrier="2018-07-03 13:00:00", delivered=None,
           estimated_days="2018-07-19 10:00:01"),
    _order("o302", "u03", "santa barbara d'oeste", "sp", "delivered", "2017-11-24 20:15:00"),
    # u04: shipped beyond the grace period; the latest order overall (canceled)
    _order("o401", "u04", "belo horizonte", "MG", "shipped", "2018-06-20 09:00:00", delivered=None,
           estimated_days="2018-07-19 10:00:00"),
    _order("o402", "u04", "belo horizonte", "MG", "delivered", "2017-02-10 08:00:00"),
    _order("o403", "u04", "belo horizonte", "MG", "canceled", "2018-08-20 10:00:00", carrier=None, delivered=None),
    # u05: the time window
    _order("o501", "u05", "salvador", "BA", "delivered", "2016-10-05 10:00:00"),
    _order("o502", "u05", "salvador", "BA", "delivered", "2018-09-03 10:00:00"),
    _order("o503", "u05", "salvador", "BA", "delivered", "2017-01-01 00:00:00"),
    _order("o504", "u05", "salvador", "BA", "delivered", "2018-09-01 00:00:00"),
    # u06: missing dates
    _order("o601", "u06", "recife", "PE", "canceled", None, approved=None, carrier=None, delivered=None,
           estimated_days=None),
    _order("o602", "u06", "recife", "PE", "delivered", "2017-07-07 10:00:00", carrier=None, delivered=None),
    _order("o603", "u06", "recife", "PE", "delivered", "2017-10-10 10:00:00", approved=None,
           carrier="2017-10-12 11:00:00"),
    # u07: products with missing category / weight
    _order("o701", "u07", "porto alegre", "RS", "delivered", "2017-05-05 09:00:00"),
    # u08: payments
    _order("o801", "u08", "fortaleza", "CE", "delivered", "2017-12-24 12:00:00"),
    _order("o802", "u08", "fortaleza", "CE", "delivered", "2018-01-15 12:00:00"),
    # u09, u10: same last purchase time, same monetary
    _order("o901", "u09", "manaus", "AM", "delivered", "2018-04-10 15:00:00"),
    _order("o1001", "u10", "manaus", "AM", "delivered", "2018-04-10 15:00:00"),
    # u11: processing, estimated after `last`
    _order("o1101", "u11", "natal", "RN", "processing", "2018-08-15 18:00:00", carrier=None, delivered=None,
           estimated_days="2018-09-04 00:00:00"),
    # u12: no payment
    _order("o1201", "u12", "goiania", "GO", "delivered", "2017-09-20 07:45:00"),
    # u13: only outside the window
    _order("o1301", "u13", "vitoria", "ES", "delivered", "2016-12-31 23:59:59"),
]

# A customers row without any order (u14).
EXTRA_CUSTOMERS = [dict(customer_id="c_orphan", person="u14", city="belem", state="PA")]

# product_id, raw category, weight_g, length, height, width ("" = missing)
PRODUCTS = [
    ("p1", "cama_mesa_banho", "500", "20", "10", "15"),
    ("p2", "cama_mesa_banho", "0", "30", "10", "10"),
    ("p3", "cama_mesa_banho", "1500", "", "12", "18"),
    ("p4", "pc_gamer", "2000", "40", "20", "30"),
    ("p5", "", "", "", "", ""),
    ("p6", "beleza_saude", "250", "10", "10", "10"),
    ("p7", "esporte_lazer", "800", "25", "25", "25"),
    ("p8", "portateis_cozinha_e_preparadores_de_alimentos", "3000", "50", "40", "30"),
    ("p9", "brinquedos_raros", "120", "5", "5", "5"),
    ("p10", "beleza_saude", "0", "12", "12", "12"),
    ("p11", "beleza_saude", "350", "11", "11", "11"),
]

TRANSLATION = [
    ("beleza_saude", "health_beauty"),
    ("informatica_acessorios", "computers_accessories"),
    ("cama_mesa_banho", "bed_bath_table"),
    ("esporte_lazer", "sports_leisure"),
    ("brinquedos_raros", "rare_toys"),  # translated, but no general group
]

SELLERS = [("s1", "13023", "campinas", "SP"), ("s2", "20031", "rio de janeiro", "RJ"),
           ("s3", "01001", "sao paulo", "SP")]

# order_id, product_id, seller_id, price, freight
ITEMS = [
    ("o101", "p1", "s1", "30.00", "5.00"), ("o101", "p1", "s1", "30.00", "5.00"), ("o101", "p6", "s2", "25.00", "4.90"),
    ("o102", "p4", "s3", "150.00", "20.00"),
    ("o103", "p7", "s1", "50.00", "10.00"),
    ("o104", "p2", "s2", "40.00", "5.50"),
    ("o105", "p6", "s2", "70.00", "10.00"),
    ("o106", "p1", "s1", "30.00", "5.00"),
    ("o201", "p7", "s1", "50.00", "10.00"),
    # o202 (unavailable) has no items
    ("o301", "p6", "s2", "100.00", "20.00"),
    ("o302", "p1", "s1", "30.00", "5.00"),
    ("o401", "p7", "s1", "50.00", "10.00"),
    ("o402", "p3", "s3", "60.00", "15.00"),
    ("o403", "p6", "s2", "25.00", "4.90"),
    ("o501", "p1", "s1", "30.00", "5.00"), ("o502", "p1", "s1", "30.00", "5.00"),
    ("o503", "p6", "s2", "79.99", "10.00"), ("o504", "p1", "s1", "30.00", "5.00"),
    ("o601", "p1", "s1", "30.00", "5.00"),
    ("o602", "p8", "s3", "190.00", "20.00"),
    ("o603", "p7", "s1", "110.00", "20.00"),
    ("o701", "p5", "s1", "100.00", "10.00"), ("o701", "p2", "s2", "60.00", "10.00"),
    ("o701", "p8", "s3", "60.00", "10.00"),
    ("o801", "p1", "s1", "60.10", "0.00"),
    ("o802", "p6", "s2", "40.00", "0.00"),
    ("o901", "p7", "s1", "90.10", "10.00"),
    ("o1001", "p7", "s1", "90.10", "10.00"),
    ("o1101", "p9", "s3", "30.10", "10.00"), ("o1101", "p4", "s3", "50.00", "10.00"),
    ("o1201", "p10", "s2", "45.00", "8.00"),
    ("o1301", "p1", "s1", "30.00", "5.00"),
]

# order_id, payment_type, installments, value
PAYMENTS = [
    ("o101", "credit_card", 3, "99.90"),
    ("o102", "boleto", 1, "150.00"), ("o102", "voucher", 1, "20.00"),
    ("o103", "credit_card", 0, "60.00"),
    ("o104", "debit_card", 1, "45.50"),
    ("o105", "credit_card", 2, "80.00"),
    ("o106", "credit_card", 1, "35.00"),
    ("o201", "boleto", 1, "60.00"),
    ("o202", "credit_card", 1, "42.00"),
    ("o301", "credit_card", 4, "120.00"),
    ("o302", "boleto", 1, "35.00"),
    ("o401", "credit_card", 1, "60.00"),
    ("o402", "credit_card", 1, "75.00"),
    ("o403", "credit_card", 1, "29.90"),
    ("o501", "credit_card", 1, "35.00"), ("o502", "credit_card", 1, "35.00"),
    ("o503", "credit_card", 1, "89.99"), ("o504", "credit_card", 1, "35.00"),
    ("o601", "credit_card", 1, "35.00"),
    ("o602", "credit_card", 6, "210.00"),
    ("o603", "boleto", 1, "130.00"),
    ("o701", "credit_card", 1, "250.00"),
    ("o801", "credit_card", 0, "50.05"), ("o801", "voucher", 1, "10.05"),
    ("o802", "debit_card", 1, "40.00"),
    ("o901", "credit_card", 1, "100.10"),
    ("o1001", "voucher", 1, "33.37"), ("o1001", "voucher", 1, "33.37"), ("o1001", "credit_card", 1, "33.36"),
    ("o1101", "boleto", 1, "100.10"),
    # o1201 has no payment
    ("o1301", "credit_card", 1, "35.00"),
]

# order_id, score, creation date
REVIEWS = [
    ("o101", 5, "2017-03-15 00:00:00"),
    ("o102", 4, "2017-03-12 00:00:00"), ("o102", 3, "2017-03-20 00:00:00"),
    ("o201", 1, "2017-08-05 00:00:00"),
    ("o302", 2, "2017-12-01 00:00:00"),
    ("o501", 5, "2016-10-20 00:00:00"),
    ("o503", 1, "2016-12-31 00:00:00"),  # created before 2017: dropped
    ("o503", 5, "2017-01-20 00:00:00"),
]


def _write(path: Path, header: list[str], rows: list, *, bom: bool = False, crlf: bool = False) -> None:
    with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n" if crlf else "\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def write_olist_fixture(folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    o_cols = ["order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
              "order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date"]
    _write(folder / "olist_orders_dataset.csv", o_cols, [[o[c] for c in o_cols] for o in ORDERS])

    zips = {"SP": "01310", "RJ": "20040", "sp": "13450", "PR": "80010", "MG": "30110", "BA": "40010",
            "PE": "50010", "RS": "90010", "CE": "60010", "AM": "69005", "RN": "59010", "GO": "74003",
            "ES": "29010", "PA": "66010"}
    cust = [(o["customer_id"], o["person"], zips[o["state"]], o["city"], o["state"]) for o in ORDERS + EXTRA_CUSTOMERS]
    _write(folder / "olist_customers_dataset.csv",
           ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city", "customer_state"], cust)

    items, seq = [], {}
    shipping_limit = {o["order_id"]: _plus(o["order_purchase_timestamp"], 72) for o in ORDERS}
    for order_id, product, seller, price, freight in ITEMS:
        seq[order_id] = seq.get(order_id, 0) + 1
        items.append((order_id, seq[order_id], product, seller, shipping_limit[order_id], price, freight))
    _write(folder / "olist_order_items_dataset.csv",
           ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price", "freight_value"],
           items)

    pays, seq = [], {}
    for order_id, ptype, inst, value in PAYMENTS:
        seq[order_id] = seq.get(order_id, 0) + 1
        pays.append((order_id, seq[order_id], ptype, inst, value))
    _write(folder / "olist_order_payments_dataset.csv",
           ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"], pays)

    reviews = [(f"r{i:03d}", order_id, score, "", "", created, _plus(created, 30))
               for i, (order_id, score, created) in enumerate(REVIEWS, 1)]
    _write(folder / "olist_order_reviews_dataset.csv",
           ["review_id", "order_id", "review_score", "review_comment_title", "review_comment_message",
            "review_creation_date", "review_answer_timestamp"], reviews)

    prods = [(pid, cat, 40, 300, 1, w, l, h, wd) for pid, cat, w, l, h, wd in PRODUCTS]
    _write(folder / "olist_products_dataset.csv",
           ["product_id", "product_category_name", "product_name_lenght", "product_description_lenght",
            "product_photos_qty", "product_weight_g", "product_length_cm", "product_height_cm", "product_width_cm"],
           prods)
    _write(folder / "olist_sellers_dataset.csv",
           ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"], SELLERS)
    # the Kaggle file starts with a byte-order mark and ends lines with CRLF
    _write(folder / "product_category_name_translation.csv",
           ["product_category_name", "product_category_name_english"], TRANSLATION, bom=True, crlf=True)
    return folder


def edit_csv(path: Path, edit) -> None:
    """Rewrite a CSV file through `edit` (a function of the file as a frame of text, every value kept as written)."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(frame).to_csv(path, index=False)


def set_cell(column: str, row: int, value: str):
    """An edit for :func:`edit_csv`: put `value` into `column` of data row `row` (from 0)."""
    def edit(frame):
        frame.loc[row, column] = value
        return frame
    return edit
