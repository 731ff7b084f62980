-- One row per order (spec section 4). 8.64e10 = microseconds per day (a DOUBLE literal in both engines).
--
-- order_facts holds what the customer steps read, keyed by integers (01_clean_orders.sql). order_metrics, the whole order
-- table of the spec, is a view over it: its text lists (categories, payment types: sorted, joined
-- strings per order, the costliest aggregates of the stage) are made only when it is read, its rows in
-- the input's order.
CREATE OR REPLACE TABLE order_facts AS
WITH item_agg AS (
    SELECT order_key,
           count(*) AS products_cnt,
           count(DISTINCT product_id) AS unique_products_cnt,
           count(DISTINCT seller_id) AS sellers_cnt,
           sum(price) AS total_products_price,
           {{ avg_exact("price") }} AS avg_products_price,
           sum(freight_value) AS total_freight_value,
           sum(price + coalesce(freight_value, 0)) AS total_order_price,
           sum(weight_g) / 1000.0 AS total_weight_kg,
           sum(volume_cm3) AS total_volume_cm3,
           -- an order's smallest and largest category: equal when it has one (07_customer_dimensions.sql)
           min(category) AS min_category, max(category) AS max_category,
           min(general_category) AS min_general_category, max(general_category) AS max_general_category
    FROM clean_items GROUP BY order_key
),
payment_agg AS (
    SELECT order_key,
           count(*) AS payments_cnt,
           sum(payment_value) AS total_payment,
           sum(payment_installments) AS total_installments_cnt,
           bool_or(payment_installments > 1) AS order_has_installment,
           min(payment_type) AS min_payment_type, max(payment_type) AS max_payment_type
    FROM clean_payments GROUP BY order_key
),
review_agg AS (
    SELECT order_key, count(*) AS reviews_cnt, CAST(floor(avg(review_score)) AS DOUBLE) AS order_avg_reviews_score
    FROM clean_reviews GROUP BY order_key
)
SELECT o.order_key, o.customer_key,
       o.order_status, o.is_canceled, p.is_purchase, o.purchase_ts,
       o.customer_city, o.customer_state, o.customer_region, o.customer_country,
{% if has("payments") %}
       coalesce(pa.payments_cnt, 0) AS payments_cnt,
       pa.total_payment,
       CAST(pa.total_payment AS DOUBLE) / pa.payments_cnt AS avg_payment,
       pa.total_installments_cnt,
       pa.order_has_installment,
       pa.min_payment_type, pa.max_payment_type,
{% else %}
       -- A flat log's order value is the sum of its lines.
       ia.total_products_price AS total_payment,
{% endif %}
{% if has("products") %}
       coalesce(ia.products_cnt, 0) AS products_cnt,
       coalesce(ia.unique_products_cnt, 0) AS unique_products_cnt,
{% endif %}
{% if has("sellers") %}       coalesce(ia.sellers_cnt, 0) AS sellers_cnt,
{% endif %}
{% if has("categories") %}
       ia.min_category, ia.max_category, ia.min_general_category, ia.max_general_category,
{% endif %}
       ia.total_products_price,
       ia.avg_products_price,
{% if has("freight") %}
       ia.total_freight_value,
       ia.total_order_price,
       CAST(ia.total_freight_value AS DOUBLE) / nullif(ia.total_order_price, 0) AS freight_ratio,
       ia.total_freight_value = 0 AS order_is_free_shipping,
{% endif %}
{% if has("weight") %}
       ia.total_weight_kg,
       ia.total_volume_cm3,
{% endif %}
{% if has("reviews") %}
       coalesce(ra.reviews_cnt, 0) AS reviews_cnt,
       ra.order_avg_reviews_score,
{% endif %}
{% if has("delivery") %}
       ({{ epoch_us("o.delivered_ts") }} - {{ epoch_us("o.purchase_ts") }}) / 8.64e10 AS delivery_time_days,
       ({{ epoch_us("o.delivered_ts") }} - {{ epoch_us("o.estimated_ts") }}) / 8.64e10 AS delivery_delay_days,
       o.delivered_ts > o.estimated_ts AS is_delayed,
{% endif %}
       {{ dayname("o.purchase_ts") }} AS purchase_weekday,
       CASE WHEN {{ isodow("o.purchase_ts") }} IN (6, 7) THEN 'Weekend' WHEN o.purchase_ts IS NOT NULL THEN 'Weekday' END AS purchase_day_type
FROM clean_orders o
JOIN purchases p ON p.order_key = o.order_key
LEFT JOIN item_agg ia ON ia.order_key = o.order_key
LEFT JOIN payment_agg pa ON pa.order_key = o.order_key
LEFT JOIN review_agg ra ON ra.order_key = o.order_key;

CREATE OR REPLACE VIEW order_metrics AS
WITH item_text AS (
    SELECT order_key,
           count(DISTINCT category) AS product_categories_cnt,
           {{ string_agg_sorted("category") }} AS order_product_categories,
           {{ string_agg_sorted("general_category") }} AS order_general_product_categories
    FROM clean_items GROUP BY order_key
),
payment_text AS (
    SELECT order_key, {{ string_agg_sorted("payment_type") }} AS order_payment_types
    FROM clean_payments GROUP BY order_key
)
SELECT o.order_id, k.customer_id, f.order_status, f.is_canceled, f.is_purchase, f.purchase_ts,
       f.customer_city, f.customer_state, f.customer_region, f.customer_country,
{% if has("payments") %}
       f.payments_cnt, f.total_payment, f.avg_payment, f.total_installments_cnt, f.order_has_installment,
       pt.order_payment_types,
{% else %}
       f.total_payment,
{% endif %}
{% if has("products") %}
       f.products_cnt, f.unique_products_cnt,
{% endif %}
{% if has("sellers") %}       f.sellers_cnt,
{% endif %}
{% if has("categories") %}       coalesce(it.product_categories_cnt, 0) AS product_categories_cnt,
       it.order_product_categories,
{% endif %}
{% if has("categories") and use_category_groups %}       it.order_general_product_categories,
{% endif %}
       f.total_products_price, f.avg_products_price,
{% if has("freight") %}
       f.total_freight_value, f.total_order_price, f.freight_ratio, f.order_is_free_shipping,
{% endif %}
{% if has("weight") %}
       f.total_weight_kg, f.total_volume_cm3,
{% endif %}
{% if has("reviews") %}
       f.reviews_cnt, f.order_avg_reviews_score,
{% endif %}
{% if has("delivery") %}
       f.delivery_time_days, f.delivery_delay_days, f.is_delayed,
{% endif %}
       f.purchase_weekday, f.purchase_day_type
FROM order_facts f
JOIN clean_orders o ON o.order_key = f.order_key
JOIN customer_keys k ON k.customer_key = f.customer_key
LEFT JOIN item_text it ON it.order_key = f.order_key
LEFT JOIN payment_text pt ON pt.order_key = f.order_key
ORDER BY f.order_key;
