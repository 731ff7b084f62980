"""The report's links to the audience files (custseg.audiences' manifest): each cluster's and RFM
segment's CSV, and its import copy, under its name in the summary tables; hrefs relative to the
report, so they work from its folder opened locally."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from custseg.report.tables import TableModel


AUDIENCE_FOLDER = "audiences"


def audience_links(manifest: dict | None) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """(population, segment) -> the links to its audience files (custseg.audiences' manifest):
    the CSV with its customers, and the tool's import file with its rows; hrefs relative to the
    report, so they work from the folder opened locally."""
    links: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    tool = (manifest or {}).get("import_format", "")
    for entry in (manifest or {}).get("audiences", []):
        shown = [(f"CSV · {entry['customers']:,}", f"{AUDIENCE_FOLDER}/{entry['file']}", entry["file"])]
        if entry.get("import_file"):
            shown.append((f"{tool} · {entry['import_rows']:,}", f"{AUDIENCE_FOLDER}/{entry['import_file']}", entry["import_file"]))
        links[(str(entry["population"]), str(entry["segment"]))] = shown
    return links


def with_links(table: TableModel, keys: list[tuple[str, str]], links: dict) -> TableModel:
    """The table with each row's audience-file links under its name (the first column, which
    stays in view on a phone; rows in ``keys``' order)."""
    if not links:
        return table
    for (_, cells), key in zip(table.rows, keys):
        cells[0].links = links.get(key, [])
    return table


def audience_note(manifest: dict | None) -> str:
    """The summary's sentence on the audience files ("" without them)."""
    if not manifest or not manifest.get("audiences"):
        return ""
    tool = manifest.get("import_format")
    also = f"; each also in {tool}'s import layout, with the customers that have the contact it needs" if tool else ""
    return (f"Every cluster's and RFM segment's customers are in a CSV file of their own, linked under its name below{also} "
            f"(folder {AUDIENCE_FOLDER}/ beside this report; {AUDIENCE_FOLDER}/audiences.json lists them).")
