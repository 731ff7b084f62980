"""Audiences: the customers of every cluster and RFM segment as files a campaign starts from.

``OUT/audiences/`` holds one CSV per cluster of every population and per RFM segment (customer
id, population, segment, its name, the key metrics and lifetime-value columns the customer table
has, the suggested action), ``audiences.json`` (file, population, segment, customers, revenue)
and, with a tool's format (``--audience-format klaviyo|mailchimp|google-customer-match``), the
same audiences in that tool's import layout under ``audiences/<format>/``.

Contact columns (e-mail, phone, names, zip, country) are personal data: they are written into
the audience files only — with ``plain`` into its files, as given (trimmed); with a tool's format
into the tool's files alone, normalised (and hashed for Google), the plain files then keep ids.
What is written and why: docs/audiences.md; the layouts: ``audiences.toml``.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache, partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from custseg.audiences.contacts import clean, normalise, sha256_hex
from custseg.errors import InputError
from custseg.ids import strictly_increasing

if TYPE_CHECKING:
    import pandas as pd

PLAIN = "plain"
MANIFEST = "audiences.json"
RFM_POPULATION = "rfm"
FILE_COLUMNS = ("customer_id", "population", "segment", "segment_name")


@lru_cache(maxsize=1)
def layout() -> dict:
    """audiences.toml: the columns an audience file carries and each tool's import layout."""
    return tomllib.loads(resources.files("custseg.audiences").joinpath("audiences.toml").read_text(encoding="utf-8"))


def formats() -> tuple[str, ...]:
    return (PLAIN, *layout()["formats"])


@dataclass(frozen=True)
class AudienceSettings:
    """How audience files are written: the format and the phone country (E.164 for numbers
    written without + country code)."""

    format: str = PLAIN
    phone_country: str | None = None

    @classmethod
    def of(cls, audience_format: str | None = None, phone_country: str | None = None, config: dict | None = None) -> "AudienceSettings":
        """The command line's choice over the config's ``[audiences]`` (format, phone_country)."""
        from custseg.audiences.contacts import check_phone_country

        config = config or {}
        fmt = audience_format or config.get("format") or PLAIN
        if fmt not in formats():
            raise InputError(f"--audience-format {fmt}: use one of {', '.join(formats())}")
        return cls(fmt, check_phone_country(phone_country or config.get("phone_country")))


def _need_text(groups: list[list[str]]) -> str:
    """[["email"], ["phone"], ["first_name", "last_name"]] -> "e-mail, phone, or first name and last name together"."""
    words = {"email": "e-mail", "phone": "phone", "first_name": "first name", "last_name": "last name", "zip": "zip", "country": "country"}

    def group_text(group: list[str]) -> str:
        names = [words[r] for r in group]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] + " together"

    parts = [group_text(g) for g in groups]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ("," if len(parts) > 2 else "") + " or " + parts[-1]


def check_format(settings: AudienceSettings, contact_roles, source: str) -> None:
    """Refuse, before any work, a tool's format whose import needs a contact the source does not
    map (one line that says which column role to map)."""
    if settings.format == PLAIN:
        return
    spec = layout()["formats"][settings.format]
    roles = set(contact_roles or ())
    if any(set(group) <= roles for group in spec["needs"]):
        return
    first = spec["needs"][0][0]
    raise InputError(
        f"--audience-format {settings.format}: {spec['label']} needs each customer's {_need_text(spec['needs'])}, and {source} "
        f"has no such column; map one (e.g. --map ...,{first}=COLUMN) or use --audience-format plain"
    )


@dataclass(frozen=True)
class Grouping:
    """The customers of one population split into segments: members has customer_id, segment
    (the cluster number or RFM segment) and segment_name; actions: segment -> suggested action;
    rows: the members' index labels in the customer table, when known (else found by id)."""

    population: str
    title: str
    members: pd.DataFrame
    actions: dict = field(default_factory=dict)
    rows: object = None


def cluster_groupings(populations) -> list[Grouping]:
    """One grouping per clustered population (its assignments, the actions of its summary)."""
    groupings = []
    for pop in populations:
        members = pop.assignments.rename(columns={"cluster": "segment", "cluster_name": "segment_name"})[["customer_id", "segment", "segment_name"]]
        actions = {} if pop.overview is None else dict(zip(pop.overview["cluster"], pop.overview["action"]))
        groupings.append(Grouping(pop.name, pop.title, members, actions, pop.rows))
    return groupings


def rfm_grouping(customers: pd.DataFrame) -> Grouping | None:
    """The RFM segments of the converted customers, with their actions (actions.toml)."""
    import pandas as pd

    from custseg.profile.overview import rfm_segment_action

    if "rfm_segment" not in customers:
        return None
    scored = customers.loc[customers["rfm_segment"].notna(), ["customer_id", "rfm_segment"]]
    if scored.empty:
        return None
    segment = pd.Categorical(scored["rfm_segment"])  # a few names for millions of customers: not one text each
    segment = segment.rename_categories(segment.categories.astype(str))
    members = scored[["customer_id"]].assign(segment=segment, segment_name=segment)
    return Grouping(RFM_POPULATION, "RFM segments", members, {s: rfm_segment_action(s) for s in segment.unique()}, scored.index)


def slug(text, limit: int = 60) -> str:
    """A file-name part: ASCII letters and digits in lower case, '-' between words (accents
    dropped: 'Top-spending champions' -> 'top-spending-champions', 'Ação' -> 'acao')."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return words[:limit].rstrip("-") or "segment"


def file_name(population: str, segment, name: str) -> str:
    """The audience's CSV: ``<population>-<cluster, 2 digits>-<name>.csv`` for a cluster,
    ``rfm-<segment>.csv`` for an RFM segment. Stable for the same run; safe on every system."""
    if population == RFM_POPULATION:
        return f"rfm-{slug(name)}.csv"
    number = f"{int(segment):02d}" if str(segment).isdigit() else slug(segment)
    return f"{slug(population)}-{number}-{slug(name)}.csv"


def audience_label(title: str, name: str) -> str:
    return f"{title}: {name}"


def _columns(customers: pd.DataFrame) -> list[str]:
    spec = layout()
    return [c for c in [*spec["metrics"], *spec["lifetime_value"]] if c in customers.columns and c not in FILE_COLUMNS]


@dataclass(frozen=True)
class Audience:
    """One segment of a grouping as a file: where its members are in the customer table
    (``positions``, by customer id) and how to make its rows (:meth:`rows`, when the file is
    written: at 10M customers all audiences at once would be ~20M rows in memory)."""

    file: str
    name: str
    segment: object
    positions: np.ndarray
    grouping: Grouping

    def rows(self, customers: pd.DataFrame) -> pd.DataFrame:
        """customer_id, population, segment, segment_name, the metric and lifetime-value columns
        the customer table has (as computed: :func:`rounded` rounds them), suggested_action."""
        import pandas as pd

        n, take = len(self.positions), self.positions
        same = lambda value: pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [value])  # noqa: E731 - one value, n rows
        action = self.grouping.actions.get(self.segment)
        frame = pd.DataFrame({"customer_id": customers["customer_id"].take(take).reset_index(drop=True),
                              "population": same(self.grouping.population), "segment": same(self.segment),
                              "segment_name": same(self.name)})
        for column in _columns(customers):
            frame[column] = customers[column].take(take).reset_index(drop=True)
        frame["suggested_action"] = same("" if action is None or pd.isna(action) else str(action))
        return frame


def audiences_of(customers: pd.DataFrame, grouping: Grouping, index: pd.Index | None = None,
                 used: set[str] | None = None) -> list[Audience]:
    """Every segment of ``grouping`` as an :class:`Audience`, segments in order, members by
    customer id. ``index``: the customer ids as an Index (made once for many groupings; only
    needed when the grouping's rows are not known); ``used``: file names taken already (by other
    groupings)."""
    from custseg.result import positions_of

    members = grouping.members
    row = positions_of(customers, grouping.rows, members["customer_id"])
    if row is None:
        index = _id_index(customers) if index is None else index
        row = index.get_indexer(members["customer_id"].to_numpy(dtype=object))
        if (row < 0).any():
            raise ValueError(f"{grouping.population}: {(row < 0).sum()} members are not in the customer table")
    ids = customers["customer_id"]
    by_id = row if strictly_increasing(ids) else np.argsort(np.argsort(ids.to_numpy(), kind="stable"))[row]
    segments = members["segment"].to_numpy()
    order = np.lexsort((by_id, segments))  # by segment, then by customer id
    row, segments = row[order], segments[order]
    starts = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]]) if len(row) else np.array([], dtype=int)
    # a name per segment, not per member (the names of 10M members as objects held ~0.6 GB)
    names = members["segment_name"].iloc[order[starts]].tolist()
    out, used = [], set() if used is None else used
    for start, end, name in zip(starts, [*starts[1:], len(row)], names):
        name = str(name)
        file = file_name(grouping.population, segments[start], name)
        stem, n = file[:-4], 2
        while file in used:  # two names with one slug: the second gets -2
            file, n = f"{stem}-{n}.csv", n + 1
        used.add(file)
        out.append(Audience(file, name, segments[start], row[start:end], grouping))
    return out


def audience_frames(customers: pd.DataFrame, grouping: Grouping, index: pd.Index | None = None,
                    used: set[str] | None = None) -> list[tuple[str, str, pd.DataFrame]]:
    """(file, segment name, rows) of every segment of ``grouping`` (see :class:`Audience`)."""
    return [(a.file, a.name, a.rows(customers)) for a in audiences_of(customers, grouping, index, used)]


def rounded(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with the columns of audiences.toml's [decimals] rounded, as the files show them."""
    decimals = {c: d for c, d in layout()["decimals"].items() if c in frame.columns}
    return frame.assign(**{c: frame[c].round(d) for c, d in decimals.items()}) if decimals else frame


def _id_index(customers: pd.DataFrame) -> pd.Index:
    import pandas as pd

    return pd.Index(customers["customer_id"].to_numpy(dtype=object))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV with a header (DuckDB's writer: pandas' text, ~4x faster, off the GIL)."""
    from custseg.outputs import write_csv as write

    write(frame, path, header=True)


def tool_rows(rows: pd.DataFrame, contacts: pd.DataFrame, fmt: str, label: str) -> pd.DataFrame:
    """The audience's rows in a tool's import layout (``contacts``: normalised, by customer id):
    only customers with the contacts the tool needs; hashed roles as SHA-256 hex."""
    import pandas as pd

    spec = layout()["formats"][fmt]
    available = [r for r in spec["columns"] if r in contacts.columns]
    together = spec.get("together", [])
    if together and not set(together) <= set(available):
        available = [r for r in available if r not in together]
    found = contacts.reindex(rows["customer_id"].to_numpy())[available].fillna("").reset_index(drop=True)
    keep = pd.Series(False, index=found.index)
    for group in spec["needs"]:
        if set(group) <= set(available):
            keep |= (found[group] != "").all(axis=1)
    found = found[keep]
    out = pd.DataFrame(index=found.index)
    for role in available:
        values = found[role]
        out[spec["columns"][role]] = [sha256_hex(v) if v else "" for v in values] if role in spec.get("hashed", []) else values
    if spec.get("segment_column"):
        text = label if fmt != "mailchimp" else label.replace(",", " ")[:100]  # Mailchimp splits tags at commas
        out[spec["segment_column"]] = text
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Contacts:
    """The customers' contacts as the audience files write them: ``frame`` (index customer_id, a
    column per mapped role) as given and trimmed for ``plain``, else normalised for the tool
    (``unusable``: per role, how many customers' values could not be used; counts, no values)."""

    frame: pd.DataFrame
    roles: tuple[str, ...]
    normalised: bool
    unusable: dict = field(default_factory=dict)


def prepare_contacts(raw: pd.DataFrame | None, settings: AudienceSettings) -> Contacts | None:
    """The source's contacts (:meth:`custseg.sources.dataset.Dataset.contact_table`) as ``settings``'
    format writes them; the phones' InputError, if any, comes here (before the analysis)."""
    if raw is None:
        return None
    roles = tuple(c for c in raw.columns if c != "customer_id")
    if settings.format == PLAIN:
        return Contacts(raw.set_index("customer_id")[list(roles)].map(clean), roles, False)
    spec = layout()["formats"][settings.format]
    normal, unusable = normalise(raw, keep_case=spec.get("keep_case", ()), phone_country=settings.phone_country)
    return Contacts(normal.set_index("customer_id"), roles, True, unusable)


def plan_audiences(customers: pd.DataFrame, groupings: list[Grouping], *, contacts: Contacts | None = None,
                   settings: AudienceSettings = AudienceSettings()) -> tuple[dict, list[tuple[str, Callable[[], pd.DataFrame]]]]:
    """The manifest (audiences.json) and the files to write: (path under audiences/, a function
    making its rows) of every segment of every grouping, and of its import copy when a tool's
    format is asked. The rows of a plain file are made when it is written (:func:`write_files`),
    one file at a time."""
    fmt = settings.format
    spec = layout()["formats"].get(fmt)
    tool = contacts is not None and contacts.normalised and spec is not None
    index, used = None, set()
    if any(g.rows is None for g in groupings):
        index = _id_index(customers)
    entries, files = [], []
    monetary = customers["monetary"] if "monetary" in customers else None
    for grouping in groupings:
        for audience in audiences_of(customers, grouping, index, used):
            files.append((audience.file, partial(_plain_rows, audience, customers, None if tool else contacts)))
            entry = {"file": audience.file, "population": grouping.population, "population_title": grouping.title,
                     "segment": _plain(audience.segment), "name": audience.name, "customers": int(len(audience.positions)),
                     "revenue": None if monetary is None else round(float(monetary.take(audience.positions).sum()), 2),
                     "suggested_action": str(grouping.actions.get(audience.segment, ""))}
            if tool:
                imported = tool_rows(audience.rows(customers), contacts.frame, fmt, audience_label(grouping.title, audience.name))
                files.append((f"{fmt}/{audience.file}", lambda frame=imported: frame))
                entry.update(import_file=f"{fmt}/{audience.file}", import_rows=int(len(imported)))
            entries.append(entry)
    manifest = {"format": fmt, "contact_columns": list(contacts.roles) if contacts is not None else [], "audiences": entries}
    if tool:
        manifest["import_format"] = spec["label"]
        manifest["unusable_contacts"] = contacts.unusable  # per role, customers whose value could not be used (no values)
    return manifest, files


def _plain_rows(audience: Audience, customers: pd.DataFrame, contacts: Contacts | None) -> pd.DataFrame:
    """An audience's plain file: its rows, rounded, with the contacts as given (``plain``)."""
    rows = rounded(audience.rows(customers))
    if contacts is None:
        return rows
    found = contacts.frame.reindex(rows["customer_id"].to_numpy(dtype=object)).fillna("").reset_index(drop=True)
    return rows.join(found)


def write_files(folder: Path, manifest: dict, files: list[tuple[str, Callable[[], pd.DataFrame]]]) -> None:
    """Write :func:`plan_audiences`' files (each made just before it is written) and manifest
    into ``folder`` (DuckDB's CSV writer runs off the GIL: this can run on a thread beside the report)."""
    folder = Path(folder)
    for relative, make in files:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_csv(make(), path)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def describe(manifest: dict) -> str:
    """The progress line of the audience files (counts and names of files: nothing personal)."""
    tool = manifest.get("import_format")
    return f"audiences: {len(manifest['audiences'])} files" + (f", each also as a {tool} import file" if tool else "")


def write_audiences(folder: Path, customers: pd.DataFrame, groupings: list[Grouping], *, contacts: Contacts | None = None,
                    settings: AudienceSettings = AudienceSettings(), progress=None) -> dict:
    """Write ``folder`` (OUT/audiences): one CSV per segment of every grouping, the tool's files
    when a tool's format is asked, and audiences.json; returns the manifest."""
    manifest, files = plan_audiences(customers, groupings, contacts=contacts, settings=settings)
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_files(folder, manifest, files)
    if progress:
        progress(describe(manifest))
    return manifest


def _plain(value):
    """A segment key as JSON: a cluster number as an int, an RFM segment as text."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)
