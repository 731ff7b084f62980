"""The single-machine engine: DuckDB in the process reads the source (:func:`load`: :mod:`.read`,
:mod:`.formats`, :mod:`.olist`, :mod:`.flat`, by the rules of :mod:`custseg.sources`) and runs the
feature SQL (:mod:`.features`, the templates of :mod:`custseg.features`); the clustering runs in
the process too (scikit-learn and :mod:`custseg.cluster`). :mod:`.connection` holds the DuckDB helpers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from custseg.engines import CustomerTables
from custseg.errors import InputError
from custseg.sources import no_such_path_error

if TYPE_CHECKING:
    from custseg.sources import ColumnMapping, Dataset


def load(path: str | Path, *, preset: str | None = None, mapping: "str | ColumnMapping | None" = None,
         date_format: str | None = None, decimal: str | None = None, sheet: str | None = None,
         dimensions: dict[str, str] | None = None) -> "Dataset":
    """Load an Olist folder, or a flat log with a preset or a column mapping, into a new DuckDB
    connection (the dataset's ``con``).

    For a log: `date_format` (strptime, e.g. ``%d/%m/%Y``; default: detected), `decimal` ("." or
    ","; default the mapping's, "."), `sheet` of an .xlsx workbook (default: the first), and
    `dimensions`, the user's own customer attributes, name -> column (``--dimension``)."""
    from custseg.engines.duckdb.flat import load_flat
    from custseg.engines.duckdb.olist import load_olist
    from custseg.sources.flat import ColumnMapping
    from custseg.sources.olist import is_olist_folder, not_olist_error

    path = Path(path)
    if not path.exists():
        raise no_such_path_error(path)
    if path.is_dir():
        if preset or mapping or date_format or decimal or sheet or dimensions:
            raise InputError(f"{path}: is a folder; --preset, --map, --date-format, --decimal, --sheet and --dimension describe a single transaction-log file")
        if not is_olist_folder(path):
            raise not_olist_error(path)
        return load_olist(path)
    mapping = ColumnMapping.resolve(path.name, preset, mapping, date_format, decimal).with_attributes(dimensions)
    return load_flat(path, mapping, sheet=sheet)


class DuckDBEngine:
    name = "duckdb"

    def __init__(self) -> None:
        self._dataset = None

    def customer_tables(self, data, config, *, preset=None, mapping=None, log_options=None, progress=None,
                        contacts: bool = False) -> CustomerTables:
        from custseg.engines.duckdb.features import compute_customer_tables

        if progress:
            progress(f"load: reading and checking {data}")
        dataset = self._dataset = load(data, preset=preset, mapping=mapping, **(log_options or {}))
        found = dataset.contact_table() if contacts else None  # personal data: for the audience files only
        # the dataset is ours (load opened it): release DuckDB's memory before pandas takes over
        customers, excluded, timings = compute_customer_tables(dataset, config, progress=progress, release=True)
        return CustomerTables(customers, excluded, dataset.excluded, dataset.source, dataset.attributes, dataset.currency,
                              timings, found)

    def clustering(self):
        return None

    def close(self) -> None:
        if self._dataset is not None:
            self._dataset.con.close()
            self._dataset = None

    def __enter__(self) -> "DuckDBEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
