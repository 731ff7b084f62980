"""The reference analysis done the notebook way — the baseline custseg is measured against.

Plain pandas for the customer table (tests/reference_pandas.py: group-bys exactly as the spec),
scikit-learn's `silhouette_score`, `KMeans`, `AgglomerativeClustering` and SciPy's `linkage` as the
seed notebook calls them, the profile tables with pandas, and every figure built and written one
at a time with Plotly. Never used by the product.

    .venv/bin/python bench/baseline_notebook.py DATA_FOLDER OUT_FOLDER
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
from scipy.cluster.hierarchy import linkage
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.reference_pandas import reference_customers  # noqa: E402

METRICS = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]
DIMENSIONS = ["activity_segment", "value_segment", "loyalty_segment", "risk_segment", "installment_segment",
              "products_cnt_segment", "weight_segment", "customer_payment_types", "customer_top_product_categories",
              "customer_top_general_product_categories", "customer_city"]


def prepare(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    processed = frame.set_index("customer_id")[METRICS]
    corr = processed.corr().abs()
    upper = corr.where(np.triu(np.ones(corr.shape), k=1).astype(bool))
    processed = processed.drop(columns=[c for c in upper.columns if any(upper[c] > 0.6)]).dropna()
    return processed, StandardScaler().fit_transform(processed)


def views(frame: pd.DataFrame, labels: np.ndarray, out: Path, tag: str) -> None:
    df = frame.assign(cluster=labels + 1)
    table = df.groupby("cluster")[METRICS].median().T
    (out / f"{tag}-profile.html").write_text(table.to_html())
    px.bar(df["cluster"].value_counts(normalize=True)).write_html(out / f"{tag}-share.html", include_plotlyjs="cdn")
    for dim in DIMENSIONS:
        if dim not in df:
            continue
        ct = pd.crosstab(df["cluster"], df[dim])
        top = ct.sum().nlargest(5).index
        share = ct[top].div(ct.sum(axis=1), axis=0).stack().rename("share").reset_index()
        px.bar(share, x="share", y="cluster", color=dim, orientation="h").write_html(out / f"{tag}-{dim}-2.html", include_plotlyjs="cdn")
        share3 = ct[top].div(ct[top].sum(axis=0), axis=1).stack().rename("share").reset_index()
        px.bar(share3, x="share", y=dim, color="cluster", orientation="h").write_html(out / f"{tag}-{dim}-3.html", include_plotlyjs="cdn")


def main(data: str, out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}
    t = time.perf_counter()
    customers = reference_customers("olist", data)
    timings["features (pandas)"] = time.perf_counter() - t

    t = time.perf_counter()
    all_buyers = customers[customers["buys_cnt"].notna()]
    frame_a, x_a = prepare(all_buyers)
    wcss = [KMeans(n_clusters=i, init="k-means++", random_state=42).fit(x_a).inertia_ for i in range(1, 15)]
    px.line(x=list(range(1, 15)), y=wcss).write_html(out / "elbow.html", include_plotlyjs="cdn")
    labels_a = KMeans(n_clusters=5, init="k-means++", random_state=42).fit_predict(x_a)
    score_a = silhouette_score(x_a, labels_a)
    timings["population A: elbow, KMeans, silhouette"] = time.perf_counter() - t
    t = time.perf_counter()
    views(frame_a.reset_index().merge(customers, on=["customer_id", *METRICS]), labels_a, out, "all")
    timings["population A: views"] = time.perf_counter() - t

    t = time.perf_counter()
    champions = customers[(customers["buys_cnt"] >= 2) & (customers["rfm_segment"] == "Champions")]
    frame_b, x_b = prepare(champions)
    sil = [silhouette_score(x_b, KMeans(n_clusters=k, random_state=42).fit_predict(x_b)) for k in range(2, 15)]
    px.line(x=list(range(2, 15)), y=sil).write_html(out / "silhouette.html", include_plotlyjs="cdn")
    linkage(x_b, method="ward")
    labels_b = AgglomerativeClustering(n_clusters=7).fit_predict(x_b)
    score_b = silhouette_score(x_b, labels_b)
    timings["population B: silhouette by k, Ward, silhouette"] = time.perf_counter() - t
    t = time.perf_counter()
    views(frame_b.reset_index().merge(customers, on=["customer_id", *METRICS]), labels_b, out, "repeat")
    timings["population B: views"] = time.perf_counter() - t
    text = json.dumps({"timings": timings, "silhouette_a": score_a, "silhouette_b": score_b, "n_a": len(x_a), "n_b": len(x_b)})
    (out / "result.json").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
