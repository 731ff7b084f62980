-- Text dimensions of each customer, from their purchases (spec section 5).
-- "Top" values: the most frequent (top_n in the config), each counted once per order, ties by name;
-- joined in alphabetical order. Customers with no purchase get "Never Converted".
-- "Latest" value (the customer's place: city, state, region, country, where the source has it):
-- the one on the purchase with the largest (purchase time, order id), a NULL time counting as the
-- latest; purchases without the value are skipped. The user's own attributes are "top" values with
-- top_n 1: the customer's most frequent value.
--
-- Most customers bought once, and their order has one value of each dimension (the smallest and the
-- largest, order_facts' order_values, are equal): that value is their dimension, and their order's place
-- their place, read straight from the order's row. Only the others (repeat buyers, orders with several
-- values, the user's attributes) are counted, ranked and joined: grouping and sorting every customer's
-- values was most of this step's time at millions of customers.
CREATE OR REPLACE TABLE customer_dimensions AS
WITH bought AS {{ not_stored() }} (SELECT * FROM order_facts WHERE is_purchase),
repeat_buyers AS (SELECT customer_key FROM customer_metrics WHERE buys_cnt > 1),
{% for dim in top_dimensions %}
{{ dim.name }}_counted AS (
    -- the customers whose value is not their one order's only value
{% if dim.order_values %}
    SELECT customer_key FROM repeat_buyers
    UNION
    SELECT customer_key FROM bought WHERE {{ dim.order_values[0] }} <> {{ dim.order_values[1] }}
{% else %}
    SELECT customer_key FROM customer_metrics WHERE buys_cnt IS NOT NULL
{% endif %}
),
{{ dim.name }}_bought AS (
    SELECT * FROM bought WHERE customer_key IN (SELECT customer_key FROM {{ dim.name }}_counted)
),
{{ dim.name }}_counts AS (
    SELECT customer_key, value, count(DISTINCT order_key) AS n
    FROM ({{ dim.source_sql.format(bought=dim.name ~ "_bought") }}) s
    GROUP BY customer_key, value
),
{{ dim.name }}_values AS (
    SELECT customer_key, count(*) AS values_cnt, min(value) AS only_value
    FROM {{ dim.name }}_counts GROUP BY customer_key
),
{{ dim.name }}_top AS (
    -- a single value: that value
    SELECT customer_key, only_value AS {{ dim.name }} FROM {{ dim.name }}_values WHERE values_cnt = 1
    UNION ALL
    -- several: the top_n most frequent, joined in alphabetical order
    SELECT customer_key, {{ string_agg_sorted("value", distinct=false) }} AS {{ dim.name }}
    FROM (
        SELECT c.customer_key, c.value,
               row_number() OVER (PARTITION BY c.customer_key ORDER BY c.n DESC, c.value NULLS LAST) AS rank_in_customer
        FROM {{ dim.name }}_counts c
        JOIN {{ dim.name }}_values v ON v.customer_key = c.customer_key
        WHERE v.values_cnt > 1
    ) r
    WHERE rank_in_customer <= {{ dim.top_n }}
    GROUP BY customer_key
),
{% endfor %}
latest AS (
    -- a repeat buyer's values of the latest purchase that has one (the order id breaks ties of time)
    SELECT b.customer_key
{% for place in places %}
         , {{ arg_max("b.customer_" ~ place, "b.purchase_ts", "r.order_id") }} AS customer_{{ place }}
{% endfor %}
    FROM repeat_purchases r
    JOIN order_facts b ON b.order_key = r.order_key
    GROUP BY b.customer_key
)
SELECT c.customer_key
{% for dim in top_dimensions %}
{% set own = (dim.name ~ "_names.name" if dim.order_values[2] else "b." ~ dim.order_values[0]) if dim.order_values else "NULL" %}
     , CASE WHEN c.buys_cnt IS NULL THEN '{{ never_converted }}'
            ELSE coalesce(t_{{ loop.index }}.{{ dim.name }}, {{ own }}, '{{ unknown }}') END AS {{ dim.name }}
{% endfor %}
{% for place in places %}
     , CASE WHEN c.buys_cnt IS NULL THEN '{{ never_converted }}'
            ELSE coalesce(CASE WHEN c.buys_cnt = 1 THEN b.customer_{{ place }} ELSE l.customer_{{ place }} END, '{{ unknown }}') END AS customer_{{ place }}
{% endfor %}
FROM customer_metrics c
-- a customer with one purchase: its order's row
LEFT JOIN bought b ON b.customer_key = c.customer_key AND c.buys_cnt = 1
{% for dim in top_dimensions if dim.order_values and dim.order_values[2] %}
-- its category's name by code
LEFT JOIN ({{ dim.order_values[2] }}) {{ dim.name }}_names ON {{ dim.name }}_names.code = b.{{ dim.order_values[0] }}
{% endfor %}
{% for dim in top_dimensions %}
LEFT JOIN {{ dim.name }}_top t_{{ loop.index }} ON t_{{ loop.index }}.customer_key = c.customer_key
{% endfor %}
LEFT JOIN latest l ON l.customer_key = c.customer_key;
