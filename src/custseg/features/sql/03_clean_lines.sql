-- Items, payments and reviews of the orders that survived cleaning (IN (subquery): a semi join
-- in both engines).
CREATE OR REPLACE TABLE clean_items AS
SELECT i.order_id, i.item_no, i.product_id, i.seller_id, i.price, i.freight_value,
       p.category, p.general_category, p.weight_g,
       p.length_cm * p.height_cm * p.width_cm AS volume_cm3
FROM order_items i
LEFT JOIN clean_products p ON p.product_id = i.product_id
WHERE i.order_id IN (SELECT order_id FROM clean_orders);

CREATE OR REPLACE TABLE clean_payments AS
SELECT p.order_id, p.payment_sequential, {{ title_label("p.payment_type") }} AS payment_type,
       CASE WHEN p.payment_installments = 0 THEN 1 ELSE p.payment_installments END AS payment_installments,
       p.payment_value
FROM payments p
WHERE p.order_id IN (SELECT order_id FROM clean_orders);

CREATE OR REPLACE TABLE clean_reviews AS
SELECT r.review_id, r.order_id, r.review_score, r.review_created_ts
FROM reviews r
WHERE r.order_id IN (SELECT order_id FROM clean_orders)
{% if review_min_date %}  AND (r.review_created_ts IS NULL OR r.review_created_ts >= TIMESTAMP '{{ review_min_date }}'){% endif %};
