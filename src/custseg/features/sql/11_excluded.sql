-- Customers of the input who are not in the customer table, each with the reason (nothing is
-- lost silently): input customers = customers + excluded_customers.
CREATE OR REPLACE TABLE excluded_customers AS
-- (Joins and NOT EXISTS rather than DuckDB's ANTI JOIN: the same text runs on Spark SQL.)
WITH left_out AS (
    -- customer_metrics: the customers of the customer table (every other part joins to its rows)
    SELECT k.customer_id, k.customer_key
    FROM customer_keys k
    WHERE NOT EXISTS (SELECT 1 FROM customer_metrics c WHERE c.customer_key = k.customer_key)
)
SELECT i.customer_id,
       CASE WHEN o.customer_id IS NOT NULL
            THEN 'every order is outside the analysis window{% if window_start or window_end %} ({{ window_start or "..." }} to {{ window_end or "..." }}){% endif %}'
            ELSE 'no order in the orders file' END AS reason
FROM left_out i
LEFT JOIN (SELECT DISTINCT customer_id FROM orders WHERE customer_id IN (SELECT customer_id FROM left_out)) o ON o.customer_id = i.customer_id
ORDER BY i.customer_key;
