-- Text dimensions of each customer, from their purchases (spec section 5).
-- "Top" values: the most frequent (top_n in the config), each counted once per order, ties by name;
-- joined in alphabetical order. Customers with no purchase get "Never Converted".
-- "Latest" value (the customer's place: city, state, region, country, where the source has it):
-- the one on the purchase with the largest (purchase time, order id), a NULL time counting as the
-- latest; purchases without the value are skipped. The user's own attributes are "top" values with
-- top_n 1: the customer's most frequent value.
CREATE OR REPLACE TABLE customer_dimensions AS
WITH bought AS (SELECT * FROM order_metrics WHERE is_purchase),
{% for dim in top_dimensions %}
{{ dim.name }}_counts AS (
    SELECT customer_id, value, count(DISTINCT order_id) AS n
    FROM ({{ dim.source_sql }}) GROUP BY customer_id, value
),
{{ dim.name }}_top AS (
    SELECT customer_id, {{ string_agg_sorted("value", distinct=false) }} AS {{ dim.name }}
    FROM (
        SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, value NULLS LAST) AS rank_in_customer
        FROM {{ dim.name }}_counts
    )
    WHERE rank_in_customer <= {{ dim.top_n }}
    GROUP BY customer_id
),
{% endfor %}
latest AS (
    SELECT customer_id
{% for place in places %}
         , {{ arg_max("customer_" ~ place, "purchase_ts", "order_id") }} AS customer_{{ place }}
{% endfor %}
    FROM bought GROUP BY customer_id
)
SELECT c.customer_id
{% for dim in top_dimensions %}
     , CASE WHEN c.buys_cnt IS NULL THEN '{{ never_converted }}' ELSE coalesce(t_{{ loop.index }}.{{ dim.name }}, '{{ unknown }}') END AS {{ dim.name }}
{% endfor %}
{% for place in places %}
     , CASE WHEN c.buys_cnt IS NULL THEN '{{ never_converted }}' ELSE coalesce(l.customer_{{ place }}, '{{ unknown }}') END AS customer_{{ place }}
{% endfor %}
FROM customer_metrics c
{% for dim in top_dimensions %}
LEFT JOIN {{ dim.name }}_top t_{{ loop.index }} ON t_{{ loop.index }}.customer_id = c.customer_id
{% endfor %}
LEFT JOIN latest l ON l.customer_id = c.customer_id;
