"""What is in each order: real products from real sellers, with prices and freight.

The catalogue (products with their categories and weights, sellers with their states) is the real
one. What the real files do not say — which seller sells which product, how popular each product is,
its price — is drawn here so that the published item statistics come out (STATS §5, §6a-b, §9):
items per category, orders per product, price and freight quantiles, multi-product and multi-seller
baskets. Parameters without a published number are marked *chosen*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

NULL_CATEGORY = "NULL"

# chosen: relative price level (log multiplier) of a category, on top of the weight effect.
# Categories with a published median price (targets.toml [category_prices]) are fitted instead.
CATEGORY_PRICE_LEVEL = {
    "computers": 2.0, "pc_gamer": 1.8, "small_appliances_home_oven_and_coffee": 1.2, "home_appliances_2": 1.1,
    "portateis_cozinha_e_preparadores_de_alimentos": 0.8, "air_conditioning": 0.5, "musical_instruments": 0.6,
    "office_furniture": 0.4, "furniture_living_room": 0.3, "furniture_bedroom": 0.4,
    "furniture_mattress_and_upholstery": 0.4, "kitchen_dining_laundry_garden_furniture": 0.3,
    "agro_industry_and_commerce": 0.5, "industry_commerce_and_business": 0.3, "security_and_services": 0.5,
    "la_cuisine": 0.5, "cine_photo": 0.2, "tablets_printing_image": 0.3, "fixed_telephony": 0.2,
    "small_appliances": 0.4, "home_appliances": 0.3, "cool_stuff": 0.3, "perfumery": 0.2,
    "luggage_accessories": 0.3, "computers_accessories": 0.2, "baby": 0.1, "consoles_games": -0.1,
    "electronics": -0.5, "books_general_interest": -0.4, "books_technical": -0.2, "books_imported": -0.3,
    "cds_dvds_musicals": -0.6, "dvds_blu_ray": -0.6, "music": -0.4, "food": -0.5, "drinks": -0.5,
    "food_drink": -0.5, "stationery": -0.4, "party_supplies": -0.6, "christmas_supplies": -0.3,
    "flowers": -0.4, "diapers_and_hygiene": -0.5, "pet_shop": -0.3, "fashion_bags_accessories": -0.2,
    "fashion_shoes": 0.1, "fashion_male_clothing": -0.1, "fashio_female_clothing": -0.2,
    "fashion_underwear_beach": -0.3, "fashion_sport": -0.2, "fashion_childrens_clothes": -0.3,
}
PRICE_WEIGHT_ELASTICITY = 0.1       # chosen: heavier products cost a little more (log-log slope) ...
PRICE_HEAVY_ELASTICITY = 1.2        # chosen: ... and much more above 5 kg (furniture, appliances)
PRICE_NOISE_SIGMA = 0.6             # chosen: product-specific part of the price score
MIN_PRICE = 0.85                    # §6a minimum
PRICE_CHANGE_SHARE = 0.2            # §9b: 80% of products never change price
# chosen: sellers' sizes are very unequal; SP sellers are larger (SP sellers fulfil ~71% of orders).
SELLER_SIZE_SIGMA = 1.5
SP_SELLER_SIZE_FACTOR = 1.6
SELLER_FOCUS = 0.97                 # chosen: share of a seller's products in its main category
POPULARITY_SIGMA = 1.9              # chosen, fitted to §9b orders-per-product shares
# computed from the real tables: the share of multi-item orders falls from 15% (cheapest tenth of
# orders by item price) to 3.5% (dearest tenth), about price^-0.4 (was 0.15, chosen: multi-item
# orders then held too dear products and order values spread too wide).
MULTI_ITEM_PRICE_ELASTICITY = 0.4
MULTI_ITEM_CAP = 0.6                # chosen: upper bound of that probability
# §5b-c: most multi-item orders repeat one product; extra products mostly come from the same seller.
EXTRA_SAME_SELLER = 0.58            # chosen (gives ~40% multi-seller among multi-product orders)
EXTRA_SAME_CATEGORY = 0.45          # chosen (gives ~25% multi-category among multi-product orders)
# chosen, fitted to §6b: freight = (base + per_km * km + per_kg * billable kg^exponent) * t-noise.
FREIGHT_BASE = 11.0
FREIGHT_PER_1000KM = 2.0
FREIGHT_PER_KG = 2.0
FREIGHT_EXPONENT = 1.0
FREIGHT_SIGMA = 0.2
FREIGHT_TAIL_DOF = 3.0              # Student-t noise: a few items pay far more (max 409.68 in §6b)


@dataclass(frozen=True)
class Catalogue:
    """Products and sellers with everything needed to fill baskets."""

    product_ids: np.ndarray          # str, real ids
    product_category: np.ndarray     # int index into categories
    product_billable_kg: np.ndarray  # carriers charge max(weight, volume / 6000 cm3 per kg)
    product_price_cents: np.ndarray  # list price
    product_changes_price: np.ndarray
    product_seller: np.ndarray       # int index into seller arrays
    categories: list[str]            # Portuguese names, NULL_CATEGORY for missing
    seller_ids: np.ndarray
    seller_product_order: np.ndarray  # product indices grouped by seller
    seller_product_start: np.ndarray  # CSR offsets into seller_product_order (len sellers + 1)
    pick_key: np.ndarray             # sorted: category index + cumulative popularity within category
    pick_product: np.ndarray         # product index for each pick_key entry
    popular_category_cdf: np.ndarray  # category mix of popularity-driven picks
    round_robin: np.ndarray          # permutation of all products, cycled so every product sells
    round_robin_share: float         # share of main products taken from the round robin
    multi_item_scale: float          # see multi_item_probability
    pick_weight: np.ndarray          # chance that an order's main product is this one


def category_item_shares(targets: dict, translation: dict[str, str], categories: list[str]) -> np.ndarray:
    """Published share of order items per category (§9a), indexed like `categories`."""
    english = {k: v for k, v in targets["category_items"].items() if k != "source"}
    untranslated = {k: v for k, v in targets["category_items_untranslated"].items() if k != "source"}
    counts = []
    for cat in categories:
        if cat in untranslated:
            counts.append(untranslated[cat])
        else:
            counts.append(english.get(translation.get(cat, cat), 0))
    counts = np.asarray(counts, dtype=float)
    return counts / counts.sum()


def build_catalogue(
    rng: np.random.Generator,
    products: pd.DataFrame,
    sellers: pd.DataFrame,
    translation: dict[str, str],
    targets: dict,
    expected_first_picks: float,
) -> Catalogue:
    """Assign sellers, popularity and list prices to the real products.

    `expected_first_picks` (orders with items in the whole run) sets how much of the product choice is a
    round robin over the catalogue: enough that at Olist scale every product sells at least once, as in
    the real data, and a vanishing share at 10M customers.
    """
    category_names = products["product_category_name"].fillna(NULL_CATEGORY).to_numpy()
    categories = sorted(set(category_names))
    cat_index = {c: i for i, c in enumerate(categories)}
    product_category = np.array([cat_index[c] for c in category_names], dtype=np.int64)
    n_products, n_cats = len(products), len(categories)
    weight_g = products["product_weight_g"].to_numpy(dtype=float)
    weight_g = np.where(np.isnan(weight_g), np.nanmedian(weight_g), weight_g)
    dims = products[["product_length_cm", "product_height_cm", "product_width_cm"]].to_numpy(dtype=float)
    dims = np.where(np.isnan(dims), np.nanmedian(dims, axis=0), dims)
    volume_cm3 = dims.prod(axis=1)

    # Sellers: unequal sizes, each focused on one main category.
    n_sellers = len(sellers)
    seller_state = sellers["seller_state"].to_numpy()
    size = rng.lognormal(0.0, SELLER_SIZE_SIGMA, n_sellers)
    size *= np.where(seller_state == "SP", SP_SELLER_SIZE_FACTOR, 1.0)
    products_per_cat = np.bincount(product_category, minlength=n_cats).astype(float)
    main_cat = rng.choice(n_cats, size=n_sellers, p=products_per_cat / products_per_cat.sum())
    product_seller = np.empty(n_products, dtype=np.int64)
    for c in range(n_cats):
        members = np.flatnonzero(product_category == c)
        affinity = np.where(main_cat == c, SELLER_FOCUS, (1 - SELLER_FOCUS) / n_cats) * size
        product_seller[members] = rng.choice(n_sellers, size=members.size, p=affinity / affinity.sum())
    # Every real seller appears in the real items: give sellers without a product one of their category.
    owned = np.bincount(product_seller, minlength=n_sellers)
    for s in np.flatnonzero(owned == 0):
        candidates = np.flatnonzero(product_category == main_cat[s])
        candidates = candidates[owned[product_seller[candidates]] > 1]
        if candidates.size:
            product = candidates[rng.integers(candidates.size)]
            owned[product_seller[product]] -= 1
            product_seller[product] = s
            owned[s] += 1
    seller_product_order = np.argsort(product_seller, kind="stable")
    seller_product_start = np.concatenate([[0], np.cumsum(np.bincount(product_seller, minlength=n_sellers))])

    # Popularity within category, and the category mix left for popularity-driven picks.
    popularity = rng.lognormal(0.0, POPULARITY_SIGMA, n_products)
    order = np.lexsort((np.arange(n_products), product_category))
    pop_sorted = popularity[order]
    cat_sorted = product_category[order]
    cat_total = np.bincount(cat_sorted, weights=pop_sorted, minlength=n_cats)
    within = np.cumsum(pop_sorted) - np.concatenate([[0], np.cumsum(cat_total)])[cat_sorted]
    pick_key = cat_sorted + np.minimum(within / cat_total[cat_sorted], 1.0 - 1e-12)
    item_share = category_item_shares(targets, translation, categories)
    round_robin_share = min(1.0, 1.03 * n_products / max(expected_first_picks, 1.0))
    product_share = products_per_cat / n_products

    def pick_weights(pick_share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Category mix of popularity picks, and each product's chance to be an order's main product."""
        popular = np.maximum(pick_share - round_robin_share * product_share, 0.0)
        popular /= popular.sum()
        weight = (round_robin_share / n_products
                  + (1 - round_robin_share) * popular[product_category] * popularity / cat_total[product_category])
        return popular, weight

    popular, pick_weight = pick_weights(item_share)
    price_cents, multi_item_scale = _list_prices(rng, product_category, categories, weight_g, pick_weight,
                                                 translation, targets)
    # Cheap categories sell more items per order; pick categories so that *items* match §9a.
    multi = multi_item_probability(price_cents.astype(float), multi_item_scale)
    quantity = 1 + multi * _extra_items_when_multi(targets)
    per_cat_quantity = (np.bincount(product_category, weights=pick_weight * quantity, minlength=n_cats)
                        / np.bincount(product_category, weights=pick_weight, minlength=n_cats))
    pick_share = item_share / per_cat_quantity
    popular, pick_weight = pick_weights(pick_share / pick_share.sum())
    price_cents, multi_item_scale = _list_prices(rng, product_category, categories, weight_g, pick_weight,
                                                 translation, targets)
    popular_cdf = np.cumsum(popular)
    return Catalogue(
        product_ids=products["product_id"].to_numpy().astype(str),
        product_category=product_category,
        product_billable_kg=np.maximum(weight_g / 1000.0, volume_cm3 / 6000.0),
        product_price_cents=price_cents,
        product_changes_price=rng.random(n_products) < PRICE_CHANGE_SHARE,
        product_seller=product_seller,
        categories=categories,
        seller_ids=sellers["seller_id"].to_numpy().astype(str),
        seller_product_order=seller_product_order,
        seller_product_start=seller_product_start,
        pick_key=pick_key,
        pick_product=order,
        popular_category_cdf=popular_cdf,
        round_robin=rng.permutation(n_products),
        round_robin_share=round_robin_share,
        multi_item_scale=multi_item_scale,
        pick_weight=pick_weight,
    )


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: list[float]) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order]) / weights.sum()
    return values[order][np.searchsorted(cum, qs)]


def multi_item_probability(price_cents: np.ndarray, scale: float) -> np.ndarray:
    """Chance that an order holds more than one item, given its main product's price.

    Cheap things are bought several at a time a little more often (chosen elasticity); `scale` is
    solved so that the published share of multi-item orders (§5a) comes out.
    """
    return np.minimum(MULTI_ITEM_CAP, scale * _price_factor(price_cents))


def _price_factor(price_cents: np.ndarray) -> np.ndarray:
    return (price_cents / 7500.0) ** -MULTI_ITEM_PRICE_ELASTICITY


def _multi_item_scale(price_cents: np.ndarray, pick_weight: np.ndarray, share: float) -> float:
    """Scale giving the wanted pick-weighted share of multi-item orders (bisection)."""
    factor = _price_factor(price_cents)
    weights = pick_weight / pick_weight.sum()
    lo, hi = 0.0, 10.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if np.sum(weights * np.minimum(MULTI_ITEM_CAP, mid * factor)) < share:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _multi_share(targets: dict) -> float:
    """Published share of orders with more than one item (§5a)."""
    counts = targets["items_per_order"]["counts"]
    return 1 - counts["1"] / sum(counts.values())


def _extra_items_when_multi(targets: dict) -> float:
    """Mean items beyond the first in a multi-item order (§5a)."""
    return (targets["items_per_order"]["mean"] - 1) / _multi_share(targets)


def price_quantile_function(tab: dict) -> tuple[np.ndarray, np.ndarray]:
    """Knots (probability, log price) of the item-price distribution, log-linear between knots.

    The knots are the published min, p1, p5, p25, median, p75, p95, p99 and max (§6a) and the p0.1,
    p10 and p90 of the real items (without p90, the interpolation between p75 = 134.90 and p95 = 349.90
    put p90 at ~275 instead of 229.80, and orders came out too expensive), plus a p99.9 derived so
    that the distribution's mean equals the published mean (without it, the stretch from p99 = 890 to
    max = 6,735 would hold far too much money). If even p99.9 = p99 leaves the mean too high, p99.9
    stays at p99.
    """
    probs = np.array([0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0])
    known = [tab["min"], tab["p001"], tab["p01"], tab["p05"], tab["p10"], tab["p25"], tab["median"], tab["p75"],
             tab["p90"], tab["p95"], tab["p99"]]

    def mean_with(p999: float) -> float:
        # Exact mean of exp(log-linear) over each segment: width * (e^b - e^a) / (b - a).
        log_q = np.log(known + [p999, tab["max"]])
        width, a, b = np.diff(probs), log_q[:-1], log_q[1:]
        flat = np.isclose(a, b)
        seg = np.where(flat, np.exp(a), (np.exp(b) - np.exp(a)) / np.where(flat, 1.0, b - a))
        return float(np.sum(width * seg))

    lo, hi = tab["p99"], tab["max"]
    for _ in range(60):
        mid = np.sqrt(lo * hi)
        lo, hi = (mid, hi) if mean_with(mid) < tab["mean"] else (lo, mid)
    return probs, np.log(known + [np.sqrt(lo * hi), tab["max"]])


def _list_prices(
    rng: np.random.Generator,
    product_category: np.ndarray,
    categories: list[str],
    weight_g: np.ndarray,
    pick_weight: np.ndarray,
    translation: dict[str, str],
    targets: dict,
) -> tuple[np.ndarray, float]:
    """List price of each product in cents, following the published item-price distribution.

    Each product gets a price score = category level + elasticity * log(weight) + noise. Scores are
    ranked by expected items sold (picks times expected quantity) and mapped onto the published price
    quantiles of §6a (log-linear between min, p1, p5, p25, median, p75, p95, p99 and max), so the
    item-weighted price distribution is the real one. Categories with a published median (§9a) are
    shifted until they hit it. Prices end the Brazilian way (x9.90, x9.99, round reais).
    Also returns the multi-item scale (see multi_item_probability).
    """
    n = product_category.size
    noise = rng.normal(0.0, PRICE_NOISE_SIGMA, n)
    level = np.array([CATEGORY_PRICE_LEVEL.get(translation.get(c, c), 0.0) for c in categories])
    log_weight = np.log(np.maximum(weight_g, 50.0))
    score = (level[product_category] + PRICE_WEIGHT_ELASTICITY * (log_weight - np.log(700.0))
             + PRICE_HEAVY_ELASTICITY * np.maximum(log_weight - np.log(5000.0), 0.0) + noise)
    probs, log_q = price_quantile_function(targets["price"])
    published = {categories.index(c): np.log(v[1]) for c, v in targets["category_prices"].items()
                 if c != "source" and c in categories}
    multi_share = _multi_share(targets)
    extra = _extra_items_when_multi(targets)
    shift = np.zeros(len(categories))
    expected_items = pick_weight.copy()
    multi_scale = multi_share
    for _ in range(25):
        adjusted = score + shift[product_category]
        order = np.argsort(adjusted, kind="stable")
        cum = np.cumsum(expected_items[order])
        position = np.empty(n)
        position[order] = (cum - expected_items[order] / 2) / cum[-1]
        log_price = np.interp(position, probs, log_q)
        for cat, target in published.items():
            members = product_category == cat
            current = _weighted_quantiles(log_price[members], expected_items[members], [0.5])[0]
            shift[cat] += target - current
        multi_scale = _multi_item_scale(np.exp(log_price) * 100, pick_weight, multi_share)
        expected_items = pick_weight * (1 + multi_item_probability(np.exp(log_price) * 100, multi_scale) * extra)
    cents = _shop_price_cents(np.exp(log_price), rng)
    return cents, _multi_item_scale(cents.astype(float), pick_weight, multi_share)


def _shop_price_cents(raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Round raw prices to shop-like endings: 59.90, 29.99, 129.00, or exact cents (chosen mix)."""
    style = rng.random(raw.size)
    step = np.where(raw >= 200, 10.0, 1.0)
    whole = np.maximum(np.round(raw / step) * step, 1.0)
    cents = np.where(
        style < 0.45, whole * 100 - 10,
        np.where(style < 0.70, whole * 100 - 1, np.where(style < 0.88, whole * 100, np.round(raw * 100))),
    )
    return np.maximum(cents, MIN_PRICE * 100).astype(np.int64)


def pick_popular(rng: np.random.Generator, catalogue: Catalogue, category: np.ndarray) -> np.ndarray:
    """A product of the given category, drawn by popularity."""
    key = category + rng.random(category.size) * (1.0 - 1e-9)
    pos = np.minimum(np.searchsorted(catalogue.pick_key, key, side="right"), catalogue.pick_key.size - 1)
    return catalogue.pick_product[pos]


def first_products(
    rng: np.random.Generator, catalogue: Catalogue, n: int, counter: int
) -> tuple[np.ndarray, int]:
    """The main product of `n` orders; returns the products and the advanced round-robin counter."""
    use_rr = rng.random(n) < catalogue.round_robin_share
    rr_pos = counter + np.cumsum(use_rr) - 1
    rr_products = catalogue.round_robin[rr_pos % catalogue.round_robin.size]
    category = np.searchsorted(catalogue.popular_category_cdf, rng.random(n), side="right")
    category = np.minimum(category, catalogue.popular_category_cdf.size - 1)
    popular = pick_popular(rng, catalogue, category)
    return np.where(use_rr, rr_products, popular), counter + int(use_rr.sum())


def extra_products(rng: np.random.Generator, catalogue: Catalogue, main_product: np.ndarray) -> np.ndarray:
    """A second/third distinct product for a basket: same seller, same category, or anything."""
    n = main_product.size
    seller = catalogue.product_seller[main_product]
    start = catalogue.seller_product_start[seller]
    count = catalogue.seller_product_start[seller + 1] - start
    same_seller = catalogue.seller_product_order[start + (rng.random(n) * count).astype(np.int64)]
    same_category = pick_popular(rng, catalogue, catalogue.product_category[main_product])
    any_category = np.minimum(
        np.searchsorted(catalogue.popular_category_cdf, rng.random(n), side="right"),
        catalogue.popular_category_cdf.size - 1,
    )
    anything = pick_popular(rng, catalogue, any_category)
    u = rng.random(n)
    choice = np.where(
        (u < EXTRA_SAME_SELLER) & (count > 1),
        same_seller,
        np.where(rng.random(n) < EXTRA_SAME_CATEGORY, same_category, anything),
    )
    return choice


def item_prices(rng: np.random.Generator, catalogue: Catalogue, product: np.ndarray) -> np.ndarray:
    """Price in cents of each item: the list price, or a promotion/increase for price-changing products."""
    list_price = catalogue.product_price_cents[product]
    changes = catalogue.product_changes_price[product] & (rng.random(product.size) < 0.5)
    factor = rng.choice(np.array([0.85, 0.9, 0.95, 1.05, 1.1]), size=product.size)
    changed = np.maximum(np.round(list_price * factor / 10.0) * 10 - 10, MIN_PRICE * 100).astype(np.int64)
    return np.where(changes, changed, list_price)


def item_freight(
    rng: np.random.Generator, weight_kg: np.ndarray, distance_km: np.ndarray, free_shipping: np.ndarray
) -> np.ndarray:
    """Freight in cents of each item: grows with distance and weight, zero under free-shipping promotions."""
    raw = FREIGHT_BASE + FREIGHT_PER_1000KM * distance_km / 1000.0 + FREIGHT_PER_KG * weight_kg**FREIGHT_EXPONENT
    raw = raw * np.exp(FREIGHT_SIGMA * rng.standard_t(FREIGHT_TAIL_DOF, weight_kg.size))
    cents = np.round(np.minimum(raw, 410.0) * 100).astype(np.int64)
    return np.where(free_shipping, 0, cents)
