"""`custseg demo` on the bundled real Olist data reproduces the reference notebook's published tables.

Expected values are the notebook's printed outputs (`shared/spec/seed_customer_clustering.txt`:
"Silhouette Score", and the `segment_table` of each population: "% of Total Count" and the
median of every clustering metric), an independent computation on the same Kaggle release.
The notebook numbers its clusters arbitrarily (KMeans / Ward labels + 1), so clusters are
matched by their share, which differs between every two clusters of a population.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from custseg.data import olist_folder

METRICS = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]

# Published: share %, then the medians of avg_unique_products_cnt, recency, frequency, monetary.
PUBLISHED = {
    "all": {
        "silhouette": 0.492,
        "clusters": [
            (2.42, 1.00, 218.50, 1.00, 966.53),
            (3.03, 2.00, 221.00, 1.00, 187.81),
            (2.95, 1.00, 197.50, 2.00, 223.66),
            (38.95, 1.00, 372.00, 1.00, 99.43),
            (52.66, 1.00, 128.00, 1.00, 101.75),
        ],
    },
    "repeat_champions": {
        "silhouette": 0.410,
        "clusters": [
            (3.97, 1.00, 67.00, 2.00, 1308.12),
            (0.13, 1.00, 8.00, 15.00, 879.27),
            (2.91, 2.00, 83.50, 2.00, 432.62),
            (8.33, 1.00, 107.00, 3.00, 480.52),
            (8.47, 1.50, 80.00, 2.00, 311.05),
            (42.72, 1.00, 103.00, 2.00, 266.76),
            (33.47, 1.00, 28.00, 2.00, 291.46),
        ],
    },
}

# shared/data/olist/SOURCES.md: sha256 of the uncompressed originals (7 byte-identical tables).
ORIGINAL_SHA256 = {
    "olist_customers_dataset.csv": "983a422239e1712ded753b3bf9ecf47dc73f144d306029dcfa99e70a226883d2",
    "olist_orders_dataset.csv": "8df58ef3d2d7e9944010f7beecd9b75367f5588ec6e3c91cec19ae3345ef9ecf",
    "olist_order_items_dataset.csv": "0bc4d068c4fe38cbb01bd90e8746e3c613fe7b4baef75fab7b0e329701c3e279",
    "olist_order_payments_dataset.csv": "4f713964f2815dbbaa40b9488268c55aac3627bfce5aa96cf58d1f3616de3cc0",
    "olist_products_dataset.csv": "3e6569628a17fbc75fd206ee357b59e20364b9afa90f5b6cd5b4d624c58aa9cc",
    "olist_sellers_dataset.csv": "1f643d2b950373b85735e7794b20986f528d7a000432e7c6f9bcbb44d0846a0e",
    "product_category_name_translation.csv": "a81f0d1f27b27e7293f761bc79e3ce8f348ee39c4b3ed3e49bde38f478586278",
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, str]:
    """`custseg demo --no-slides` as a user runs it: its own process, its printed lines."""
    out = tmp_path_factory.mktemp("demo") / "demo-output"
    done = subprocess.run([sys.executable, "-c", "from custseg.cli import entry; entry()", "demo", "--out", str(out), "--no-slides"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out / "report", done.stdout


def test_bundled_tables_are_the_originals():
    for name, digest in ORIGINAL_SHA256.items():
        data = gzip.decompress((olist_folder() / f"{name}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest, name
    reviews = pd.read_csv(olist_folder() / "olist_order_reviews_dataset.csv.gz", usecols=["review_id", "review_score"])
    left_out = (olist_folder() / "olist_order_reviews_left_out_ids.txt").read_text().split()
    assert len(reviews) == 99_163 and len(left_out) == 61  # 99,224 in the release, 61 left out
    assert not set(left_out) & set(reviews["review_id"])
    assert reviews["review_score"].value_counts().to_dict() == {5: 57_319, 4: 19_135, 1: 11_391, 3: 8_172, 2: 3_146}


def test_demo_prints_where_the_report_is(demo_run):
    report, stdout = demo_run
    assert f"report: {(report / 'report.html').resolve()}" in stdout
    assert (report / "report.html").stat().st_size > 100_000


@pytest.mark.parametrize("population", PUBLISHED)
def test_silhouette_is_exact_and_equals_the_notebooks(demo_run, population):
    summary = json.loads((demo_run[0] / "summary.json").read_text())
    pop = summary["populations"][population]
    assert pop["silhouette_method"] == "exact"
    assert round(pop["silhouette"], 3) == PUBLISHED[population]["silhouette"]


@pytest.mark.parametrize("population", PUBLISHED)
def test_cluster_shares_and_medians_equal_the_notebooks(demo_run, population):
    report = demo_run[0]
    clusters = pd.read_parquet(report / "clusters.parquet")
    customers = pd.read_parquet(report / "customers.parquet", columns=["customer_id", *METRICS])
    members = clusters[clusters["population"] == population].merge(customers, on="customer_id", validate="one_to_one")
    by_cluster = members.groupby("cluster")
    ours = pd.concat([(100 * by_cluster.size() / len(members)).rename("share"), by_cluster[METRICS].median()], axis=1)
    ours = ours.sort_values("share").reset_index(drop=True)
    published = pd.DataFrame(PUBLISHED[population]["clusters"], columns=["share", *METRICS]).sort_values("share").reset_index(drop=True)

    assert len(ours) == len(published)
    assert ours["share"].round(2).tolist() == published["share"].tolist()
    for metric in METRICS:  # printed to 2 decimals; a median halfway between two cents may print one cent apart
        diff = (ours[metric] - published[metric]).abs()
        assert (diff <= 0.01 + 1e-9).all(), (metric, ours[metric].tolist(), published[metric].tolist())
