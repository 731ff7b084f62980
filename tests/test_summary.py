"""The report's summary (issue 19): per population its clusters with customers, revenue, medians,
traits and a suggested action; per RFM segment its revenue and action. On the real Olist data
and on Online Retail the numbers in summary.json are recomputed here with pandas from the
run's own customer and cluster tables, and the revenue shares add up to 100 %."""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import custseg
from custseg.data import olist_folder, online_retail_file
from custseg.profile.overview import action_traits, cluster_action, rfm_segment_action

SOURCES = {"olist": (olist_folder, {}), "online_retail": (online_retail_file, {"preset": "online_retail"})}


@pytest.fixture(scope="module", params=list(SOURCES))
def run(request, tmp_path_factory) -> Path:
    data, kwargs = SOURCES[request.param]
    out = tmp_path_factory.mktemp(request.param) / "out"
    custseg.run(data(), out=out, slides=False, **kwargs)
    return out


def test_cluster_revenue_and_medians_equal_pandas(run):
    summary = json.loads((run / "summary.json").read_text())
    customers = pd.read_parquet(run / "customers.parquet", columns=["customer_id", "recency", "frequency", "monetary"])
    clusters = pd.read_parquet(run / "clusters.parquet")
    for name, pop in summary["populations"].items():
        members = clusters[clusters["population"] == name].merge(customers, on="customer_id")
        by = members.groupby("cluster")
        rows = {r["cluster"]: r for r in pop["clusters"]}
        assert set(rows) == set(by.groups)
        assert sum(r["revenue_share"] for r in rows.values()) == pytest.approx(1.0, abs=1e-12)
        assert sum(r["customers_share"] for r in rows.values()) == pytest.approx(1.0, abs=1e-12)
        revenue = by["monetary"].sum()
        for c, r in rows.items():
            assert r["customers"] == len(by.get_group(c))
            assert r["revenue"] == pytest.approx(revenue[c], rel=1e-12)
            assert r["revenue_share"] == pytest.approx(revenue[c] / revenue.sum(), rel=1e-12)
            assert r["median_recency"] == by["recency"].median()[c]
            assert r["median_monetary"] == pytest.approx(by["monetary"].median()[c], rel=1e-12)
            assert r["action"], r["name"]
        assert 1 <= len(pop["findings"]) <= 5


def test_rfm_segment_revenue_equals_pandas(run):
    summary = json.loads((run / "summary.json").read_text())
    customers = pd.read_parquet(run / "customers.parquet", columns=["rfm_segment", "monetary"])
    revenue = customers.groupby("rfm_segment", observed=True)["monetary"].sum()
    segments = summary["rfm_segments"]
    assert sum(s["revenue_share"] for s in segments.values()) == pytest.approx(1.0, abs=1e-12)
    for name, s in segments.items():
        assert s["revenue"] == pytest.approx(revenue[name], rel=1e-12)
        assert s["suggested_action"]
    assert summary["revenue"] == pytest.approx(customers["monetary"].sum(), rel=1e-12)


def test_the_summary_is_at_the_top_of_the_report(run):
    html = (run / "report.html").read_text()
    summary = html.index('id="summary"')
    assert html.index('id="overview"') < summary < html.index('id="populations"')
    assert "% of revenue" in html[summary:html.index('id="populations"')]


@pytest.mark.parametrize("bins", [3, 5])
def test_every_rfm_segment_has_an_action(bins):
    text = resources.files("custseg.rfm").joinpath(f"segments_{bins}.csv").read_text()
    for name in {row["rfm_segment"] for row in csv.DictReader(text.splitlines())}:
        assert rfm_segment_action(name), name


def test_action_traits_and_the_first_matching_action():
    population = pd.Series({"recency": 100.0, "frequency": 1.0, "monetary": 100.0})
    lapsed_big = action_traits(pd.Series({"recency": 300.0, "frequency": 1.0, "monetary": 400.0}), population)
    assert lapsed_big == {"recency": "lapsed", "spend": "high", "orders": "one-time"}
    assert cluster_action(lapsed_big).startswith("Win back")
    typical = action_traits(pd.Series({"recency": 110.0, "frequency": 1.0, "monetary": 90.0}), population)
    assert typical == {"orders": "one-time"}
    assert cluster_action({}).startswith("Keep in regular campaigns")
