"""The order in which the report, the slides and the deck visit sections and views.

Every stage of the report walks the result the same way: the result's own sections first, then
each population's section (unless it is already one of the result's sections). A population's
section carries the population beside it so the report can show how its clusters were chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator

from custseg.result import AnalysisResult, PopulationResult, Section, View


@dataclass
class Block:
    """One top-level part of the report: a section, and the population it describes if any."""

    section: Section
    population: PopulationResult | None = None


def blocks(result: AnalysisResult) -> list[Block]:
    by_section = {id(p.section): p for p in result.populations if p.section is not None}
    out: list[Block] = []
    placed: set[int] = set()
    for section in result.sections:
        if id(section) in placed:
            continue
        placed.add(id(section))
        out.append(Block(section, by_section.get(id(section))))
    for pop in result.populations:
        section = pop.section
        if section is not None and id(section) in placed:
            continue
        if section is None:
            section = Section(key=f"population-{pop.name}", title=pop.title)
        else:
            placed.add(id(section))
        out.append(Block(section, pop))
    return out


def iter_sections(section: Section, depth: int = 0) -> Iterator[tuple[Section, int]]:
    yield section, depth
    for sub in section.subsections:
        yield from iter_sections(sub, depth + 1)


def iter_views(result: AnalysisResult) -> Iterator[View]:
    """Every view, in report order (each view object once)."""
    seen: set[int] = set()
    for block in blocks(result):
        for section, _ in iter_sections(block.section):
            for view in section.views:
                if id(view) not in seen:
                    seen.add(id(view))
                    yield view


def figure_views(result: AnalysisResult) -> list[View]:
    return [v for v in iter_views(result) if v.figure is not None]


def slide_views(result: AnalysisResult) -> list[View]:
    """The figures the deck shows: a view whose numbers another view already shows (``same_as``,
    e.g. a cluster x attribute table transposed) is left out, its twin is there."""
    return [v for v in figure_views(result) if not v.same_as]


@dataclass
class Anchors:
    """Unique, safe HTML ids from arbitrary keys."""

    used: set[str] = field(default_factory=set)

    def make(self, prefix: str, key: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", str(key).lower()).strip("-")[:60] or "item"
        base = f"{prefix}-{slug}"
        anchor, n = base, 2
        while anchor in self.used:
            anchor, n = f"{base}-{n}", n + 1
        self.used.add(anchor)
        return anchor
