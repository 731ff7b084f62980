-- The customer table: metrics, dimensions, segments and RFM, one row per customer.
CREATE OR REPLACE TABLE customers AS
SELECT m.* EXCLUDE (total_customer_payment_exact),
       d.* EXCLUDE (customer_id),
       s.* EXCLUDE (customer_id),
       r.* EXCLUDE (customer_id)
FROM customer_metrics m
JOIN customer_dimensions d USING (customer_id)
JOIN customer_segments s USING (customer_id)
LEFT JOIN customer_rfm r USING (customer_id)
ORDER BY m.customer_id;
