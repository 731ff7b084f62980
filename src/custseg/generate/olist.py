"""Generate Olist-schema data (the 9 Kaggle CSV files) around the real Olist catalogue.

`generate_olist(n_customers, seed, out_dir)` writes the nine files of the Kaggle "Brazilian
E-Commerce Public Dataset by Olist" with their exact names, headers, column order, quoting and quirks.
Products, sellers and the category translation are the real files; orders, customers, items,
payments, reviews and geolocation are synthetic, drawn so that the published statistics of the real
data (targets.toml, from STATS.md) come out at Olist scale (96,096 customers); `compare.py` checks the
result against the real tables themselves (docs/generator.md). Customers are generated
in chunks with one random stream per chunk, so memory stays bounded at any size, and the same seed
(and chunk size) always gives byte-identical files.

Run directly: ``python -m custseg.generate.olist --customers 96096 --seed 1 --out DIR [--report]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import basket, catalogue, csvtext, payments, reviews, timeline
from .geography import ACCENTED_SPELLINGS, STATE_CENTRES, Geography, build_geography
from .timeline import DAY, STATUSES

ORDERS_FILE = "olist_orders_dataset.csv"
CUSTOMERS_FILE = "olist_customers_dataset.csv"
ITEMS_FILE = "olist_order_items_dataset.csv"
PAYMENTS_FILE = "olist_order_payments_dataset.csv"
REVIEWS_FILE = "olist_order_reviews_dataset.csv"
GEOLOCATION_FILE = "olist_geolocation_dataset.csv"

HEADERS: dict[str, list[str]] = {
    ORDERS_FILE: ["order_id", "customer_id", "order_status", "order_purchase_timestamp", "order_approved_at",
                  "order_delivered_carrier_date", "order_delivered_customer_date", "order_estimated_delivery_date"],
    CUSTOMERS_FILE: ["customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city",
                     "customer_state"],
    ITEMS_FILE: ["order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price",
                 "freight_value"],
    PAYMENTS_FILE: ["order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value"],
    REVIEWS_FILE: ["review_id", "order_id", "review_score", "review_comment_title", "review_comment_message",
                   "review_creation_date", "review_answer_timestamp"],
    GEOLOCATION_FILE: ["geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng", "geolocation_city",
                       "geolocation_state"],
}
GENERATED_FILES = (ORDERS_FILE, CUSTOMERS_FILE, ITEMS_FILE, PAYMENTS_FILE, REVIEWS_FILE)
ALL_FILES = GENERATED_FILES + (GEOLOCATION_FILE,) + catalogue.REAL_FILES

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
MISSING_GEOLOCATION_SHARE = 0.009    # §1: 157 customer zip prefixes are missing from geolocation
GEO_DUPLICATE_SHARE = 0.26           # §1: ~26% exact duplicate geolocation rows
ACCENTED_SHARE = 0.1                 # chosen: geolocation rows using the accented city spelling
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


def _distribution(counts: dict) -> tuple[np.ndarray, np.ndarray]:
    values = np.array([int(k) for k in counts], dtype=np.int64)
    weights = np.array(list(counts.values()), dtype=float)
    return values, np.cumsum(weights) / weights.sum()


def _draw(rng: np.random.Generator, dist: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    values, cdf = dist
    return values[np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), values.size - 1)]


def _haversine_km(lat1, lng1, lat2, lng2) -> np.ndarray:
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

    orders_per_person = _distribution(targets["orders_per_customer"]["counts"])
    multi_items_per_order = _distribution(
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


def _chunk_rng(seed: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(1, chunk)))


@dataclass
class ChunkText:
    """CSV bodies of one chunk, per file, and its row counts."""

    text: dict[str, bytes]
    rows: dict[str, int]
    round_robin_counter: int


@dataclass
class Orders:
    """One entry per order of a chunk (persons' orders contiguous, in time order)."""

    person: np.ndarray
    zip_index: np.ndarray        # per person
    unique_ids: pa.Array         # per person
    city: np.ndarray
    state: np.ndarray
    purchase: np.ndarray
    status: np.ndarray
    session_repeat: np.ndarray   # placed within a day of the same person's previous order
    max_orders_per_person: int

    @property
    def n(self) -> int:
        return self.person.size


@dataclass
class Items:
    """Item rows (grouped by order, same product together) and per-order consequences."""

    order: np.ndarray
    position: np.ndarray         # 0-based item number within its order
    product: np.ndarray
    price: np.ndarray            # cents
    freight: np.ndarray          # cents
    order_total: np.ndarray      # per order, cents (borrowed for orders without items)
    main_seller: np.ndarray      # per order, -1 without items
    round_robin_counter: int


@dataclass
class Fulfilment:
    """Per-order timestamps (seconds) with presence masks, and the final status."""

    status: np.ndarray
    approved: np.ndarray
    carrier: np.ndarray
    delivered: np.ndarray
    estimated: np.ndarray
    has_approved: np.ndarray
    has_carrier: np.ndarray
    has_delivered: np.ndarray


@dataclass
class Reviews:
    """Review rows: which order, which review id / content source, and the content."""

    order: np.ndarray
    review_ids: pa.Array
    score: np.ndarray
    title_index: np.ndarray      # into the flattened title pools
    has_title: np.ndarray
    message_index: np.ndarray    # into the flattened message pools
    has_message: np.ndarray
    creation: np.ndarray
    answer: np.ndarray


def _draw_orders(world: World, rng: np.random.Generator, n_persons: int) -> Orders:
    """People (place, id, number of orders) and their orders' purchase times and statuses."""
    geo = world.geo
    k = _draw(rng, world.orders_per_person, n_persons)
    zip_index = np.minimum(np.searchsorted(world.zip_cdf, rng.random(n_persons) * world.zip_cdf[-1]),
                           len(geo.zips) - 1)
    city_of_person = geo.zips["city_index"].to_numpy()[zip_index]
    unique_ids = csvtext.hex_ids(rng, n_persons)
    person = np.repeat(np.arange(n_persons), k)
    purchase = timeline.purchase_times(rng, world.calendar, k)
    status = timeline.draw_status(rng, purchase, world.status_months, world.status_probs)
    same_person = np.concatenate([[False], person[1:] == person[:-1]])
    previous = np.concatenate([[0], purchase[:-1]])
    city = city_of_person[person]
    return Orders(
        person=person, zip_index=zip_index, unique_ids=unique_ids, city=city,
        state=world.state_index_of_city[city], purchase=purchase, status=status,
        session_repeat=same_person & (purchase - previous < DAY),
        max_orders_per_person=int(k.max()) if k.size else 0,
    )


def _fill_baskets(world: World, rng: np.random.Generator, orders: Orders, rr_counter: int) -> Items:
    """Products, prices and freight of every order's items (STATS §5, §6a-b, §9)."""
    cat, geo = world.cat, world.geo
    n = orders.n
    no_item_p = np.array([NO_ITEM_SHARE.get(s, 0.0) for s in STATUSES])[orders.status]
    has_items = rng.random(n) >= no_item_p
    item_orders = np.flatnonzero(has_items)
    main_product, rr_counter = basket.first_products(rng, cat, item_orders.size, rr_counter)
    # Quantity follows the main product's price: cheap things more often come several at a time.
    multi = rng.random(item_orders.size) < basket.multi_item_probability(
        cat.product_price_cents[main_product].astype(float), cat.multi_item_scale)
    n_items = np.where(multi, _draw(rng, world.multi_items_per_order, item_orders.size), 1)
    distinct = np.where(
        (n_items > 1) & (rng.random(item_orders.size) < MULTI_PRODUCT_SHARE),
        np.minimum(n_items, 1 + rng.geometric(EXTRA_PRODUCTS_P, item_orders.size)),
        1,
    )
    # Slots = distinct products of an order (slot 0 is the main product); extra items repeat a slot.
    slot_order = np.repeat(np.arange(item_orders.size), distinct)
    slot_first = np.concatenate([[0], np.cumsum(distinct)[:-1]])
    slot_rank = np.arange(slot_order.size) - np.repeat(slot_first, distinct)
    slot_product = np.where(slot_rank == 0, main_product[slot_order],
                            basket.extra_products(rng, cat, main_product[slot_order]))
    slot_price = basket.item_prices(rng, cat, slot_product)
    order_of_slot = item_orders[slot_order]
    seller = cat.product_seller[slot_product]
    city = orders.city[order_of_slot]
    distance = _haversine_km(geo.cities["lat"].to_numpy()[city], geo.cities["lng"].to_numpy()[city],
                             world.seller_lat[seller], world.seller_lng[seller]) + 20.0
    zero_from, zero_to = (timeline.to_seconds(day) for day in world.targets["freight"]["zero_window"])
    bought = orders.purchase[order_of_slot]
    free = (bought >= zero_from) & (bought < zero_to + DAY) & (rng.random(slot_order.size) < FREE_SHIPPING_SHARE)
    slot_freight = basket.item_freight(rng, cat.product_billable_kg[slot_product], distance, free)

    local = np.repeat(np.arange(item_orders.size), n_items)
    item_first = np.concatenate([[0], np.cumsum(n_items)[:-1]])
    rank = np.arange(local.size) - np.repeat(item_first, n_items)
    d = distinct[local]
    slot_choice = np.where(rank < d, rank, (rng.random(rank.size) * d).astype(np.int64))
    grouped = np.lexsort((rank, slot_choice, local))  # same product's items sit together
    local, slot_choice = local[grouped], slot_choice[grouped]
    item_slot = slot_first[local] + slot_choice
    order = item_orders[local]
    price, freight = slot_price[item_slot], slot_freight[item_slot]
    total = np.bincount(order, weights=price + freight, minlength=n).astype(np.int64)
    # Orders without items still carry the payment of what was bought; borrow a basket's value.
    if item_orders.size:
        total = np.where(has_items, total, total[item_orders[rng.integers(0, item_orders.size, n)]])
    else:
        total = np.full(n, 10_000, dtype=np.int64)
    main_seller = np.full(n, -1)
    main_seller[item_orders] = cat.product_seller[main_product]
    return Items(
        order=order, position=np.arange(order.size) - np.repeat(item_first, n_items),
        product=slot_product[item_slot], price=price, freight=freight, order_total=total,
        main_seller=main_seller, round_robin_counter=rr_counter,
    )


def _fulfil(world: World, rng: np.random.Generator, orders: Orders, items: Items,
            has_boleto: np.ndarray) -> Fulfilment:
    """Approval, carrier, delivery and promised dates; which exist depends on the status (§1, §2, §10)."""
    n = orders.n
    purchase = orders.purchase
    approved = purchase + timeline.approval_delay(rng, has_boleto)
    carrier = approved + timeline.handover_delay(rng, n)
    early = rng.random(n) < timeline.CARRIER_BEFORE_APPROVAL_SHARE
    carrier = np.where(early, purchase + ((approved - purchase) * rng.random(n)).astype(np.int64), carrier)
    seller_state = world.seller_state_index[np.maximum(items.main_seller, 0)]
    same_state = (items.main_seller >= 0) & (seller_state == orders.state)
    route = np.where(same_state, timeline.SAME_STATE_TRANSIT_FACTOR, timeline.CROSS_STATE_TRANSIT_FACTOR)
    median = world.transit_median_by_state[orders.state] * route * timeline.transit_period_factor(purchase)
    delivered = carrier + timeline.transit_delay(rng, median)
    delivered = np.where((delivered // DAY + 3) % 7 == 6, delivered + DAY, delivered)  # no Sunday deliveries
    estimated = timeline.estimated_delivery(rng, purchase, world.expected_days_by_state[orders.state])

    status = orders.status
    is_ = {s: status == i for i, s in enumerate(STATUSES)}
    u = rng.random((3, n))
    counts = world.targets["order_status"]["counts"]
    nulls = world.targets["order_nulls"]
    delivered_without_date = nulls["delivered_without_customer_date"] / counts["delivered"]
    canceled_with_date = nulls["canceled_with_customer_date"] / counts["canceled"]
    has_approved = ~(
        (is_["delivered"] & (u[0] < DELIVERED_WITHOUT_APPROVAL))
        | (is_["canceled"] & (u[0] < CANCELED_WITHOUT_APPROVAL))
        | is_["created"]
    )
    has_carrier = (
        (is_["delivered"] & (u[1] >= DELIVERED_WITHOUT_CARRIER))
        | is_["shipped"]
        | (is_["canceled"] & (u[1] < CANCELED_WITH_CARRIER))
    )
    has_delivered = (
        (is_["delivered"] & (u[2] >= delivered_without_date))
        | (is_["canceled"] & has_carrier & (u[2] < canceled_with_date / CANCELED_WITH_CARRIER))
    )
    # Nothing happens after the data snapshot: late deliveries are still "shipped", late pickups "invoiced".
    snapshot = world.calendar.last_purchase
    not_yet = has_delivered & (delivered > snapshot) & is_["delivered"]
    status = np.where(not_yet, STATUSES.index("shipped"), status)
    has_delivered &= ~not_yet
    stuck = has_carrier & (carrier > snapshot) & (status == STATUSES.index("shipped"))
    status = np.where(stuck, STATUSES.index("invoiced"), status)
    has_carrier &= ~stuck
    return Fulfilment(status=status, approved=approved, carrier=carrier, delivered=delivered, estimated=estimated,
                      has_approved=has_approved, has_carrier=has_carrier, has_delivered=has_delivered)


def _review_rows(world: World, rng: np.random.Generator, orders: Orders, done: Fulfilment) -> Reviews:
    """Reviews (§7): score from what happened, survey dates, texts, shared and extra reviews."""
    n = orders.n
    days_late = np.where(done.has_delivered, (done.delivered - done.estimated) / DAY, np.nan)
    scores = reviews.draw_scores(rng, world.score_mixes, done.status, days_late)
    n_reviews = _draw(rng, _review_count_distribution(world.targets), n)
    cancelled_like = np.isin(done.status, [STATUSES.index("canceled"), STATUSES.index("unavailable")])
    basis = np.where(
        done.has_delivered, np.minimum(done.delivered, done.estimated),
        np.where(cancelled_like, orders.purchase + (rng.uniform(2, 30, n) * DAY).astype(np.int64), done.estimated),
    )
    creation, answer = reviews.survey_dates(rng, basis)
    ids = csvtext.hex_ids(rng, n)
    has_message = rng.random(n) < reviews.MESSAGE_SHARE[scores - 1]
    has_title = rng.random(n) < np.where(has_message, reviews.TITLE_SHARE_WITH_MESSAGE,
                                         reviews.TITLE_SHARE_WITHOUT_MESSAGE)
    message_index = _text_index(rng, world.messages, reviews.sentiment_of(scores))
    title_index = _text_index(rng, world.titles, reviews.sentiment_of(scores))

    # A repeat order within a day of the previous one often shares that order's review (§7b reused ids):
    # follow the chain back to the first order of the session.
    reuse = orders.session_repeat & (rng.random(n) < reviews.SESSION_REVIEW_REUSE)
    source = np.arange(n)
    for _ in range(orders.max_orders_per_person):
        followed = np.where(reuse, source[np.maximum(np.arange(n) - 1, 0)], source)
        if np.array_equal(followed, source):
            break
        source = followed
    reviewed = np.where(reuse, n_reviews[source] >= 1, n_reviews >= 1)
    first = np.flatnonzero(reviewed)
    src = source[first]

    # A few orders get a second or third, later and independent review.
    extra = np.repeat(np.arange(n), np.maximum(np.where(reviewed, n_reviews, 0) - 1, 0))
    m = extra.size
    extra_scores = reviews.draw_scores(rng, world.score_mixes, done.status[extra], days_late[extra])
    extra_creation = creation[extra] + rng.integers(1, 30, m) * DAY
    extra_answer = extra_creation + (rng.lognormal(np.log(reviews.ANSWER_MEDIAN_D), reviews.ANSWER_SIGMA, m)
                                     * DAY).astype(np.int64)
    extra_message = rng.random(m) < reviews.MESSAGE_SHARE[extra_scores - 1]
    extra_title = rng.random(m) < reviews.TITLE_SHARE_WITHOUT_MESSAGE
    extra_sentiment = reviews.sentiment_of(extra_scores)
    return Reviews(
        order=np.concatenate([first, extra]),
        review_ids=pa.concat_arrays([ids.take(pa.array(src)), csvtext.hex_ids(rng, m)]),
        score=np.concatenate([scores[src], extra_scores]),
        title_index=np.concatenate([title_index[src], _text_index(rng, world.titles, extra_sentiment)]),
        has_title=np.concatenate([has_title[src], extra_title]),
        message_index=np.concatenate([message_index[src], _text_index(rng, world.messages, extra_sentiment)]),
        has_message=np.concatenate([has_message[src], extra_message]),
        creation=np.concatenate([creation[src], extra_creation]),
        answer=np.concatenate([answer[src], extra_answer]),
    )


def _text_index(rng: np.random.Generator, pools: list[list[str]], sentiment: np.ndarray) -> np.ndarray:
    """Random entry of each row's sentiment pool, as an index into the concatenated pools."""
    sizes = np.array([len(p) for p in pools])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return starts[sentiment] + (rng.random(sentiment.size) * sizes[sentiment]).astype(np.int64)


def generate_chunk(world: World, rng: np.random.Generator, n_persons: int, rr_counter: int) -> ChunkText:
    """Generate `n_persons` customers with all their orders, items, payments and reviews, as CSV text."""
    geo, cat = world.geo, world.cat
    orders = _draw_orders(world, rng, n_persons)
    items = _fill_baskets(world, rng, orders, rr_counter)
    pay = payments.draw_payments(rng, world.patterns, items.order_total)
    pay_rows = np.flatnonzero((rng.random(orders.n) >= MISSING_PAYMENT_SHARE)[pay.order])
    boleto = payments.PAYMENT_TYPES.index("boleto")
    has_boleto = np.bincount(pay.order, weights=pay.type_code == boleto, minlength=orders.n) > 0
    done = _fulfil(world, rng, orders, items, has_boleto)
    rev = _review_rows(world, rng, orders, done)

    n = orders.n
    order_ids = csvtext.hex_ids(rng, n)
    customer_ids = csvtext.quote_leading_digit(csvtext.hex_ids(rng, n))
    order_fields = csvtext.quote_leading_digit(order_ids)

    def shuffled(columns: list[pa.Array]) -> bytes:
        """Rows in random order, like the real files (which are not sorted)."""
        perm = pa.array(rng.permutation(len(columns[0])))
        return csvtext.rows([c.take(perm) for c in columns])

    text = {}
    text[ORDERS_FILE] = shuffled([
        order_fields, customer_ids, pa.array(np.array(STATUSES, dtype=object)[done.status], type=pa.string()),
        csvtext.timestamps(orders.purchase), csvtext.timestamps(done.approved, done.has_approved),
        csvtext.timestamps(done.carrier, done.has_carrier), csvtext.timestamps(done.delivered, done.has_delivered),
        csvtext.timestamps(done.estimated),
    ])
    city_names = csvtext.text_fields(pa.array(geo.cities["city"].to_numpy().astype(object), type=pa.string()))
    state_names = pa.array(np.array(geo.state_codes, dtype=object), type=pa.string())
    text[CUSTOMERS_FILE] = shuffled([
        customer_ids, csvtext.quote_leading_digit(orders.unique_ids).take(pa.array(orders.person)),
        csvtext.zip_prefixes(geo.zips["zip"].to_numpy()[orders.zip_index[orders.person]]),
        city_names.take(pa.array(orders.city)), state_names.take(pa.array(orders.state)),
    ])

    limit_base = np.where(done.has_approved, done.approved, orders.purchase)
    shipping_limit = limit_base + int(SHIPPING_LIMIT_DAYS * DAY) + rng.integers(-DAY, DAY, n)
    product_ids = csvtext.quote_leading_digit(pa.array(cat.product_ids.astype(object), type=pa.string()))
    seller_ids = csvtext.quote_leading_digit(pa.array(cat.seller_ids.astype(object), type=pa.string()))
    # The real items file is sorted by order_id, then item number.
    item_sort = pc.sort_indices(
        pa.table({"order_id": order_ids.take(pa.array(items.order)), "item": pa.array(items.position)}),
        sort_keys=[("order_id", "ascending"), ("item", "ascending")],
    )
    item_columns = [
        order_fields.take(pa.array(items.order)), csvtext.integers(items.position + 1),
        product_ids.take(pa.array(items.product)), seller_ids.take(pa.array(cat.product_seller[items.product])),
        csvtext.timestamps(shipping_limit[items.order]), csvtext.money(items.price), csvtext.money(items.freight),
    ]
    text[ITEMS_FILE] = csvtext.rows([c.take(item_sort) for c in item_columns])

    type_names = pa.array(list(payments.PAYMENT_TYPES), type=pa.string())
    text[PAYMENTS_FILE] = shuffled([
        order_fields.take(pa.array(pay.order[pay_rows])), csvtext.integers(pay.sequential[pay_rows]),
        type_names.take(pa.array(pay.type_code[pay_rows])), csvtext.integers(pay.installments[pay_rows]),
        csvtext.money(pay.value_cents[pay_rows]),
    ])

    all_titles = [t for pool in world.titles for t in pool]
    all_messages = [m for pool in world.messages for m in pool]
    text[REVIEWS_FILE] = shuffled([
        csvtext.quote_leading_digit(rev.review_ids), order_fields.take(pa.array(rev.order)),
        csvtext.integers(rev.score), csvtext.take_text(all_titles, rev.title_index, rev.has_title),
        csvtext.take_text(all_messages, rev.message_index, rev.has_message),
        csvtext.timestamps(rev.creation), csvtext.timestamps(rev.answer),
    ])
    counts = {ORDERS_FILE: n, CUSTOMERS_FILE: n, ITEMS_FILE: int(items.order.size),
              PAYMENTS_FILE: int(pay_rows.size), REVIEWS_FILE: int(rev.order.size)}
    return ChunkText(text=text, rows=counts, round_robin_counter=items.round_robin_counter)


def _review_count_distribution(targets: dict) -> tuple[np.ndarray, np.ndarray]:
    """Reviews per order: 0 (0.77%), 1, 2 (0.55%) or 3 (§7b)."""
    r = targets["reviews"]
    n = targets["scale"]["orders"]
    zero = n - r["orders_reviewed"]
    counts = {0: zero, 1: r["orders_reviewed"] - r["orders_with_two"] - r["orders_with_three"],
              2: r["orders_with_two"], 3: r["orders_with_three"]}
    return _distribution(counts)


def geolocation_text(world: World, rng: np.random.Generator, n_customers: int) -> tuple[bytes, int]:
    """Geolocation rows for every zip prefix of the world and every real seller zip prefix.

    About 53 rows per prefix at Olist scale (1,000,163 rows / 19,015 prefixes in §1), fewer for
    small runs; points scatter around the prefix's position, a quarter of rows are exact duplicates,
    some rows spell big cities with accents, and ~1% of customer prefixes are missing, as in the real file.
    """
    geo = world.geo
    zips = geo.zips
    target = world.targets["scale"]
    mean_rows = max(1.5, target["geolocation_rows"] / target["geolocation_zip_prefixes"]
                    * min(1.0, n_customers / OLIST_CUSTOMERS))
    # Real seller prefixes (with their own city) that the customer world does not have.
    sellers = catalogue.sellers()
    seller_zip = sellers["seller_zip_code_prefix"].astype(int).to_numpy()
    fresh = ~np.isin(seller_zip, zips["zip"].to_numpy())
    s_zip, first = np.unique(seller_zip[fresh], return_index=True)
    s_rows = np.flatnonzero(fresh)[first]
    keep = rng.random(len(zips)) >= MISSING_GEOLOCATION_SHARE
    zip_code = np.concatenate([zips["zip"].to_numpy()[keep], s_zip])
    lat = np.concatenate([zips["lat"].to_numpy()[keep], world.seller_lat[s_rows]])
    lng = np.concatenate([zips["lng"].to_numpy()[keep], world.seller_lng[s_rows]])
    city = np.concatenate([geo.cities["city"].to_numpy()[zips["city_index"].to_numpy()[keep]],
                           sellers["seller_city"].to_numpy()[s_rows]]).astype(object)
    state = np.concatenate([geo.cities["state"].to_numpy()[zips["city_index"].to_numpy()[keep]],
                            sellers["seller_state"].to_numpy()[s_rows]]).astype(object)
    weight = np.concatenate([zips["weight"].to_numpy()[keep], np.full(s_zip.size, zips["weight"].median())])
    rel = np.sqrt(weight / weight.mean())
    counts = 1 + rng.poisson((mean_rows - 1) * rel / rel.mean())
    order = np.argsort(zip_code, kind="stable")
    zip_code, lat, lng, city, state, counts = (a[order] for a in (zip_code, lat, lng, city, state, counts))
    row_zip = np.repeat(np.arange(zip_code.size), counts)
    first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
    jitter = rng.normal(0.0, 0.006, (2, row_zip.size))
    dup = rng.random(row_zip.size) < GEO_DUPLICATE_SHARE
    dup[first_row] = False
    row_lat = lat[row_zip] + jitter[0]
    row_lng = lng[row_zip] + jitter[1]
    # Duplicates repeat the prefix's first point exactly.
    row_lat = np.where(dup, row_lat[first_row[row_zip]], row_lat)
    row_lng = np.where(dup, row_lng[first_row[row_zip]], row_lng)
    row_city = city[row_zip]
    accented = np.array([ACCENTED_SPELLINGS.get(c, c) for c in city], dtype=object)[row_zip]
    use_accent = rng.random(row_zip.size) < ACCENTED_SHARE
    row_city = np.where(use_accent, accented, row_city)
    cols = [
        csvtext.zip_prefixes(zip_code[row_zip]), csvtext.floats(np.round(row_lat, 14)),
        csvtext.floats(np.round(row_lng, 14)),
        csvtext.text_fields(pa.array(row_city, type=pa.string())), pa.array(state[row_zip], type=pa.string()),
    ]
    return csvtext.rows(cols), int(row_zip.size)


def _prepare_target(out_dir: Path) -> Path:
    """A fresh temporary folder next to `out_dir` (same filesystem, so the final rename is atomic)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Rename the finished folder to `out_dir`, replacing an earlier generated folder (and nothing else)."""
    if out_dir.exists():
        existing = {p.name for p in out_dir.iterdir()}
        if not existing <= set(ALL_FILES):
            shutil.rmtree(tmp)
            raise FileExistsError(f"{out_dir} exists and holds files this generator did not write")
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old)
    else:
        tmp.rename(out_dir)


def generate_olist(
    n_customers: int, seed: int, out_dir: str | Path, *, chunk_customers: int = 200_000
) -> dict:
    """Write the 9 Olist CSV files for `n_customers` people into `out_dir`; return row counts.

    Files are written into a temporary folder next to `out_dir` and renamed into place at the end, so
    a crash never leaves a half-written folder. Output depends only on (n_customers, seed,
    chunk_customers); memory is bounded by the chunk size.
    """
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    if seed < 0:
        raise ValueError("seed must be a non-negative integer")
    if chunk_customers < 1:
        raise ValueError("chunk_customers must be at least 1")
    started = time.perf_counter()
    out_dir = Path(out_dir)
    world = build_world(seed, n_customers)
    tmp = _prepare_target(out_dir)
    rows = {name: 0 for name in ALL_FILES}
    try:
        for name in catalogue.REAL_FILES:
            data = catalogue.real_file_bytes(name)
            (tmp / name).write_bytes(data)
            rows[name] = len(data.splitlines()) - 1  # no embedded line breaks in these files
        geo_rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(2,)))
        geo_text, rows[GEOLOCATION_FILE] = geolocation_text(world, geo_rng, n_customers)
        (tmp / GEOLOCATION_FILE).write_bytes(csvtext.header_line(HEADERS[GEOLOCATION_FILE]) + geo_text)
        del geo_text
        handles = {name: open(tmp / name, "wb") for name in GENERATED_FILES}
        try:
            for name, handle in handles.items():
                handle.write(csvtext.header_line(HEADERS[name]))
            rr_counter = 0
            done = 0
            chunk = 0
            while done < n_customers:
                size = min(chunk_customers, n_customers - done)
                part = generate_chunk(world, _chunk_rng(seed, chunk), size, rr_counter)
                rr_counter = part.round_robin_counter
                for name, body in part.text.items():
                    handles[name].write(body)
                    rows[name] += part.rows[name]
                done += size
                chunk += 1
        finally:
            for handle in handles.values():
                handle.close()
        _move_into_place(tmp, out_dir)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "customers": n_customers,
        "orders": rows[ORDERS_FILE],
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "out_dir": str(out_dir),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: generate a folder, optionally print the calibration report."""
    parser = argparse.ArgumentParser(prog="python -m custseg.generate.olist", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=OLIST_CUSTOMERS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chunk-customers", type=int, default=200_000)
    parser.add_argument("--report", action="store_true", help="print the calibration table afterwards")
    args = parser.parse_args(argv)
    result = generate_olist(args.customers, args.seed, args.out, chunk_customers=args.chunk_customers)
    print(f"wrote {result['orders']:,} orders for {args.customers:,} customers to {args.out} "
          f"in {result['seconds']:.1f} s", file=sys.stderr)
    if args.report:
        from .calibration import calibration_report, report_markdown

        table = calibration_report(args.out)
        print(report_markdown(table))
        return 0 if bool(table["ok"].all()) else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
