"""Measure and wrap text as the deck sets it, so every text box is known to fit before it is written.

PowerPoint does not shrink text that overflows a box unless it is opened and edited, and
LibreOffice never does: a box fits only if its text was measured. The deck's text is set in
DejaVu Sans (shipped with Debian; wider than Calibri or Arial, so a deck opened where the
font is missing only gets roomier). Widths come from a table of the font's advance widths
(``fonts/dejavu-sans-widths.json``, made by ``scripts/make_font_widths.py``), so measuring
needs no font file; characters outside it count as a full em, more than any of the font's.
Kerning is ignored, which only overestimates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

FONT = "DejaVu Sans"
#: Height of one line, in font sizes: PowerPoint's single spacing (1.2); DejaVu's own is 1.164.
LINE_HEIGHT = 1.2
#: Share of a box's width a line may fill: room for rounding and renderers' hinting.
WIDTH_SLACK = 0.97


@lru_cache(maxsize=1)
def _tables() -> tuple[int, dict[str, dict[int, int]]]:
    text = resources.files("custseg.report").joinpath("fonts", "dejavu-sans-widths.json").read_text(encoding="utf-8")
    data = json.loads(text)
    widths = {style: {start + i: w for start, row in ranges for i, w in enumerate(row)} for style, ranges in data["widths"].items()}
    return int(data["units_per_em"]), widths


def text_width(text: str, size_pt: float, bold: bool = False) -> float:
    """Width of `text` in points, set in DejaVu Sans at `size_pt` (bold or regular)."""
    return _units(text, bold) * size_pt / _tables()[0]


@lru_cache(maxsize=1 << 16)
def _units(text: str, bold: bool) -> int:
    """Width of `text` in font units (cached: the deck measures the same words at every size it tries)."""
    units, widths = _tables()
    table = widths["bold" if bold else "regular"]
    return sum(table.get(ord(ch), units) for ch in text)


@dataclass
class Run:
    text: str
    size: float  # points
    bold: bool = False


@dataclass
class Paragraph:
    """A paragraph as the deck writes it: runs, space before/after (pt), left indent of wrapped lines (pt)."""

    runs: list[Run]
    space_before: float = 0.0
    space_after: float = 0.0
    indent: float = 0.0  # the bullet's hanging indent: every line starts this far in
    bullet: str = ""  # drawn in the indent


@dataclass
class Box:
    """A text box's inner size in points (the box less its insets)."""

    width: float
    height: float
    paragraphs: list[Paragraph] = field(default_factory=list)


def _tokens(runs: list[Run]) -> list[tuple[str, Run]]:
    """Words and the spaces after them, each with its run: where a line may break."""
    out: list[tuple[str, Run]] = []
    for run in runs:
        word = ""
        for ch in run.text:
            word += ch
            if ch == " ":
                out.append((word, run))
                word = ""
        if word:
            out.append((word, run))
    return out


def line_count(paragraph: Paragraph, width: float) -> int:
    """Lines the paragraph takes in a box `width` points wide: greedy word wrap, as PowerPoint
    and LibreOffice do; a word longer than a line is broken where it reaches the edge."""
    room = width * WIDTH_SLACK - paragraph.indent
    if room <= 0:
        return 10**6
    lines, used = 1, 0.0
    for word, run in _tokens(paragraph.runs):
        breaks = word.count("\n") + word.count("\v")
        if breaks:  # a line break inside the paragraph
            lines, used = lines + breaks, 0.0
            continue
        w = text_width(word, run.size, run.bold)
        ink = text_width(word.rstrip(" "), run.size, run.bold)  # trailing spaces may hang past the edge
        if used + ink <= room:
            used += w
            continue
        if used > 0:
            lines, used = lines + 1, 0.0
        if ink <= room:
            used = w
            continue
        for ch in word:  # longer than a line: broken where it reaches the edge
            cw = text_width(ch, run.size, run.bold)
            if used + cw > room and used > 0:
                lines, used = lines + 1, 0.0
            used += cw
    return lines


def paragraph_height(paragraph: Paragraph, width: float) -> float:
    size = max((r.size for r in paragraph.runs), default=0.0)
    return paragraph.space_before + line_count(paragraph, width) * size * LINE_HEIGHT + paragraph.space_after


def text_height(paragraphs: list[Paragraph], width: float) -> float:
    """Height in points the paragraphs take in a box `width` points wide (space before the first
    and after the last paragraph included: both renderers lay them out)."""
    return sum(paragraph_height(p, width) for p in paragraphs)


def fits(box: Box) -> bool:
    return text_height(box.paragraphs, box.width) <= box.height
