-- Which orders are purchases (spec section 3). 8.64e10 = microseconds per day (a DOUBLE literal
-- in both engines).
CREATE OR REPLACE TABLE purchases AS
-- "now" of the grace rule: the latest order, or the end of the as-of day (features/as_of.py)
WITH last_purchase AS ({% if as_of_end %}SELECT TIMESTAMP '{{ as_of_end }}' AS last_ts{% else %}SELECT max(purchase_ts) AS last_ts FROM clean_orders{% endif %})
SELECT o.order_key,
{% if purchase_rule == "olist" %}
       coalesce(
           o.order_status = 'Delivered'
           OR (
               -- pandas' Timedelta.days: whole days, rounded down
               floor(({{ epoch_us("l.last_ts") }} - {{ epoch_us("o.estimated_ts") }}) / 8.64e10) <= {{ grace_days }}
               AND o.order_status NOT IN ('Canceled', 'Unavailable')
           ),
           false) AS is_purchase
{% else %}
       NOT o.is_canceled AS is_purchase
{% endif %}
FROM clean_orders o, last_purchase l;
