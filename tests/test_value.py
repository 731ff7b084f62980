"""The lifetime-value models (custseg.value) against published results and independent computations.

Expected values and where they come from:
- BG/NBD on the CDNOW sample (2,357 customers, 39-week calibration, weeks): r = 0.243, α = 4.414,
  a = 0.793, b = 2.426, published by Fader, Hardie & Lee (2005), "'Counting your customers' the
  easy way", Marketing Science 24(2).
- Gamma-Gamma on the sample's 946 repeat customers: p = 6.25, q = 3.74, γ = 15.44, published by
  Fader & Hardie, "The Gamma-Gamma model of monetary value" (2013) (the model of Fader, Hardie &
  Lee 2005, "RFM and CLV").
- 1.226 expected purchases in the next 39 weeks for the sample's customer 1 (x = 2, t_x = 30.43,
  T = 38.86): Hardie's spreadsheet for the BG/NBD paper, as quoted by the lifetimes package's test
  suite (``test_conditional_expectation_returns_same_value_as_Hardie_excel_sheet``). The search
  tool found neither the paper's text nor the spreadsheet itself, so this number is second-hand.
- Expected average spend of the sample's first 10 customers (24.65, 18.91, 35.17, ...): Hardie's
  spreadsheet for note 025 (brucehardie.com/notes/025), quoted the same way by lifetimes' tests.
- Everything else is computed here by an independent route: the papers' closed forms transcribed
  directly (scipy.special.hyp2f1 on the paper's argument, where custseg uses Pfaff's transform),
  a one-dimensional integral over the dropout probability derived from the model's definition,
  a simulation of the model, a bootstrap, and PyMC-Marketing's own fit (when installed).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.special import beta as beta_fn
from scipy.special import betaln, gammaln, hyp2f1

from custseg.data import cdnow_file
from custseg.value import bgnbd, gamma_gamma
from custseg.value.bgnbd import BGNBD
from custseg.value.gamma_gamma import GammaGamma
from custseg.value.groups import median_interval, spend_correlation, sum_interval, value_by_group
from custseg.value.inputs import analysis_end, value_inputs
from custseg.value.score import ValueSettings, customer_value

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def sig3(x: float) -> float:
    return float(f"{x:.3g}")


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    return pd.read_csv(cdnow_file())


@pytest.fixture(scope="module")
def bg(cdnow) -> BGNBD:
    fit = bgnbd.fit(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert fit.converged, fit.message
    return fit.params


@pytest.fixture(scope="module")
def gg(cdnow) -> GammaGamma:
    repeat = cdnow[cdnow["x"] > 0]
    fit = gamma_gamma.fit(repeat["x"], repeat["zbar"])
    assert fit.converged, fit.message
    return fit.params


# ------------------------------------------------------------------ the bundled sample


def test_bundled_cdnow_sample_is_the_published_one(cdnow):
    assert len(cdnow) == 2357 and list(cdnow.columns) == ["ID", "x", "t_x", "T", "zbar"]
    assert (cdnow["x"] > 0).sum() == 946
    assert (cdnow["t_x"] <= cdnow["T"]).all() and cdnow["T"].max() <= 39


# ------------------------------------------------------------------ published parameters


def test_bgnbd_fit_reproduces_the_published_parameters(bg):
    fitted = bg.as_dict()
    assert {k: sig3(v) for k, v in fitted.items()} == {k: sig3(v) for k, v in PUBLISHED_BGNBD.items()}


def test_gamma_gamma_fit_reproduces_the_published_parameters(gg):
    fitted = gg.as_dict()
    assert {k: sig3(v) for k, v in fitted.items()} == {k: sig3(v) for k, v in PUBLISHED_GG.items()}


def paper_bg_ll(r, alpha, a, b, x, t_x, T) -> float:
    """FHL (2005) eq. (6), transcribed: the sum of the two terms, each a product of its factors."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    first = np.exp(betaln(a, b + x) + common - (r + x) * np.log(alpha + T))
    second = np.where(x > 0, np.exp(betaln(a + 1, b + np.maximum(x, 1) - 1) + common - (r + x) * np.log(alpha + t_x)), 0.0)
    return float(np.log(first + second).sum())


def note_gg_ll(p, q, g, x, m) -> float:
    """Fader & Hardie's Gamma-Gamma note, eq. (3), transcribed (in logs)."""
    return float((gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(g) + (p * x - 1) * np.log(m)
                  + p * x * np.log(x) - (p * x + q) * np.log(g + m * x)).sum())


def test_fits_are_maxima_of_the_papers_likelihoods(cdnow, bg, gg):
    """The papers' likelihoods written out here (not custseg's code): no nearby point is better, and
    the log-likelihood each fit reports (it fits rescaled data) is theirs at its parameters."""
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
    repeat = cdnow[cdnow["x"] > 0]
    xr, m = repeat["x"].to_numpy(float), repeat["zbar"].to_numpy(float)
    cases = ((lambda *p: paper_bg_ll(*p, x, t_x, T), list(bg.as_dict().values()), bgnbd.fit(x, t_x, T).log_likelihood),
             (lambda *p: note_gg_ll(*p, xr, m), list(gg.as_dict().values()), gamma_gamma.fit(xr, m).log_likelihood))
    for ll, params, reported in cases:
        best = ll(*params)
        assert reported == pytest.approx(best, rel=1e-10)
        for i in range(len(params)):
            for step in (0.999, 1.001):
                moved = list(params)
                moved[i] *= step
                assert ll(*moved) < best


# ------------------------------------------------------------------ per-customer scores


def test_published_example_customer(bg, cdnow):
    row = cdnow.iloc[0]
    assert (row["x"], row["t_x"], row["T"]) == (2, 30.43, 38.86)
    assert round(float(bgnbd.expected_purchases(bg, 39, 2, 30.43, 38.86)), 3) == 1.226


def paper_p_alive(p: BGNBD, x, t_x, T):
    """FHL (2005) eq. (11), transcribed."""
    return 1 / (1 + (x > 0) * p.a / (p.b + x - 1) * ((p.alpha + T) / (p.alpha + t_x)) ** (p.r + x))


def paper_expected_purchases(p: BGNBD, t, x, t_x, T):
    """FHL (2005) eq. (10), transcribed: the 2F1 on the paper's argument t / (α + T + t)."""
    r, alpha, a, b = p.r, p.alpha, p.a, p.b
    hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return ((a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)) * paper_p_alive(p, x, t_x, T)


def test_scores_equal_the_papers_closed_forms_on_every_customer(bg, cdnow):
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
    np.testing.assert_allclose(bgnbd.p_alive(bg, x, t_x, T), paper_p_alive(bg, x, t_x, T), rtol=1e-12)
    for t in (1.0, 39.0, 52.0, 200.0):
        np.testing.assert_allclose(bgnbd.expected_purchases(bg, t, x, t_x, T), paper_expected_purchases(bg, t, x, t_x, T), rtol=1e-9)


def test_scores_of_many_whole_day_customers_equal_the_papers_closed_form(bg):
    """Above 50,000 customers with whole-number x and T, custseg evaluates each distinct (x, T)
    once: the result is the same."""
    rng = np.random.default_rng(5)
    T = rng.integers(0, 700, 60_000).astype(float)
    x = rng.poisson(0.4, 60_000).astype(float)
    t_x = np.where(x > 0, np.floor(T * rng.random(60_000)), 0.0)
    days = BGNBD(bg.r, bg.alpha * 7, bg.a, bg.b)  # CDNOW's parameters in days
    np.testing.assert_allclose(bgnbd.expected_purchases(days, 365, x, t_x, T), paper_expected_purchases(days, 365, x, t_x, T), rtol=1e-9)


def integral_expected_purchases(p: BGNBD, t, x, t_x, T):
    """From the model's definition, not the closed form: alive at T, λ | data ~ Gamma(r+x, α+T) and
    the dropout probability θ | data ~ Beta(a, b+x); a customer alive buys (1 - e^{-λθt}) / θ times
    in expectation over the next t. Integrating λ gives 1 - (1 + θt/(α+T))^-(r+x); θ is integrated
    numerically."""
    r, alpha, a, b = p.r, p.alpha, p.a, p.b
    c = t / (alpha + T)

    def integrand(theta):
        return -np.expm1(-(r + x) * np.log1p(c * theta)) / theta * theta ** (a - 1) * (1 - theta) ** (b + x - 1) / beta_fn(a, b + x)

    value, _ = integrate.quad(integrand, 0, 1, limit=500, epsabs=0, epsrel=1e-11)
    return value * paper_p_alive(p, x, t_x, T)


@pytest.mark.parametrize("x, t_x, T, t", [(0, 0, 0, 365), (0, 0, 600, 365), (3, 100, 400, 365),
                                          (150, 300, 301, 365), (400, 700, 700, 3650), (60, 5, 600, 30)])
def test_scores_equal_an_integral_where_the_papers_form_overflows(x, t_x, T, t):
    """Days-scale parameters (as fitted on Olist and Online Retail), customers from new to very
    frequent: the paper's (α+T)/(α+T+t))^(r+x) · 2F1 overflows for large x, custseg's form does not."""
    for p in (BGNBD(0.016, 68.7, 1.93, 0.336), BGNBD(0.83, 68.9, 0.0034, 6.75), BGNBD(0.243, 4.414, 0.793, 2.426)):
        ours = float(bgnbd.expected_purchases(p, t, x, t_x, T))
        assert ours == pytest.approx(integral_expected_purchases(p, t, x, t_x, T), rel=1e-7)


def test_a_customer_without_repeat_purchase_is_alive(bg):
    assert bgnbd.p_alive(bg, np.zeros(3), np.zeros(3), np.array([0.0, 10.0, 39.0])).tolist() == [1.0, 1.0, 1.0]
    # ... and expects fewer purchases the longer they have been quiet
    e = bgnbd.expected_purchases(bg, 39, np.zeros(3), np.zeros(3), np.array([0.0, 10.0, 39.0]))
    assert e[0] > e[1] > e[2] > 0


def test_a_equal_to_one_is_the_limit(bg):
    """The closed form divides by a - 1; custseg moves a off 1 by 1e-7."""
    near = [float(bgnbd.expected_purchases(BGNBD(bg.r, bg.alpha, a, bg.b), 39, 2, 30.43, 38.86)) for a in (1 - 1e-5, 1.0, 1 + 1e-5)]
    assert near[1] == pytest.approx((near[0] + near[2]) / 2, rel=1e-6)


def test_expected_spend_equals_the_notes_formula_and_hardies_spreadsheet(gg, cdnow):
    x, m = cdnow["x"].to_numpy(float), cdnow["zbar"].to_numpy(float)
    # the note's eq. (5) written as the weighted mean it is
    weight = gg.p * x / (gg.p * x + gg.q - 1)
    transcribed = (1 - weight) * gg.p * gg.gamma / (gg.q - 1) + weight * m
    np.testing.assert_allclose(gamma_gamma.expected_spend(gg, x, m), transcribed, rtol=1e-12)
    hardie = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    # to the cent, up to the last cent (the spreadsheet has its own estimates: 24.6586 here, 24.65 there)
    np.testing.assert_allclose(gamma_gamma.expected_spend(gg, x[:10], m[:10]), hardie, atol=0.01)


# ------------------------------------------------------------------ a simulated customer base


def simulate_bgnbd(p: BGNBD, n: int, horizon: float, seed: int) -> pd.DataFrame:
    """Customers drawn from the model itself: rate λ ~ Gamma(r, α), dropout θ ~ Beta(a, b), a
    Poisson stream of purchases while alive, each followed by dropping out with probability θ;
    observed for T ~ U(30, 400) days, then ``horizon`` more days held out."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(p.r, 1 / p.alpha, n)
    theta = rng.beta(p.a, p.b, n)
    T = rng.uniform(30, 400, n)
    now, alive = np.zeros(n), np.ones(n, dtype=bool)
    x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n)
    while alive.any():
        now[alive] += rng.exponential(1 / lam[alive])
        alive &= now <= T + horizon
        seen = alive & (now <= T)
        x[seen] += 1
        t_x[seen] = now[seen]
        later[alive & (now > T)] += 1
        alive &= rng.random(n) >= theta
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "later": later})


def test_a_simulated_customer_base_is_recovered_and_predicted():
    true = BGNBD(0.6, 40.0, 0.8, 3.0)
    data = simulate_bgnbd(true, 30_000, 180.0, seed=7)
    fit = bgnbd.fit(data["x"], data["t_x"], data["T"])
    assert fit.converged
    for name, value in true.as_dict().items():
        assert fit.params.as_dict()[name] == pytest.approx(value, rel=0.12), name
    expected = bgnbd.expected_purchases(fit.params, 180.0, data["x"], data["t_x"], data["T"])
    actual = data["later"].to_numpy()
    se = actual.std() * math.sqrt(len(actual))
    assert abs(expected.sum() - actual.sum()) < 3 * se
    for lo, hi in ((0, 0), (1, 2), (3, 1e9)):  # and by past frequency
        group = (data["x"] >= lo) & (data["x"] <= hi)
        assert expected[group].sum() == pytest.approx(actual[group].sum(), rel=0.1)


def test_a_base_where_nobody_leaves_fits_the_limit_without_dropout():
    """Dropout probability 0 for everyone (θ ~ Beta(1e-9, 1)): BG/NBD's likelihood is highest at
    a -> 0, its limit without dropout (the NBD), which custseg fits as such."""
    data = simulate_bgnbd(BGNBD(0.8, 30.0, 1e-9, 1.0), 20_000, 180.0, seed=11)
    fit = bgnbd.fit(data["x"], data["t_x"], data["T"])
    assert fit.converged and fit.params.a == 0 and "without dropout" in fit.message
    assert fit.params.r == pytest.approx(0.8, rel=0.08) and fit.params.alpha == pytest.approx(30.0, rel=0.08)
    assert (bgnbd.p_alive(fit.params, data["x"], data["t_x"], data["T"]) == 1).all()
    expected = bgnbd.expected_purchases(fit.params, 180.0, data["x"], data["t_x"], data["T"])
    assert expected.sum() == pytest.approx(data["later"].sum(), rel=0.05)
    # the limit's likelihood is the BG/NBD's as a -> 0
    near = BGNBD(fit.params.r, fit.params.alpha, 1e-12, 1.0)
    assert fit.log_likelihood == pytest.approx(bgnbd.log_likelihood(near, data["x"], data["t_x"], data["T"]).sum(), rel=1e-9)


# ------------------------------------------------------------------ intervals and checks


def test_sum_and_median_intervals_match_a_bootstrap():
    rng = np.random.default_rng(3)
    values = rng.lognormal(3, 1.0, 2_000)
    boot = rng.choice(values, size=(2_000, values.size))
    sums, medians = boot.sum(axis=1), np.median(boot, axis=1)
    total, low, high = sum_interval(values)
    assert total == pytest.approx(values.sum())
    assert low == pytest.approx(np.quantile(sums, 0.05), rel=0.01) and high == pytest.approx(np.quantile(sums, 0.95), rel=0.01)
    median, mlow, mhigh = median_interval(values)
    assert median == np.median(values)
    assert mlow == pytest.approx(np.quantile(medians, 0.05), rel=0.03) and mhigh == pytest.approx(np.quantile(medians, 0.95), rel=0.03)


def test_value_by_group_adds_up():
    scores = pd.DataFrame({"p_alive": [1, 0.5, 0.2, 1, np.nan], "expected_purchases": [1.0, 2.0, 0.5, 0.1, np.nan],
                           "expected_purchase_value": 10.0, "expected_revenue": [10.0, 20.0, 5.0, 1.0, np.nan]})
    table = value_by_group(scores, ["A", "A", "B", None, "B"], repeat=[False, True, True, False, False]).set_index("group")
    assert table.loc["A", "customers"] == 2 and table.loc["B", "customers"] == 1  # unscored and ungrouped left out
    assert table.loc["A", "expected_revenue"] == 30.0 and table.loc["A", "expected_revenue_share"] == pytest.approx(30 / 35)
    assert table.loc["A", "mean_p_alive_repeat"] == 0.5 and table.loc["A", "median_expected_revenue"] == 15.0


def test_spend_correlation_is_pearsons_among_repeat_customers():
    inputs = pd.DataFrame({"purchases": [1, 2, 3, 4, 2], "purchase_value": [100.0, 10.0, 20.0, 40.0, 12.0]})
    r, n = spend_correlation(inputs)
    assert n == 4 and r == pytest.approx(np.corrcoef([2, 3, 4, 2], [10, 20, 40, 12])[0, 1])


# ------------------------------------------------------------------ from the customer table


def _customers(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "buys_cnt", "days_with_buys", "first_purchase_ts", "last_purchase_ts", "monetary"])
    for c in ("first_purchase_ts", "last_purchase_ts"):
        frame[c] = pd.to_datetime(frame[c])
    return frame.astype({"buys_cnt": "Int64", "days_with_buys": "Int64"})


def test_inputs_count_purchase_days_in_days():
    customers = _customers([
        ("a", 3, 2, "2020-01-01 10:00", "2020-01-11 23:00", 300.0),  # two orders on 1 Jan: two purchase days
        ("b", None, None, None, None, 0.0),  # never bought
        ("c", 1, 1, "2020-01-20 08:00", "2020-01-20 08:00", 50.0),
    ])
    assert analysis_end(customers) == pd.Timestamp("2020-01-20 08:00")
    inputs = value_inputs(customers)
    assert inputs.index.tolist() == [0, 2]
    assert inputs.loc[0].tolist() == [1, 10, 19, 2, 150.0]
    assert inputs.loc[2].tolist() == [0, 0, 0, 1, 50.0]


def test_analysis_end_is_where_recency_counts_from(tmp_path):
    """The value models' end of data and features/sql/09_rfm.sql's "now" are the same instant."""
    from custseg.config import reference
    from custseg.engines.duckdb.features import compute_customer_tables
    from custseg.engines.duckdb import load
    from tests.olist_fixture import write_olist_fixture

    customers, _, _ = compute_customer_tables(load(write_olist_fixture(tmp_path / "olist")), reference())
    bought = customers[customers["buys_cnt"].notna()]
    days = (analysis_end(customers) - bought["last_purchase_ts"]) // pd.Timedelta(days=1)
    assert (days.to_numpy() == bought["recency"].to_numpy()).all()


def test_too_few_repeat_customers_is_said_not_raised():
    customers = _customers([(i, 1, 1, "2020-01-01", "2020-01-01", 10.0) for i in range(50)]
                           + [(100 + i, 2, 2, "2020-01-01", "2020-02-01", 30.0) for i in range(5)])
    value = customer_value(customers, ValueSettings(min_repeat_customers=30))
    assert not value.has_purchases and value.scores.isna().all().all()
    assert value.problems == ["Lifetime value not modelled: 5 customers bought on more than one day "
                              "(at least 30 are needed to learn how often customers come back)."]


def test_a_customer_table_without_the_needed_columns_is_said_not_raised():
    value = customer_value(pd.DataFrame({"customer_id": [1, 2], "buys_cnt": [1, 2]}))
    assert not value.has_purchases and value.scores.isna().all().all()
    assert value.problems == ["Lifetime value not modelled: the customer table has no days_with_buys, first_purchase_ts, "
                              "last_purchase_ts, monetary."]


@pytest.mark.parametrize("burst", [0.0, 1 / 1440])
def test_a_fit_that_runs_off_to_a_boundary_is_not_converged(burst):
    """Repeat "purchases" a minute or less after the first (a basket split into orders, counted as
    purchases) and nothing since: the purchase rates become a point mass at 0 plus a few infinite
    ones (α -> 0), which no finite parameters describe."""
    x = np.r_[np.zeros(1000), np.ones(100)]
    fit = bgnbd.fit(x, np.r_[np.zeros(1000), np.full(100, burst)], np.full(1100, 300.0))
    assert not fit.converged and fit.params is None and "boundary" in fit.message


# ------------------------------------------------------------------ PyMC-Marketing


def test_equal_to_pymc_marketing(cdnow, bg, gg):
    """PyMC-Marketing's MAP fit with flat priors (HalfFlat on every parameter, so MAP = MLE) gives
    the same parameters (within 5e-4; measured: 1.3e-4 at most, its optimiser stops a little
    earlier: custseg's likelihood is the higher), and its per-customer P(alive), expected purchases
    and expected spend equal custseg's computed with PyMC-Marketing's parameters."""
    pytest.importorskip("pymc_marketing")
    import warnings

    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    data = cdnow.rename(columns={"ID": "customer_id", "x": "frequency", "t_x": "recency", "zbar": "monetary_value"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = BetaGeoModel(data=data[["customer_id", "frequency", "recency", "T"]],
                             model_config={k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b")})
        model.fit(fit_method="map", progressbar=False)
        theirs = {k: float(np.asarray(model.idata.posterior[k]).ravel()[0]) for k in ("r", "alpha", "a", "b")}  # fit_summary rounds
        p_alive = np.asarray(model.expected_probability_alive(data=data[["customer_id", "frequency", "recency", "T"]])).ravel()
        purchases = np.asarray(model.expected_purchases(data=data[["customer_id", "frequency", "recency", "T"]], future_t=39)).ravel()
        repeat = data[data["frequency"] > 0]
        spend_model = GammaGammaModel(data=repeat[["customer_id", "frequency", "monetary_value"]],
                                      model_config={k: Prior("HalfFlat") for k in ("p", "q", "v")})
        spend_model.fit(fit_method="map", progressbar=False)
        their_spend = {k: float(np.asarray(spend_model.idata.posterior[k]).ravel()[0]) for k in ("p", "q", "v")}
        spend = np.asarray(spend_model.expected_customer_spend(data=repeat[["customer_id", "frequency", "monetary_value"]])).ravel()
    for name, value in bg.as_dict().items():
        assert theirs[name] == pytest.approx(value, rel=5e-4), name
    for name, value in {"p": gg.p, "q": gg.q, "v": gg.gamma}.items():
        assert their_spend[name] == pytest.approx(value, rel=5e-4), name
    at_theirs = BGNBD(*(theirs[k] for k in ("r", "alpha", "a", "b")))
    x, t_x, T = (cdnow[c].to_numpy(float) for c in ("x", "t_x", "T"))
    assert paper_bg_ll(*bg.as_dict().values(), x, t_x, T) >= paper_bg_ll(*at_theirs.as_dict().values(), x, t_x, T)
    np.testing.assert_allclose(bgnbd.p_alive(at_theirs, x, t_x, T), p_alive, rtol=1e-6)
    np.testing.assert_allclose(bgnbd.expected_purchases(at_theirs, 39, x, t_x, T), purchases, rtol=1e-6)
    spend_at_theirs = GammaGamma(*(their_spend[k] for k in ("p", "q", "v")))
    np.testing.assert_allclose(gamma_gamma.expected_spend(spend_at_theirs, repeat["frequency"], repeat["monetary_value"]), spend, rtol=1e-6)


# ------------------------------------------------------------------ in the analysis


def test_the_real_olist_analysis_has_value_everywhere(olist_result):
    """On the bundled Olist data: the columns, summary.json's numbers and the report agree."""
    from custseg.report import summary_data
    from custseg.report.html import render_html
    from custseg.value import VALUE_COLUMNS

    customers, summary = olist_result.customers, olist_result.summary
    bought = customers["buys_cnt"].notna()
    assert set(VALUE_COLUMNS) <= set(customers.columns)
    assert customers.loc[bought, list(VALUE_COLUMNS)].notna().all().all()
    assert customers.loc[~bought, list(VALUE_COLUMNS)].isna().all().all()
    value = summary["value"]
    assert value["status"] == "modelled" and value["customers_scored"] == bought.sum() and not value["sampled"]
    assert value["expected_revenue"] == pytest.approx(customers["expected_revenue"].sum())
    assert value["expected_revenue_low"] < value["expected_revenue"] < value["expected_revenue_high"]
    np.testing.assert_allclose(customers["expected_revenue"], customers["expected_purchases"] * customers["expected_purchase_value"])
    segments = summary["rfm_segments"]
    assert sum(s["expected_revenue"] for s in segments.values()) == pytest.approx(value["expected_revenue"])
    for pop in olist_result.populations:  # each cluster's share of its population's expected revenue
        assert pop.overview["expected_revenue_share"].sum() == pytest.approx(1.0)
        members = customers["customer_id"].isin(pop.assignments["customer_id"])
        assert pop.overview["expected_revenue"].sum() == pytest.approx(customers.loc[members, "expected_revenue"].sum())
    clusters = summary_data(olist_result)["populations"]["all"]["clusters"]
    assert all("expected_revenue" in c and "expected_revenue_low" in c for c in clusters)
    html = render_html(olist_result)
    assert "Value: the next 365 days" in html and "Expected revenue, next 365 days" in html and "% of expected revenue" in html


def test_too_few_repeat_customers_leave_the_run_whole(tmp_path):
    """The hand-made Olist folder has 4 customers with two purchase days: the run completes, the
    value columns are empty, and the report says why in one line."""
    from custseg.api import run
    from tests.olist_fixture import write_olist_fixture

    result = run(write_olist_fixture(tmp_path / "olist"), out=tmp_path / "out", slides=False)
    line = ("Lifetime value not modelled: 4 customers bought on more than one day "
            "(at least 30 are needed to learn how often customers come back).")
    assert result.summary["value"]["status"] == "not modelled" and result.summary["value"]["problems"] == [line]
    assert result.customers["expected_revenue"].isna().all()
    assert line in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_value_settings_are_checked():
    from custseg.config import from_dict
    from custseg.errors import InputError

    assert from_dict({"value": {"horizon_days": 90}}).value["horizon_days"] == 90
    with pytest.raises(InputError, match=r"\[value\]: unknown key 'horizon'"):
        from_dict({"value": {"horizon": 90}})
    with pytest.raises(InputError, match=r"horizon_days = 0: use a whole number >= 1"):
        from_dict({"value": {"horizon_days": 0}})
    with pytest.raises(InputError, match=r"spend_correlation_warning = 1.5: use a correlation"):
        from_dict({"value": {"spend_correlation_warning": 1.5}})


def test_amounts_and_intervals_read_in_three_figures():
    from custseg.profile.wording import amount, interval

    assert [amount(v) for v in (12.5, 950, 999.6, 10_038, 128_440, 999_600, 9_430_000)] == \
        ["12.5", "950", "1.00 k", "10.0 k", "128 k", "1.00 M", "9.43 M"]
    assert interval(128_440, 127_698, 129_182, "R$") == "R$\u00a0128\u00a0k\u00a0(128\u2060–\u2060129\u00a0k)"
    assert interval(950, -20, 1_020) == "950\u00a0(0\u2060–\u20601.02\u00a0k)"  # a negative low end shows as 0
