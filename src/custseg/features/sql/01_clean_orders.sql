-- Orders inside the analysis window (and by the as-of date), text normalised, missing dates imputed (spec section 2).
-- One text for DuckDB and Spark SQL: the macro calls in double braces render each engine's spelling of
-- the few functions they name differently (custseg/dialect.py).
--
-- Integer keys (issue 24): every later step groups and joins customers and orders by integers, not by
-- their text ids (Olist's are 32-character strings: hashing and comparing them dominated the stage at
-- 10M customers). customer_key numbers the input's customers in the order of their ids, so ordering by
-- it is ordering by customer_id; order_key is the order's input row (_row, unique). The ids come back
-- once, in the customer table (10_customers.sql) and the order metrics (05_order_metrics.sql).
--
-- An order is kept inside the window and, with an as-of date, when purchased by the end of its day
-- (features/as_of.py); an order without a purchase time cannot be placed in time: kept.
{% set kept = "(purchase_ts IS NULL OR (" ~ (order_bounds | join(" AND ") if order_bounds else "true") ~ "))" %}
{% if dialect == "spark" %}
-- Spark: a row_number() over all customers sorts them in one task. Instead the ids are put in
-- ranges (a distributed sort's sampling: partition i holds the i-th range of ids), stored as they are
-- partitioned; each range is numbered on its own, after the customers of the ranges before it.
CREATE OR REPLACE TABLE customer_ranges AS
SELECT /*+ REPARTITION_BY_RANGE(customer_id) */ customer_id FROM input_customers;

CREATE OR REPLACE TABLE customer_keys AS
WITH ranged AS (SELECT customer_id, spark_partition_id() AS part FROM customer_ranges),
range_sizes AS (SELECT part, count(*) AS n FROM ranged GROUP BY part),
ranges_before AS (SELECT part, sum(n) OVER (ORDER BY part) - n AS before FROM range_sizes)
SELECT r.customer_id, b.before + row_number() OVER (PARTITION BY r.part ORDER BY r.customer_id) AS customer_key
FROM ranged r JOIN ranges_before b ON b.part = r.part;
{% else %}
CREATE OR REPLACE TABLE customer_keys AS
SELECT customer_id, row_number() OVER (ORDER BY customer_id) AS customer_key
FROM input_customers;
{% endif %}

-- The customers with an order left out (few), and whether one of those is inside the window (so
-- after the as-of date): 11_excluded.sql tells them from customers without any order, so nothing
-- after this file reads the input's orders.
CREATE OR REPLACE TABLE left_out_customers AS
SELECT customer_id, bool_or({{ window_bounds | join(" AND ") if window_bounds else "true" }}) AS in_window
FROM orders
WHERE NOT {{ kept }}
GROUP BY customer_id;

{% set stages = [("approval_to_carrier", "carrier_ts", "approved_ts"), ("purchase_to_approval", "approved_ts", "purchase_ts"),
                 ("carrier_to_delivery", "delivered_ts", "carrier_ts")] %}
{% set stage_medians_sql %}
    -- Median stage durations in microseconds, over orders that have both ends.
    SELECT
{% for stage, end, start in stages %}
        median({{ epoch_us(end) }} - {{ epoch_us(start) }}) FILTER (WHERE {{ end }} IS NOT NULL AND {{ start }} IS NOT NULL) AS {{ stage }}_us{{ "," if not loop.last }}
{% endfor %}
    FROM orders
    WHERE {{ kept }}
{% endset %}
{% if has("delivery") and dialect == "spark" %}
-- Spark: the same exact medians without one task holding every distinct duration (Spark's exact
-- percentile merges them all in one): its approximate percentiles (rank error at most 1 /
-- median_accuracy of the count) bound each median from both sides with a margin, and only the few
-- distinct durations between the bounds (at most 8 / median_accuracy of all) are counted and summed in
-- order, after counting those below. The middle two (one when the count is odd) interpolate as DuckDB's and Spark's median do.
CREATE OR REPLACE TABLE stage_medians AS
WITH durations AS (
{% for stage, end, start in stages %}
    SELECT '{{ stage }}' AS stage, {{ epoch_us(end) }} - {{ epoch_us(start) }} AS v
    FROM orders WHERE {{ kept }} AND {{ end }} IS NOT NULL AND {{ start }} IS NOT NULL
{{ "    UNION ALL" if not loop.last }}
{% endfor %}
),
bounded AS (
    SELECT stage, count(*) AS n,
           percentile_approx(v, {{ [0.5 - 4 / median_accuracy, 0.0] | max }}, {{ median_accuracy }}) AS low,
           percentile_approx(v, {{ [0.5 + 4 / median_accuracy, 1.0] | min }}, {{ median_accuracy }}) AS high
    FROM durations GROUP BY stage
),
below AS (
    SELECT d.stage, count(*) AS n FROM durations d JOIN bounded b ON b.stage = d.stage WHERE d.v < b.low GROUP BY d.stage
),
near AS (
    -- the distinct durations between the bounds, each with how many rank up to it (those below included)
    SELECT t.stage, t.v, t.c, coalesce(w.n, 0) + sum(t.c) OVER (PARTITION BY t.stage ORDER BY t.v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
    FROM (SELECT d.stage, d.v, count(*) AS c
          FROM durations d JOIN bounded b ON b.stage = d.stage
          WHERE d.v >= b.low AND d.v <= b.high
          GROUP BY d.stage, d.v) t
    LEFT JOIN below w ON w.stage = t.stage
),
middle AS (
    -- the durations at the middle ranks: (n + 1) / 2 rounded down and up
    SELECT b.stage,
           CAST(max(CASE WHEN {{ intdiv("b.n - 1", 2) }} + 1 BETWEEN e.upto - e.c + 1 AND e.upto THEN e.v END) AS DOUBLE) AS lower_v,
           CAST(max(CASE WHEN {{ intdiv("b.n", 2) }} + 1 BETWEEN e.upto - e.c + 1 AND e.upto THEN e.v END) AS DOUBLE) AS upper_v
    FROM bounded b JOIN near e ON e.stage = b.stage
    GROUP BY b.stage
)
SELECT
{% for stage, _, _ in stages %}
    max(CASE WHEN stage = '{{ stage }}' THEN lower_v + (upper_v - lower_v) * 0.5 END) AS {{ stage }}_us{{ "," if not loop.last }}
{% endfor %}
FROM middle;
{% endif %}

CREATE OR REPLACE TABLE clean_orders AS
WITH
{% if dialect != "spark" %}
stage_medians AS ({{ stage_medians_sql }}),
{% endif %}
-- Labels per distinct value (a few statuses, some thousand cities), not per order.
status_labels AS (
    SELECT order_status, {{ title_label("order_status") }} AS label FROM (SELECT DISTINCT order_status FROM orders) s
),
city_labels AS (
    SELECT customer_city, {{ title_label("customer_city") }} AS label FROM (SELECT DISTINCT customer_city FROM orders) c
),
normalised AS (
    SELECT o.order_id, o._row AS order_key, k.customer_key,
           sl.label AS order_status,
           o.is_canceled, o.purchase_ts, o.approved_ts, o.carrier_ts, o.delivered_ts, o.estimated_ts,
           cl.label AS customer_city,
           trim(o.customer_state) AS customer_state,
           trim(o.customer_region) AS customer_region,
           trim(o.customer_country) AS customer_country
    FROM orders o
    JOIN customer_keys k ON k.customer_id = o.customer_id
    LEFT JOIN status_labels sl ON sl.order_status = o.order_status
    LEFT JOIN city_labels cl ON cl.customer_city = o.customer_city
    WHERE {{ kept }}
),
{% if has("delivery") %}
carrier_filled AS (
    SELECT n.order_id, n.order_key, n.customer_key, n.order_status, n.is_canceled, n.purchase_ts,
           CASE WHEN n.approved_ts IS NULL AND n.carrier_ts IS NOT NULL AND n.purchase_ts IS NOT NULL
                THEN {{ from_epoch_us("CAST(" ~ epoch_us("n.purchase_ts") ~ " + round(m.purchase_to_approval_us) AS BIGINT)") }}
                ELSE n.approved_ts END AS approved_ts,
           CASE WHEN n.carrier_ts IS NULL AND n.order_status = 'Delivered' AND n.approved_ts IS NOT NULL
                THEN {{ from_epoch_us("CAST(" ~ epoch_us("n.approved_ts") ~ " + round(m.approval_to_carrier_us) AS BIGINT)") }}
                ELSE n.carrier_ts END AS carrier_ts,
           n.delivered_ts, n.estimated_ts, n.customer_city, n.customer_state, n.customer_region, n.customer_country
    FROM normalised n, stage_medians m
),
filled AS (
    SELECT c.order_id, c.order_key, c.customer_key, c.order_status, c.is_canceled, c.purchase_ts, c.approved_ts, c.carrier_ts,
           CASE WHEN c.delivered_ts IS NULL AND c.order_status = 'Delivered' AND c.carrier_ts IS NOT NULL
                THEN {{ from_epoch_us("CAST(" ~ epoch_us("c.carrier_ts") ~ " + round(m.carrier_to_delivery_us) AS BIGINT)") }}
                ELSE c.delivered_ts END AS delivered_ts,
           c.estimated_ts, c.customer_city, c.customer_state, c.customer_region, c.customer_country
    FROM carrier_filled c, stage_medians m
)
{% else %}
filled AS (SELECT * FROM normalised)
{% endif %}
SELECT * FROM filled;
