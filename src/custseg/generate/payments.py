"""Payments copied in shape from the real payments table.

For every generated order, a real order of similar value is picked and its payment pattern is reused:
the number of payment rows, their sequence numbers, types (credit card, boleto, voucher, debit card),
installments and the split of the value between rows. The generated order's total (price + freight)
is split in the same proportions, to the cent. This keeps the real mix of payment types,
installments and vouchers, and their link with order value (bigger orders use more installments).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

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


@lru_cache(maxsize=1)
def real_patterns() -> PaymentPatterns:
    """Patterns of the bundled real payments table (computed once per process)."""
    from .catalogue import payments as real_payments

    return build_patterns(real_payments())


def build_patterns(payments: pd.DataFrame) -> PaymentPatterns:
    """Group the real payment rows by order; orders paying nothing (not_defined) cannot be scaled and are left out."""
    rows = payments.sort_values(["order_id", "payment_sequential", "payment_type", "payment_value"], kind="stable")
    totals = rows.groupby("order_id", sort=True)["payment_value"].sum()
    totals = totals[totals > 0]
    donors = pd.DataFrame({"order_id": totals.index, "total": totals.to_numpy()})
    donors = donors.sort_values(["total", "order_id"], kind="stable").reset_index(drop=True)
    donors["donor"] = np.arange(len(donors))
    rows = rows.merge(donors, on="order_id", how="inner").sort_values(["donor", "payment_sequential"], kind="stable")
    counts = np.bincount(rows["donor"].to_numpy(), minlength=len(donors))
    type_code = {t: i for i, t in enumerate(PAYMENT_TYPES)}
    return PaymentPatterns(
        totals=donors["total"].to_numpy(),
        row_start=np.concatenate([[0], np.cumsum(counts)]),
        sequential=rows["payment_sequential"].to_numpy(dtype=np.int64),
        type_code=rows["payment_type"].map(type_code).to_numpy(dtype=np.int64),
        installments=rows["payment_installments"].to_numpy(dtype=np.int64),
        share=(rows["payment_value"] / rows["total"]).to_numpy(),
    )


@dataclass(frozen=True)
class PaymentRows:
    order: np.ndarray         # index of the generated order
    sequential: np.ndarray
    type_code: np.ndarray
    installments: np.ndarray
    value_cents: np.ndarray


def draw_payments(rng: np.random.Generator, patterns: PaymentPatterns, total_cents: np.ndarray) -> PaymentRows:
    """Payment rows for orders with the given totals; rows of each order sum exactly to its total."""
    n = total_cents.size
    rank = np.searchsorted(patterns.totals, total_cents / 100.0)
    rank = np.clip(rank + rng.integers(-DONOR_RANK_JITTER, DONOR_RANK_JITTER + 1, n), 0, patterns.totals.size - 1)
    start = patterns.row_start[rank]
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
