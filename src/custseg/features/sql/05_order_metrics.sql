-- One row per order (spec section 4). 8.64e10 = microseconds per day (a DOUBLE literal in both engines).
--
-- order_facts holds what the customer steps read, keyed by integers (01_clean_orders.sql), and nothing
-- else: at 10M orders writing each column costs. order_metrics, the whole order table of the spec, is a
-- view over it: its other columns (prices, freight, volume, the sorted lists of categories and payment
-- types) are made only when it is read, its rows in the input's order.
-- An order's distinct products and sellers are counted only for orders with several items (a tenth of
-- them); one item is one product, and one seller when it names one.
{% set places_kept = [] %}
{% for place in places %}{% set _ = places_kept.append("customer_" ~ place) %}{% endfor %}
CREATE OR REPLACE TABLE order_facts AS
WITH item_agg AS (
    SELECT order_key,
           count(*) AS products_cnt,
           count(seller_id) AS sellers_named,
           sum(weight_g) / 1000.0 AS total_weight_kg,
           sum(freight_value) AS total_freight_value,
           sum(price) AS total_products_price,
           -- an order's smallest and largest category: equal when it has one (07_customer_dimensions.sql)
           min(category_code) AS min_category_code, max(category_code) AS max_category_code,
           min(general_category_code) AS min_general_category_code, max(general_category_code) AS max_general_category_code
    FROM clean_items GROUP BY order_key
),
several_items AS (
    SELECT order_key, count(DISTINCT product_id) AS unique_products_cnt, count(DISTINCT seller_id) AS sellers_cnt
    FROM clean_items
    WHERE order_key IN (SELECT order_key FROM clean_items GROUP BY order_key HAVING count(*) > 1)
    GROUP BY order_key
),
payment_agg AS (
    SELECT order_key,
           count(*) AS payments_cnt,
           sum(payment_value) AS total_payment,
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
{% for column in places_kept %}
       o.{{ column }},
{% endfor %}
{% if has("payments") %}
       coalesce(pa.payments_cnt, 0) AS payments_cnt,
       pa.total_payment,
       pa.order_has_installment,
       pa.min_payment_type, pa.max_payment_type,
{% else %}
       -- A flat log's order value is the sum of its lines.
       ia.total_products_price AS total_payment,
{% endif %}
{% if has("products") %}
       coalesce(ia.products_cnt, 0) AS products_cnt,
       CASE WHEN ia.products_cnt > 1 THEN si.unique_products_cnt ELSE coalesce(ia.products_cnt, 0) END AS unique_products_cnt,
{% endif %}
{% if has("sellers") %}       CASE WHEN ia.products_cnt > 1 THEN si.sellers_cnt ELSE coalesce(ia.sellers_named, 0) END AS sellers_cnt,
{% endif %}
{% if has("categories") %}
       ia.min_category_code, ia.max_category_code, ia.min_general_category_code, ia.max_general_category_code,
{% endif %}
{% if has("freight") %}
       ia.total_freight_value = 0 AS order_is_free_shipping,
{% endif %}
{% if has("weight") %}
       ia.total_weight_kg,
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
       {{ dayname("o.purchase_ts") }} AS purchase_weekday
FROM clean_orders o
JOIN purchases p ON p.order_key = o.order_key
LEFT JOIN item_agg ia ON ia.order_key = o.order_key
LEFT JOIN several_items si ON si.order_key = o.order_key
LEFT JOIN payment_agg pa ON pa.order_key = o.order_key
LEFT JOIN review_agg ra ON ra.order_key = o.order_key;

-- The purchases of customers with two or more, with their order ids: 06 and 07 put a repeat buyer's
-- purchases in order by time, then by order id. Only these few percent of the orders' ids are read
-- after this file, so the run drops clean_orders here (LAST_READ_BY): at 10M orders its ~2 GB no
-- longer crowd DuckDB's memory while the customer tables are made.
CREATE OR REPLACE TABLE repeat_purchases AS
SELECT f.order_key, f.customer_key, o.order_id
FROM order_facts f
JOIN clean_orders o ON o.order_key = f.order_key
WHERE f.is_purchase
  AND f.customer_key IN (SELECT customer_key FROM order_facts WHERE is_purchase GROUP BY customer_key HAVING count(*) >= 2);

CREATE OR REPLACE VIEW order_metrics AS
WITH item_more AS (
    SELECT order_key,
           count(DISTINCT category) AS product_categories_cnt,
           {{ string_agg_sorted("category") }} AS order_product_categories,
           {{ string_agg_sorted("general_category") }} AS order_general_product_categories,
           sum(price) AS total_products_price,
           {{ avg_exact("price") }} AS avg_products_price,
           sum(freight_value) AS total_freight_value,
           sum(price + coalesce(freight_value, 0)) AS total_order_price,
           sum(volume_cm3) AS total_volume_cm3
    FROM clean_items GROUP BY order_key
),
payment_more AS (
    SELECT order_key, sum(payment_installments) AS total_installments_cnt,
           {{ string_agg_sorted("payment_type") }} AS order_payment_types
    FROM clean_payments GROUP BY order_key
)
SELECT o.order_id, k.customer_id, f.order_status, f.is_canceled, f.is_purchase, f.purchase_ts,
       o.customer_city, o.customer_state, o.customer_region, o.customer_country,
{% if has("payments") %}
       f.payments_cnt, f.total_payment, CAST(f.total_payment AS DOUBLE) / f.payments_cnt AS avg_payment,
       pm.total_installments_cnt, f.order_has_installment, pm.order_payment_types,
{% else %}
       f.total_payment,
{% endif %}
{% if has("products") %}
       f.products_cnt, f.unique_products_cnt,
{% endif %}
{% if has("sellers") %}       f.sellers_cnt,
{% endif %}
{% if has("categories") %}       coalesce(im.product_categories_cnt, 0) AS product_categories_cnt,
       im.order_product_categories,
{% endif %}
{% if has("categories") and use_category_groups %}       im.order_general_product_categories,
{% endif %}
       im.total_products_price, im.avg_products_price,
{% if has("freight") %}
       im.total_freight_value, im.total_order_price,
       CAST(im.total_freight_value AS DOUBLE) / nullif(im.total_order_price, 0) AS freight_ratio,
       f.order_is_free_shipping,
{% endif %}
{% if has("weight") %}
       f.total_weight_kg, im.total_volume_cm3,
{% endif %}
{% if has("reviews") %}
       f.reviews_cnt, f.order_avg_reviews_score,
{% endif %}
{% if has("delivery") %}
       f.delivery_time_days, f.delivery_delay_days, f.is_delayed,
{% endif %}
       f.purchase_weekday,
       CASE WHEN {{ isodow("f.purchase_ts") }} IN (6, 7) THEN 'Weekend' WHEN f.purchase_ts IS NOT NULL THEN 'Weekday' END AS purchase_day_type
FROM order_facts f
JOIN clean_orders o ON o.order_key = f.order_key
JOIN customer_keys k ON k.customer_key = f.customer_key
LEFT JOIN item_more im ON im.order_key = f.order_key
LEFT JOIN payment_more pm ON pm.order_key = f.order_key
ORDER BY f.order_key;
