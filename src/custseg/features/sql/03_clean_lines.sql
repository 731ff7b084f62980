-- Items, payments, reviews and the user's attributes of the orders that survived cleaning, each with its order's integer key
-- (the join with clean_orders keeps only those orders: order_id is unique there). Only the columns the
-- later steps use are kept.
CREATE OR REPLACE TABLE clean_items AS
SELECT o.order_key, i.item_no, i.product_id, i.seller_id, i.price, i.freight_value,
       p.category, p.general_category, p.category_code, p.general_category_code, p.weight_g,
       p.length_cm * p.height_cm * p.width_cm AS volume_cm3
FROM order_items i
JOIN clean_orders o ON o.order_id = i.order_id
LEFT JOIN clean_products p ON p.product_id = i.product_id;

CREATE OR REPLACE TABLE clean_payments AS
WITH type_labels AS (
    -- a label per distinct payment type (a handful), not per payment
    SELECT payment_type, {{ title_label("payment_type") }} AS label FROM (SELECT DISTINCT payment_type FROM payments) t
)
SELECT o.order_key, p.payment_sequential, l.label AS payment_type,
       CASE WHEN p.payment_installments = 0 THEN 1 ELSE p.payment_installments END AS payment_installments,
       p.payment_value
FROM payments p
JOIN clean_orders o ON o.order_id = p.order_id
LEFT JOIN type_labels l ON l.payment_type = p.payment_type;

CREATE OR REPLACE TABLE clean_reviews AS
SELECT o.order_key, r.review_score, r.review_created_ts
FROM reviews r
JOIN clean_orders o ON o.order_id = r.order_id
{% if review_min_date %}WHERE r.review_created_ts IS NULL OR r.review_created_ts >= TIMESTAMP '{{ review_min_date }}'{% endif %};

CREATE OR REPLACE TABLE clean_attributes AS
SELECT o.order_key, a.name, a.value
FROM order_attributes a
JOIN clean_orders o ON o.order_id = a.order_id;
