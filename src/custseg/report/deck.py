"""A PowerPoint deck ready to present.

A title slide; the summary (per population its clusters with their share of customers and of
revenue, what defines each and a suggested action, then its headline findings; the RFM
segments); a native table per cluster profile; then a slide per figure with its findings (a figure
whose numbers another one shows, ``View.same_as``, only once: :func:`~custseg.report._walk.slide_views`).

Every text box is measured before it is written (:mod:`custseg.report._textfit`): a box's
text is set at the largest size that fits, never below ``MIN_SIZE``; what still does not fit
(the lowest-ranked findings, a table's further rows) goes to the speaker notes or the next
slide, never over the box's edge. Boxes never auto-fit: their size is what was measured.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from custseg.report._textfit import FONT, Box, Paragraph, Run, fits, text_height
from custseg.report._walk import iter_views, slide_views
from custseg.report.tables import format_value, rfm_summary_table, safe_color, summary_table, table_model
from custseg.report.slides import ASPECT, SlideImage, export_figures
from custseg.result import AnalysisResult, Note, PopulationResult, View, findings

# ---------------------------------------------------------------- layout: every size in one place

SLIDE_W, SLIDE_H = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
TITLE_TOP, TITLE_H = Inches(0.3), Inches(0.95)
BODY_TOP, BODY_BOTTOM = Inches(1.35), SLIDE_H - Inches(0.35)
GAP = Inches(0.3)
FINDINGS_W = Inches(4.1)  # the findings column beside a figure
INSET_X, INSET_Y = Inches(0.1), Inches(0.05)  # a text box's and a table cell's insets
TITLE_SIZES = (28, 24, 20)
COVER_SIZES = (40, 36, 32, 28, 24)
BODY_SIZES = (18, 17, 16, 15, 14, 13, 12)
TABLE_SIZES = (14, 13, 12)
MIN_SIZE = 12  # no text on a slide is smaller
LABEL_SIZE = 12  # "FINDINGS"
BULLET_INDENT = Pt(16)
PARAGRAPH_GAP = 0.5  # space after a finding, in font sizes
SUMMARY_COLUMNS = (("Cluster", 2.2), ("% of customers", 1.6), ("% of revenue", 1.45), ("What defines it", 3.6), ("Suggested action", 3.48))

INK = RGBColor(0x1F, 0x29, 0x33)
MUTED = RGBColor(0x5F, 0x6B, 0x7A)
ACCENT = RGBColor(0x2A, 0x6F, 0x97)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
STRIPE = RGBColor(0xF3, 0xF5, 0xF7)

CONTENT_W = SLIDE_W - 2 * MARGIN
BODY_H = BODY_BOTTOM - BODY_TOP


def _pt(emu: int) -> float:
    return emu / 12700


def _clean(text: object) -> str:
    """Text PowerPoint can store: XML 1.0 characters only (no NUL or other control characters)."""
    return "".join(
        ch for ch in str(text)
        if ch in "\t\n" or (0x20 <= ord(ch) <= 0xD7FF) or (0xE000 <= ord(ch) <= 0xFFFD) or (0x10000 <= ord(ch) <= 0x10FFFF)
    )


# ---------------------------------------------------------------- measured text


@dataclass
class Styled:
    """A run to write: the measured text plus how it looks."""

    text: str
    size: float
    bold: bool = False
    italic: bool = False
    color: RGBColor = INK


@dataclass
class Para:
    runs: list[Styled]
    bullet: bool = False
    space_after: float = 0.0
    align: PP_ALIGN = PP_ALIGN.LEFT

    def measured(self) -> Paragraph:
        return Paragraph([Run(r.text, r.size, r.bold) for r in self.runs], 0.0, self.space_after,
                         _pt(BULLET_INDENT) if self.bullet else 0.0)


def _inner(width: int, height: int) -> tuple[float, float]:
    return _pt(width - 2 * INSET_X), _pt(height - 2 * INSET_Y)


def _fits(paras: list[Para], width: int, height: int) -> bool:
    w, h = _inner(width, height)
    return fits(Box(w, h, [p.measured() for p in paras]))


def _shorten(make, width: int, height: int, text: str) -> str:
    """The longest start of `text` (cut at a word, with an ellipsis) for which ``make(text)`` fits."""
    words = text.split(" ")
    lo, hi = 0, len(words)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(make(" ".join(words[:mid]) + " …"), width, height):
            lo = mid
        else:
            hi = mid - 1
    if lo:
        return " ".join(words[:lo]) + " …"
    chars = text[: max(1, len(text) // 8)]  # one unbreakable word: by characters
    while len(chars) > 1 and not _fits(make(chars + "…"), width, height):
        chars = chars[: len(chars) * 3 // 4]
    return chars + "…"


def _write(frame, paras: list[Para], anchor=MSO_ANCHOR.TOP) -> None:
    """Write measured paragraphs: fixed size box, explicit font, size and spacing on every run."""
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.vertical_anchor = anchor
    frame.margin_left = frame.margin_right = INSET_X
    frame.margin_top = frame.margin_bottom = INSET_Y
    for i, para in enumerate(paras):
        p = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        for r in list(p.runs):
            r._r.getparent().remove(r._r)
        p.alignment = para.align
        p.space_before = Pt(0)
        p.space_after = Pt(para.space_after)
        p_pr = p._p.get_or_add_pPr()
        for tag in ("a:buNone", "a:buChar", "a:buAutoNum"):
            for old in p_pr.findall(qn(tag)):
                p_pr.remove(old)
        if para.bullet:
            p_pr.set("marL", str(Emu(BULLET_INDENT)))
            p_pr.set("indent", str(-Emu(BULLET_INDENT)))
            p_pr.append(p_pr.makeelement(qn("a:buChar"), {"char": "•"}))
        else:
            p_pr.set("marL", "0")
            p_pr.set("indent", "0")
            p_pr.append(p_pr.makeelement(qn("a:buNone"), {}))
        for styled in para.runs:
            run = p.add_run()
            run.text = _clean(styled.text)
            font = run.font
            font.name, font.size, font.bold, font.italic = FONT, Pt(styled.size), styled.bold, styled.italic
            font.color.rgb = styled.color


def _textbox(slide, left: int, top: int, width: int, height: int, paras: list[Para], anchor=MSO_ANCHOR.TOP):
    box = slide.shapes.add_textbox(left, top, width, height)
    _write(box.text_frame, paras, anchor)
    return box


def _title(slide, text: str, notes: list[str]) -> None:
    """The slide's title at the largest size that fits its box (cut, whole in the notes, if none does)."""
    text = _clean(text)

    def make(t: str, size: float) -> list[Para]:
        return [Para([Styled(t, size, bold=True)])]

    shown = text
    size = next((s for s in TITLE_SIZES if _fits(make(text, s), CONTENT_W, TITLE_H)), None)
    if size is None:
        size = TITLE_SIZES[-1]
        shown = _shorten(lambda t: make(t, size), CONTENT_W, TITLE_H, text)
        notes.insert(0, f"Title: {text}")
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = MARGIN, TITLE_TOP, CONTENT_W, TITLE_H
    _write(shape.text_frame, make(shown, size), MSO_ANCHOR.MIDDLE)


def _note_text(note: Note | str) -> str:
    if isinstance(note, Note):
        return str(note.text) + (f" ({note.confidence})" if note.confidence else "")
    return str(note)


def _finding_paras(items: list[Note | str], size: float, label: str = "FINDINGS", caption: str = "") -> list[Para]:
    paras = [Para([Styled(label, LABEL_SIZE, bold=True, color=ACCENT)], space_after=LABEL_SIZE * 0.5)] if label else []
    for item in items:
        runs = [Styled(str(item.text if isinstance(item, Note) else item), size)]
        if isinstance(item, Note) and item.confidence:
            runs.append(Styled(f" ({item.confidence})", max(size - 2, MIN_SIZE), italic=True, color=MUTED))
        paras.append(Para(runs, bullet=True, space_after=size * PARAGRAPH_GAP))
    if caption:
        paras.append(Para([Styled(caption, MIN_SIZE, italic=True, color=MUTED)]))
    return paras


def fit_findings(items: list[Note | str], width: int, height: int, label: str = "FINDINGS",
                 caption: str = "") -> tuple[list[Para], list[Note | str], bool]:
    """The findings box: (paragraphs, items left out, whether the caption is shown).

    The most findings at the largest size that fits: every size down to MIN_SIZE is tried
    before the lowest-ranked finding is dropped; the caption goes before the last finding.
    One finding too long for the box even alone is cut at a word (whole in the notes).
    """
    for with_caption in ([True, False] if caption else [False]):
        for n in range(len(items), 0, -1):
            for size in BODY_SIZES:
                paras = _finding_paras(items[:n], size, label, caption if with_caption else "")
                if _fits(paras, width, height):
                    return paras, items[n:], with_caption
    if not items:
        return [], [], False
    first = _note_text(items[0])
    shown = _shorten(lambda t: _finding_paras([t], MIN_SIZE, label), width, height, first)
    return _finding_paras([shown], MIN_SIZE, label), items, False  # the first, cut: the notes have it whole


def _speaker_notes(slide, lines: list[str]) -> None:
    slide.notes_slide.notes_text_frame.text = _clean("\n".join(lines))


def _findings_notes(title: str, items: list[Note | str], left_out: list[Note | str], caption: str = "") -> list[str]:
    lines = [title, ""] + [f"- {_note_text(n)}" for n in items if not any(n is o for o in left_out)]
    if left_out:
        lines += ["", "Not on the slide (no room):"] + [f"- {_note_text(n)}" for n in left_out]
    if caption:
        lines += ["", caption]
    return lines


# ---------------------------------------------------------------- tables


@dataclass
class Cell:
    text: str
    fill: RGBColor | None = None
    color: RGBColor = INK
    bold: bool = False
    right: bool = False


def _cell_height(cell: Cell, width: int, size: float) -> int:
    w, _ = _inner(width, 0)
    h = text_height([Paragraph([Run(cell.text, size, cell.bold)])], w)
    return int(Pt(h)) + 2 * INSET_Y + Emu(Pt(1))


def _row_heights(rows: list[list[Cell]], widths: list[int], size: float) -> list[int]:
    return [max(_cell_height(c, w, size) for c, w in zip(row, widths)) for row in rows]


def fit_table(header: list[Cell], rows: list[list[Cell]], widths: list[int], height: int) -> tuple[float, int]:
    """(font size, how many rows) for the largest size at which the most rows fit in `height`."""
    for size in TABLE_SIZES:
        heights = _row_heights([header] + rows, widths, size)
        if sum(heights) <= height:
            return size, len(rows)
    size = TABLE_SIZES[-1]
    heights = _row_heights([header] + rows, widths, size)
    used, n = heights[0], 0
    while n < len(rows) and used + heights[n + 1] <= height:
        used, n = used + heights[n + 1], n + 1
    return size, max(n, 1)


def _add_table(slide, top: int, header: list[Cell], rows: list[list[Cell]], widths: list[int], size: float) -> int:
    """A native table whose rows are as tall as their measured text; returns its height."""
    heights = _row_heights([header] + rows, widths, size)
    shape = slide.shapes.add_table(len(rows) + 1, len(header), MARGIN, top, sum(widths), sum(heights))
    table = shape.table
    table.first_row, table.horz_banding = True, False
    for j, w in enumerate(widths):
        table.columns[j].width = w
    for i, (row, h) in enumerate(zip([header] + rows, heights)):
        table.rows[i].height = h
        for j, cell in enumerate(row):
            target = table.cell(i, j)
            target.margin_left = target.margin_right = INSET_X
            target.margin_top = target.margin_bottom = INSET_Y
            target.fill.solid()
            target.fill.fore_color.rgb = cell.fill or (ACCENT if i == 0 else STRIPE if i % 2 == 0 else WHITE)
            color = WHITE if i == 0 and cell.fill is None else cell.color
            para = Para([Styled(cell.text, size, bold=cell.bold, color=color)],
                        align=PP_ALIGN.RIGHT if cell.right else PP_ALIGN.LEFT)
            _write(target.text_frame, [para])
    return sum(heights)


def _below_table(header, rows, widths, below, label) -> tuple[float, list[Para]] | None:
    """The largest table size at which every item of `below` fits under the table, or None."""
    for size in TABLE_SIZES:
        room = BODY_H - sum(_row_heights([header] + rows, widths, size)) - GAP
        if room < Inches(0.8):
            continue
        paras, left_out, _ = fit_findings(below, CONTENT_W, room, label)
        if paras and not left_out:
            return size, paras
    return None


def _table_slides(prs, title: str, header: list[Cell], rows: list[list[Cell]], widths: list[int],
                  below: list[Note | str], below_label: str, notes: list[str], below_title: str) -> None:
    """A table over as many slides as it needs, its rows shared evenly between them (10 rows on
    two slides: 5 and 5, not 9 and 1), then `below` (findings) under it if they all fit there at
    MIN_SIZE or more, else on a slide of their own (the notes have every item)."""
    per_slide = -(-len(rows) // _slides_needed(header, rows, widths)) if rows else 0
    start, part = 0, 1
    while True:
        size, n = fit_table(header, rows[start:start + per_slide], widths, BODY_H)
        last = start + n >= len(rows)
        under = _below_table(header, rows[start:], widths, below, below_label) if last and below else None
        if under is not None:
            size = under[0]
        slide = _new_slide(prs)
        slide_notes = list(notes)
        _title(slide, title if start == 0 and last else f"{title} ({part})", slide_notes)
        height = _add_table(slide, BODY_TOP, header, rows[start : start + n], widths, size)
        start, part = start + n, part + 1
        if not last:
            _speaker_notes(slide, slide_notes)
            continue
        if under is not None:
            _textbox(slide, MARGIN, BODY_TOP + height + GAP, CONTENT_W, BODY_H - height - GAP, under[1])
        _speaker_notes(slide, slide_notes + [f"- {_note_text(n)}" for n in below])
        if below and under is None:
            slide = _new_slide(prs)
            rest_notes = [below_title, ""]
            _title(slide, below_title, rest_notes)
            paras, left_out, _ = fit_findings(below, CONTENT_W, BODY_H, below_label)
            _textbox(slide, MARGIN, BODY_TOP, CONTENT_W, BODY_H, paras)
            _speaker_notes(slide, _findings_notes(below_title, below, left_out))
        return


def _slides_needed(header: list[Cell], rows: list[list[Cell]], widths: list[int]) -> int:
    """How many slides the table takes filled one after another."""
    start, slides = 0, 0
    while start < len(rows):
        start, slides = start + fit_table(header, rows[start:], widths, BODY_H)[1], slides + 1
    return max(slides, 1)


def _widths(inches: list[float]) -> list[int]:
    total = sum(inches)
    widths = [int(CONTENT_W * w / total) for w in inches]
    widths[-1] += CONTENT_W - sum(widths)
    return widths


def _summary_slides(prs, pop: PopulationResult, currency: str) -> None:
    overview = pop.overview
    shares = summary_table(overview, currency)
    header = [Cell(name, bold=True) for name, _ in SUMMARY_COLUMNS]
    rows = []
    for (_, r), (_, s) in zip(overview.iterrows(), shares.iterrows()):
        rows.append([Cell(str(r["name"]), bold=True), Cell(str(s.get("% of customers", "")), right=True),
                     Cell(str(s.get("% of revenue", "")), right=True), Cell(str(r.get("traits", ""))), Cell(str(r.get("action", "")))])
    title = f"Summary: {pop.title}"
    notes = [title, "", f"{pop.n_customers:,} customers, {pop.k} clusters. {pop.description or ''}".strip(), ""]
    _table_slides(prs, title, header, rows, _widths([w for _, w in SUMMARY_COLUMNS]), list(pop.findings),
                  "HEADLINE FINDINGS", notes, f"{pop.title}: headline findings")


def _model_cells(model) -> tuple[list[Cell], list[list[Cell]]]:
    header = [Cell(h, bold=True) for h in model.index_headers + model.headers]
    rows = []
    for index_cells, cells in model.rows:
        row = [Cell(c.text, bold=True) for c in index_cells]
        for c in cells:
            fill = color = None
            if c.style:
                css = dict(part.split(": ") for part in c.style.split("; "))
                fill, color = _rgb(css.get("background-color")), _rgb(css.get("color"))
            row.append(Cell(c.text, fill=fill, color=color or INK, right=c.numeric or bool(_SHARE.fullmatch(c.text))))
        rows.append(row)
    return header, rows


_SHARE = re.compile(r"[-+−]?[\d,.]+\s?%")


def _rgb(css: str | None) -> RGBColor | None:
    color = safe_color(css) if css else None
    if not color or not color.startswith("#") or len(color) not in (4, 7):
        return None
    h = color[1:] if len(color) == 7 else "".join(c * 2 for c in color[1:])
    return RGBColor.from_string(h.upper())


#: The RFM summary's column widths, relative; the action takes the room its sentence needs.
RFM_COLUMN_WEIGHTS = {"RFM segment": 2.0, "Customers": 1.6, "% of customers": 1.5, "% of revenue": 1.4,
                      "% of expected revenue": 1.5, "Suggested action": 5.0}


def _rfm_slides(prs, segments: dict) -> None:
    model = rfm_summary_table(segments)
    if model is None:
        return
    header, rows = _model_cells(model)
    weights = [RFM_COLUMN_WEIGHTS.get(h.text, 1.4) for h in header]  # by name: the table's columns vary (value, actions)
    _table_slides(prs, "Summary: RFM segments", header, rows, _widths(weights), [], "", ["Summary: RFM segments"], "")


def _profile_slides(prs, view: View) -> None:
    model = table_model(view.table, view.table_colors)
    header, rows = _model_cells(model)
    first = 1.6 if model.index_headers else 1.0
    widths = _widths([first] * len(model.index_headers) + [1.0] * len(model.headers))
    items = findings(view.notes)
    _table_slides(prs, view.title, header, rows, widths, items, "FINDINGS", [view.title, ""], f"{view.title}: findings")


# ---------------------------------------------------------------- slides


def _new_slide(prs):
    return prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"


def _cover(prs, result: AnalysisResult) -> None:
    slide = prs.slides.add_slide(prs.slide_layouts[0])
    notes: list[str] = [str(result.title)]
    title, subtitle = slide.shapes.title, slide.placeholders[1]
    title.left, title.top, title.width, title.height = MARGIN, Inches(1.9), CONTENT_W, Inches(2.0)
    text = _clean(result.title)
    size = next((s for s in COVER_SIZES if _fits([Para([Styled(text, s, bold=True)])], CONTENT_W, title.height)), None)
    if size is None:
        size = COVER_SIZES[-1]
        text = _shorten(lambda t: [Para([Styled(t, size, bold=True)])], CONTENT_W, title.height, text)
    _write(title.text_frame, [Para([Styled(text, size, bold=True)])], MSO_ANCHOR.BOTTOM)

    summary = result.summary or {}
    facts = []
    for key, label in (("customers", "customers"), ("converted_customers", "converted"), ("repeat_customers", "repeat")):
        if key in summary:
            facts.append(f"{format_value(summary[key])[0]} {label}")
    if isinstance(summary.get("revenue"), (int, float)):
        facts.append(f"{(summary.get('currency') + ' ') if summary.get('currency') else ''}{summary['revenue']:,.0f} revenue")
    headline = " · ".join(facts)
    if summary.get("sample"):  # the facts are the sample's: say so
        headline = f"A uniform sample of the {summary['sample']['of']:,} customers: {headline}"
    lines = [line for line in (headline, str(result.source or "")) if line]
    subtitle.left, subtitle.top, subtitle.width, subtitle.height = MARGIN, Inches(4.1), CONTENT_W, Inches(1.6)

    def make(size: float) -> list[Para]:
        return [Para([Styled(line, size if i == 0 else max(size - 4, MIN_SIZE), color=MUTED)], space_after=6) for i, line in enumerate(lines)]

    size = next((s for s in (20, 18, 16, 14, 12) if _fits(make(s), CONTENT_W, subtitle.height)), None)
    if size is None:  # a very long source path: the facts only, the path in the notes
        lines = lines[:1]
        size = 12
    _write(subtitle.text_frame, make(size) if lines else [])
    _speaker_notes(slide, notes + lines)


@dataclass
class _Frame:
    """Where a figure slide's picture goes, once its image is drawn."""

    slide: object
    left: int  # of the picture area
    width: int


def _figure_slide(prs, view: View) -> _Frame:
    """A figure's slide, all but its picture: title, findings and notes (made while the image is drawn)."""
    slide = _new_slide(prs)
    items = findings(view.notes)
    caption = str(view.caption or "")
    notes: list[str] = []
    _title(slide, view.title, notes)
    if items or caption:
        paras, left_out, with_caption = fit_findings(items, FINDINGS_W, BODY_H, "FINDINGS" if items else "", caption)
        area_w = CONTENT_W - FINDINGS_W - GAP
        _textbox(slide, SLIDE_W - MARGIN - FINDINGS_W, BODY_TOP, FINDINGS_W, BODY_H, paras)
    else:
        left_out, with_caption, area_w = [], False, CONTENT_W
    _speaker_notes(slide, notes + _findings_notes(view.title, items, left_out, "" if with_caption else caption))
    return _Frame(slide, MARGIN, area_w)


def _picture(frame: _Frame, image: SlideImage) -> None:
    pic_w = min(frame.width, int(BODY_H * ASPECT))
    pic_h = int(pic_w / ASPECT)
    width_px, height_px = image.size if all(image.size) else _image_size(image.png)
    if abs(width_px / height_px - ASPECT) > 0.01 * ASPECT:  # not a slide image: keep its own shape
        pic_h = min(BODY_H, int(pic_w * height_px / width_px))
        pic_w = int(pic_h * width_px / height_px)
    left = frame.left + (frame.width - pic_w) // 2
    frame.slide.shapes.add_picture(str(image.png), left, BODY_TOP, pic_w, pic_h)


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.size


def write_deck(result: AnalysisResult, path: str | Path, images: list[SlideImage] | Callable[[], list[SlideImage]] | None = None) -> Path:
    """Write `path` (.pptx). `images` are the exported slide images (exported here when None), or
    a function that waits for them: the slides without images are made meanwhile."""
    path = Path(path)
    if images is None:
        with tempfile.TemporaryDirectory(prefix="custseg-slides-") as tmp:
            return write_deck(result, path, export_figures(result, tmp))

    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    prs.core_properties.title = _clean(result.title)
    _cover(prs, result)
    currency = (result.summary or {}).get("currency", "")
    for pop in result.populations:
        if isinstance(pop.overview, pd.DataFrame) and not pop.overview.empty:
            _summary_slides(prs, pop, currency)
    _rfm_slides(prs, (result.summary or {}).get("rfm_segments") or {})
    for view in iter_views(result):
        if view.figure is None and view.table is not None:
            _profile_slides(prs, view)
    # the figure slides' text first (while the browser may still draw), then their pictures
    views = slide_views(result) if callable(images) else [image.view for image in images]
    frames = {id(view): _figure_slide(prs, view) for view in views}
    for image in images() if callable(images) else images:
        _picture(frames[id(image.view)], image)
    path.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(path))
    return path
