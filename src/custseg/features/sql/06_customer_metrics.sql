-- One row per customer (spec section 5). Purchase-based metrics are NULL for customers
-- who never converted; order-based ones are over all their orders.
-- The per-purchase means are listed once (purchase_aggregates) and used twice: computed in
-- purchase_agg, then selected by name. 8.64e10 = microseconds per day (a DOUBLE literal).
-- The means of fractional numbers (in_purchase_order: column of each) depend, in their last bits, on
-- the order they are summed in: a customer with more than two purchases sums them in purchase order
-- (time, then order id), as custseg always has.
{% set purchase_aggregates = [("buys_cnt", "count(_bought)")] %}
{% if has("delivery") %}
{% set purchase_aggregates = purchase_aggregates + [
    ("avg_delivery_time_days", "avg(delivery_time_days)"),
    ("avg_delivery_delay_days", "avg(delivery_delay_days)"),
    ("delayed_orders_share", "avg(CAST(is_delayed AS DOUBLE))")] %}
{% endif %}
{% set purchase_aggregates = purchase_aggregates + [
    ("purchase_weekend_share", "avg(CASE WHEN " ~ isodow("purchase_ts") ~ " IN (6, 7) THEN 1.0E0 WHEN purchase_ts IS NOT NULL THEN 0.0E0 END)")] %}
{% if has("payments") %}
{% set purchase_aggregates = purchase_aggregates + [("avg_payments_cnt", "avg(payments_cnt)")] %}
{% endif %}
{% set purchase_aggregates = purchase_aggregates + [("avg_total_order_payment", avg_exact("total_payment"))] %}
{% if has("payments") %}
{% set purchase_aggregates = purchase_aggregates + [("installment_orders_share", "avg(CAST(order_has_installment AS DOUBLE))")] %}
{% endif %}
{% if has("products") %}
{% set purchase_aggregates = purchase_aggregates + [
    ("avg_products_cnt", "avg(products_cnt)"),
    ("avg_unique_products_cnt", "avg(unique_products_cnt)")] %}
{% endif %}
{% if has("sellers") %}
{% set purchase_aggregates = purchase_aggregates + [("avg_sellers_cnt", "avg(sellers_cnt)")] %}
{% endif %}
{% if has("weight") %}
{% set purchase_aggregates = purchase_aggregates + [("avg_order_total_weight_kg", "avg(total_weight_kg)")] %}
{% endif %}
{% if has("freight") %}
{% set purchase_aggregates = purchase_aggregates + [("free_shipping_share", "avg(CAST(order_is_free_shipping AS DOUBLE))")] %}
{% endif %}
{% if has("reviews") %}
{% set purchase_aggregates = purchase_aggregates + [
    ("reviews_cnt", "sum(reviews_cnt)"),
    ("customer_avg_reviews_score", "avg(order_avg_reviews_score)")] %}
{% endif %}
{% set in_purchase_order = {} %}
{% for name, column in [("avg_delivery_time_days", "delivery_time_days"), ("avg_delivery_delay_days", "delivery_delay_days"),
                         ("avg_order_total_weight_kg", "total_weight_kg")] %}
{% if name in purchase_aggregates | map("first") | list %}{% set _ = in_purchase_order.update({name: column}) %}{% endif %}
{% endfor %}
CREATE OR REPLACE TABLE customer_metrics AS
-- By integer keys (01_clean_orders.sql); an order is one row of order_facts, so counting rows counts
-- distinct orders. One aggregation gives the counts over all orders and the purchase metrics: a
-- purchase metric reads its columns through purchase_columns, where they are NULL on orders that are
-- not purchases (so a customer without purchases gets NULL, as the mean of nothing).
{% set purchase_columns = ["purchase_ts", "total_payment"] %}
{% if has("delivery") %}{% set purchase_columns = purchase_columns + ["delivery_time_days", "delivery_delay_days", "is_delayed"] %}{% endif %}
{% if has("payments") %}{% set purchase_columns = purchase_columns + ["payments_cnt", "order_has_installment"] %}{% endif %}
{% if has("products") %}{% set purchase_columns = purchase_columns + ["products_cnt", "unique_products_cnt"] %}{% endif %}
{% if has("sellers") %}{% set purchase_columns = purchase_columns + ["sellers_cnt"] %}{% endif %}
{% if has("weight") %}{% set purchase_columns = purchase_columns + ["total_weight_kg"] %}{% endif %}
{% if has("freight") %}{% set purchase_columns = purchase_columns + ["order_is_free_shipping"] %}{% endif %}
{% if has("reviews") %}{% set purchase_columns = purchase_columns + ["reviews_cnt", "order_avg_reviews_score"] %}{% endif %}
WITH purchase_columns AS (
    SELECT customer_key, is_canceled, order_status,
           CASE WHEN is_purchase THEN 1 END AS _bought
{% for column in purchase_columns %}
         , CASE WHEN is_purchase THEN {{ column }} END AS {{ column }}
{% endfor %}
    FROM order_facts
),
per_customer AS (
    SELECT customer_key,
           count(*) AS orders_cnt,
           count(*) FILTER (WHERE is_canceled) AS canceled_orders_cnt,
{% if has("delivery") %}
           count(*) FILTER (WHERE order_status <> 'Delivered') AS not_delivered_cnt,
{% endif %}
{% for name, expr in purchase_aggregates %}
           {{ expr }} AS {{ name }},
{% endfor %}
           sum(total_payment) AS total_customer_payment_exact,
           min(purchase_ts) AS first_purchase_ts,
           max(purchase_ts) AS last_purchase_ts
    FROM purchase_columns GROUP BY customer_key
),
repeat_bought AS (
    -- The purchases of the few percent of customers with two or more (05_order_metrics.sql), each
    -- with the customer's first purchase time. Found apart from per_customer, so that per_customer is
    -- read once, as it is made: read twice, DuckDB stored it first (at 10M customers ~20 columns).
    SELECT b.*, r.order_id, min(b.purchase_ts) OVER (PARTITION BY b.customer_key) AS first_purchase_ts
    FROM repeat_purchases r
    JOIN order_facts b ON b.order_key = r.order_key
),
repeat_buyers AS (
    -- What needs a customer's purchases side by side.
    -- From the first purchase to the second (by purchase time, a missing time last): the second
    -- is the first's time again when two purchases share it, else the next later time.
    SELECT b.customer_key,
           CASE WHEN count(*) FILTER (WHERE b.purchase_ts = b.first_purchase_ts) >= 2 THEN CAST(0 AS BIGINT)
                ELSE {{ epoch_us("min(b.purchase_ts) FILTER (WHERE b.purchase_ts > b.first_purchase_ts)") }} - {{ epoch_us("b.first_purchase_ts") }}
           END AS first_to_second_us,
{% for name, column in in_purchase_order.items() %}
           {{ avg_in_order("b." ~ column, "b.purchase_ts NULLS LAST, b.order_id NULLS LAST") }} AS {{ name }},
{% endfor %}
           count(DISTINCT date_trunc('month', b.purchase_ts)) AS months_with_buys,
           count(DISTINCT date_trunc('day', b.purchase_ts)) AS days_with_buys
    FROM repeat_bought b
    GROUP BY b.customer_key, b.first_purchase_ts
)
SELECT p.orders_cnt,
       p.canceled_orders_cnt,
       CAST(p.canceled_orders_cnt AS DOUBLE) / p.orders_cnt AS canceled_share,
{% if has("delivery") %}
       CAST(p.not_delivered_cnt AS DOUBLE) / p.orders_cnt AS not_delivered_share,
{% endif %}
{% for name, expr in purchase_aggregates %}
{% if name == "buys_cnt" %}
       CASE WHEN p.buys_cnt > 0 THEN p.buys_cnt END AS buys_cnt,
{% elif name in in_purchase_order %}
       CASE WHEN p.buys_cnt > 2 THEN g.{{ name }} ELSE p.{{ name }} END AS {{ name }},
{% else %}
       p.{{ name }},
{% endif %}
{% endfor %}
       CAST(p.total_customer_payment_exact AS DOUBLE) AS total_customer_payment,
       p.total_customer_payment_exact,
       p.first_purchase_ts,
       p.last_purchase_ts,
       g.first_to_second_us / 8.64e10 AS from_first_to_second_days,
       CASE WHEN p.buys_cnt > 1 THEN ({{ epoch_us("p.last_purchase_ts") }} - {{ epoch_us("p.first_purchase_ts") }}) / 8.64e10 END AS from_first_to_last_days,
       CASE WHEN p.buys_cnt > 1 THEN ({{ epoch_us("p.last_purchase_ts") }} - {{ epoch_us("p.first_purchase_ts") }}) / 8.64e10 / (p.buys_cnt - 1) END AS avg_buys_diff_days,
       -- a single purchase: one month, unless its time is missing
       CASE WHEN p.buys_cnt >= 2 THEN g.months_with_buys WHEN p.first_purchase_ts IS NOT NULL THEN CAST(1 AS BIGINT)
            WHEN p.buys_cnt = 1 THEN CAST(0 AS BIGINT) END AS months_with_buys,
       -- and one day
       CASE WHEN p.buys_cnt >= 2 THEN g.days_with_buys WHEN p.first_purchase_ts IS NOT NULL THEN CAST(1 AS BIGINT)
            WHEN p.buys_cnt = 1 THEN CAST(0 AS BIGINT) END AS days_with_buys,
       p.customer_key
FROM per_customer p
LEFT JOIN repeat_buyers g ON g.customer_key = p.customer_key;
