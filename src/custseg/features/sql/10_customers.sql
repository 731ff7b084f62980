-- The customer table: metrics, dimensions, segments and RFM, one row per customer. The customer id
-- joins here, by key: the tables before carry integer keys only (at 10M customers customer_metrics
-- took 2.4 s longer to make with the ids in it).
-- star_except lists a table's columns but some (DuckDB's * EXCLUDE, which Spark 3.5 lacks).
-- Views (as a dbt model can be): the engines run the joins where they are read, straight into the
-- frame or file, instead of storing ~50 columns first (Spark's engine stores the customer table
-- once, as it collects it).
-- customer_segmented: customer_metrics with the segments, computed here as in customer_segments,
-- as the dialect's labels (DuckDB: ENUMs, written to Parquet as dictionaries); customers shows them
-- as text. The DuckDB engine hands the customer table to pandas at millions of customers as this
-- view's, customer_keys', customer_dimensions' and customer_rfm's rows, each unjoined and in no
-- particular order, and joins them by customer_key itself (engines/duckdb/handover.py; issue 24:
-- at 10M customers writing the joined rows took ~5 s longer, and sorting them DuckDB ~12 s).
CREATE OR REPLACE VIEW customer_segmented AS
SELECT *
{% for seg in segments %}
     , {{ seg.case_sql }} AS {{ quote(seg.name) }}
{% endfor %}
FROM customer_metrics;

-- The customer table, in customer id order (customer_key's order, 01_clean_orders.sql).
CREATE OR REPLACE VIEW customers AS
SELECT k.customer_id, {{ [star_except("m", "customer_metrics", ["total_customer_payment_exact", "customer_key"]),
           star_except("d", "customer_dimensions", ["customer_key"])] | select | join(",\n       ") }},
{% for seg in segments %}
       {{ as_text("m." ~ quote(seg.name)) }} AS {{ quote(seg.name) }},
{% endfor %}
       {{ star_except("r", "customer_rfm", ["customer_key"]) }}
FROM customer_segmented m
JOIN customer_keys k ON k.customer_key = m.customer_key
JOIN customer_dimensions d ON d.customer_key = m.customer_key
LEFT JOIN customer_rfm r ON r.customer_key = m.customer_key
ORDER BY m.customer_key;
