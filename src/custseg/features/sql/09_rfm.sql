-- RFM on purchases (spec section 7). Ranks break ties by customer id; bins follow pandas'
-- qcut on those ranks in exact integer arithmetic: rank r is in the smallest bin b with
-- (r - 1) * bins <= (n - 1) * b. customer_key is in customer id order (01_clean_orders.sql).
-- The reference instant recency counts from ("now"): the latest purchase, or the end of the as-of
-- day (features/as_of.py). One row; later stages read it (custseg.engines.duckdb.features.reference_time).
CREATE OR REPLACE TABLE analysis_reference AS
{% if as_of_end %}
SELECT TIMESTAMP '{{ as_of_end }}' AS now_ts;
{% else %}
SELECT max(purchase_ts) AS now_ts FROM order_facts WHERE is_purchase;
{% endif %}

CREATE OR REPLACE TABLE customer_rfm AS
WITH bought AS (SELECT customer_key, purchase_ts, total_payment FROM order_facts WHERE is_purchase),
reference AS (SELECT now_ts FROM analysis_reference),
per_customer AS (
    SELECT b.customer_key,
           CAST({{ intdiv(epoch_us("r.now_ts") ~ " - " ~ epoch_us("max(b.purchase_ts)"), "86400000000") }} AS BIGINT) AS recency,
           count(*) AS frequency,
           coalesce(sum(b.total_payment), 0) AS monetary_exact
    FROM bought b, reference r
    GROUP BY b.customer_key, r.now_ts
),
ranked AS (
    SELECT *,
           count(*) OVER () AS n,
           row_number() OVER (ORDER BY recency NULLS LAST, customer_key) AS recency_rank,
           row_number() OVER (ORDER BY frequency NULLS LAST, customer_key) AS frequency_rank,
           row_number() OVER (ORDER BY monetary_exact NULLS LAST, customer_key) AS monetary_rank
    FROM per_customer
),
binned AS (
    SELECT customer_key, recency, frequency, monetary_exact,
           CASE WHEN n = 1 THEN {{ bins }} ELSE {{ bins }} + 1 - greatest(1, {{ intdiv("(recency_rank - 1) * " ~ bins ~ " + n - 2", "n - 1") }}) END AS recency_score,
           CASE WHEN n = 1 THEN {{ bins }} ELSE greatest(1, {{ intdiv("(frequency_rank - 1) * " ~ bins ~ " + n - 2", "n - 1") }}) END AS frequency_score,
           CASE WHEN n = 1 THEN {{ bins }} ELSE greatest(1, {{ intdiv("(monetary_rank - 1) * " ~ bins ~ " + n - 2", "n - 1") }}) END AS monetary_score
    FROM ranked
)
SELECT b.customer_key, b.recency, b.frequency,
       CAST(b.monetary_exact AS DOUBLE) AS monetary,
       CAST(b.recency_score AS INTEGER) AS recency_score,
       CAST(b.frequency_score AS INTEGER) AS frequency_score,
       CAST(b.monetary_score AS INTEGER) AS monetary_score,
       CAST(b.recency_score AS STRING) || CAST(b.frequency_score AS STRING) || CAST(b.monetary_score AS STRING) AS rfm_score,
       s.rfm_segment
FROM binned b
LEFT JOIN rfm_segment_map s
  ON s.rfm_score = CAST(b.recency_score AS STRING) || CAST(b.frequency_score AS STRING) || CAST(b.monetary_score AS STRING);
