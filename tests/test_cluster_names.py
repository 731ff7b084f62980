"""Cluster names cannot contradict the data (issue 19).

Every word of every name is checked against the cluster's and the population's medians by the
words' definitions in ``name_words.toml``, written here independently of how
``custseg.profile.names`` picks them: on generated Olist-schema data (seeds 1-4), the bundled
Online Retail log and the real Olist data (the reference analysis, both populations), and on
random profile tables (hypothesis).
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import custseg
from custseg.config import load_config
from custseg.data import olist_folder, online_retail_file
from custseg.generate.olist import generate_olist
from custseg.profile.names import cluster_traits, name_clusters
from custseg.profile.tables import SHARE_ROW, format_number, overall_values, profile_table

WORDS = tomllib.loads(resources.files("custseg.profile").joinpath("name_words.toml").read_text(encoding="utf-8"))
RATIO, SPREAD_SHARE = 1.25, 0.25
SIDES = ("above", "most_above", "below", "most_below")


# --------------------------------------------------------------------------- the words' definitions


def vocabulary() -> dict[str, tuple[str, str, dict]]:
    """word -> (metric, kind, absolute rule); kind is a relative key of SIDES or "absolute"."""
    out = {}
    for metric, spec in WORDS.items():
        for kind in SIDES:
            out[spec[kind]] = (metric, kind, {})
        for rule in spec.get("absolute", []):
            out[rule["word"]] = (metric, "absolute", rule)
    return out


VOCABULARY = vocabulary()


def name_words(name: str, noun: str) -> list[str]:
    """The vocabulary words of a name (the noun, "typical"/"other" and a size rank set aside)."""
    text = re.sub(r" \((?:\d+\w\w )?largest\)$", "", name).lower()
    assert text.endswith(" " + noun), name
    text = text[: -len(noun) - 1]
    found = []
    while text:
        word = next((w for w in sorted(VOCABULARY, key=len, reverse=True) if text == w or text.startswith(w + " ")), None)
        if word is None:
            assert text in ("typical", "other"), f"{name!r}: {text!r} is no word of name_words.toml"
            return found
        found.append(word)
        text = text[len(word):].lstrip()
    return found


def scale(values: pd.Series, o: float) -> float | None:
    """None: compare by ratio (population's and every cluster's median positive); else the spread."""
    return None if o > 0 and (values > 0).all() else float(values.max() - values.min())


def apart(a: float, b: float, spread: float | None) -> bool:
    lo, hi = sorted((a, b))
    return hi >= RATIO * lo if spread is None else spread > 0 and hi - lo >= SPREAD_SHARE * spread


def beyond(v: float, o: float, side: str, spread: float | None) -> bool:
    """``v`` clearly on ``side`` ("above"/"below") of ``o``."""
    return apart(v, o, spread) and (v > o if side == "above" else v < o)


def satisfies(v: float, rule: dict) -> bool:
    return v >= rule.get("at_least", -np.inf) and v <= rule.get("at_most", np.inf)


def check_names(profile: pd.DataFrame, overall: pd.Series, names: dict, noun: str,
                members: pd.DataFrame | None = None) -> int:
    """Every word true of its cluster against the population medians; none true of every member
    (``members``: the population's customers). Returns the number of words checked."""
    metrics = [m for m in profile.index if m != SHARE_ROW]
    words = {c: name_words(names[c], noun) for c in profile.columns}
    checked = 0
    for c, ws in words.items():
        for w in ws:
            metric, kind, rule = VOCABULARY[w]
            values = profile.loc[metric].astype(float)
            v, o = float(values[c]), float(overall[metric])
            spread = scale(values, o)
            if kind == "absolute":
                assert satisfies(v, rule) and not satisfies(o, rule), (names[c], w, v, o)
                if members is not None:
                    assert not members[metric].map(lambda x: satisfies(x, rule)).all(), (names[c], w)
            else:
                side = kind.removeprefix("most_")
                assert beyond(v, o, side, spread), (names[c], w, v, o)
                further = [d for d in profile.columns if d != c and beyond(float(values[d]), v, side, spread)]
                if kind.startswith("most_"):  # outermost: no cluster clearly further out
                    assert not further, (names[c], w, v, {d: values[d] for d in further})
                else:  # no cluster with the same word clearly further out
                    assert not [d for d in further if w in words[d]], (names[c], w)
                if members is not None:
                    assert not members[metric].map(lambda x: beyond(x, o, side, spread)).all(), (names[c], w)
            checked += 1
        if names[c].lower().startswith("typical"):
            assert not any(apart(float(profile.loc[m, c]), float(overall[m]), scale(profile.loc[m].astype(float), float(overall[m])))
                           for m in metrics), names[c]
    return checked


# --------------------------------------------------------------------------- real and generated data


def _generated(seed: int, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp(f"olist-{seed}") / "data"
    generate_olist(3_000, seed, folder)
    return str(folder)


DATASETS = ["generated-1", "generated-2", "generated-3", "generated-4", "online_retail", "olist"]


@pytest.fixture(scope="module", params=DATASETS)
def analysis(request, tmp_path_factory):
    which = request.param
    if which.startswith("generated"):
        result = custseg.run(_generated(int(which.split("-")[1]), tmp_path_factory), report=False, slides=False)
    elif which == "online_retail":
        result = custseg.run(online_retail_file(), preset="online_retail", report=False, slides=False)
    else:
        result = custseg.run(olist_folder(), report=False, slides=False)
    return which, result


def _populations(result):
    nouns = {p.name: p.noun for p in load_config(None).populations}
    for p in result.populations:
        members = p.assignments[["customer_id", "cluster"]].merge(result.customers, on="customer_id")
        metrics = [m for m in ["recency", "frequency", "monetary", "avg_unique_products_cnt"] if m in members]
        yield p, members, profile_table(members, metrics), overall_values(members, metrics), nouns[p.name]


def test_every_word_is_true_of_its_cluster(analysis):
    which, result = analysis
    assert len(result.populations) == 2, which
    checked = 0
    for p, members, profile, overall, noun in _populations(result):
        assert set(p.cluster_names) == set(profile.columns)
        checked += check_names(profile, overall, p.cluster_names, noun, members)
    assert checked >= 4, which  # the names say something


def test_no_name_repeats_within_a_run(analysis):
    which, result = analysis
    names = [n for p in result.populations for n in p.cluster_names.values()]
    assert len(names) == len(set(names)), (which, names)
    assert not any(re.search(r"#\d", n) for n in names)


def test_traits_back_every_word_of_the_name(analysis):
    """The words of a name come from the cluster's traits, which quote the medians."""
    _, result = analysis
    for p, _members, profile, overall, noun in _populations(result):
        traits = cluster_traits(profile, overall, max_traits=len(profile.index))
        for c, name in p.cluster_names.items():
            said = " ".join(traits[c])
            for metric in {VOCABULARY[w][0] for w in name_words(name, noun)}:
                quoted = f"{format_number(profile.loc[metric, c])} "
                assert quoted in said and f"{format_number(overall[metric])})" in said, (name, metric, traits[c])


# --------------------------------------------------------------------------- random profiles


@st.composite
def profiles(draw):
    k = draw(st.integers(2, 8))
    metrics = draw(st.lists(st.sampled_from(list(WORDS)), min_size=1, max_size=4, unique=True))
    values = st.one_of(st.integers(0, 400).map(float), st.floats(0.5, 5000, allow_nan=False))
    table = pd.DataFrame({c: [draw(st.floats(1, 100))] + [draw(values) for _ in metrics] for c in range(1, k + 1)},
                         index=[SHARE_ROW, *metrics])
    overall = pd.Series({m: draw(values) for m in metrics})
    return table, overall


@settings(max_examples=300, deadline=None)
@given(profiles())
def test_random_profiles_get_true_unique_names(case):
    table, overall = case
    names = name_clusters(table, overall)
    check_names(table, overall, names, "customers")
    assert len(set(names.values())) == len(names), names


@settings(max_examples=100, deadline=None)
@given(profiles())
def test_random_profiles_traits_quote_the_medians(case):
    table, overall = case
    traits = cluster_traits(table, overall)
    assert set(traits) == set(table.columns)
    assert all(1 <= len(t) <= 3 for t in traits.values())


# --------------------------------------------------------------------------- examples


def test_traits_in_plain_words():
    table = pd.DataFrame({1: [20.0, 28, 480, 2], 2: [80.0, 120, 150, 1]},
                         index=[SHARE_ROW, "recency", "monetary", "frequency"])
    traits = cluster_traits(table, {"recency": 120, "monetary": 155, "frequency": 1}, currency="R$")
    assert traits[1] == ["last order 28 days ago (population median: 120)",
                         "spends 3.1× the population median (R$ 480 vs 155)",
                         "2 orders (population median: 1)"]
    assert traits[2] == ["within a factor of 1.25 of the population median on every metric"]
    assert name_clusters(table, {"recency": 120, "monetary": 155, "frequency": 1}, max_words=3)[1] == \
        "More recent repeat higher-spending customers"


def test_a_word_every_member_has_is_not_used():
    """Among repeat buyers (population median 2 orders) "repeat" says nothing; the cluster
    with 3 orders is "more frequent" than its population."""
    table = pd.DataFrame({1: [50.0, 3.0], 2: [50.0, 2.0]}, index=[SHARE_ROW, "frequency"])
    assert name_clusters(table, {"frequency": 2.0}) == {1: "More frequent customers", 2: "Typical customers"}


def test_tiers_keep_words_in_order():
    """Spend 1000, 500, 220 against a population median of 100: top, higher, then no word (a
    cluster clearly below a higher-spending one is not called higher-spending)."""
    table = pd.DataFrame({1: [10.0, 1000.0], 2: [20.0, 500.0], 3: [30.0, 220.0], 4: [40.0, 100.0]},
                         index=[SHARE_ROW, "monetary"])
    assert name_clusters(table, {"monetary": 100.0}) == {
        1: "Top-spending customers", 2: "Higher-spending customers", 3: "Other customers", 4: "Typical customers"}


def test_a_trait_of_one_is_singular():
    from custseg.profile.labels import metric_config
    from custseg.profile.names import Trait, trait_text

    spec = metric_config(["recency", "frequency"])
    assert trait_text(Trait("recency", "below", 1.0, 50.0, 1.0, "recent"), spec["recency"]) == "last order 1 day ago (population median: 50)"
    assert trait_text(Trait("frequency", "below", 1.0, 2.0, 1.0, "one-time"), spec["frequency"]).startswith("1 order (")
    assert trait_text(Trait("frequency", "above", 3.0, 2.0, 1.0, "repeat"), spec["frequency"]).startswith("3 orders (")
