-- Customers of the input who are not in the customer table, each with the reason (nothing is
-- lost silently): input customers = customers + excluded_customers. A customer left out has no
-- order kept, so an order of theirs, if any, is outside the window or after the as-of date
-- (left_out_customers, 01_clean_orders.sql).
CREATE OR REPLACE TABLE excluded_customers AS
-- (Joins and NOT EXISTS rather than DuckDB's ANTI JOIN: the same text runs on Spark SQL.)
WITH left_out AS (
    -- customer_metrics: the customers of the customer table (every other part joins to its rows)
    SELECT k.customer_id, k.customer_key
    FROM customer_keys k
    WHERE NOT EXISTS (SELECT 1 FROM customer_metrics c WHERE c.customer_key = k.customer_key)
)
SELECT l.customer_id,
       CASE WHEN o.customer_id IS NULL THEN 'no order in the orders file'
{% if as_of %}
            WHEN o.in_window THEN 'every order{{ " in the analysis window" if window_bounds else "" }} is after the as-of date {{ as_of }}'
{% endif %}
            ELSE 'every order is outside the analysis window{% if window_start or window_end %} ({{ window_start or "..." }} to {{ window_end or "..." }}){% endif %}' END AS reason
FROM left_out l
LEFT JOIN left_out_customers o ON o.customer_id = l.customer_id
ORDER BY l.customer_key;
