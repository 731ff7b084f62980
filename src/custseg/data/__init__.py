"""Real public data sets shipped with custseg (each folder's README gives source and licence).

``olist_folder()`` is the demo's input: 8 of the 9 tables of the Olist Brazilian e-commerce
release, the data the reference analysis was published on. ``online_retail_file()`` is the UCI
Online Retail log, a flat transaction log of another shop. ``cdnow_file()`` is the CDNOW customer
summary on which the value models' published parameters were estimated (the tests use it).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _bundled(*parts: str) -> Path:
    # custseg is installed as files (setuptools, editable or wheel), never as a zip: a plain path.
    return Path(str(resources.files("custseg").joinpath("data", *parts)))


def olist_folder() -> Path:
    """The bundled real Olist folder (gzip-compressed CSVs, readable by ``custseg.run``)."""
    return _bundled("olist")


def online_retail_file() -> Path:
    """The bundled UCI Online Retail log (541,909 order lines, gzip-compressed CSV)."""
    return _bundled("online_retail", "online_retail.csv.gz")


def cdnow_file() -> Path:
    """The CDNOW sample's customer summary (2,357 customers; weeks; gzip-compressed CSV: ID, x,
    t_x, T, zbar) of Fader, Hardie & Lee (2005): see data/cdnow/README.md."""
    return _bundled("cdnow", "cdnow_customers.csv.gz")
