"""The reference notebook's published tables on the real Olist data, and custseg's beside them.

The notebook (an independent computation) printed, per population, a silhouette and one row per
cluster: its share and the median of each clustering metric (``olist/notebook_published.toml``).
Its cluster numbers are arbitrary; a cluster is matched by its share, which differs between every
two clusters of a population.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING

from custseg.data import olist_folder

if TYPE_CHECKING:
    import pandas as pd


def published() -> dict:
    """The parsed ``notebook_published.toml``: ``metrics`` and ``populations``."""
    return tomllib.loads((olist_folder() / "notebook_published.toml").read_text(encoding="utf-8"))


def published_clusters(population: str) -> pd.DataFrame:
    """One row per cluster of the notebook's table: notebook_cluster, share (%) and each metric's median."""
    import pandas as pd

    spec = published()
    return pd.DataFrame(spec["populations"][population]["clusters"], columns=["notebook_cluster", "share", *spec["metrics"]])


def cluster_medians(clusters: pd.DataFrame, customers: pd.DataFrame, population: str) -> pd.DataFrame:
    """custseg's table in the notebook's form: per cluster its name, share (%) and metric medians.

    ``clusters`` is clusters.parquet (population, customer_id, cluster, cluster_name) and
    ``customers`` the customer table with the metrics.
    """
    import pandas as pd

    metrics = published()["metrics"]
    members = clusters[clusters["population"] == population].merge(customers[["customer_id", *metrics]], on="customer_id", validate="one_to_one")
    groups = members.groupby(["cluster", "cluster_name"], observed=True)
    table = pd.concat([(100 * groups.size() / len(members)).rename("share"), groups[metrics].median()], axis=1)
    return table.reset_index()


def side_by_side(clusters: pd.DataFrame, customers: pd.DataFrame, population: str) -> pd.DataFrame:
    """The notebook's rows and custseg's, matched by share (largest first); custseg's columns end in ``_custseg``."""
    ours = cluster_medians(clusters, customers, population).sort_values("share", ascending=False, ignore_index=True)
    theirs = published_clusters(population).sort_values("share", ascending=False, ignore_index=True)
    if len(ours) != len(theirs):
        raise ValueError(f"{population}: custseg has {len(ours)} clusters, the notebook {len(theirs)}")
    return theirs.join(ours.add_suffix("_custseg"))
