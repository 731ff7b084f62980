"""The Olist files: names, headers in the Kaggle order, which are generated and which are the real catalogue."""

from __future__ import annotations

from . import catalogue

ORDERS_FILE = "olist_orders_dataset.csv"
CUSTOMERS_FILE = "olist_customers_dataset.csv"
ITEMS_FILE = "olist_order_items_dataset.csv"
PAYMENTS_FILE = "olist_order_payments_dataset.csv"
REVIEWS_FILE = "olist_order_reviews_dataset.csv"
GEOLOCATION_FILE = "olist_geolocation_dataset.csv"

HEADERS: dict[str, list[str]] = {
    ORDERS_FILE: ["order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
                  "order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date"],
    CUSTOMERS_FILE: ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city",
                     "customer_state"],
    ITEMS_FILE: ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price",
                 "freight_value"],
    PAYMENTS_FILE: ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
    REVIEWS_FILE: ["review_id", "order_id", "review_score", "review_comment_title", "review_comment_message",
                   "review_creation_date", "review_answer_timestamp"],
    GEOLOCATION_FILE: ["geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng", "geolocation_city",
                       "geolocation_state"],
}
GENERATED_FILES = (ORDERS_FILE, CUSTOMERS_FILE, ITEMS_FILE, PAYMENTS_FILE, REVIEWS_FILE)
ALL_FILES = GENERATED_FILES + (GEOLOCATION_FILE,) + catalogue.REAL_FILES
