-- The customer table: metrics, dimensions, segments and RFM, one row per customer. The customer id
-- joins here, by key: the tables before carry integer keys only (at 10M customers customer_metrics
-- took 2.4 s longer to make with the ids in it; this join adds ~1.9 s to writing the table out).
-- star_except lists a table's columns but some (DuckDB's * EXCLUDE, which Spark 3.5 lacks).
-- Views (as a dbt model can be): DuckDB runs the joins once, straight into the frame or file
-- that reads them, instead of storing ~50 columns first; Spark caches them.
-- customer_rows: the rows in no particular order, with customer_key (in customer id order,
-- 01_clean_orders.sql): a reader that sorts them itself reads this one (issue 24: sorting 10M
-- rows of ~50 columns took DuckDB ~12 s). The segments are computed here, as in customer_segments,
-- as the dialect's labels (DuckDB: ENUMs, written to Parquet as dictionaries); customers shows them as text.
CREATE OR REPLACE VIEW customer_rows AS
SELECT m.customer_key, k.customer_id,
       {{ [star_except("m", "customer_metrics", ["total_customer_payment_exact", "customer_key"]),
           star_except("d", "customer_dimensions", ["customer_key"])] | select | join(",\n       ") }},
{% for seg in segments %}
       m.{{ quote(seg.name) }},
{% endfor %}
       {{ star_except("r", "customer_rfm", ["customer_key"]) }}
FROM (
    SELECT *
{% for seg in segments %}
         , {{ seg.case_sql }} AS {{ quote(seg.name) }}
{% endfor %}
    FROM customer_metrics
) m
JOIN customer_keys k ON k.customer_key = m.customer_key
JOIN customer_dimensions d ON d.customer_key = m.customer_key
LEFT JOIN customer_rfm r ON r.customer_key = m.customer_key;

-- The same columns, in customer id order.
CREATE OR REPLACE VIEW customers AS
SELECT c.customer_id, {{ [star_except("c", "customer_metrics", ["total_customer_payment_exact", "customer_key"]),
           star_except("c", "customer_dimensions", ["customer_key"])] | select | join(",\n       ") }},
{% for seg in segments %}
       {{ as_text("c." ~ quote(seg.name)) }} AS {{ quote(seg.name) }},
{% endfor %}
       {{ star_except("c", "customer_rfm", ["customer_key"]) }}
FROM customer_rows c
ORDER BY c.customer_key;
