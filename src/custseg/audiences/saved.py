"""The audiences of ``custseg assign``: new customers in a saved model's clusters, named as the run
that made the model named them (``clusters.json`` beside the model), plus the new data's RFM segments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from custseg.audiences import Grouping, rfm_grouping
from custseg.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

CLUSTERS_FILE = "clusters.json"  # written by custseg.api.save_model


def saved_clusters(model_dir: Path, k: int) -> tuple[str, str, dict[int, tuple[str, str]]]:
    """(population, title, cluster -> (name, suggested action)) of a saved model; a model saved
    before clusters.json existed gets its folder's name and "Cluster N", without actions."""
    path = Path(model_dir) / CLUSTERS_FILE
    if not path.is_file():
        name = Path(model_dir).name
        return name, name, {c: (f"Cluster {c}", "") for c in range(1, k + 1)}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        clusters = {int(c["cluster"]): (str(c["name"]), str(c.get("suggested_action", ""))) for c in meta["clusters"]}
        return str(meta["population"]), str(meta.get("title", meta["population"])), clusters
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a clusters file written by 'custseg run' ({type(exc).__name__}); run again to write it") from None


def assigned_groupings(model_dir: Path, assignments: pd.DataFrame, customers: pd.DataFrame, k: int) -> list[Grouping]:
    """The assigned customers (``assignments``: customer_id, cluster; <NA> for a customer lacking a
    feature, left out) by cluster, then the customers' RFM segments."""
    population, title, clusters = saved_clusters(model_dir, k)
    assigned = assignments[assignments["cluster"].notna()]
    segment = assigned["cluster"].astype(int).to_numpy()
    members = assigned[["customer_id"]].assign(
        segment=segment, segment_name=[clusters.get(int(c), (f"Cluster {c}", ""))[0] for c in segment]).reset_index(drop=True)
    groupings = [Grouping(population, title, members, {c: action for c, (_, action) in clusters.items()})]
    rfm = rfm_grouping(customers)
    return groupings + ([rfm] if rfm is not None else [])
