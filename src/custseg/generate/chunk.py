"""One chunk of customers: their orders, items, payments and reviews, as CSV text (one random stream per chunk)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import basket, csvtext, payments, reviews, timeline
from .timeline import DAY, STATUSES
from .files import CUSTOMERS_FILE, ITEMS_FILE, ORDERS_FILE, PAYMENTS_FILE, REVIEWS_FILE
from .world import CANCELED_WITHOUT_APPROVAL, CANCELED_WITH_CARRIER, DELIVERED_WITHOUT_APPROVAL, DELIVERED_WITHOUT_CARRIER, EXTRA_PRODUCTS_P, FREE_SHIPPING_SHARE, MISSING_PAYMENT_SHARE, MULTI_PRODUCT_SHARE, NO_ITEM_SHARE, SHIPPING_LIMIT_DAYS, World, distribution, draw, haversine_km


def chunk_rng(seed: int, chunk: int) -> np.random.Generator:
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
    k = draw(rng, world.orders_per_person, n_persons)
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
    n_items = np.where(multi, draw(rng, world.multi_items_per_order, item_orders.size), 1)
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
    distance = haversine_km(geo.cities["lat"].to_numpy()[city], geo.cities["lng"].to_numpy()[city],
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
    n_reviews = draw(rng, review_count_distribution(world.targets), n)
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


def review_count_distribution(targets: dict) -> tuple[np.ndarray, np.ndarray]:
    """Reviews per order: 0 (0.77%), 1, 2 (0.55%) or 3 (§7b)."""
    r = targets["reviews"]
    n = targets["scale"]["orders"]
    zero = n - r["orders_reviewed"]
    counts = {0: zero, 1: r["orders_reviewed"] - r["orders_with_two"] - r["orders_with_three"],
              2: r["orders_with_two"], 3: r["orders_with_three"]}
    return distribution(counts)
