"""A PowerPoint deck: a title slide, then one slide per figure with its observations."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from custseg.report.html import format_value
from custseg.report.slides import SlideImage, export_figures
from custseg.result import DECK_FINDINGS, AnalysisResult, Note, findings

SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
MARGIN = Inches(0.5)
INK = RGBColor(0x1F, 0x29, 0x33)
MUTED = RGBColor(0x5F, 0x6B, 0x7A)
ACCENT = RGBColor(0x2A, 0x6F, 0x97)


def _clean(text: object) -> str:
    """Text PowerPoint can store: XML 1.0 characters only (no NUL or other control characters)."""
    return "".join(
        ch for ch in str(text)
        if ch in "\t\n" or (0x20 <= ord(ch) <= 0xD7FF) or (0xE000 <= ord(ch) <= 0xFFFD) or (0x10000 <= ord(ch) <= 0x10FFFF)
    )


def _bullet(paragraph, char: str = "•") -> None:
    p_pr = paragraph._p.get_or_add_pPr()
    p_pr.set("marL", str(Emu(Inches(0.22))))
    p_pr.set("indent", str(-Emu(Inches(0.22))))
    for tag in ("a:buNone", "a:buChar", "a:buAutoNum"):
        for old in p_pr.findall(qn(tag)):
            p_pr.remove(old)
    bu = p_pr.makeelement(qn("a:buChar"), {"char": char})
    p_pr.append(bu)


def _note_size(notes: list[Note]) -> int:
    chars = sum(len(str(n.text)) + len(str(n.confidence or "")) for n in notes)
    return 14 if chars < 350 else 12 if chars < 650 else 10


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.size


def _place_title(slide, text: str) -> None:
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = MARGIN, Inches(0.3), SLIDE_WIDTH - 2 * MARGIN, Inches(0.85)
    frame = title.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
    frame.text = _clean(text)
    for p in frame.paragraphs:
        p.alignment = PP_ALIGN.LEFT
        for run in p.runs:
            run.font.size = Pt(26 if len(text) < 70 else 20)
            run.font.bold = True
            run.font.color.rgb = INK


def _add_figure_slide(prs, image: SlideImage) -> None:
    view = image.view
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
    _place_title(slide, view.title)

    notes = findings(view.notes, DECK_FINDINGS)  # the slide shows the top findings; the report has the rest
    speaker_notes = findings(view.notes)
    top = Inches(1.25)
    area_h = SLIDE_HEIGHT - top - Inches(0.4)
    text_w = Inches(3.75) if notes or view.caption else 0
    area_w = SLIDE_WIDTH - 2 * MARGIN - (text_w + Inches(0.3) if text_w else 0)
    width_px, height_px = _image_size(image.png)
    scale = min(area_w / width_px, area_h / height_px)
    pic_w, pic_h = int(width_px * scale), int(height_px * scale)
    slide.shapes.add_picture(str(image.png), MARGIN + (area_w - pic_w) // 2, top, pic_w, pic_h)

    if text_w:
        box = slide.shapes.add_textbox(SLIDE_WIDTH - MARGIN - text_w, top, text_w, area_h)
        frame = box.text_frame
        frame.word_wrap = True
        frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
        size = _note_size(notes)
        first = frame.paragraphs[0]
        if notes:
            run = first.add_run()
            run.text = "FINDINGS"
            run.font.size, run.font.bold, run.font.color.rgb = Pt(11), True, ACCENT
            first.space_after = Pt(6)
            for note in notes:
                p = frame.add_paragraph()
                _bullet(p)
                p.space_after = Pt(8)
                run = p.add_run()
                run.text = _clean(note.text)
                run.font.size, run.font.color.rgb = Pt(size), INK
                if note.confidence:
                    run = p.add_run()
                    run.text = _clean(f" ({note.confidence})")
                    run.font.size, run.font.italic, run.font.color.rgb = Pt(max(size - 3, 9)), True, MUTED
        if view.caption:
            p = frame.add_paragraph() if notes else first
            p.space_before = Pt(10)
            run = p.add_run()
            run.text = _clean(view.caption)
            run.font.size, run.font.color.rgb = Pt(10), MUTED

    speaker = [view.title, ""] + [f"- {n.text}" + (f" ({n.confidence})" if n.confidence else "") for n in speaker_notes]
    if view.caption:
        speaker += ["", view.caption]
    slide.notes_slide.notes_text_frame.text = _clean("\n".join(speaker))


def write_deck(result: AnalysisResult, path: str | Path, images: list[SlideImage] | None = None) -> Path:
    """Write `path` (.pptx). `images` are the exported slide images (exported here when None)."""
    path = Path(path)
    if images is None:
        with tempfile.TemporaryDirectory(prefix="custseg-slides-") as tmp:
            return write_deck(result, path, export_figures(result, tmp))

    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    prs.core_properties.title = _clean(result.title)

    slide = prs.slides.add_slide(prs.slide_layouts[0])
    slide.shapes.title.left, slide.shapes.title.top = MARGIN, Inches(2.3)
    slide.shapes.title.width, slide.shapes.title.height = SLIDE_WIDTH - 2 * MARGIN, Inches(1.5)
    slide.shapes.title.text = _clean(result.title)
    subtitle = slide.placeholders[1]
    subtitle.left, subtitle.top, subtitle.width, subtitle.height = MARGIN, Inches(3.9), SLIDE_WIDTH - 2 * MARGIN, Inches(1.4)
    lines = [str(result.source or "")]
    summary = result.summary or {}
    if "customers" in summary:
        facts = [f"{format_value(summary['customers'])[0]} customers"]
        if "converted_customers" in summary:
            facts.append(f"{format_value(summary['converted_customers'])[0]} converted")
        if "repeat_customers" in summary:
            facts.append(f"{format_value(summary['repeat_customers'])[0]} repeat")
        lines.append(" · ".join(facts))
    subtitle.text = _clean("\n".join(line for line in lines if line))
    for p in subtitle.text_frame.paragraphs:
        for run in p.runs:
            run.font.size, run.font.color.rgb = Pt(18), MUTED

    for image in images:
        _add_figure_slide(prs, image)
    path.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(path))
    return path
