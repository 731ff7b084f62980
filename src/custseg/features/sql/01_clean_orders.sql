-- Orders inside the analysis window (and by the as-of date), text normalised, missing dates imputed (spec section 2).
-- One text for DuckDB and Spark SQL: the macro calls in double braces render each engine's spelling of
-- the few functions they name differently (dialect.py).
CREATE OR REPLACE TABLE clean_orders AS
WITH windowed AS (
    SELECT *
    FROM orders
    -- inside the window and, with an as-of date, purchased by the end of its day (features/as_of.py);
    -- an order without a purchase time cannot be placed in time: kept
    WHERE purchase_ts IS NULL OR ({{ order_bounds | join(" AND ") if order_bounds else "true" }})
),
stage_medians AS (
    -- Median stage durations in microseconds, over orders that have both ends.
    SELECT
        median({{ epoch_us("carrier_ts") }} - {{ epoch_us("approved_ts") }}) FILTER (WHERE carrier_ts IS NOT NULL AND approved_ts IS NOT NULL) AS approval_to_carrier_us,
        median({{ epoch_us("approved_ts") }} - {{ epoch_us("purchase_ts") }}) FILTER (WHERE approved_ts IS NOT NULL AND purchase_ts IS NOT NULL) AS purchase_to_approval_us,
        median({{ epoch_us("delivered_ts") }} - {{ epoch_us("carrier_ts") }}) FILTER (WHERE delivered_ts IS NOT NULL AND carrier_ts IS NOT NULL) AS carrier_to_delivery_us
    FROM windowed
),
normalised AS (
    SELECT order_id, customer_id,
           {{ title_label("order_status") }} AS order_status,
           is_canceled, purchase_ts, approved_ts, carrier_ts, delivered_ts, estimated_ts,
           {{ title_label("customer_city") }} AS customer_city,
           trim(customer_state) AS customer_state,
           trim(customer_region) AS customer_region,
           trim(customer_country) AS customer_country,
           _row
    FROM windowed
),
{% if has("delivery") %}
carrier_filled AS (
    SELECT n.order_id, n.customer_id, n.order_status, n.is_canceled, n.purchase_ts,
           CASE WHEN n.approved_ts IS NULL AND n.carrier_ts IS NOT NULL AND n.purchase_ts IS NOT NULL
                THEN {{ from_epoch_us("CAST(" ~ epoch_us("n.purchase_ts") ~ " + round(m.purchase_to_approval_us) AS BIGINT)") }}
                ELSE n.approved_ts END AS approved_ts,
           CASE WHEN n.carrier_ts IS NULL AND n.order_status = 'Delivered' AND n.approved_ts IS NOT NULL
                THEN {{ from_epoch_us("CAST(" ~ epoch_us("n.approved_ts") ~ " + round(m.approval_to_carrier_us) AS BIGINT)") }}
                ELSE n.carrier_ts END AS carrier_ts,
           n.delivered_ts, n.estimated_ts, n.customer_city, n.customer_state, n.customer_region, n.customer_country, n._row
    FROM normalised n, stage_medians m
),
filled AS (
    SELECT c.order_id, c.customer_id, c.order_status, c.is_canceled, c.purchase_ts, c.approved_ts, c.carrier_ts,
           CASE WHEN c.delivered_ts IS NULL AND c.order_status = 'Delivered' AND c.carrier_ts IS NOT NULL
                THEN {{ from_epoch_us("CAST(" ~ epoch_us("c.carrier_ts") ~ " + round(m.carrier_to_delivery_us) AS BIGINT)") }}
                ELSE c.delivered_ts END AS delivered_ts,
           c.estimated_ts, c.customer_city, c.customer_state, c.customer_region, c.customer_country, c._row
    FROM carrier_filled c, stage_medians m
)
{% else %}
filled AS (SELECT * FROM normalised)
{% endif %}
SELECT * FROM filled ORDER BY _row;
