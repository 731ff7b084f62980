-- Customers of the input who are not in the customer table, each with the reason (nothing is
-- lost silently): input customers = customers + excluded_customers.
CREATE OR REPLACE TABLE excluded_customers AS
SELECT i.customer_id,
       CASE WHEN EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = i.customer_id)
            THEN 'every order is outside the analysis window{% if window_start or window_end %} ({{ window_start or "..." }} to {{ window_end or "..." }}){% endif %}'
            ELSE 'no order in the orders file' END AS reason
FROM input_customers i
ANTI JOIN customers c ON c.customer_id = i.customer_id
ORDER BY i.customer_id;
