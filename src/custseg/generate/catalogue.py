"""The real Olist catalogue bundled with custseg, and the calibration targets.

The real Olist tables ship gzip-compressed in `custseg/data/olist/` (see its README for source and
licence); the generator draws its catalogue (products, sellers, category translation) and its payment
patterns from them, so generated orders reference real products and sellers.
"""

from __future__ import annotations

import gzip
import io
import tomllib
from functools import lru_cache
from importlib import resources

import pandas as pd

from custseg.data import olist_folder

PRODUCTS_FILE = "olist_products_dataset.csv"
SELLERS_FILE = "olist_sellers_dataset.csv"
TRANSLATION_FILE = "product_category_name_translation.csv"
PAYMENTS_FILE = "olist_order_payments_dataset.csv"

#: Files copied unchanged (decompressed) into every generated folder.
REAL_FILES = (PRODUCTS_FILE, SELLERS_FILE, TRANSLATION_FILE)


def real_file_bytes(name: str) -> bytes:
    """The original bytes of a bundled real Olist CSV (decompressed)."""
    return gzip.decompress((olist_folder() / (name + ".gz")).read_bytes())


@lru_cache(maxsize=None)
def _read_real(name: str) -> pd.DataFrame:
    text = real_file_bytes(name)
    return pd.read_csv(io.BytesIO(text), dtype={"seller_zip_code_prefix": str}, encoding="utf-8-sig")


def products() -> pd.DataFrame:
    """The 32,951 real products (copy; the misspelt `_lenght` columns are kept)."""
    return _read_real(PRODUCTS_FILE).copy()


def sellers() -> pd.DataFrame:
    """The 3,095 real sellers, zip prefixes as 5-character strings."""
    return _read_real(SELLERS_FILE).copy()


def category_translation() -> dict[str, str]:
    """Portuguese category name -> English name (71 rows)."""
    table = _read_real(TRANSLATION_FILE)
    return dict(zip(table["product_category_name"], table["product_category_name_english"]))


def payments() -> pd.DataFrame:
    """The 103,886 real payment rows: the source of payment-type / installment / voucher patterns."""
    return _read_real(PAYMENTS_FILE).copy()


@lru_cache(maxsize=None)
def load_targets() -> dict:
    """The published statistics of the real data (targets.toml, copied from STATS.md)."""
    text = resources.files("custseg.generate").joinpath("targets.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def target_table(section: str) -> dict:
    """One section of targets.toml without its `source` tag."""
    return {k: v for k, v in load_targets()[section].items() if k != "source"}
