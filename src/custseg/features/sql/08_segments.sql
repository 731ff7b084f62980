-- Customer segments from segments.toml (spec section 6): one CASE per segment.
CREATE OR REPLACE TABLE customer_segments AS
SELECT customer_key,
{% for seg in segments %}
       {{ seg.case_sql }} AS {{ seg.name }}{{ "," if not loop.last }}
{% endfor %}
FROM customer_metrics;
