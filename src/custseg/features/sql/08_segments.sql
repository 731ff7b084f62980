-- Customer segments from segments.toml (spec section 6): one CASE per segment. A view: the customer
-- table (10_customers.sql) computes the same CASEs as it reads customer_metrics, without a join.
CREATE OR REPLACE VIEW customer_segments AS
SELECT customer_key,
{% for seg in segments %}
       {{ as_text(seg.case_sql) }} AS {{ seg.name }}{{ "," if not loop.last }}
{% endfor %}
FROM customer_metrics;
