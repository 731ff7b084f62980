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

CREATE OR REPLACE TABLE rfm_values AS
SELECT f.customer_key,
       CAST({{ intdiv(epoch_us("r.now_ts") ~ " - " ~ epoch_us("max(f.purchase_ts)"), "86400000000") }} AS BIGINT) AS recency,
       count(*) AS frequency,
       coalesce(sum(f.total_payment), 0) AS monetary_exact
FROM order_facts f, analysis_reference r
WHERE f.is_purchase
GROUP BY f.customer_key, r.now_ts;

-- Bin b (1 .. bins - 1) ends at rank floor((n - 1) * b / bins) + 1, so a customer's bin is 1 + the
-- number of these cut customers ranked before them. Only the cut customers are looked for
-- (issue 24): ranking all customers took three sorts of every row, each one task on Spark.
-- A cut's value is found from the count of customers at each value (NULLs last), then its
-- customer among those of that value from counts per block of customer_key, so that a value
-- most customers share (one order) is never sorted whole either.
{% macro cut_ctes(f) %}
{{ f }}_values AS (
    -- the customers at each value, and how many rank before it (NULL last)
    SELECT v, c, sum(c) OVER (ORDER BY v NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - c AS before
    FROM (SELECT {{ f }} AS v, count(*) AS c FROM rfm_values GROUP BY {{ f }}) t
),
{{ f }}_cut_values AS (
    -- the value holding each cut rank, and the cut's place among that value's customers
    SELECT k.b, s.v, k.r - s.before AS r
    FROM cut_ranks k JOIN {{ f }}_values s ON k.r > s.before AND k.r <= s.before + s.c
),
{{ f }}_blocks AS (
    -- those values' customers per block of customer_key, and how many of them come before each block
    SELECT v, blk, c, sum(c) OVER (PARTITION BY v ORDER BY blk ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) - c AS before
    FROM (SELECT p.{{ f }} AS v, {{ intdiv("p.customer_key", rfm_block) }} AS blk, count(*) AS c
          FROM rfm_values p JOIN (SELECT DISTINCT v FROM {{ f }}_cut_values) g ON p.{{ f }} IS NOT DISTINCT FROM g.v
          GROUP BY p.{{ f }}, {{ intdiv("p.customer_key", rfm_block) }}) t
),
{{ f }}_cut_blocks AS (
    -- the block holding each cut, and the cut's place in it
    SELECT g.b, g.v, s.blk, g.r - s.before AS r
    FROM {{ f }}_cut_values g JOIN {{ f }}_blocks s ON s.v IS NOT DISTINCT FROM g.v AND g.r > s.before AND g.r <= s.before + s.c
),
{{ f }}_cuts AS (
    -- the cut customer, sorting only that block
    SELECT b, v, customer_key FROM (
        SELECT g.b, g.v, g.r, p.customer_key, row_number() OVER (PARTITION BY g.b ORDER BY p.customer_key) AS within
        FROM {{ f }}_cut_blocks g
        JOIN rfm_values p ON p.{{ f }} IS NOT DISTINCT FROM g.v AND {{ intdiv("p.customer_key", rfm_block) }} = g.blk
    ) t
    WHERE within = r
),
{{ f }}_cut_row AS (
    -- the cuts side by side: v1, k1 (value, customer_key of cut 1), v2, k2, ...
    SELECT {% for b in range(1, bins) %}max(CASE WHEN b = {{ b }} THEN v END) AS v{{ b }}, max(CASE WHEN b = {{ b }} THEN customer_key END) AS k{{ b }}{{ ", " if not loop.last }}{% endfor %}
    FROM {{ f }}_cuts
),
{% endmacro %}
{# 1 + the cuts (f, customer_key) ranks after; NULL ranks after every value. #}
{% macro bin_of(f, c) -%}
1{% for b in range(1, bins) %} + CASE WHEN (p.{{ f }} IS NULL AND ({{ c }}.v{{ b }} IS NOT NULL OR p.customer_key > {{ c }}.k{{ b }}))
                    OR p.{{ f }} > {{ c }}.v{{ b }} OR (p.{{ f }} = {{ c }}.v{{ b }} AND p.customer_key > {{ c }}.k{{ b }}) THEN 1 ELSE 0 END{% endfor %}
{%- endmacro %}
CREATE OR REPLACE TABLE customer_rfm AS
WITH counted AS (SELECT count(*) AS n FROM rfm_values),
cut_ranks AS (
{% for b in range(1, bins) %}
    SELECT {{ b }} AS b, {{ intdiv("(n - 1) * " ~ b, bins) }} + 1 AS r FROM counted{{ " UNION ALL" if not loop.last }}
{% endfor %}
),
{{ cut_ctes("recency") }}
{{ cut_ctes("frequency") }}
{{ cut_ctes("monetary_exact") }}
binned AS (
    SELECT p.customer_key, p.recency, p.frequency, p.monetary_exact,
           CASE WHEN n.n = 1 THEN {{ bins }} ELSE {{ bins }} + 1 - ({{ bin_of("recency", "rc") }}) END AS recency_score,
           CASE WHEN n.n = 1 THEN {{ bins }} ELSE {{ bin_of("frequency", "fc") }} END AS frequency_score,
           CASE WHEN n.n = 1 THEN {{ bins }} ELSE {{ bin_of("monetary_exact", "mc") }} END AS monetary_score
    FROM rfm_values p, counted n, recency_cut_row rc, frequency_cut_row fc, monetary_exact_cut_row mc
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
