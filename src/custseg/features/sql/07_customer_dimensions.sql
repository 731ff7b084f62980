-- Text dimensions of each customer, from their purchases (spec section 5).
-- "Top" values: the most frequent (top_n in the config), each counted once per order, ties by name;
-- joined in alphabetical order. Customers with no purchase get "Never Converted".
-- "Latest" value (the customer's place: city, state, region, country, where the source has it):
-- the one on the purchase with the largest (purchase time, order id), a NULL time counting as the
-- latest (order_seq, 05_order_metrics.sql); purchases without the value are skipped. The user's own
-- attributes are "top" values with top_n 1: the customer's most frequent value.
-- Most customers keep a single value: it is the dimension as it stands; only customers with several
-- go through the sorted join (an ordered aggregate, costly at millions of customers).
CREATE OR REPLACE TABLE customer_dimensions AS
WITH bought AS (SELECT * FROM order_facts WHERE is_purchase),
{% for dim in top_dimensions %}
{{ dim.name }}_counts AS (
    SELECT customer_key, value, count(DISTINCT order_key) AS n
    FROM ({{ dim.source_sql }}) s GROUP BY customer_key, value
),
{{ dim.name }}_ranked AS (
    SELECT customer_key, value,
           row_number() OVER (PARTITION BY customer_key ORDER BY n DESC, value NULLS LAST) AS rank_in_customer,
           count(*) OVER (PARTITION BY customer_key) AS values_cnt
    FROM {{ dim.name }}_counts
),
{{ dim.name }}_top AS (
    -- customers keeping one value: that value
    SELECT customer_key, value AS {{ dim.name }}
    FROM {{ dim.name }}_ranked
    WHERE rank_in_customer = 1{% if dim.top_n > 1 %} AND values_cnt = 1{% endif %}

{% if dim.top_n > 1 %}
    UNION ALL
    -- customers keeping several: joined in alphabetical order
    SELECT customer_key, {{ string_agg_sorted("value", distinct=false) }} AS {{ dim.name }}
    FROM {{ dim.name }}_ranked
    WHERE rank_in_customer <= {{ dim.top_n }} AND values_cnt > 1
    GROUP BY customer_key
{% endif %}
),
{% endfor %}
latest AS (
    SELECT customer_key
{% for place in places %}
         , {{ arg_max("customer_" ~ place, "order_seq") }} AS customer_{{ place }}
{% endfor %}
    FROM bought GROUP BY customer_key
)
SELECT c.customer_key
{% for dim in top_dimensions %}
     , CASE WHEN c.buys_cnt IS NULL THEN '{{ never_converted }}' ELSE coalesce(t_{{ loop.index }}.{{ dim.name }}, '{{ unknown }}') END AS {{ dim.name }}
{% endfor %}
{% for place in places %}
     , CASE WHEN c.buys_cnt IS NULL THEN '{{ never_converted }}' ELSE coalesce(l.customer_{{ place }}, '{{ unknown }}') END AS customer_{{ place }}
{% endfor %}
FROM customer_metrics c
{% for dim in top_dimensions %}
LEFT JOIN {{ dim.name }}_top t_{{ loop.index }} ON t_{{ loop.index }}.customer_key = c.customer_key
{% endfor %}
LEFT JOIN latest l ON l.customer_key = c.customer_key;
