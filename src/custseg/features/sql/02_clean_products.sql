-- Products with English, normalised categories, a general category and filled weights/sizes.
CREATE OR REPLACE TABLE clean_products AS
WITH named AS (
    SELECT p.product_id,
           CASE WHEN p.category IS NULL OR trim(p.category) = '' THEN '{{ missing_category }}'
                ELSE coalesce(o.category, {{ title_label("coalesce(t.category_english, p.category)") }}) END AS category,
           CASE WHEN p.weight_g > 0 THEN p.weight_g END AS weight_g,
           p.length_cm, p.height_cm, p.width_cm
    FROM products p
    LEFT JOIN category_translation t ON t.category = p.category
    LEFT JOIN category_overrides o ON o.source_category = p.category
),
category_medians AS (
    SELECT category, median(weight_g) AS weight_g, median(length_cm) AS length_cm,
           median(height_cm) AS height_cm, median(width_cm) AS width_cm
    FROM named GROUP BY category
),
overall AS (
    SELECT median(weight_g) AS weight_g, median(length_cm) AS length_cm,
           median(height_cm) AS height_cm, median(width_cm) AS width_cm
    FROM named
)
SELECT product_id, category, general_category, weight_g, length_cm, height_cm, width_cm,
       -- the categories as small integers (one per text, in text order): an order's smallest and
       -- largest are compared per order (05_order_metrics.sql), cheaper than text
       dense_rank() OVER (ORDER BY category) AS category_code,
       CASE WHEN general_category IS NOT NULL THEN dense_rank() OVER (ORDER BY general_category) END AS general_category_code
FROM (
    SELECT n.product_id, n.category,
           {% if has("categories") and use_category_groups %}coalesce(g.general_category, '{{ missing_category }}'){% else %}CAST(NULL AS STRING){% endif %} AS general_category,
           coalesce(n.weight_g, m.weight_g, a.weight_g) AS weight_g,
           coalesce(n.length_cm, m.length_cm, a.length_cm) AS length_cm,
           coalesce(n.height_cm, m.height_cm, a.height_cm) AS height_cm,
           coalesce(n.width_cm, m.width_cm, a.width_cm) AS width_cm
    FROM named n
    JOIN category_medians m USING (category)
    CROSS JOIN overall a
    LEFT JOIN category_groups g ON g.category = n.category
) p;
