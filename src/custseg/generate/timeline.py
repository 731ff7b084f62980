"""When orders are placed, what status they end in, and when they are approved, shipped and delivered.

All times are int64 seconds since 1970-01-01 (naive local Brazilian time, as in the Kaggle files).
The purchase calendar follows STATS §3 (orders per month, weekday and hour mix, the Black Friday day
and the end-of-data tail). Status follows §2 and the per-month delivered counts of §3a. Fulfilment
stage durations follow §10. Parameters that STATS does not publish are marked *chosen*; their values
were tuned so the published quantiles come out (see the calibration report).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY = 86_400
HOUR = 3_600

STATUSES = ("delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created", "approved")
NOT_DELIVERED = STATUSES[1:]

# chosen: status multipliers by month, from the prose of STATS §2 ("shipped" stuck in Mar-Apr 2018,
# cancellations spike in Feb and Aug 2018, "unavailable" spikes in Nov 2017).
STATUS_MONTH_MULTIPLIERS = {
    ("2018-03", "shipped"): 2.0, ("2018-04", "shipped"): 2.0,
    ("2018-02", "canceled"): 2.0, ("2018-08", "canceled"): 2.0,
    ("2017-11", "unavailable"): 2.0,
}
# chosen: months after the data cut-off hold only cancellations and the odd shipped order (§2 prose).
CUT_OFF_MONTHS = ("2018-09", "2018-10")
CUT_OFF_SHIPPED_SHARE = 0.05

# chosen: how the 2016 months spread over days (STATS gives only the month totals).
DAYS_2016 = {"2016-09": [4, 5, 13, 15], "2016-10": list(range(2, 11)), "2016-12": [23]}
SHARE_OCT_2016_OUTSIDE = 0.03

# chosen: Black Friday intraday shape (§3b prose: spike at 00h, peaks at 10h and 13h, highest at 22h).
BLACK_FRIDAY_HOUR_BOOST = {0: 3.0, 10: 1.3, 13: 1.3, 22: 1.7}

# chosen, fitted to §4 repeat-purchase quantiles: second and later orders follow the previous one
# after a "same session" gap (minutes) or a long gap (weeks to months).
SESSION_SHARE = 0.31
SESSION_GAP_MEDIAN_S = 12 * 60
SESSION_GAP_SIGMA = 1.3
LONG_GAP_MEDIAN_DAYS = 60.0
LONG_GAP_SIGMA = 1.25
MAX_SPAN_DAYS = 600.0
# chosen: a person's first order leaves room for at most this many days of later orders before the end
# of the regular period; a longer run of gaps is shrunk to fit. (Leaving room for the whole span, up to
# 600 days, pushed the first orders of the ~150 people with the longest spans into Oct 2016 - Jan 2017:
# 17% of the people first buying in Oct 2016 were repeat buyers, against 3.7% in the real tables, and
# Oct 2016 had 392 orders instead of 324; the spans beyond the cut-off were clipped to the last purchase
# second, piling 12 orders onto 2018-10-17 17:30:18: Oct 2018 had 17 orders instead of 4.)
FIRST_ORDER_ROOM_DAYS = 365.0

# chosen, fitted to §10: purchase -> approval (card payments are approved in minutes, some are held
# for review; boleto payments clear a day or two later).
CARD_FAST_SHARE = 0.80
CARD_FAST_MEDIAN_H = 0.18
CARD_FAST_SIGMA = 0.9
CARD_SLOW_MEDIAN_H = 10.0
CARD_SLOW_SIGMA = 1.1
BOLETO_MEDIAN_H = 30.0
BOLETO_SIGMA = 0.55
# chosen, fitted to §10: approval -> carrier and carrier -> customer.
HANDOVER_MEDIAN_D = 1.85
HANDOVER_SIGMA = 0.9
TRANSIT_SIGMA = 0.62
SAME_STATE_TRANSIT_FACTOR = 0.75
CROSS_STATE_TRANSIT_FACTOR = 1.08
# chosen: delivery slowed from Aug 2017, peaked in the late-delivery crisis (§10 prose) and recovered.
TRANSIT_PERIOD_FACTORS = [
    ("2016-01-01", 1.00), ("2017-08-01", 1.08), ("2017-11-16", 1.30), ("2018-01-01", 1.12),
    ("2018-02-19", 1.65), ("2018-03-19", 1.00), ("2018-05-01", 0.78),
]
# chosen, fitted to §10 lateness: estimated horizon = a * expected delivery days of the state + b + noise.
ESTIMATE_SCALE = 1.1
ESTIMATE_OFFSET_D = 11.0
ESTIMATE_NOISE_D = 1.5
ESTIMATE_SKEW_SHAPE = 1.0        # plus a right-skewed gamma term: some promises are very generous
ESTIMATE_SKEW_SCALE = 4.0
CARRIER_BEFORE_APPROVAL_SHARE = 1359 / 96478  # §1 anomaly, as a share of orders with both dates


def to_seconds(text: str) -> int:
    """'YYYY-MM-DD[ HH:MM:SS]' -> seconds since the epoch."""
    return int(np.datetime64(text.replace(" ", "T"), "s").astype(np.int64))


def month_of(seconds: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01) of each time."""
    return seconds.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)


def month_index(month: str) -> int:
    return int(np.datetime64(month, "M").astype(np.int64))


@dataclass(frozen=True)
class PurchaseCalendar:
    """Day-level purchase probabilities over the whole data span, plus the hour-of-day mix."""

    day_starts: np.ndarray       # int64 seconds at midnight of each day
    day_cdf: np.ndarray          # cumulative probability of a purchase up to and including each day
    hour_cdf: np.ndarray         # 24 cumulative probabilities
    black_friday_hour_cdf: np.ndarray
    black_friday_day: int        # index into day_starts
    last_purchase: int           # seconds; nothing is bought later
    last_regular: int            # seconds; end of the last month with deliveries (later = cut-off tail)
    next_open_day: np.ndarray    # for each day, the first day from it on that normally has orders


def build_calendar(targets: dict) -> PurchaseCalendar:
    """Spread the published monthly counts over days (weekday mix, Black Friday, cut-off tail)."""
    monthly = {m: v[0] for m, v in targets["monthly_orders"].items() if m != "source"}
    weekday = np.asarray(targets["weekday_orders"]["counts"], dtype=float)
    weekday = weekday / weekday.mean()
    days_tab = targets["notable_days"]
    bf_day = np.datetime64(days_tab["black_friday"], "D")
    tail = days_tab["august_2018_tail"]
    first = np.datetime64("2016-09-01", "D")
    last = np.datetime64(days_tab["last_purchase"][:10], "D")
    days = np.arange(first, last + 1)
    weights = np.zeros(days.size)
    months = days.astype("datetime64[M]")
    day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    dow = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    for month, total in monthly.items():
        in_month = months == np.datetime64(month, "M")
        w = np.where(in_month, weekday[dow], 0.0)
        if month in DAYS_2016:
            chosen = in_month & np.isin(day_of_month, DAYS_2016[month])
            w = np.where(chosen, 1.0, 0.0)
            if month == "2016-10":
                rest = in_month & ~chosen
                w = w / w.sum() * (1 - SHARE_OCT_2016_OUTSIDE) + np.where(rest, SHARE_OCT_2016_OUTSIDE / rest.sum(), 0)
        elif month in CUT_OFF_MONTHS:
            w = np.where(in_month, 1.0, 0.0)
        if month == str(bf_day.astype("datetime64[M]")):
            fixed = {bf_day: days_tab["black_friday_orders"], bf_day + 1: days_tab["day_after_black_friday_orders"]}
            free = in_month & ~np.isin(days, list(fixed))
            w = np.where(free, w, 0.0) / np.where(free, w, 0.0).sum() * (total - sum(fixed.values()))
            for day, count in fixed.items():
                w[days == day] = count
            weights += w
            continue
        if month == "2018-08":
            tail_days = day_of_month > 31 - len(tail)
            w = np.where(in_month & ~tail_days, w, 0.0)
            w = w / w.sum() * (total - sum(tail))
            w[in_month & tail_days] = tail
            weights += w
            continue
        weights += w / w.sum() * total
    hours = np.asarray(targets["hour_orders"]["counts"], dtype=float)
    bf_hours = hours.copy()
    for hour, boost in BLACK_FRIDAY_HOUR_BOOST.items():
        bf_hours[hour] *= boost
    last_regular_month = max(m for m, v in targets["monthly_orders"].items() if m != "source" and v[1] > 0)
    last_regular = np.datetime64(last_regular_month, "M") + 1
    # Days expecting fewer than two orders at Olist scale are "closed" (e.g. November 2016, absent in
    # the real data); a repeat order falling on one moves to the next open day.
    open_day = (weights >= 2.0) | (days >= last_regular.astype("datetime64[D]"))
    next_open = np.full(days.size, days.size - 1)
    following = days.size - 1
    for i in range(days.size - 1, -1, -1):
        if open_day[i]:
            following = i
        next_open[i] = following
    return PurchaseCalendar(
        day_starts=days.astype("datetime64[s]").astype(np.int64),
        day_cdf=np.cumsum(weights) / weights.sum(),
        hour_cdf=np.cumsum(hours) / hours.sum(),
        black_friday_hour_cdf=np.cumsum(bf_hours) / bf_hours.sum(),
        black_friday_day=int(np.flatnonzero(days == bf_day)[0]),
        last_purchase=to_seconds(days_tab["last_purchase"]),
        last_regular=int(last_regular.astype("datetime64[s]").astype(np.int64)),
        next_open_day=next_open,
    )


def repeat_gaps(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(seconds to the customer's next order, whether it is a same-session gap)."""
    session = rng.random(n) < SESSION_SHARE
    short = np.minimum(rng.lognormal(np.log(SESSION_GAP_MEDIAN_S), SESSION_GAP_SIGMA, n), 23 * HOUR)
    long = np.clip(rng.lognormal(np.log(LONG_GAP_MEDIAN_DAYS), LONG_GAP_SIGMA, n), 1.0, MAX_SPAN_DAYS) * DAY
    return np.where(session, short, long).astype(np.int64), session


def _time_of_day(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """Seconds after midnight, hour from the published hour-of-day mix (§3d)."""
    hour = np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), 23)
    return hour * HOUR + rng.integers(0, HOUR, n)


def purchase_times(
    rng: np.random.Generator, calendar: PurchaseCalendar, orders_per_person: np.ndarray
) -> np.ndarray:
    """Purchase time of every order, persons in order, each person's orders in time order.

    The first order is drawn from the calendar restricted to days that leave room for the person's
    later orders (at most FIRST_ORDER_ROOM_DAYS) before the end of the regular period (August 2018), so
    repeat orders do not pile up in the cut-off tail; a person whose gaps would still run past it has
    them shrunk in proportion. A later order comes minutes after the previous one (same session) or days
    later at a fresh time of day; one falling on a day without regular trade moves to the next open day.
    """
    n_orders = int(orders_per_person.sum())
    person_start = np.concatenate([[0], np.cumsum(orders_per_person)[:-1]])
    rank = np.arange(n_orders) - np.repeat(person_start, orders_per_person)
    gaps, session = repeat_gaps(rng, n_orders)
    gaps[person_start] = 0
    offsets = np.cumsum(gaps)
    offsets -= np.repeat(offsets[person_start], orders_per_person)
    # One day of slack per later order, for the fresh time of day.
    span = offsets[person_start + orders_per_person - 1] + (orders_per_person - 1) * DAY
    span = np.minimum(span, int(FIRST_ORDER_ROOM_DAYS * DAY))
    latest_start = calendar.last_regular - span
    limit_day = np.searchsorted(calendar.day_starts, latest_start, side="right") - 1
    # One-time buyers may buy in the cut-off tail too (Sep - Oct 2018, mostly canceled orders).
    limit_day = np.where(orders_per_person == 1, calendar.day_starts.size - 1, limit_day)
    u = rng.random(orders_per_person.size) * calendar.day_cdf[np.maximum(limit_day, 0)]
    day = np.minimum(np.searchsorted(calendar.day_cdf, u, side="right"), calendar.day_starts.size - 1)
    time_of_day = np.where(
        day == calendar.black_friday_day,
        _time_of_day(rng, calendar.black_friday_hour_cdf, day.size),
        _time_of_day(rng, calendar.hour_cdf, day.size),
    )
    fresh_time_of_day = _time_of_day(rng, calendar.hour_cdf, n_orders)
    times = np.empty(n_orders, dtype=np.int64)
    times[person_start] = calendar.day_starts[day] + time_of_day
    # Shrink the gaps of people whose later orders would run past the regular period.
    room = calendar.last_regular - times[person_start] - orders_per_person * DAY
    total_gap = offsets[person_start + orders_per_person - 1]
    shrink = np.where(total_gap > room, np.maximum(room, 0) / np.maximum(total_gap, 1), 1.0)
    gaps = np.where(np.repeat(shrink < 1.0, orders_per_person),
                    (gaps * np.repeat(shrink, orders_per_person)).astype(np.int64), gaps)
    for r in range(1, int(orders_per_person.max()) if orders_per_person.size else 0):
        idx = np.flatnonzero(rank == r)
        previous = times[idx - 1]
        later = previous + gaps[idx]
        new_day = (later // DAY) * DAY + fresh_time_of_day[idx]
        new_day = np.where(new_day <= previous, new_day + DAY, new_day)
        later = np.where(session[idx], later, new_day)
        day_of = np.clip(np.searchsorted(calendar.day_starts, later, side="right") - 1, 0, calendar.day_starts.size - 1)
        moved = calendar.next_open_day[day_of]
        times[idx] = later + (calendar.day_starts[moved] - calendar.day_starts[day_of])
    return np.minimum(times, calendar.last_purchase)


def status_probabilities(targets: dict) -> tuple[np.ndarray, np.ndarray]:
    """(months, P[status | month]) with per-month delivered shares (§3a) and the §2 status mix.

    The not-delivered mix is re-weighted so the monthly multipliers keep the published totals.
    """
    monthly = {m: v for m, v in targets["monthly_orders"].items() if m != "source"}
    totals = targets["order_status"]["counts"]
    months = list(monthly)
    nd_per_month = np.array([monthly[m][0] - monthly[m][1] for m in months], dtype=float)
    cut = np.array([m in CUT_OFF_MONTHS for m in months])
    mult = np.ones((len(months), len(NOT_DELIVERED)))
    for (month, status), factor in STATUS_MONTH_MULTIPLIERS.items():
        mult[months.index(month), NOT_DELIVERED.index(status)] = factor
    cut_mix = np.zeros(len(NOT_DELIVERED))
    cut_mix[NOT_DELIVERED.index("canceled")] = 1 - CUT_OFF_SHIPPED_SHARE
    cut_mix[NOT_DELIVERED.index("shipped")] = CUT_OFF_SHIPPED_SHARE
    target = np.array([totals[s] for s in NOT_DELIVERED], dtype=float)
    target = np.maximum(target - nd_per_month[cut].sum() * cut_mix, 0.5)
    base = target / target.sum()
    for _ in range(50):
        mix = base * mult
        mix /= mix.sum(axis=1, keepdims=True)
        expected = (nd_per_month[~cut, None] * mix[~cut]).sum(axis=0)
        base = base * target / np.maximum(expected, 1e-9)
        base /= base.sum()
    mix = base * mult
    mix /= mix.sum(axis=1, keepdims=True)
    mix[cut] = cut_mix
    delivered_share = np.array([monthly[m][1] / monthly[m][0] for m in months])
    probs = np.column_stack([delivered_share, (1 - delivered_share)[:, None] * mix])
    return np.array([month_index(m) for m in months]), probs


def draw_status(rng: np.random.Generator, purchase: np.ndarray, months: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Order status (index into STATUSES) given the purchase month."""
    row = np.clip(np.searchsorted(months, month_of(purchase)), 0, months.size - 1)
    cdf = np.cumsum(probs, axis=1)[row]
    return np.minimum((rng.random(purchase.size)[:, None] >= cdf).sum(axis=1), len(STATUSES) - 1)


def transit_period_factor(purchase: np.ndarray) -> np.ndarray:
    """Delivery-speed multiplier of each order's purchase period (chosen, see TRANSIT_PERIOD_FACTORS)."""
    starts = np.array([to_seconds(d) for d, _ in TRANSIT_PERIOD_FACTORS])
    factors = np.array([f for _, f in TRANSIT_PERIOD_FACTORS])
    return factors[np.searchsorted(starts, purchase, side="right") - 1]


def approval_delay(rng: np.random.Generator, has_boleto: np.ndarray) -> np.ndarray:
    """Seconds from purchase to approval: minutes for most cards, a day or more for boleto."""
    n = has_boleto.size
    fast = rng.random(n) < CARD_FAST_SHARE
    card = np.where(
        fast,
        rng.lognormal(np.log(CARD_FAST_MEDIAN_H), CARD_FAST_SIGMA, n),
        rng.lognormal(np.log(CARD_SLOW_MEDIAN_H), CARD_SLOW_SIGMA, n),
    )
    boleto = rng.lognormal(np.log(BOLETO_MEDIAN_H), BOLETO_SIGMA, n)
    hours = np.minimum(np.where(has_boleto, boleto, card), 740.0)
    return (hours * HOUR).astype(np.int64)


def handover_delay(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds from approval to the carrier picking the parcel up."""
    return (np.minimum(rng.lognormal(np.log(HANDOVER_MEDIAN_D), HANDOVER_SIGMA, n), 60.0) * DAY).astype(np.int64)


def transit_delay(rng: np.random.Generator, median_days: np.ndarray) -> np.ndarray:
    """Seconds from carrier to customer, around a per-order median."""
    days = np.minimum(median_days * rng.lognormal(0.0, TRANSIT_SIGMA, median_days.size), 200.0)
    return (days * DAY).astype(np.int64)


def estimated_delivery(rng: np.random.Generator, purchase: np.ndarray, expected_days: np.ndarray) -> np.ndarray:
    """Midnight of the promised delivery day: a generous margin over the state's usual delivery time."""
    n = purchase.size
    skew = rng.gamma(ESTIMATE_SKEW_SHAPE, ESTIMATE_SKEW_SCALE, n) - ESTIMATE_SKEW_SHAPE * ESTIMATE_SKEW_SCALE
    horizon = ESTIMATE_SCALE * expected_days + ESTIMATE_OFFSET_D + rng.normal(0.0, ESTIMATE_NOISE_D, n) + skew
    horizon = np.maximum(np.round(horizon), 3).astype(np.int64)
    return (purchase // DAY + horizon) * DAY
