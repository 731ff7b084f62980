"""What an analysis produces, as plain data the report stage renders (and notebooks display).

The report knows nothing of how a view was computed: a :class:`Section` is a titled list of
:class:`View` objects, each a figure and/or a table with its observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a frame is made (it takes ~0.25 s)
    import pandas as pd


#: A view shows at most this many findings (a deck's slide: as many of them as fit its box).
MAX_FINDINGS = 5


@dataclass
class Note:
    """One written observation: the sentence, the numbers it rests on, and how sure it is.

    ``finding``: one of the view's top findings (shown); False keeps it to the collapsed
    "all statistics" block (the report and the slides show findings only).
    """

    text: str
    confidence: str = ""  # e.g. "high", "by construction", "small group: indicative only"
    values: dict[str, Any] = field(default_factory=dict)
    finding: bool = True


def findings(notes: list[Note] | None, limit: int = MAX_FINDINGS) -> list[Note]:
    """The notes a view shows, at most ``limit``; the rest belong to its statistics."""
    return [n for n in notes or [] if n.finding][:limit]


def statistics(notes: list[Note] | None, limit: int = MAX_FINDINGS) -> list[Note]:
    """Every note of a view that :func:`findings` does not show."""
    shown = {id(n) for n in findings(notes, limit)}
    return [n for n in notes or [] if id(n) not in shown]


@dataclass
class View:
    """One figure or table of the report; `title` is readable and names the slide file."""

    key: str  # stable, unique id (letters, digits, '-')
    title: str
    figure: Any = None  # a plotly Figure
    table: pd.DataFrame | None = None  # shown as an HTML table (index shown when named)
    table_colors: pd.DataFrame | None = None  # optional CSS background colours, same shape as table
    notes: list[Note] = field(default_factory=list)
    caption: str = ""
    same_as: str = ""  # the key of a view showing the same numbers another way: the deck shows that one only

    def _repr_html_(self) -> str:  # shows in Jupyter
        parts = [f"<h4>{_escape(self.title)}</h4>"]
        if self.figure is not None:
            parts.append(self.figure.to_html(include_plotlyjs="cdn", full_html=False))
        if self.table is not None:
            parts.append(self.table.to_html())
        parts += [f"<p>{_escape(n.text)}</p>" for n in findings(self.notes)]
        rest = statistics(self.notes)
        if rest:
            items = "".join(f"<li>{_escape(n.text)}</li>" for n in rest)
            parts.append(f"<details><summary>All statistics ({len(rest)})</summary><ul>{items}</ul></details>")
        return "\n".join(parts)


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    views: list[View] = field(default_factory=list)
    subsections: list["Section"] = field(default_factory=list)

    def all_views(self) -> list[View]:
        """Its views and its subsections', in report order."""
        return self.views + [v for sub in self.subsections for v in sub.all_views()]


@dataclass
class PopulationResult:
    """One clustered population: who, how many clusters and why, and the customer -> cluster table."""

    name: str
    title: str
    description: str
    n_customers: int
    method_label: str  # e.g. "KMeans (k-means++, random_state 42)" or "Ward on 2,000 micro-clusters"
    k: int
    k_reason: str
    silhouette: float | None
    silhouette_label: str  # "exact" or "sampled: 0.41 (95% CI 0.40-0.42)"
    features_used: list[str]
    preparation_notes: list[str]
    evidence: pd.DataFrame | None
    assignments: pd.DataFrame  # customer_id, cluster (1..k), cluster_name
    cluster_names: dict[int, str]
    section: Section | None = None
    model: Any = None  # the fitted cluster model (saved with the output)
    silhouette_method: str = ""  # "exact" (every customer) or "sampled" (silhouette_label gives the interval)
    overview: pd.DataFrame | None = None  # per cluster: name, customers, revenue, medians, traits, action (profile.overview)
    findings: list[str] = field(default_factory=list)  # the headline findings of the overview
    cluster_silhouettes: dict[int, float] = field(default_factory=dict)  # cluster -> its members' mean silhouette
    # the index labels, in the customer table, of the assignments' rows (None: not known): the
    # customer table's cluster columns are placed by them instead of by matching ids (issue 24)
    rows: Any = None
    filter: str = ""  # the population's SQL filter over the customer table (who is in it)


@dataclass(frozen=True)
class Sample:
    """The customer table an analysis ran on is a uniform sample of a larger one that stayed with
    its engine (the Spark engine's ``driver_customers``): how many customers the whole table has,
    its headline numbers (:func:`custseg.summary.summary_of_groups`) and how the sample was drawn."""

    customers: int  # in the whole table
    summary: dict  # the whole table's customer summary
    how: str  # e.g. "chosen by a hash of their id, the same on every run"


@dataclass
class AnalysisResult:
    """The whole analysis; `custseg.run(...)` returns it."""

    title: str
    source: str
    customers: pd.DataFrame
    summary: dict
    reconciliation: pd.DataFrame  # reason, customers
    sections: list[Section]
    populations: list[PopulationResult]
    timings: dict[str, float] = field(default_factory=dict)
    excluded: pd.DataFrame | None = None  # customer_id, reason: input customers not analysed
    sample: Sample | None = None  # set when `customers` is a uniform sample of the whole table

    def _repr_html_(self) -> str:
        rows = "".join(f"<li>{_escape(p.title)}: {p.n_customers:,} customers, k = {p.k}</li>" for p in self.populations)
        return f"<h3>{_escape(self.title)}</h3><p>{self.summary.get('customers', 0):,} customers</p><ul>{rows}</ul>"


def _escape(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


#: Ids compared at once by :func:`positions_of`: the ids of 10M rows taken at once were ~0.4 GB.
ID_CHECK_ROWS = 1 << 20


def positions_of(table: pd.DataFrame, labels, ids) -> Any:
    """Where the rows with index ``labels`` are in ``table`` (positions, a NumPy array), checked:
    every label is in the table and its row holds the id of ``ids`` at the same place; None when
    the labels are not known (None) or do not check out (then match by customer id instead).

    A population's rows are placed by their labels (:attr:`PopulationResult.rows`): at 10M
    customers a check of the ids takes ~1 s, matching them through an index of text ~25 s.
    """
    import numpy as np
    import pandas as pd

    if labels is None or len(labels) != len(ids):
        return None
    if isinstance(table.index, pd.RangeIndex) and table.index.equals(pd.RangeIndex(len(table))):
        positions = np.asarray(labels, dtype=np.int64)
    else:
        positions = table.index.get_indexer(labels)
    if len(positions) and (positions.min() < 0 or positions.max() >= len(table)):
        return None
    ids = ids.array if isinstance(ids, pd.Series) else pd.array(ids)
    column = table["customer_id"].array
    step = ID_CHECK_ROWS
    for start in range(0, len(positions), step):
        if not (column.take(positions[start:start + step]) == ids[start:start + step]).all():
            return None
    return positions


def assignment_rows(table: pd.DataFrame, assignments: pd.DataFrame, labels) -> Any:
    """For each row of ``table`` (the customer table), the row of its assignment (-1: none):
    placed by the assignments' index labels when they check out (:func:`positions_of`), else by
    matching ids (13 s per population at 10M customers)."""
    import numpy as np
    import pandas as pd

    positions = positions_of(table, labels, assignments["customer_id"])
    if positions is None:
        return pd.Index(assignments["customer_id"]).get_indexer(table["customer_id"])
    row = np.full(len(table), -1, dtype=np.intp)
    row[positions] = np.arange(len(positions))
    return row
