"""The single-machine engine: DuckDB in the process reads the source (:mod:`custseg.sources`)
and runs the feature SQL (:mod:`custseg.features`); the clustering runs in the process too
(scikit-learn and :mod:`custseg.cluster`). :mod:`.connection` holds the DuckDB helpers."""

from __future__ import annotations

from custseg.engines import CustomerTables


class DuckDBEngine:
    name = "duckdb"

    def __init__(self) -> None:
        self._dataset = None

    def customer_tables(self, data, config, *, preset=None, mapping=None, log_options=None, progress=None,
                        contacts: bool = False) -> CustomerTables:
        from custseg.features import compute_customer_tables
        from custseg.sources import load

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
