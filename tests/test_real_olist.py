"""`custseg demo` on the bundled real Olist data reproduces the reference notebook's published tables.

Expected values are the notebook's printed outputs (`shared/spec/seed_customer_clustering.txt`:
"Silhouette Score", and the `segment_table` of each population: "% of Total Count" and the
median of every clustering metric), an independent computation on the same Kaggle release,
copied into `custseg/data/olist/notebook_published.toml`. The notebook numbers its clusters
arbitrarily (KMeans / Ward labels + 1), so clusters are matched by their share.
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
from custseg.data.published import published, side_by_side

POPULATIONS = list(published()["populations"])

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


@pytest.mark.parametrize("population", POPULATIONS)
def test_silhouette_is_exact_and_equals_the_notebooks(demo_run, population):
    summary = json.loads((demo_run[0] / "summary.json").read_text())
    pop = summary["populations"][population]
    assert pop["silhouette_method"] == "exact"
    assert round(pop["silhouette"], 3) == published()["populations"][population]["silhouette"]


@pytest.mark.parametrize("population", POPULATIONS)
def test_cluster_shares_and_medians_equal_the_notebooks(demo_run, population):
    report = demo_run[0]
    clusters = pd.read_parquet(report / "clusters.parquet")
    customers = pd.read_parquet(report / "customers.parquet")
    table = side_by_side(clusters, customers, population)

    assert table["share_custseg"].round(2).tolist() == table["share"].tolist()
    for metric in published()["metrics"]:  # printed to 2 decimals; a median halfway between two cents may print one cent apart
        diff = (table[f"{metric}_custseg"] - table[metric]).abs()
        assert (diff <= 0.01 + 1e-9).all(), table[[metric, f"{metric}_custseg"]]
