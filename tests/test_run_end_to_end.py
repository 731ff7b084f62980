"""`custseg run` end to end on generated Olist-schema data: every output, determinism,
shuffle invariance, conservation of customers, and the saved model's `assign`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CUSTOMERS = 3000
SEED = 5


@pytest.fixture(scope="session")
def olist_folder(tmp_path_factory) -> Path:
    from custseg.generate.olist import generate_olist

    folder = tmp_path_factory.mktemp("gen") / "olist"
    generate_olist(CUSTOMERS, SEED, folder)
    return folder


def _cli(*args) -> int:
    import sys

    from custseg.cli import main

    argv = sys.argv
    sys.argv = ["custseg", *map(str, args)]
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.argv = argv
    return 0


@pytest.fixture(scope="session")
def full_run(olist_folder, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run") / "out"
    assert _cli("run", "--data", olist_folder, "--out", out, "--quiet", "--slide-format", "png,svg") == 0  # SVG only on request
    return out


def test_every_output_is_written(full_run):
    for name in ("report.html", "deck.pptx", "customers.csv", "customers.parquet", "clusters.csv", "summary.json"):
        assert (full_run / name).is_file(), name
    assert (full_run / "models" / "all" / "model.json").is_file()
    pngs = sorted((full_run / "slides").glob("*.png"))
    svgs = sorted((full_run / "slides").glob("*.svg"))
    assert len(pngs) == len(svgs) >= 20  # asked for with --slide-format png,svg
    assert not [p for p in full_run.parent.iterdir() if p.name.startswith(".")], "no staging folder left"


def test_outputs_agree_with_each_other(full_run):
    customers = pd.read_parquet(full_run / "customers.parquet")
    summary = json.loads((full_run / "summary.json").read_text())
    clusters = pd.read_csv(full_run / "clusters.csv", dtype={"customer_id": str})
    assert summary["customers"] == len(customers)
    assert summary["converted_customers"] == int(customers["buys_cnt"].notna().sum())
    for name, pop in summary["populations"].items():
        in_pop = customers[f"cluster_{name}"].notna()
        assert int(in_pop.sum()) == pop["customers"] == int((clusters.population == name).sum())
        assert sorted(customers.loc[in_pop, f"cluster_{name}"].unique()) == list(range(1, pop["k"] + 1))
    # The reference populations: A = every converted customer, B = repeat Champions.
    assert customers["cluster_all"].notna().sum() == customers["buys_cnt"].notna().sum()
    b = customers["cluster_repeat_champions"].notna()
    assert (customers.loc[b, "buys_cnt"] >= 2).all() and (customers.loc[b, "rfm_segment"] == "Champions").all()
    assert b.sum() == ((customers["buys_cnt"] >= 2) & (customers["rfm_segment"] == "Champions")).sum()


def test_same_input_same_bytes(olist_folder, full_run, tmp_path):
    out = tmp_path / "again"
    assert _cli("run", "--data", olist_folder, "--out", out, "--quiet", "--no-slides") == 0
    assert (out / "customers.csv").read_bytes() == (full_run / "customers.csv").read_bytes()
    assert (out / "summary.json").read_bytes() == (full_run / "summary.json").read_bytes()


def test_shuffled_input_rows_give_the_same_clusters(olist_folder, full_run, tmp_path):
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    rng = np.random.default_rng(3)
    for path in olist_folder.iterdir():
        if path.name.startswith("olist_") and path.name != "olist_geolocation_dataset.csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            frame.iloc[rng.permutation(len(frame))].to_csv(shuffled / path.name, index=False)
        else:
            (shuffled / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    assert _cli("run", "--data", shuffled, "--out", out, "--quiet", "--no-slides") == 0
    cols = ["customer_id", "cluster_all", "cluster_name_all", "cluster_repeat_champions", "rfm_score"]
    a = pd.read_parquet(full_run / "customers.parquet")[cols]
    b = pd.read_parquet(out / "customers.parquet")[cols]
    pd.testing.assert_frame_equal(a, b)


def test_assign_puts_the_same_customers_in_the_same_clusters(olist_folder, full_run, tmp_path):
    out = tmp_path / "assigned"
    assert _cli("assign", "--model", full_run / "models" / "all", "--data", olist_folder, "--out", out) == 0
    assigned = pd.read_csv(out / "assignments.csv", dtype={"customer_id": str}).set_index("customer_id")["cluster"]
    fitted = pd.read_parquet(full_run / "customers.parquet").set_index("customer_id")["cluster_all"].dropna()
    # KMeans labels are nearest-centre labels, so assigning the same customers reproduces them.
    agree = (assigned.loc[fitted.index].astype(int) == fitted.astype(int)).mean()
    assert agree == 1.0


def test_every_input_customer_is_analysed_or_excluded(olist_folder, full_run):
    people = set(pd.read_csv(olist_folder / "olist_customers_dataset.csv", dtype=str)["customer_unique_id"])
    analysed = set(pd.read_csv(full_run / "customers.csv", dtype={"customer_id": str})["customer_id"])
    excluded = pd.read_csv(full_run / "excluded.csv", dtype={"customer_id": str})
    assert analysed.isdisjoint(excluded["customer_id"])
    assert analysed | set(excluded["customer_id"]) == people
    assert excluded["reason"].str.startswith("every order is outside the analysis window").all()
    summary = json.loads((full_run / "summary.json").read_text())
    assert sum(summary["excluded_customers"].values()) == len(excluded) > 0


def test_populations_side_by_side_give_what_one_at_a_time_gives(olist_folder):
    """The analysis clusters the second population on a thread beside the first: its evidence,
    clusters and views are the ones `cluster_population` gives when the populations run one
    after another."""
    from custseg.config import reference
    from custseg.engines.duckdb.features import compute_customer_tables
    from custseg.pipeline import analyse_customers, cluster_population
    from custseg.engines.duckdb import load

    cfg = reference()
    dataset = load(olist_folder)
    customers, excluded, _ = compute_customer_tables(dataset, cfg, release=True)
    together = analyse_customers(customers, cfg, source="test", excluded_rows={}, excluded_customers=excluded)
    assert [p.name for p in together.populations] == [p.name for p in cfg.populations] == ["all", "repeat_champions"]
    for population, got in zip(cfg.populations, together.populations):
        alone = cluster_population(customers, population, cfg)
        pd.testing.assert_frame_equal(got.evidence, alone.evidence)
        pd.testing.assert_frame_equal(got.assignments, alone.assignments)
        assert (got.k, got.silhouette, got.cluster_names) == (alone.k, alone.silhouette, alone.cluster_names)
        titles = lambda section: [v.title for s in section.subsections for v in s.views]  # noqa: E731
        assert titles(got.section) == titles(alone.section)
        assert [n.text for s in got.section.subsections for v in s.views for n in v.notes] == \
            [n.text for s in alone.section.subsections for v in s.views for n in v.notes]


def test_tables_are_written_while_the_views_are_drawn(olist_folder, tmp_path, monkeypatch):
    """Below WRITE_TABLES_DURING_VIEWS_UP_TO customers the customer and cluster tables start as
    soon as every population has its clusters, before the views; the files are the same."""
    import custseg.api as api

    events = []
    real_start = api.TableWriter.start

    def recording_start(self, customers, populations):
        events.append("tables started")
        return real_start(self, customers, populations)

    monkeypatch.setattr(api.TableWriter, "start", recording_start)
    out = tmp_path / "out"
    api.run(olist_folder, out=out, slides=False, progress=events.append)
    first_views = events.index("All Customers: views")
    assert events.index("All Customers: fitting kmeans with k = 5") < events.index("tables started") < first_views
    assert first_views < events.index("writing report")

    monkeypatch.setattr(api, "WRITE_TABLES_DURING_VIEWS_UP_TO", 10)  # above it: after the views, as before
    events.clear()
    after = tmp_path / "after"
    api.run(olist_folder, out=after, slides=False, progress=events.append)
    assert events.index("writing report") < events.index("tables started")
    for name in ("customers.csv", "customers.parquet", "clusters.csv", "report.html", "summary.json"):
        assert (out / name).read_bytes() == (after / name).read_bytes(), name


def test_a_failing_table_writer_leaves_no_output(olist_folder, tmp_path, monkeypatch):
    import custseg.api as api
    import custseg.outputs as outputs

    def full_disk(frame, folder, stem, **kw):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_table", full_disk)
    out = tmp_path / "out"
    with pytest.raises(OSError, match="No space left"):
        api.run(olist_folder, out=out, slides=False)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "no staging folder left behind"
