"""What every chunk of one generated data set shares, built once from the seed, and the published shares it is drawn to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import basket, catalogue, payments, reviews, timeline
from .geography import STATE_CENTRES, Geography, build_geography

# chosen: which not-delivered orders have no items (sums to the 775 of §1 at Olist scale).
NO_ITEM_SHARE = {"unavailable": 603 / 609, "canceled": 164 / 625, "created": 1.0, "invoiced": 2 / 314,
                 "shipped": 1 / 1107}
# chosen split of the published null counts (§1) over statuses: 160 approvals = 14 delivered +
# 141 canceled + 5 created; 1,783 carrier dates = 2 delivered + every order not yet handed over.
DELIVERED_WITHOUT_APPROVAL = 14 / 96478
DELIVERED_WITHOUT_CARRIER = 2 / 96478
CANCELED_WITHOUT_APPROVAL = 141 / 625
CANCELED_WITH_CARRIER = 75 / 625
MULTI_PRODUCT_SHARE = 0.35           # chosen: multi-item orders holding >1 distinct product (§5b: 33%)
EXTRA_PRODUCTS_P = 0.8               # chosen: geometric tail of distinct products beyond two
SHIPPING_LIMIT_DAYS = 6.0            # chosen: seller deadline after approval
FREE_SHIPPING_SHARE = 0.023          # chosen: gives the 383 zero-freight items of §6b in their window
MISSING_PAYMENT_SHARE = 1 / 99441    # §1: one order has no payment row
OLIST_CUSTOMERS = 96_096


@dataclass(frozen=True)
class World:
    """Everything shared by all chunks of one run (built once from the seed)."""

    targets: dict
    calendar: timeline.PurchaseCalendar
    status_months: np.ndarray
    status_probs: np.ndarray
    geo: Geography
    state_index_of_city: np.ndarray
    zip_cdf: np.ndarray
    cat: basket.Catalogue
    seller_lat: np.ndarray
    seller_lng: np.ndarray
    seller_state_index: np.ndarray
    transit_median_by_state: np.ndarray
    expected_days_by_state: np.ndarray
    patterns: payments.PaymentPatterns
    score_mixes: dict
    messages: list
    titles: list
    orders_per_person: tuple[np.ndarray, np.ndarray]   # values, cdf
    multi_items_per_order: tuple[np.ndarray, np.ndarray]  # items per order, orders with 2+ items


def distribution(counts: dict) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([int(k) for k in counts], dtype=np.int64)
    weights = np.array(list(counts.values()), dtype=float)
    return values, np.cumsum(weights) / weights.sum()


def draw(rng: np.random.Generator, dist: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    values, cdf = dist
    return values[np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), values.size - 1)]


def haversine_km(lat1, lng1, lat2, lng2) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlng = p2 - p1, np.radians(lng2) - np.radians(lng1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlng / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def build_world(seed: int, n_customers: int) -> World:
    """Build the calendar, geography, catalogue and payment patterns for one run."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(0,)))
    targets = catalogue.load_targets()
    tab = catalogue.target_table
    calendar = timeline.build_calendar(targets)
    status_months, status_probs = timeline.status_probabilities(targets)
    sellers = catalogue.sellers()
    geo = build_geography(rng, tab("customer_states"), tab("customer_cities"), sellers)
    state_codes = geo.state_codes
    state_pos = {s: i for i, s in enumerate(state_codes)}
    state_index_of_city = geo.cities["state"].map(state_pos).to_numpy()

    orders_per_person = distribution(targets["orders_per_customer"]["counts"])
    multi_items_per_order = distribution(
        {k: v for k, v in targets["items_per_order"]["counts"].items() if k != "1"})
    mean_orders = float(np.sum(orders_per_person[0] * np.diff(np.concatenate([[0], orders_per_person[1]]))))
    no_item_share = sum(NO_ITEM_SHARE.get(s, 0.0) * c for s, c in targets["order_status"]["counts"].items())
    no_item_share /= sum(targets["order_status"]["counts"].values())
    cat = basket.build_catalogue(
        rng, catalogue.products(), sellers, catalogue.category_translation(), targets,
        expected_first_picks=n_customers * mean_orders * (1 - no_item_share),
    )

    # Seller positions: their real city if the geography knows it, else their state's centre.
    city_key = pd.Series(np.arange(len(geo.cities)), index=geo.cities["state"] + "|" + geo.cities["city"])
    city_key = city_key[~city_key.index.duplicated()]
    seller_city = (sellers["seller_state"] + "|" + sellers["seller_city"]).map(city_key)
    centre = np.array([STATE_CENTRES[s][:2] for s in sellers["seller_state"]])
    known = seller_city.notna().to_numpy()
    idx = seller_city.fillna(0).astype(int).to_numpy()
    seller_lat = np.where(known, geo.cities["lat"].to_numpy()[idx], centre[:, 0])
    seller_lng = np.where(known, geo.cities["lng"].to_numpy()[idx], centre[:, 1])
    seller_state_index = np.array([state_pos.get(s, -1) for s in sellers["seller_state"]])

    # Transit medians per customer state, so that the published mean delivery days per state come out.
    by_state = tab("delivery_by_state")
    expected_days = np.array([by_state[s] for s in state_codes])
    approval_mean_d = targets["approval"]["mean_hours"] / 24
    handover_mean_d = targets["handover"]["mean_days"]
    transit_mean = np.maximum(expected_days - approval_mean_d - handover_mean_d, 1.5)
    seller_items = np.bincount(cat.product_seller, weights=cat.pick_weight, minlength=cat.seller_ids.size)
    same_state_share = np.array([seller_items[seller_state_index == i].sum() for i in range(len(state_codes))])
    same_state_share /= seller_items.sum()
    route = (same_state_share * timeline.SAME_STATE_TRANSIT_FACTOR
             + (1 - same_state_share) * timeline.CROSS_STATE_TRANSIT_FACTOR)
    day_prob = np.diff(np.concatenate([[0.0], calendar.day_cdf]))
    period = float(np.sum(day_prob * timeline.transit_period_factor(calendar.day_starts)))
    transit_median = transit_mean / np.exp(timeline.TRANSIT_SIGMA**2 / 2) / period / route

    messages, titles = reviews.build_text_pools(rng)
    return World(
        targets=targets, calendar=calendar, status_months=status_months, status_probs=status_probs,
        geo=geo, state_index_of_city=state_index_of_city, zip_cdf=np.cumsum(geo.zips["weight"].to_numpy()),
        cat=cat, seller_lat=seller_lat, seller_lng=seller_lng, seller_state_index=seller_state_index,
        transit_median_by_state=transit_median, expected_days_by_state=expected_days,
        patterns=payments.real_patterns(), score_mixes=reviews.score_mixes(targets),
        messages=messages, titles=titles, orders_per_person=orders_per_person,
        multi_items_per_order=multi_items_per_order,
    )
