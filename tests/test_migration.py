"""``custseg migrate``: who moved where between two dates, and did the segments predict it.

On the bundled Online Retail log (2011-03-01 -> 2011-09-01), every total is checked against a
route that does not go through custseg.migration: the customer table and clusters of
``custseg run --as-of FROM`` (the earlier date's segments and clusters), the customer table of
``custseg features --as-of TO``, the saved cluster model applied by hand, and the period's
invoices summed with pandas from the raw log.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from custseg.cluster import ClusterModel
from custseg.migration import tables as mt
from tests.conftest import ONLINE_RETAIL
from tests.test_as_of import end_of
from tests.test_bad_input import assert_rejected

FROM, TO = "2011-03-01", "2011-09-01"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    import custseg

    folder = tmp_path_factory.mktemp("migrate")
    result = custseg.migrate(ONLINE_RETAIL, FROM, TO, preset="online_retail", out=folder / "migration")
    custseg.run(ONLINE_RETAIL, preset="online_retail", as_of=FROM, out=folder / "run_from", slides=False)
    later = custseg.run(ONLINE_RETAIL, preset="online_retail", as_of=TO, report=False)
    return {"result": result, "out": folder / "migration", "run_from": folder / "run_from", "later": later.customers}


def read(path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str, "from": str, "to": str, "group": str}, keep_default_na=False, na_values=[""], **kw)


def counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.items() if v}


@pytest.fixture(scope="module")
def period_log() -> pd.DataFrame:
    """The period's purchases from the raw log: invoices with a customer, not cancellations,
    after the end of FROM up to the end of TO."""
    log = pd.read_csv(ONLINE_RETAIL, dtype={"CustomerID": str, "InvoiceNo": str})
    ts = pd.to_datetime(log["InvoiceDate"])
    kept = log[(ts > end_of(FROM)) & (ts <= end_of(TO)) & log["CustomerID"].notna() & ~log["InvoiceNo"].str.startswith("C")]
    return kept.assign(amount=kept["Quantity"] * kept["UnitPrice"])


def test_rows_add_up_to_the_customers_of_the_earlier_date(migrated):
    transitions = read(migrated["out"] / "migration.csv")
    assert list(transitions.columns) == ["kind", "from", "to", "customers", "revenue_in_period"]
    earlier = read(migrated["run_from"] / "customers.csv")
    # RFM: each segment's rows add up to its customers in `custseg run --as-of FROM`
    rfm = transitions[(transitions["kind"] == "rfm_segment") & (transitions["from"] != mt.NEW)]
    assert counts(rfm.groupby("from")["customers"].sum()) == counts(earlier["rfm_segment"].value_counts())
    # clusters: each cluster's rows add up to its members in that run's clusters.csv
    clusters = read(migrated["run_from"] / "clusters.csv")
    for population in ("all", "repeat_champions"):
        rows = transitions[(transitions["kind"] == population) & ~transitions["from"].isin(mt.SPECIAL_STATES)]
        members = clusters[clusters["population"] == population]["cluster_name"].value_counts()
        assert len(members) >= 5
        assert counts(rows.groupby("from")["customers"].sum()) == counts(members)


def test_to_side_adds_up_to_the_customers_of_the_later_date(migrated):
    transitions = read(migrated["out"] / "migration.csv")
    later = migrated["later"]
    rfm = transitions[(transitions["kind"] == "rfm_segment") & (transitions["to"] != mt.NO_PURCHASE)]
    assert counts(rfm.groupby("to")["customers"].sum()) == counts(later["rfm_segment"].astype(object).value_counts())


def test_revenue_adds_up_to_the_period_revenue(migrated, period_log):
    transitions = read(migrated["out"] / "migration.csv")
    total = period_log["amount"].sum()
    assert total > 3e6
    rfm = transitions[transitions["kind"] == "rfm_segment"]
    assert rfm["revenue_in_period"].sum() == pytest.approx(total, rel=1e-12)
    assert migrated["result"].summary["period_revenue"] == pytest.approx(total, rel=1e-12)
    # the new customers' revenue: those with no invoice by FROM in the log
    log = pd.read_csv(ONLINE_RETAIL, dtype={"CustomerID": str, "InvoiceNo": str})
    before = set(log.loc[(pd.to_datetime(log["InvoiceDate"]) <= end_of(FROM)) & ~log["InvoiceNo"].str.startswith("C"), "CustomerID"].dropna())
    new = period_log[~period_log["CustomerID"].isin(before)]
    assert rfm.loc[rfm["from"] == mt.NEW, "revenue_in_period"].sum() == pytest.approx(new["amount"].sum(), rel=1e-12)
    assert rfm.loc[rfm["from"] == mt.NEW, "customers"].sum() == new["CustomerID"].nunique()


def test_later_clusters_are_the_earlier_models_clusters(migrated):
    """Each customer's cluster on TO is the saved FROM model's nearest centre for their TO features."""
    moves = read(migrated["out"] / "customer_moves.csv")
    later = migrated["later"]
    names = read(migrated["run_from"] / "clusters.csv").query("population == 'all'").drop_duplicates("cluster")
    names = dict(zip(names["cluster"], names["cluster_name"]))
    model = ClusterModel.load(migrated["run_from"] / "models" / "all")
    buyers = later[later["buys_cnt"].notna()].set_index("customer_id")
    expected = model.assign(buyers).map(names)
    got = moves.set_index("customer_id").loc[expected.index, f"cluster_all_{TO}"]
    assert (got.to_numpy() == expected.to_numpy()).all()
    assert len(expected) > 3000


def test_bought_again_is_what_the_log_says(migrated, period_log):
    prediction = read(migrated["out"] / "prediction.csv")
    earlier = read(migrated["run_from"] / "customers.csv")
    buyers = earlier[earlier["buys_cnt"].notna()]
    bought = buyers["customer_id"].isin(set(period_log["CustomerID"]))
    base = prediction[prediction["kind"] == mt.BASELINE_KIND].iloc[0]
    assert base["customers"] == len(buyers)
    assert base["bought_again"] == bought.sum()
    spent = period_log.groupby("CustomerID")["amount"].sum()
    for segment, members in buyers.groupby("rfm_segment"):
        row = prediction[(prediction["kind"] == "rfm_segment") & (prediction["group"] == segment)].iloc[0]
        again = members["customer_id"].isin(set(period_log["CustomerID"]))
        assert row["customers"] == len(members)
        assert row["bought_again"] == again.sum()
        assert row["bought_again_share"] == pytest.approx(again.mean())
        assert row["bought_again_lift"] == pytest.approx(again.mean() / bought.mean())
        assert row["revenue"] == pytest.approx(members["customer_id"].map(spent).fillna(0).sum(), rel=1e-12)
    assert base["bought_again_share"] > 0.5  # a wholesaler's customers come back


def test_findings_say_what_the_tables_say(migrated):
    """Each movement sentence's share and count are those of migration.csv."""
    from custseg.migration.findings import movement_notes

    r = migrated["result"]
    notes = movement_notes("rfm_segment", r.moves, r.earlier, r.period, FROM, TO)
    assert len(notes) >= 2
    transitions = r.transitions[r.transitions["kind"] == "rfm_segment"]
    sizes = transitions.groupby("from")["customers"].sum()
    checked = 0
    for note in notes:
        m = re.match(r"([\d.]+) % of (.+?) (fell|rose|moved) to (.+?) \(([\d,]+) customers\)", note.text)
        if m is None:
            continue
        share, src, _, dst, n = m.groups()
        row = transitions[(transitions["from"] == src) & (transitions["to"] == dst)].iloc[0]
        assert int(n.replace(",", "")) == row["customers"]
        assert float(share) == pytest.approx(100 * row["customers"] / sizes[src], abs=0.05)
        checked += 1
    assert checked >= 2
    new = [n for n in notes if "new customers" in n.text]
    assert new and new[0].text.startswith(f"{r.summary['new_customers']:,} new customers")


def test_the_report_is_one_self_contained_file(migrated):
    html = (migrated["out"] / "migration.html").read_text(encoding="utf-8")
    figures = [json.loads(block) for block in re.findall(r'<script type="application/json" id="figdata-[^"]+">(.*?)</script>', html)]
    types = sorted(trace["type"] for figure in figures for trace in figure["data"])
    assert types == ["heatmap"] * 3 + ["sankey"] * 3  # per kind (RFM and the two populations): a Sankey and a matrix
    from tests.test_plotly_bundle import BUNDLED

    assert set(types) <= BUNDLED  # the report's plotly.js draws them
    from custseg.report.html import plotly_js

    ours = html.replace(plotly_js(), "")  # the plotly.js bundle names its CDN in a string
    assert len(ours) < len(html) - 1_000_000  # plotly.js is inlined
    assert "http" not in ours.replace("http-equiv", "") and "<link" not in ours
    assert "Customer movement report" in html and "Content-Security-Policy" in html


def test_a_prediction_joins_the_actual_purchases_in_one_place():
    """The lifetime-value models' expected purchases join per customer and sum per group."""
    earlier = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "buys_cnt": [1, 2, None, 1], "rfm_segment": ["X", "X", None, "Y"]})
    actual = pd.DataFrame({"customer_id": ["a", "e"], "purchases": [2, 1], "purchase_days": [2, 1], "revenue": [10.0, 5.0]})
    outcomes = mt.customer_outcomes(earlier, actual, period_days=100,
                                    predict=lambda table, days: pd.Series(days / 100 * table["buys_cnt"].to_numpy(), index=table["customer_id"]))
    assert list(outcomes["customer_id"]) == ["a", "b", "d"]  # who had bought by the earlier date
    assert list(outcomes["purchases"]) == [2, 0, 0]
    assert list(outcomes["predicted_purchase_days"]) == [1.0, 2.0, 1.0]
    table = mt.prediction_table(outcomes, {"rfm_segment": pd.Series({"a": "X", "b": "X", "d": "Y"})}, {"rfm_segment": ["X", "Y"]})
    x = table[table["group"] == "X"].iloc[0]
    assert (x["customers"], x["bought_again"], x["purchase_days"], x["predicted_purchase_days"]) == (2, 1, 2, 3.0)
    assert x["bought_again_lift"] == pytest.approx(0.5 / (1 / 3))


@pytest.mark.parametrize("dates, fragments", [
    (("2011-09-01", "2011-03-01"), ("--from 2011-09-01 is not before --to 2011-03-01",)),
    (("2011-03-01", "2011-03-01"), ("is not before",)),
    (("2010-01-01", "2011-03-01"), ("as-of date 2010-01-01 is before the first order", "2010-12-01 to 2011-12-09")),
    (("2011-03-01", "2012-03-01"), ("as-of date 2012-03-01 is after the last order",)),
    (("2011-03-01", "March"), ("--to 'March': not a date",)),
])
def test_bad_dates_are_one_line(run_cli, tmp_path, dates, fragments):
    out = tmp_path / "out"
    result = run_cli("migrate", "--quiet", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--from", dates[0], "--to", dates[1], "--out", out)
    assert_rejected(result, out, *fragments)


def test_the_command_prints_the_headline_and_writes_every_file(run_cli, tmp_path):
    out = tmp_path / "out"
    result = run_cli("migrate", "--quiet", "--data", ONLINE_RETAIL, "--preset", "online_retail", "--from", "2011-06-01", "--to", "2011-09-01", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["customer_moves.csv", "migration.csv", "migration.html", "migration.json", "prediction.csv"]
    moves = read(out / "customer_moves.csv")
    transitions = read(out / "migration.csv")
    assert len(moves) == transitions.loc[transitions["kind"] == "rfm_segment", "customers"].sum()
    assert re.search(r"customers on 2011-06-01: [\d,]+; bought again by 2011-09-01: [\d,]+ \([\d.]+%\)", result.stdout)
    assert np.isfinite(moves["revenue_in_period"]).all()


@pytest.mark.parametrize("rates, start", [
    ((0.30, 0.10), "The RFM segments predict who buys again: A bought again 3.0 times as often as B (30.0 % against 10.0 %)."),
    ((0.60, 0.55), "The RFM segments predict who buys again only weakly: 60.0 % of A bought again, 55.0 % of B."),
    ((0.12, 0.10), "The RFM segments do not tell who buys again: 12.0 % of A bought again, 10.0 % of B"),
])
def test_whether_the_segments_predict_follows_the_test(rates, start):
    """2,000 customers per group (p < 0.01 for 60 % vs 55 %, not for 12 % vs 10 % at 200 each)."""
    from custseg.migration.findings import prediction_notes

    n = 200 if rates == (0.12, 0.10) else 2000
    ids = [f"{g}{i}" for g in "AB" for i in range(n)]
    bought = [i < rates[0] * n for i in range(n)] + [i < rates[1] * n for i in range(n)]
    earlier = pd.DataFrame({"customer_id": ids, "buys_cnt": 1})
    actual = pd.DataFrame({"customer_id": [c for c, b in zip(ids, bought) if b]}).assign(purchases=1, revenue=10.0)
    outcomes = mt.customer_outcomes(earlier, actual, period_days=180)
    groups = pd.Series([c[0] for c in ids], index=ids)
    table = mt.prediction_table(outcomes, {"rfm_segment": groups}, {"rfm_segment": ["A", "B"]})
    notes = prediction_notes("rfm_segment", table, outcomes, groups, "2020-01-01")
    assert notes[0].text.startswith(start), notes[0].text


def test_predicted_purchase_days_are_the_bgnbd_of_the_earlier_date(migrated, period_log):
    """prediction.csv sets the lifetime-value model fitted as of FROM beside what customers did.

    Online Retail's first quarter shows no dropout, so BG/NBD is fitted at its no-dropout limit,
    the NBD (a = 0): a customer's expected purchase days in t days are (r + x) t / (alpha + T)
    (Fader, Hardie & Lee 2005, with p_alive = 1), computed here from run --as-of FROM's published
    parameters (summary.json) and customers.csv. The actual ones are the log's distinct days."""
    summary = json.loads((migrated["run_from"] / "summary.json").read_text(encoding="utf-8"))
    model = summary["value"]["purchase_model"]
    assert model["a"] == 0.0  # the branch this test computes
    customers = read(migrated["run_from"] / "customers.csv")
    buyers = customers[customers["buys_cnt"].notna()]
    first = pd.to_datetime(buyers["first_purchase_ts"]).dt.normalize()
    T = (pd.Timestamp(FROM) - first).dt.days.to_numpy()
    x = buyers["days_with_buys"].to_numpy() - 1
    t = (pd.Timestamp(TO) - pd.Timestamp(FROM)).days
    expected = (model["r"] + x) * t / (model["alpha"] + T)
    prediction = read(migrated["out"] / "prediction.csv")
    everyone = prediction[prediction["kind"] == mt.BASELINE_KIND].iloc[0]
    assert everyone["predicted_purchase_days"] == pytest.approx(expected.sum(), rel=1e-9)
    days = period_log.assign(day=pd.to_datetime(period_log["InvoiceDate"]).dt.normalize())
    days = days[days["CustomerID"].isin(set(buyers["customer_id"]))].drop_duplicates(["CustomerID", "day"])
    assert everyone["purchase_days"] == len(days)
    # per segment the predicted sums are those of its customers
    champions = set(buyers.loc[buyers["rfm_segment"] == "Champions", "customer_id"])
    row = prediction[(prediction["kind"] == "rfm_segment") & (prediction["group"] == "Champions")].iloc[0]
    assert row["predicted_purchase_days"] == pytest.approx(expected[buyers["customer_id"].isin(champions).to_numpy()].sum(), rel=1e-9)
