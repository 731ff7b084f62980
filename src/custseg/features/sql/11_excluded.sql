-- Customers of the input who are not in the customer table, each with the reason (nothing is
-- lost silently): input customers = customers + excluded_customers. A customer left out has no
-- order in the window, so an order of theirs, if any, is outside it (01_clean_orders.sql).
CREATE OR REPLACE TABLE excluded_customers AS
-- (Joins and NOT EXISTS rather than DuckDB's ANTI JOIN: the same text runs on Spark SQL.)
WITH left_out AS (
    -- customer_metrics: the customers of the customer table (every other part joins to its rows)
    SELECT k.customer_id, k.customer_key
    FROM customer_keys k
    WHERE NOT EXISTS (SELECT 1 FROM customer_metrics c WHERE c.customer_key = k.customer_key)
)
SELECT l.customer_id,
       CASE WHEN o.customer_id IS NOT NULL
            THEN 'every order is outside the analysis window{% if window_start or window_end %} ({{ window_start or "..." }} to {{ window_end or "..." }}){% endif %}'
            ELSE 'no order in the orders file' END AS reason
FROM left_out l
LEFT JOIN out_of_window_customers o ON o.customer_id = l.customer_id
ORDER BY l.customer_key;
