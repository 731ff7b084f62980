-- Customers of the input who are not in the customer table, each with the reason (nothing is
-- lost silently): input customers = customers + excluded_customers.
CREATE OR REPLACE TABLE excluded_customers AS
-- (Joins and NOT EXISTS rather than DuckDB's ANTI JOIN: the same text runs on Spark SQL.)
SELECT i.customer_id,
       CASE WHEN o.customer_id IS NULL THEN 'no order in the orders file'
{% if as_of %}
            WHEN o.in_window THEN 'every order{{ " in the analysis window" if window_bounds else "" }} is after the as-of date {{ as_of }}'
{% endif %}
            ELSE 'every order is outside the analysis window{% if window_start or window_end %} ({{ window_start or "..." }} to {{ window_end or "..." }}){% endif %}' END AS reason
FROM input_customers i
{% if as_of %}
LEFT JOIN (SELECT customer_id, bool_or({{ window_bounds | join(" AND ") if window_bounds else "true" }}) AS in_window
           FROM orders GROUP BY customer_id) o ON o.customer_id = i.customer_id
{% else %}
LEFT JOIN (SELECT DISTINCT customer_id FROM orders) o ON o.customer_id = i.customer_id
{% endif %}
-- customer_metrics: the customers of the customer table (every other part joins to its rows)
WHERE NOT EXISTS (SELECT 1 FROM customer_metrics c WHERE c.customer_id = i.customer_id)
ORDER BY i.customer_id;
