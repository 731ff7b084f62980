"""Payments copied in shape from the real payments table.

For every generated order, a real order of similar value is picked and its payment pattern is reused:
the number of payment rows, their sequence numbers, types (credit card, boleto, voucher, debit card),
installments, the split of the value between rows, and the ratio of what was paid to the price +
freight of its items. The generated order's total (price + freight) times that ratio is split in the
same proportions, to the cent. This keeps the real mix of payment types, installments and vouchers,
their link with order value (bigger orders use more installments), and the 0.3% of real orders whose
payments do not equal price + freight (mostly interest on card installments, a few discounts).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

ITEMS_FILE = "olist_order_items_dataset.csv"
PAYMENT_TYPES = ("credit_card", "boleto", "voucher", "debit_card", "not_defined")
# chosen: how far (in ranks of the 99k real orders sorted by value) the donor order may be.
DONOR_RANK_JITTER = 150


@dataclass(frozen=True)
class PaymentPatterns:
    """Real orders sorted by total value, with their payment rows in CSR form."""

    totals: np.ndarray        # sorted real order totals (reais), all > 0
    row_start: np.ndarray     # rows of donor i are row_start[i]:row_start[i+1]
    sequential: np.ndarray
    type_code: np.ndarray     # index into PAYMENT_TYPES
    installments: np.ndarray
    share: np.ndarray         # row value / order total
    paid_ratio: np.ndarray    # per donor: payments / (price + freight of its items); 1 without items


@lru_cache(maxsize=1)
def real_patterns() -> PaymentPatterns:
    """Patterns of the bundled real payments and items tables (computed once per process)."""
    from .catalogue import payments as real_payments

    return build_patterns(real_payments(), real_order_item_values())


def real_order_item_values() -> pd.Series:
    """order_id -> price + freight of the order's real items, in cents (98,666 orders with items)."""
    from .catalogue import real_file_bytes

    items = pd.read_csv(io.BytesIO(real_file_bytes(ITEMS_FILE)), usecols=["order_id", "price", "freight_value"],
                        engine="pyarrow")
    cents = (items["price"] * 100).round() + (items["freight_value"] * 100).round()
    return cents.groupby(items["order_id"]).sum()


def build_patterns(payments: pd.DataFrame, item_values: pd.Series | None = None) -> PaymentPatterns:
    """Group the real payment rows by order; orders paying nothing (not_defined) cannot be scaled and are left out.

    `item_values` (order_id -> price + freight of its items, in cents) gives each donor its ratio of paid
    to bought; without it (or for donors without items) the ratio is 1.
    """
    rows = payments.sort_values(["order_id", "payment_sequential", "payment_type", "payment_value"], kind="stable")
    totals = rows.groupby("order_id", sort=True)["payment_value"].sum()
    totals = totals[totals > 0]
    donors = pd.DataFrame({"order_id": totals.index, "total": totals.to_numpy()})
    donors = donors.sort_values(["total", "order_id"], kind="stable").reset_index(drop=True)
    donors["donor"] = np.arange(len(donors))
    rows = rows.merge(donors, on="order_id", how="inner").sort_values(["donor", "payment_sequential"], kind="stable")
    counts = np.bincount(rows["donor"].to_numpy(), minlength=len(donors))
    ratio = np.ones(len(donors))
    if item_values is not None:
        bought = donors["order_id"].map(item_values).to_numpy(dtype=float)
        paid = np.round(donors["total"].to_numpy() * 100)
        ratio = np.where(np.isfinite(bought) & (bought > 0), paid / np.where(bought > 0, bought, 1.0), 1.0)
        ratio = np.where(ratio == ratio, ratio, 1.0)
    type_code = {t: i for i, t in enumerate(PAYMENT_TYPES)}
    return PaymentPatterns(
        totals=donors["total"].to_numpy(),
        row_start=np.concatenate([[0], np.cumsum(counts)]),
        sequential=rows["payment_sequential"].to_numpy(dtype=np.int64),
        type_code=rows["payment_type"].map(type_code).to_numpy(dtype=np.int64),
        installments=rows["payment_installments"].to_numpy(dtype=np.int64),
        share=(rows["payment_value"] / rows["total"]).to_numpy(),
        paid_ratio=ratio,
    )


@dataclass(frozen=True)
class PaymentRows:
    order: np.ndarray         # index of the generated order
    sequential: np.ndarray
    type_code: np.ndarray
    installments: np.ndarray
    value_cents: np.ndarray


def draw_payments(rng: np.random.Generator, patterns: PaymentPatterns, total_cents: np.ndarray) -> PaymentRows:
    """Payment rows for orders with the given totals (price + freight, cents); rows of each order sum
    exactly to its total times the donor's paid ratio (the total itself for ~99.7% of orders)."""
    n = total_cents.size
    rank = np.searchsorted(patterns.totals, total_cents / 100.0)
    rank = np.clip(rank + rng.integers(-DONOR_RANK_JITTER, DONOR_RANK_JITTER + 1, n), 0, patterns.totals.size - 1)
    start = patterns.row_start[rank]
    ratio = patterns.paid_ratio[rank]
    total_cents = np.where(ratio == 1.0, total_cents, np.round(total_cents * ratio).astype(np.int64))
    count = patterns.row_start[rank + 1] - start
    order = np.repeat(np.arange(n), count)
    first_row = np.concatenate([[0], np.cumsum(count)[:-1]])
    src = np.repeat(start, count) + np.arange(order.size) - np.repeat(first_row, count)
    share = patterns.share[src]
    value = np.round(share * total_cents[order]).astype(np.int64)
    # Put the rounding remainder on each order's largest row.
    remainder = total_cents - np.bincount(order, weights=value, minlength=n).astype(np.int64)
    largest = first_row + _argmax_per_group(share, first_row, count)
    value[largest] += remainder
    return PaymentRows(
        order=order,
        sequential=patterns.sequential[src],
        type_code=patterns.type_code[src],
        installments=patterns.installments[src],
        value_cents=value,
    )


def _argmax_per_group(values: np.ndarray, first_row: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Offset of the (first) largest value inside each contiguous group."""
    group = np.repeat(np.arange(count.size), count)
    order = np.lexsort((np.arange(values.size), -values, group))
    return order[first_row] - first_row
