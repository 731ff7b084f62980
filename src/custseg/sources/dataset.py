"""The canonical tables every source is turned into.

A :class:`Dataset` owns a DuckDB connection holding these tables (names fixed):

- ``orders``: order_id, customer_id (the person), order_status (raw text), is_canceled,
  purchase_ts, approved_ts, carrier_ts, delivered_ts, estimated_ts, customer_city,
  customer_state, customer_region, customer_country
- ``order_items``: order_id, item_no, product_id, seller_id, price, freight_value (exact decimals)
- ``payments``: order_id, payment_sequential, payment_type, payment_installments, payment_value
- ``reviews``: order_id, review_score, review_created_ts (a flat log's also review_id, always empty)
- ``products``: product_id, category (raw), weight_g, length_cm, height_cm, width_cm
- ``category_translation``: category (raw), category_english
- ``order_attributes``: order_id, name, value — the user's own customer attributes (``attributes``
  names them), one row per order and attribute
- ``customer_contacts`` (only when ``contacts`` names contact roles): customer_id and one column
  per mapped contact role (email, phone, first_name, last_name, zip, country); personal data, read
  by the audience files alone

`capabilities` says which facts the source carries (payments, reviews, delivery, weight, sellers,
products, categories, freight, status, and the places city, state, region, country), so the
feature stage computes only what the data supports: a metric the data cannot support is absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas is imported where a frame is made (it takes ~0.25 s)
    import pandas as pd


@dataclass
class Dataset:
    """Canonical tables in a DuckDB connection, plus what the source can and cannot tell."""

    con: duckdb.DuckDBPyConnection
    kind: str  # "olist" or "flat"
    source: str  # path or description shown to users
    capabilities: frozenset[str]
    purchase_rule: str  # "olist" (status + estimated date, spec section 3) or "not_canceled"
    excluded: dict[str, int] = field(default_factory=dict)  # reason -> input rows left out
    warnings: list[str] = field(default_factory=list)
    attributes: tuple[str, ...] = ()  # the user's customer attributes (order_attributes.name)
    currency: str = ""  # the amounts' currency sign where the source says ("R$" for Olist)
    contacts: dict[str, str] = field(default_factory=dict)  # contact role -> column mapped: table customer_contacts (personal data)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities

    def table(self, name: str) -> pd.DataFrame:
        """A canonical table as a pandas frame (for inspection and tests)."""
        return self.con.table(name).df()

    def contact_table(self) -> pd.DataFrame | None:
        """The customer_contacts table (customer_id and the mapped contact roles), or None when the
        source maps no contact column: personal data, for the audience files only. Call before the
        connection is closed."""
        if not self.contacts:
            return None
        from pathlib import Path

        frame = self.con.table("customer_contacts").df()
        frame.attrs["columns"] = dict(self.contacts)  # role -> the log's column, for messages
        frame.attrs["source"] = Path(str(self.source)).name
        return frame
