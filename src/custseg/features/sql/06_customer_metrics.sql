-- One row per customer (spec section 5). Purchase-based metrics are NULL for customers
-- who never converted; order-based ones are over all their orders.
CREATE OR REPLACE TABLE customer_metrics AS
WITH all_orders AS (
    SELECT customer_id,
           count(DISTINCT order_id) AS orders_cnt,
           count(DISTINCT order_id) FILTER (WHERE is_canceled) AS canceled_orders_cnt,
{% if has("delivery") %}
           count(DISTINCT order_id) FILTER (WHERE order_status <> 'Delivered') AS not_delivered_cnt,
{% endif %}
           count(*) AS _orders_rows
    FROM order_metrics
    GROUP BY customer_id
),
bought AS (
    SELECT *,
           row_number() OVER (PARTITION BY customer_id ORDER BY purchase_ts, order_id) AS purchase_no
    FROM order_metrics WHERE is_purchase
),
gaps AS (
    SELECT customer_id,
           max(CASE WHEN purchase_no = 2 THEN epoch_us(purchase_ts) END)
             - max(CASE WHEN purchase_no = 1 THEN epoch_us(purchase_ts) END) AS first_to_second_us
    FROM bought GROUP BY customer_id
),
purchase_agg AS (
    SELECT customer_id,
           count(DISTINCT order_id) AS buys_cnt,
{% if has("delivery") %}
           avg(delivery_time_days) AS avg_delivery_time_days,
           avg(delivery_delay_days) AS avg_delivery_delay_days,
           avg(CAST(is_delayed AS DOUBLE)) AS delayed_orders_share,
{% endif %}
           avg(CASE purchase_day_type WHEN 'Weekend' THEN 1.0 WHEN 'Weekday' THEN 0.0 END) AS purchase_weekend_share,
{% if has("payments") %}
           avg(payments_cnt) AS avg_payments_cnt,
{% endif %}
           sum(total_payment) AS total_customer_payment_exact,
           avg(total_payment) AS avg_total_order_payment,
{% if has("payments") %}
           avg(CAST(order_has_installment AS DOUBLE)) AS installment_orders_share,
{% endif %}
           avg(products_cnt) AS avg_products_cnt,
           avg(unique_products_cnt) AS avg_unique_products_cnt,
{% if has("sellers") %}
           avg(sellers_cnt) AS avg_sellers_cnt,
{% endif %}
{% if has("weight") %}
           avg(total_weight_kg) AS avg_order_total_weight_kg,
{% endif %}
{% if has("freight") %}
           avg(CAST(order_is_free_shipping AS DOUBLE)) AS free_shipping_share,
{% endif %}
{% if has("reviews") %}
           sum(reviews_cnt) AS reviews_cnt,
           avg(order_avg_reviews_score) AS customer_avg_reviews_score,
{% endif %}
           min(purchase_ts) AS first_purchase_ts,
           max(purchase_ts) AS last_purchase_ts,
           count(DISTINCT date_trunc('month', purchase_ts)) AS months_with_buys
    FROM bought GROUP BY customer_id
)
SELECT a.customer_id,
       a.orders_cnt,
       a.canceled_orders_cnt,
       CAST(a.canceled_orders_cnt AS DOUBLE) / a.orders_cnt AS canceled_share,
{% if has("delivery") %}
       CAST(a.not_delivered_cnt AS DOUBLE) / a.orders_cnt AS not_delivered_share,
{% endif %}
       p.* EXCLUDE (customer_id, total_customer_payment_exact, first_purchase_ts, last_purchase_ts, months_with_buys),
       CAST(p.total_customer_payment_exact AS DOUBLE) AS total_customer_payment,
       p.total_customer_payment_exact,
       p.first_purchase_ts,
       p.last_purchase_ts,
       g.first_to_second_us / 86400000000.0 AS from_first_to_second_days,
       CASE WHEN p.buys_cnt > 1 THEN (epoch_us(p.last_purchase_ts) - epoch_us(p.first_purchase_ts)) / 86400000000.0 END AS from_first_to_last_days,
       CASE WHEN p.buys_cnt > 1 THEN (epoch_us(p.last_purchase_ts) - epoch_us(p.first_purchase_ts)) / 86400000000.0 / (p.buys_cnt - 1) END AS avg_buys_diff_days,
       p.months_with_buys
FROM all_orders a
LEFT JOIN purchase_agg p USING (customer_id)
LEFT JOIN gaps g USING (customer_id);
