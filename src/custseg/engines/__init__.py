"""Engines: where the heavy work of an analysis runs. Everything above them (the pipeline, the
report, the CLI and the API) is the same whichever ran.

An engine reads and validates a source, computes the customer tables from the feature SQL
(``custseg/features/sql``, rendered for its dialect by :mod:`custseg.dialect`), and may
run the clustering's heavy steps (a backend for :func:`custseg.pipeline.analyse_customers`).
Two implement it side by side:

* :mod:`custseg.engines.duckdb` — one machine: DuckDB in the process (the default);
* :mod:`custseg.engines.spark` — Apache Spark: sources, features and RFM in Spark SQL, KMeans in
  Spark MLlib (``pip install 'custseg[spark]'``).

:func:`engine_for` is the one place an engine is chosen by name. A new engine (a warehouse, say)
is a package here with a class that has the methods of :class:`Engine`, and a line in
:func:`engine_for`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

from custseg.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from custseg.result import Sample

ENGINES = ("duckdb", "spark")


@dataclass
class CustomerTables:
    """What an engine hands the stages above it: one row per customer, and how it got there."""

    customers: "pd.DataFrame"  # the customer table (docs/metrics.md), customer-id order
    excluded: "pd.DataFrame | None"  # customers left out, with the reason
    excluded_rows: dict[str, int]  # input rows left out, by reason
    source: str
    attributes: tuple = ()  # the log's own customer attributes (compared with the clusters)
    currency: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    contacts: "pd.DataFrame | None" = None  # personal data, for the audience files only (when asked)
    sample: "Sample | None" = None  # set when `customers` is a uniform sample (the whole table stays with the engine)


class Engine(Protocol):
    """The interface every engine implements (used as a context manager: ``with engine: ...``)."""

    name: str

    def customer_tables(self, data, config, *, preset: str | None = None, mapping: str | None = None,
                        log_options: dict | None = None, progress: Callable[[str], None] | None = None,
                        contacts: bool = False) -> CustomerTables:
        """Read and validate `data`, run the feature SQL, and collect the customer tables."""

    def clustering(self) -> Any:
        """The clustering backend for the pipeline (None: the single-machine default)."""

    def close(self) -> None:
        """Release what the engine holds (connections, cached tables)."""


def engine_for(name: str, *, spark_master: str | None = None, spark=None, driver_customers: int | None = None) -> Engine:
    """The engine called `name` ("duckdb" or "spark"), ready to use. ``driver_customers`` (Spark):
    above this many customers the driver holds a uniform sample of them (:mod:`custseg.engines.spark.sample`)."""
    if name == "duckdb":
        from custseg.engines.duckdb import DuckDBEngine

        return DuckDBEngine()
    if name == "spark":
        from custseg.engines.spark import SparkEngine

        return SparkEngine(master=spark_master, spark=spark, driver_customers=driver_customers)
    raise InputError(f"engine {name!r}: use \"duckdb\" or \"spark\"")
