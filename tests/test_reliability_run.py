"""`custseg run` on data and configs nobody cleaned.

Every case goes through the real command line (the `run_cli` fixture) and ends either

- rejected: exit code 2, one line ``custseg: error: ...`` naming what is wrong and where, no
  traceback, and no output folder (nor a staging folder) left behind; or
- warned: exit code 0, a line starting ``custseg: warning:`` on stderr, every output file
  written, every input customer in customers.csv or excluded.csv, and the report says why.

The inputs are made here: the hand-made Olist folder of tests/olist_fixture.py, or a tiny flat
log. Configs keep k ranges and resamples small so each run takes a second or two.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from tests.olist_fixture import edit_csv as _edit
from tests.olist_fixture import set_cell as _set
from tests.olist_fixture import write_olist_fixture
from tests.test_bad_input import assert_rejected

FLAT_MAP = "customer=customer,order=order,timestamp=ts,amount=amount,category=category,country=country"

# A small analysis: one population, k = 2..3, two resamples for stability.
SMALL = """
title = "Reliability"

[cluster]
stability_resamples = 2

[[populations]]
name = "all"
title = "All customers"
filter = "buys_cnt IS NOT NULL"
features = ["recency", "frequency", "monetary"]
k = "auto"
k_min = 2
k_max = 3

[report]
dimensions = ["activity_segment", "value_segment", "customer_top_product_categories"]
top_n = 5
top_n_dimensions = ["customer_top_product_categories"]
"""

OUTPUT_FILES = ("report.html", "summary.json", "customers.csv", "customers.parquet", "clusters.csv", "excluded.csv")


# ---------------------------------------------------------------------------- helpers


def config(tmp_path: Path, text: str = SMALL, name: str = "analysis.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def with_population(**keys) -> str:
    """SMALL with keys of its population replaced (values are TOML text)."""
    text = SMALL
    for key, value in keys.items():
        pattern = re.compile(rf"^{key} = .*$", re.MULTILINE)
        if pattern.search(text):
            text = pattern.sub(lambda _m: f"{key} = {value}", text, count=1)
        else:
            text = text.replace('name = "all"\n', f'name = "all"\n{key} = {value}\n', 1)
    return text


@pytest.fixture
def olist(tmp_path) -> Path:
    folder = tmp_path / "olist"
    write_olist_fixture(folder)
    return folder


def flat_log(tmp_path: Path, rows: list[tuple], name: str = "log.csv") -> Path:
    """rows: (customer, order, ts, amount, category, country)."""
    path = tmp_path / name
    frame = pd.DataFrame(rows, columns=["customer", "order", "ts", "amount", "category", "country"])
    frame.to_csv(path, index=False)
    return path


def varied_rows(n_customers: int = 12) -> list[tuple]:
    """A tidy little log: customer i has i % 4 + 1 orders of different sizes and dates."""
    rows = []
    for i in range(n_customers):
        for j in range(i % 4 + 1):
            day = 1 + (7 * i + 11 * j) % 27
            month = 1 + (i + j) % 12
            rows.append((f"c{i:02d}", f"o{i:02d}-{j}", f"2021-{month:02d}-{day:02d} 10:00:00",
                         f"{5 + 3 * i + 17 * j}.50", ["books", "toys", "garden"][(i + j) % 3], ["UK", "FR"][i % 2]))
    return rows


def run(run_cli, data: Path, out: Path, *extra):
    return run_cli("run", "--data", data, "--out", out, "--quiet", "--no-slides", *extra)


def run_flat(run_cli, data: Path, out: Path, *extra):
    return run(run_cli, data, out, "--map", FLAT_MAP, *extra)


def input_customers(data: Path) -> set[str]:
    if data.is_dir():
        return set(pd.read_csv(data / "olist_customers_dataset.csv", dtype=str)["customer_unique_id"])
    log = pd.read_csv(data, dtype=str, keep_default_na=False)
    return {c.strip() for c in log["customer"] if c.strip()}


def assert_complete(result, out: Path, data: Path) -> dict:
    """Exit 0, no traceback, every output file, and every input customer accounted for."""
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no staging folder left"
    analysed = set(pd.read_csv(out / "customers.csv", dtype={"customer_id": str}, usecols=["customer_id"])["customer_id"])
    excluded = pd.read_csv(out / "excluded.csv", dtype={"customer_id": str})
    assert analysed.isdisjoint(excluded["customer_id"])
    assert analysed | set(excluded["customer_id"]) == input_customers(data)
    assert excluded["reason"].notna().all()
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def rejected(result, out: Path, *fragments: str) -> None:
    """Exit 2, one line naming what and where, no traceback, no output folder, no staging folder."""
    assert_rejected(result, out, *fragments)
    parent = out.parent
    if parent.is_dir() and str(parent).startswith(tempfile.gettempdir()):
        assert not [p for p in parent.iterdir() if p.name.startswith(".")], "no staging folder left behind"


def warning_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("custseg: warning:")]


def assert_warned(result, out: Path, data: Path, *fragments: str) -> dict:
    """A complete run that also printed a labelled warning containing every fragment."""
    summary = assert_complete(result, out, data)
    assert warning_lines(result), result.stderr
    # One warning per line once printed unwrapped; compare with whitespace collapsed meanwhile.
    text = " ".join(result.stderr.split())
    for fragment in fragments:
        assert fragment in text, (fragment, result.stderr)
    report = (out / "report.html").read_text(encoding="utf-8")
    for warning in summary.get("warnings", []):
        assert _html_text(warning) in report, "the report must say why"
    for fragment in fragments:
        assert any(fragment in w for w in summary.get("warnings", [])), (fragment, summary.get("warnings"))
    return summary


def _html_text(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


# ---------------------------------------------------------------------------- the config


def test_small_config_runs(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    summary = assert_complete(run(run_cli, olist, out, "--config", config(tmp_path)), out, olist)
    assert summary["populations"]["all"]["customers"] == 11
    assert "warnings" not in summary


BAD_CONFIGS = [
        ("unknown top-level key", "colour = \"blue\"\n" + SMALL, ("analysis.toml", "unknown key 'colour'")),
        ("unknown key in [features]", SMALL.replace("[cluster]", "[features]\nrfm_bin = 5\n\n[cluster]"),
         ("analysis.toml [features]", "unknown key 'rfm_bin'", "rfm_bins")),
        ("unknown key in a population", with_population(colour='"blue"'),
         ("analysis.toml populations[0] (all)", "unknown key 'colour'")),
        ("unknown key in a preparation table", SMALL + "\n[populations.preparation]\nscaling = \"robust\"\n",
         ("populations[0] (all).preparation", "unknown key 'scaling'", "scaler")),
        ("unknown key in [report]", SMALL.replace("top_n = 5", "topn = 5"), ("[report]", "unknown key 'topn'")),
        ("not TOML", "title = \"unclosed\n[[populations]\n", ("analysis.toml", "not valid TOML", "line")),
        ("section is not a table", "features = 3\n" + SMALL.replace("title = \"Reliability\"", ""), ("[features] must be a table",)),
        ("no population", "title = \"x\"\npopulations = []\n", ("at least one [[populations]]",)),
        ("k = 0", with_population(k="0"), ("populations[0] (all).k = 0", "whole number >= 1")),
        ("k = \"seven\"", with_population(k='"seven"'), ("populations[0] (all).k = 'seven'", "whole number >= 1")),
        ("k_min > k_max", with_population(k_min="5", k_max="3"), ("k_min = 5, k_max = 3",)),
        ("unknown method", with_population(method='"dbscan"'), ("method = 'dbscan'", "kmeans")),
        ("unknown scaler", SMALL + "\n[populations.preparation]\nscaler = \"minmax\"\n", ("preparation.scaler = 'minmax'", "standard, robust")),
        ("correlation threshold not a number", SMALL + "\n[populations.preparation]\ncorr_threshold = \"high\"\n",
         ("preparation.corr_threshold = 'high'", "use a number")),
        ("k_min not a number", with_population(k_min='"two"'), ("populations[0] (all).k_min = 'two'", "whole number")),
        ("feature listed twice", with_population(features='["recency", "recency"]'), ("'recency' is listed twice",)),
        ("stability_resamples not a number", SMALL.replace("stability_resamples = 2", "stability_resamples = \"many\""),
         ("[cluster] stability_resamples = 'many'", "whole number")),
        ("window start not a date", SMALL.replace("[cluster]", "[features]\nwindow_start = \"soon\"\n\n[cluster]"),
         ("[features] window_start = 'soon'", "date")),
        ("segment edges out of order", SMALL.replace("[cluster]", "[features.segments.value_segment]\nedges = [100, 50]\n\n[cluster]"),
         ("[features.segments.value_segment] edges = [100, 50]", "increasing")),
        ("segment rule with a second statement",
         SMALL.replace("[cluster]", "[features.segments.activity_segment]\nrules = [{ label = \"x\", when = \"true; DROP TABLE customers\" }]\n\n[cluster]"),
         ("[features.segments.activity_segment] rules.when", "one SQL condition")),
        ("report dimensions not a list", SMALL.replace('dimensions = ["activity_segment", "value_segment", "customer_top_product_categories"]', 'dimensions = "activity_segment"'),
         ("[report] dimensions", "list")),
        ("features not a list", with_population(features='"recency"'), ("populations[0] (all).features", "list")),
        ("population name with a path", with_population(name='"../../etc"'), ("name = '../../etc'", "letters, digits")),
        ("duplicate population names", SMALL + SMALL[SMALL.index("[[populations]]"):SMALL.index("[report]")],
         ("population names must be unique",)),
        ("rfm_bins = 4", SMALL.replace("[cluster]", "[features]\nrfm_bins = 4\n\n[cluster]"), ("rfm_bins = 4", "3 or 5")),
        ("bad profile aggregate", SMALL.replace("top_n = 5", "top_n = 5\nprofile_aggregate = \"mode\""), ("profile_aggregate = 'mode'",)),
]


@pytest.mark.parametrize("name, text, fragments", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config(run_cli, olist, tmp_path, name, text, fragments):
    out = tmp_path / "out"
    rejected(run(run_cli, olist, out, "--config", config(tmp_path, text)), out, *fragments)


def test_config_file_missing(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    rejected(run(run_cli, olist, out, "--config", tmp_path / "nope.toml"), out, "nope.toml", "config file not found")


def test_config_is_a_folder(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    rejected(run(run_cli, olist, out, "--config", tmp_path), out, "config file not found")


def test_config_not_utf8(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    path = tmp_path / "analysis.toml"
    path.write_bytes(SMALL.replace("Reliability", "Fran\u00e7ais").encode("latin-1"))
    rejected(run(run_cli, olist, out, "--config", path), out, "analysis.toml", "not UTF-8")


def test_k_larger_than_the_population(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(k="50")))
    rejected(result, out, "population 'all'", "k = 50", "only 11 customers", "lower k")


def test_filter_that_is_not_sql(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(filter='"buys_cnt >>= 2 AND"')))
    rejected(result, out, "analysis.toml populations[0] (all).filter = 'buys_cnt >>= 2 AND'", "not valid SQL")


def test_filter_names_an_unknown_column(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(filter='"loyalty_points > 3"')))
    rejected(result, out, "population 'all'", "loyalty_points", "cannot be evaluated")


def test_filter_with_a_second_statement(run_cli, olist, tmp_path):
    """A filter is one SQL expression; it cannot run a statement of its own."""
    out = tmp_path / "out"
    victim = tmp_path / "victim.csv"
    filt = f"\"true; COPY (SELECT 1) TO '{victim}'; --\""
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(filter=filt)))
    rejected(result, out, "populations[0] (all).filter", "one SQL condition")
    assert not victim.exists()


def test_filter_that_reads_a_file(run_cli, olist, tmp_path):
    """A filter sees the customer table only: no reading of other files."""
    out = tmp_path / "out"
    filt = "\"customer_id IN (SELECT column0 FROM read_csv('/etc/passwd'))\""
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(filter=filt)))
    rejected(result, out, "population 'all'", "cannot be evaluated", "/etc/passwd")


def test_feature_that_is_not_a_column(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(features='["recency", "lifetime_value"]')))
    rejected(result, out, "population 'all'", "feature 'lifetime_value' is not a customer column", "recency")


def test_report_dimension_that_is_not_a_column(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    text = SMALL.replace('dimensions = ["activity_segment"', 'dimensions = ["customer_colour", "activity_segment"')
    assert_warned(run(run_cli, olist, out, "--config", config(tmp_path, text)), out, olist,
                  "analysis.toml [report] dimensions: 'customer_colour' is not a customer column")


def test_feature_that_is_not_numeric(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(features='["recency", "rfm_segment"]')))
    rejected(result, out, "population 'all'", "'rfm_segment'", "not numeric")


# ---------------------------------------------------------------------------- the data, through `run`


BAD_OLIST = [
        ("missing file", "olist_order_items_dataset.csv", None, ("missing file olist_order_items_dataset.csv",)),
        ("unparseable date", "olist_orders_dataset.csv", _set("order_purchase_timestamp", 2, "yesterday"),
         ("olist_orders_dataset.csv", "row 3", "'order_purchase_timestamp'", "not a timestamp")),
        ("date out of range", "olist_orders_dataset.csv", _set("order_purchase_timestamp", 2, "2999-01-01 00:00:00"),
         ("olist_orders_dataset.csv", "row 3", "outside")),
        ("orphan payment", "olist_order_payments_dataset.csv", _set("order_id", 0, "ghost"),
         ("olist_order_payments_dataset.csv", "row 1", "'ghost'")),
        ("duplicated product", "olist_products_dataset.csv", lambda f: pd.concat([f, f.iloc[[0]]]),
         ("olist_products_dataset.csv", "duplicated key")),
        ("non-numeric review score", "olist_order_reviews_dataset.csv", _set("review_score", 0, "five"),
         ("olist_order_reviews_dataset.csv", "row 1", "'review_score'", "not a whole number")),
]


@pytest.mark.parametrize("name, file, edit, fragments", BAD_OLIST, ids=[c[0] for c in BAD_OLIST])
def test_bad_olist_folder_through_run(run_cli, olist, tmp_path, name, file, edit, fragments):
    """`run` reads data with the same checks as `features`: one line, exit 2, nothing written."""
    if edit is None:
        (olist / file).unlink()
    else:
        _edit(olist / file, edit)
    out = tmp_path / "out"
    rejected(run(run_cli, olist, out, "--config", config(tmp_path)), out, *fragments)


def test_empty_flat_log_through_run(run_cli, tmp_path):
    data = flat_log(tmp_path, [])
    out = tmp_path / "out"
    rejected(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, "log.csv", "no row has a customer")


def test_empty_file_through_run(run_cli, tmp_path):
    data = tmp_path / "log.csv"
    data.write_bytes(b"")
    out = tmp_path / "out"
    rejected(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, "log.csv", "no header row")


def test_negative_amount_through_run(run_cli, tmp_path):
    rows = varied_rows()
    rows[3] = rows[3][:3] + ("-12.00",) + rows[3][4:]
    data = flat_log(tmp_path, rows)
    out = tmp_path / "out"
    rejected(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, "log.csv", "row 4", "negative amount")


def test_missing_data_through_run(run_cli, tmp_path):
    out = tmp_path / "out"
    rejected(run(run_cli, tmp_path / "nowhere", out), out, "nowhere", "no such file or folder")


# ---------------------------------------------------------------------------- populations the data cannot fill


def test_filter_that_selects_nobody(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    text = SMALL + SMALL[SMALL.index("[[populations]]"):SMALL.index("[report]")].replace(
        'name = "all"', 'name = "whales"').replace("buys_cnt IS NOT NULL", "monetary > 1e9")
    result = run(run_cli, olist, out, "--config", config(tmp_path, text))
    summary = assert_warned(result, out, olist, "population 'whales'", "selects no customer")
    assert list(summary["populations"]) == ["all"]
    assert "cluster_whales" not in pd.read_csv(out / "customers.csv", nrows=1).columns


def test_population_of_one_time_buyers_with_a_feature_that_is_always_null(run_cli, olist, tmp_path):
    """from_first_to_last_days is NULL for a single purchase: NaN everywhere in this population."""
    out = tmp_path / "out"
    text = with_population(filter='"buys_cnt = 1"', features='["recency", "monetary", "from_first_to_last_days"]')
    summary = assert_warned(run(run_cli, olist, out, "--config", config(tmp_path, text)), out, olist,
                            "population 'all'", "'from_first_to_last_days'", "no value")
    assert "from_first_to_last_days" not in summary["populations"]["all"]["features"]


def test_population_whose_only_feature_is_always_null(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    text = with_population(filter='"buys_cnt = 1"', features='["from_first_to_second_days"]')
    summary = assert_warned(run(run_cli, olist, out, "--config", config(tmp_path, text)), out, olist,
                            "population 'all'", "'from_first_to_second_days'", "no feature has a value")
    assert summary["populations"] == {}


def test_population_too_small_to_cluster(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    text = with_population(filter="\"customer_id = 'u01'\"")
    summary = assert_warned(run(run_cli, olist, out, "--config", config(tmp_path, text)), out, olist,
                            "population 'all'", "1 customer")
    assert summary["populations"] == {}


def test_reference_config_on_the_small_fixture(run_cli, olist, tmp_path):
    """The default analysis: its second population (repeat Champions) has one customer here."""
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(run_cli, olist, out)
    summary = assert_warned(result, out, olist, "population 'repeat_champions'", "only 1 customer(s) match")
    assert list(summary["populations"]) == ["all"]
    # Nothing but custseg's own lines on stderr: no library warnings from the k evidence.
    assert not [w for w in caught if w.category.__name__ == "ConvergenceWarning"]


# ---------------------------------------------------------------------------- degenerate data


def test_one_customer_only(run_cli, tmp_path):
    data = flat_log(tmp_path, [("solo", "o1", "2021-03-01 10:00:00", "10.00", "books", "UK"),
                               ("solo", "o2", "2021-05-01 10:00:00", "25.00", "toys", "UK")])
    out = tmp_path / "out"
    summary = assert_warned(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, data, "population 'all'", "1 customer")
    assert summary["customers"] == 1 and summary["populations"] == {}
    customers = pd.read_csv(out / "customers.csv")
    assert customers.loc[0, "rfm_score"] == 333


def test_all_customers_identical(run_cli, tmp_path):
    rows = [(f"c{i}", f"o{i}", "2021-03-01 10:00:00", "10.00", "books", "UK") for i in range(20)]
    data = flat_log(tmp_path, rows)
    out = tmp_path / "out"
    summary = assert_warned(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, data,
                            "population 'all'", "same value for every one of its 20 customers")
    assert summary["customers"] == 20 and summary["populations"] == {}


def test_one_time_buyers_only_with_reference_config(run_cli, tmp_path):
    """Every customer bought once: the reference's repeat population is empty, 'all' still clusters."""
    rows = [(f"c{i:02d}", f"o{i}", f"2021-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:00", f"{10 + i}.00", "books", "UK") for i in range(30)]
    data = flat_log(tmp_path, rows)
    out = tmp_path / "out"
    summary = assert_warned(run_flat(run_cli, data, out), out, data, "population 'repeat_champions'", "selects no customer")
    assert list(summary["populations"]) == ["all"]


def test_customers_without_id_are_counted_not_lost(run_cli, tmp_path):
    rows = varied_rows() + [("", "x1", "2021-01-01 10:00:00", "3.00", "toys", "UK"), ("  ", "x2", "2021-01-02 10:00:00", "4.00", "toys", "UK")]
    data = flat_log(tmp_path, rows)
    out = tmp_path / "out"
    summary = assert_complete(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, data)
    assert summary["excluded_input_rows"] == {"no customer id": 2}
    assert "input rows excluded: no customer id" in (out / "report.html").read_text(encoding="utf-8")


def test_a_ten_megabyte_category_name(run_cli, tmp_path):
    huge = "Z" * (10 * 1024 * 1024)
    # The most common category of half the customers, so the report's charts must show it.
    rows = [r[:4] + (huge,) + r[5:] if r[0] < "c06" else r for r in varied_rows()]
    data = flat_log(tmp_path, rows)
    out = tmp_path / "out"
    assert_complete(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, data)
    # The data keeps the value; the report shows a shortened label, not 10 MB per chart.
    assert (out / "report.html").stat().st_size < 8 * 1024 * 1024
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Z" * 200 not in html
    assert "\u2026" in html or "\\u2026" in html  # the shortened label: as text, or escaped in a chart's JSON


def test_non_utf8_text_in_a_flat_log(run_cli, tmp_path):
    data = tmp_path / "log.csv"
    text = "customer,order,ts,amount,category,country\nc1,o1,2021-01-01 10:00:00,3.00,jou\u00e9t,Fran\u00e7e\n"
    data.write_bytes(text.encode("latin-1"))
    out = tmp_path / "out"
    rejected(run_flat(run_cli, data, out), out, "log.csv", "UTF-8")


def test_text_beyond_ascii_is_data(run_cli, tmp_path):
    """Valid UTF-8 beyond ASCII (accents, CJK, emoji) is data, not an error."""
    rows = [r[:4] + ("jou\u00e9t \u73a9\u5177 \U0001f9f8",) + r[5:] for r in varied_rows()]
    data = flat_log(tmp_path, rows)
    out = tmp_path / "out"
    assert_complete(run_flat(run_cli, data, out, "--config", config(tmp_path)), out, data)


# ---------------------------------------------------------------------------- where the output goes


def test_output_folder_under_proc(run_cli, olist, tmp_path):
    """Unwritable even for root."""
    out = Path("/proc/custseg-test-out")
    rejected(run(run_cli, olist, out, "--config", config(tmp_path)), out, "/proc/custseg-test-out", "cannot write")


def test_output_folder_under_a_file(run_cli, olist, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = blocker / "out"
    rejected(run(run_cli, olist, out, "--config", config(tmp_path)), out, "cannot write")
    assert blocker.read_text() == "x"


def test_output_is_an_existing_file(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    out.write_text("keep me")
    result = run(run_cli, olist, out, "--config", config(tmp_path))
    assert result.exit_code == 2 and "not a folder" in result.stderr and "Traceback" not in result.stderr
    assert out.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_output_folder(run_cli, olist, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    out = locked / "out"
    rejected(run(run_cli, olist, out, "--config", config(tmp_path)), out, "cannot write")


def test_failed_run_keeps_the_previous_report(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    assert run(run_cli, olist, out, "--config", config(tmp_path)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    result = run(run_cli, olist, out, "--config", config(tmp_path, with_population(k="50")))
    assert result.exit_code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------------- what the terminal shows



def test_each_warning_is_one_line(run_cli, olist, tmp_path):
    out = tmp_path / "out"
    text = with_population(filter="\"customer_id = 'u01' AND buys_cnt IS NOT NULL AND recency >= 0\"")
    result = run(run_cli, olist, out, "--config", config(tmp_path, text))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [f"custseg: warning: {w}" for w in summary["warnings"]] == warning_lines(result)


def test_markup_like_title_in_progress_lines(run_cli, olist, tmp_path):
    """A population title is shown in progress lines as written, not read as terminal markup."""
    out = tmp_path / "out"
    text = SMALL.replace('title = "All customers"', 'title = "Big [/spenders] [bold]"')
    result = run_cli("run", "--data", olist, "--out", out, "--no-slides", "--config", config(tmp_path, text))
    assert result.exit_code == 0, result.stderr
    assert "Big [/spenders] [bold]" in result.stderr


# ---------------------------------------------------------------------------- hostile strings, end to end


HOSTILE_CATEGORY = "<script>alert(1)</script>"
HOSTILE_CITIES = ["\"><img src=x onerror=alert(2)>", "../../etc/passwd", "o'brien \"quoted\" </script><script>alert(3)</script>"]
HOSTILE_TITLE = "../../etc/passwd <script>alert(4)</script> \"q\" 'q'"


class _Doc(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []
        self._script: dict | None = None
        self._buf: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._buf = dict(attrs), []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._buf)))
            self._script = None

    def handle_data(self, data):
        (self._buf if self._script is not None else self.text).append(data)


def _hostile_olist(folder: Path) -> Path:
    write_olist_fixture(folder)
    products = pd.read_csv(folder / "olist_products_dataset.csv", dtype=str, keep_default_na=False)
    products.loc[products["product_category_name"] == "esporte_lazer", "product_category_name"] = HOSTILE_CATEGORY
    products.loc[products["product_category_name"] == "pc_gamer", "product_category_name"] = "../../" + HOSTILE_CATEGORY
    products.to_csv(folder / "olist_products_dataset.csv", index=False)
    customers = pd.read_csv(folder / "olist_customers_dataset.csv", dtype=str, keep_default_na=False)
    for i, city in enumerate(HOSTILE_CITIES):
        customers.loc[customers.index % len(HOSTILE_CITIES) == i, "customer_city"] = city
    customers.to_csv(folder / "olist_customers_dataset.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> tuple[Path, Path, str]:
    """One full run (with slides and deck) on an Olist folder full of hostile names."""
    import sys

    from custseg.cli import main

    tmp = tmp_path_factory.mktemp("hostile")
    data = _hostile_olist(tmp / "olist")
    text = SMALL.replace('title = "Reliability"', f"title = {json.dumps(HOSTILE_TITLE)}").replace(
        'title = "All customers"', f"title = {json.dumps(HOSTILE_TITLE)}").replace(
        '"customer_top_product_categories"]', '"customer_top_product_categories", "customer_city"]')
    out = tmp / "out"
    argv = sys.argv
    sys.argv = ["custseg", "run", "--data", str(data), "--out", str(out), "--quiet", "--config", str(config(tmp, text))]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    assert code == 0
    return data, out, (out / "report.html").read_text(encoding="utf-8")


def test_hostile_names_end_to_end(hostile_run):
    data, out, html = hostile_run
    for name in OUTPUT_FILES:
        assert (out / name).is_file(), name
    doc = _Doc(html)
    # Only the report's own two scripts (plotly.js, report.js) can run; figure data blocks are JSON.
    executable = [s for a, s in doc.scripts if a.get("type") != "application/json"]
    assert len(executable) == 2 and all(not a for a, _ in doc.scripts if a.get("type") != "application/json")
    blocks = [body for a, body in doc.scripts if a.get("type") == "application/json"]
    assert blocks
    for body in blocks:
        json.loads(body)
        assert "<" not in body and ">" not in body, "no markup inside a data block"
    assert not [t for t, _ in doc.tags if t in ("img", "iframe", "object", "embed", "base", "form", "svg", "math")]
    assert not [(t, k) for t, a in doc.tags for k in a if k.lower().startswith("on")]
    # Links go to the report's own anchors, or to the audience files beside it (safe names, existing files).
    files = [v for t, a in doc.tags for k, v in a.items() if k == "href" and v and v.startswith("audiences/")]
    assert files and all(re.fullmatch(r"audiences/[a-z0-9-]+\.csv", v) and (out / v).is_file() for v in files)
    assert not [(t, a) for t, a in doc.tags for k, v in a.items()
                if k in ("href", "src", "action") and v and not v.startswith("#") and v not in files]
    # The hostile strings are in the report, as text a reader sees (page text and chart data).
    visible = "".join(doc.text)
    assert HOSTILE_TITLE in visible
    decoded = json.dumps([json.loads(b) for b in blocks], ensure_ascii=False)
    assert "<Script>Alert(1)</Script>" in decoded  # the category, title-cased by the feature rules
    assert "</Script><Script>Alert(3)</Script>" in decoded  # a city
    assert "\\u003c" in " ".join(blocks)

    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    slides = sorted((out / "slides").iterdir())
    pictures = [sh for slide in Presentation(str(out / "deck.pptx")).slides for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert len(slides) >= 12 and len(pictures) == len(slides)  # every slide image is in the deck
    for path in slides:
        assert re.fullmatch(r"[A-Za-z0-9.-]+", path.name), path.name
        assert path.suffix in (".png", ".svg")
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    assert not (out.parent / "etc").exists() and not (out / "etc").exists()


def test_hostile_names_in_a_browser(hostile_run):
    """The same report in headless Chromium: no dialog opens, no script error, nothing fetched."""
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("/usr/bin/chromium not installed")
    from playwright.sync_api import sync_playwright

    from tests.test_report_browser import ARGS, CHROMIUM, Visit

    _, out, _ = hostile_run
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            visit = Visit(browser, out / "report.html")
            for figure in visit.page.query_selector_all(".figure")[:6]:
                figure.scroll_into_view_if_needed()
                figure.hover()
            visit.page.wait_for_timeout(300)
            assert visit.dialogs == []
            assert visit.errors == []
            assert visit.blocked == []
        finally:
            browser.close()
