"""Findings, not sentences (issue 19): at most five per view on real data, none about empty
cells or non-findings, "by construction" where a dimension bins a clustering feature, and the
wording rules (plurals, rounded numbers, units)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from custseg.profile import wording
from custseg.profile.compare import cross_tab
from custseg.profile.compare_notes import compare_observations
from custseg.profile.findings import BY_CONSTRUCTION, MAX_FINDINGS, Observation, derived_from, select
from custseg.result import findings

NON_FINDINGS = ("in line with its overall size", "spread evenly")
FEATURES = ["avg_unique_products_cnt", "recency", "frequency", "monetary"]


# --------------------------------------------------------------------------- wording


def test_plural_agreement():
    assert wording.plural(1, "customer") == "1 customer"
    assert wording.plural(0, "customer") == "0 customers"
    assert wording.plural(1311, "customer") == "1,311 customers"
    assert wording.clusters([6, 7]) + " " + wording.verb(2, "has", "have") == "clusters 6 and 7 have"
    assert wording.clusters([6], {6: "Lapsed buyers"}) == "cluster 6 (Lapsed buyers)"
    assert wording.clusters([5, 4, 2, 1]) == "clusters 5, 4, 2 and 1"


def test_numbers_rounded_for_people():
    assert wording.number(43.394999999999996) == "43.4"
    assert wording.number(966.53) == "967"
    assert wording.number(93235) == "93,235"
    assert wording.number(2.0) == "2"
    assert wording.pct(0.5266) == "53%" and wording.pct(0.0242) == "2.4%" and wording.pct(0.00964) == "0.96%"
    assert wording.times(3.99) == "4 times" and wording.times(34.2) == "34 times"


def test_units():
    assert wording.days(237.77) == "238 days" and wording.days(1) == "1 day"
    assert wording.metric_value("recency", 217) == "217 days"
    assert wording.metric_value("frequency", 1) == "1 order"
    assert wording.money(107.78, "R$") == "R$ 108" and wording.money(43.395) == "43.4"


# --------------------------------------------------------------------------- rules


def test_segments_binning_a_clustering_feature_are_by_construction():
    assert derived_from("activity_segment", FEATURES) == ["frequency"]  # bins buys_cnt = frequency
    assert derived_from("value_segment", FEATURES) == ["monetary"]  # bins total_customer_payment
    assert derived_from("rfm_segment", FEATURES) == ["recency", "frequency", "monetary"]
    assert derived_from("loyalty_segment", FEATURES) == []  # review scores: not a clustering feature
    assert derived_from("customer_state", FEATURES) == []
    assert derived_from("value_segment", ["recency"]) == []  # not built on spend: a real comparison


def _activity_frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    cluster = np.repeat([1, 2], 300)
    seg = np.where(cluster == 1, "One Time", rng.choice(["One Time", "Core"], 600))
    return pd.DataFrame({"customer_id": range(600), "cluster": cluster, "activity_segment": seg})


def test_by_construction_replaces_the_confidence():
    ct = cross_tab(_activity_frame(), "cluster", "activity_segment")
    obs = compare_observations(ct, derived_from=["frequency"])
    assert obs[0].kind == "summary" and obs[0].text.startswith("By construction")
    assert {o.confidence for o in obs} == {BY_CONSTRUCTION}  # never "low" for a fact by construction
    plain = compare_observations(ct)
    assert plain[0].confidence == "high" and "By construction" not in plain[0].text


def test_other_folding_many_values_is_no_finding_and_few_are_named():
    rng = np.random.default_rng(5)
    n = 2000
    cluster = np.repeat([1, 2], n // 2)
    common = rng.choice(["A", "B"], n)
    rare = np.array([f"rare {i}" for i in rng.integers(0, 8, n)])
    value = np.where((cluster == 2) & (rng.random(n) < 0.3), rare, common)
    frame = pd.DataFrame({"customer_id": range(n), "cluster": cluster, "dim": value})
    many = compare_observations(cross_tab(frame, "cluster", "dim", top_n=2))
    other = [o for o in many if o.figure_values.get("value") == "Other"]
    assert other and not any(o.finding for o in other)
    few = frame.assign(dim=np.where(np.char.startswith(value.astype(str), "rare"), "rare 0", value))
    few = few.assign(dim=np.where(rng.random(n) < 0.02, "C", few["dim"]))
    named = [o for o in compare_observations(cross_tab(few, "cluster", "dim", top_n=2))
             if o.figure_values.get("value") == "Other" and o.finding]
    assert named and all("'C'" in o.text and "'rare 0'" in o.text for o in named)


def test_select_caps_ranks_and_keeps_the_rest():
    head = Observation("headline", kind="summary")
    cells = [Observation(f"cell {i}", {"value": str(i)}, kind="over_represented", cluster=1,
                         effect=float(i), weight=0.1) for i in range(8)]
    quiet = Observation("nothing here", kind="standout", finding=False)
    shown, rest = select([head, quiet, *cells])
    assert len(shown) == MAX_FINDINGS and shown[0] is head
    assert [o.text for o in shown[1:]] == ["cell 7", "cell 6", "cell 5", "cell 4"]
    assert quiet in rest and len(shown) + len(rest) == 10
    big = Observation("big", {"value": "x"}, kind="dominant", cluster=2, effect=0.5, weight=0.5)
    tiny = Observation("tiny", {"value": "y"}, kind="dominant", cluster=2, effect=1.0, weight=0.001)
    assert select([tiny, big])[0][0] is big  # effect x sqrt(share involved): half the customers win


# --------------------------------------------------------------------------- real data


def _views(result):
    def walk(section):
        yield from section.views
        for sub in section.subsections:
            yield from walk(sub)

    seen = set()
    sections = list(result.sections) + [p.section for p in result.populations if p.section is not None]
    for section in sections:
        for view in walk(section):
            if id(view) not in seen:
                seen.add(id(view))
                yield view


def _check_real(result, derived_views: tuple[str, ...]):
    n_findings = 0
    for view in _views(result):
        shown = findings(view.notes)
        assert len([n for n in view.notes if n.finding]) <= MAX_FINDINGS, view.key
        n_findings += len(shown)
        for note in view.notes:  # neither shown nor in the statistics
            assert not any(p in note.text for p in NON_FINDINGS), note.text
            assert not re.search(r"(?<![\d.,])0(\.0+)?%? (of the )?customers\b", note.text), note.text
            assert not re.search(r"\d\.\d{5,}", note.text), note.text
            assert not re.search(r"\b1 (customers|orders|days)\b", note.text), note.text
            count = note.values.get("count")
            assert count is None or count > 0, note.text
        if view.key.endswith(derived_views):
            assert shown and all(n.confidence == BY_CONSTRUCTION for n in shown), view.key
    return n_findings


@pytest.fixture(scope="module")
def olist_result():
    import custseg
    from custseg.data import olist_folder

    return custseg.run(olist_folder(), report=False, slides=False)


def test_real_olist_at_most_five_findings_per_view(olist_result):
    n = _check_real(olist_result, ("activity-segment-by-cluster", "value-segment-by-cluster"))
    assert 0 < n <= 5 * sum(1 for _ in _views(olist_result))


def test_real_online_retail_at_most_five_findings_per_view():
    import custseg
    from custseg.data import online_retail_file

    result = custseg.run(online_retail_file(), preset="online_retail", report=False, slides=False)
    assert _check_real(result, ("value-segment-by-cluster",)) > 0
