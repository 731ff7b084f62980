"""The deck is ready to present: every text box fits (measured with the font's widths), the
order is title, summary, profile tables, figures; every picture is 16:9 and no slide image
repeats the figure's title. No browser and no LibreOffice needed: the slide images are
stand-ins of the exporter's size, and the exporter's figure specs are checked directly."""

from __future__ import annotations

import copy

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.oxml.ns import qn
from pptx.util import Emu

from custseg.report import slides as slides_module
from custseg.report._sample import sample_result
from custseg.report._textfit import Paragraph, Run, line_count, text_height, text_width
from custseg.report._walk import figure_views, iter_views, slide_views
from custseg.report.deck import MIN_SIZE, write_deck
from custseg.report.slides import ASPECT, PNG_WIDTH, SlideImage, export_figures, slide_size, unique_file_names
from custseg.result import Note

LONG = ("Cluster 4 (Repeat higher-spending customers), 2.9% of customers (2,748 customers): median monetary R$ 224, "
        "2.1x the overall median of R$ 108 (the better side); median frequency 2 orders. ") * 40  # ~5,000 characters


def _pt(emu) -> float:
    return Emu(emu).pt


def _stand_in_images(result, folder) -> list[SlideImage]:
    """PNGs of the exporter's size (PNG_WIDTH x 16:9) without a browser."""
    from PIL import Image

    views = slide_views(result)
    images = []
    for view, name in zip(views, unique_file_names([v.title for v in views])):
        path = folder / f"{name}.png"
        Image.new("RGB", (PNG_WIDTH, round(PNG_WIDTH / ASPECT)), "white").save(path)
        images.append(SlideImage(view, path, None, (PNG_WIDTH, round(PNG_WIDTH / ASPECT))))
    return images


def _with_summary(result, long: bool = False):
    """The sample with the summary a real run has: an overview per population, headline findings, RFM segments."""
    import pandas as pd

    result = copy.deepcopy(result)
    for pop in result.populations:
        k = pop.k
        pop.overview = pd.DataFrame({
            "cluster": range(1, k + 1), "name": [pop.cluster_names.get(i, f"Cluster {i}") for i in range(1, k + 1)],
            "customers": [100 * i for i in range(1, k + 1)], "customers_share": [1 / k] * k,
            "revenue": [1000.0 * i for i in range(1, k + 1)], "revenue_share": [1 / k] * k,
            "median_recency": [100.0] * k, "median_frequency": [1.0] * k, "median_monetary": [99.5] * k,
            "traits": [("spends 2.1x the population median (R$ 223.65 vs 107.78); " * (8 if long else 1)).strip()] * k,
            "action": ["Retain and reward: VIP perks, early access, personal service."] * k,
        })
        pop.findings = [f"Finding {i} about {pop.title}: " + ("more recent customers bring the most revenue. " * (6 if long else 1)) for i in range(3)]
    result.summary = {**result.summary, "rfm_segments": {
        "Champions": {"customers": 10, "share": 0.1, "revenue_share": 0.3, "suggested_action": "Reward them."},
        "Lost": {"customers": 90, "share": 0.9, "revenue_share": 0.7, "suggested_action": "Leave out of paid campaigns."}}}
    return result


def _crowded(result):
    """Five findings per view, one of them ~5,000 characters, as the issue saw."""
    result = copy.deepcopy(result)
    for view in figure_views(result)[:4]:
        view.notes = [Note(LONG[: 900 * (i + 1)], "high") for i in range(5)]
    return result


@pytest.fixture(scope="module", params=["sample", "hostile", "crowded"])
def deck(request, tmp_path_factory):
    result = {"sample": _with_summary(sample_result()), "hostile": _with_summary(sample_result(hostile=True)),
              "crowded": _crowded(_with_summary(sample_result(), long=True))}[request.param]
    folder = tmp_path_factory.mktemp(f"deck-{request.param}")
    path = write_deck(result, folder / "deck.pptx", _stand_in_images(result, folder))
    return result, Presentation(str(path))


def _paragraphs(frame) -> list[Paragraph]:
    """A text frame's paragraphs as _textfit measures them, read back from the written XML."""
    out = []
    for p in frame.paragraphs:
        runs = []
        for r in p.runs:
            assert r.font.size is not None, f"run without an explicit size: {r.text[:40]!r}"
            runs.append(Run(r.text, r.font.size.pt, bool(r.font.bold)))
        p_pr = p._p.pPr
        indent = _pt(int(p_pr.get("marL", "0"))) if p_pr is not None else 0.0
        before = p.space_before.pt if p.space_before is not None else 0.0
        after = p.space_after.pt if p.space_after is not None else 0.0
        out.append(Paragraph(runs, before, after, indent))
    return out


def _inner(frame, width, height) -> tuple[float, float]:
    return _pt(width - frame.margin_left - frame.margin_right), _pt(height - frame.margin_top - frame.margin_bottom)


def test_every_text_box_fits(deck):
    _, prs = deck
    checked = 0
    for number, slide in enumerate(prs.slides, 1):
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0, (number, shape.name)
            assert shape.left + shape.width <= prs.slide_width and shape.top + shape.height <= prs.slide_height, (number, shape.name)
            if shape.has_text_frame and shape.text_frame.text.strip():
                frame = shape.text_frame
                body = frame._txBody.find(qn("a:bodyPr"))
                assert body.find(qn("a:normAutofit")) is None and body.find(qn("a:spAutoFit")) is None  # measured, not auto-fitted
                width, height = _inner(frame, shape.width, shape.height)
                paras = _paragraphs(frame)
                assert all(r.size >= MIN_SIZE for p in paras for r in p.runs), (number, frame.text[:60])
                needed = text_height(paras, width)
                assert needed <= height, f"slide {number}: {needed:.0f} pt of text in a {height:.0f} pt box: {frame.text[:80]!r}"
                checked += 1
            if shape.has_table:
                table = shape.table
                assert sum(r.height for r in table.rows) <= prs.slide_height - shape.top, number
                for row in table.rows:
                    for cell, column in zip(row.cells, table.columns):
                        width, height = _inner(cell, column.width, row.height)
                        paras = _paragraphs(cell.text_frame)
                        assert all(r.size >= MIN_SIZE for p in paras for r in p.runs), number
                        assert text_height(paras, width) <= height, f"slide {number}: table cell {cell.text[:60]!r}"
                        checked += 1
    assert checked > 20


def test_order_title_summary_profiles_then_figures(deck):
    result, prs = deck
    titles = [s.shapes.title.text for s in prs.slides]
    assert titles[0] == result.title
    kinds = []
    for slide, title in zip(list(prs.slides)[1:], titles[1:]):
        kinds.append("summary" if title.startswith("Summary") or title.endswith("headline findings") else "figure" if any(
            s.shape_type == MSO_SHAPE_TYPE.PICTURE for s in slide.shapes) else "profile")
    assert kinds[0] == "summary" and kinds == sorted(kinds, key=["summary", "profile", "figure"].index)
    assert kinds.count("figure") == len(slide_views(result))
    tables = [v for v in iter_views(result) if v.figure is None and v.table is not None]
    assert tables and kinds.count("profile") >= len(tables)
    for slide, kind in zip(list(prs.slides)[1:], kinds):
        if kind == "profile" and "findings" not in slide.shapes.title.text:
            assert any(s.has_table for s in slide.shapes)  # a native table, not a picture
    summaries = [sl for sl in prs.slides if sl.shapes.title.text.startswith("Summary")]
    summary_text = " ".join(s.text_frame.text for sl in summaries for s in sl.shapes if s.has_text_frame)
    summary_text += " ".join(c.text for sl in summaries for s in sl.shapes if s.has_table for r in s.table.rows for c in r.cells)
    overview = result.populations[0].overview
    for name in overview["name"]:
        assert str(name) in summary_text
    assert "Suggested action" in summary_text and "% of revenue" in summary_text


def test_pictures_are_16_9(deck):
    _, prs = deck
    pictures = [s for slide in prs.slides for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert pictures
    for picture in pictures:
        assert abs(picture.width / picture.height - ASPECT) <= 0.01 * ASPECT
        px_w, px_h = picture.image.size
        assert abs(px_w / px_h - ASPECT) <= 0.01 * ASPECT  # placed without distortion


def test_findings_left_out_are_in_the_speaker_notes(deck):
    result, prs = deck
    slides = {s.shapes.title.text: s for s in prs.slides}
    for view in figure_views(result):
        slide = slides.get(view.title)
        if slide is None:
            continue
        notes = slide.notes_slide.notes_text_frame.text
        shown = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
        for note in view.notes:
            if note.finding:
                assert note.text in notes or note.text in shown
        assert len([p for s in slide.shapes if s.has_text_frame and s != slide.shapes.title
                    for p in s.text_frame.paragraphs if p.text and p._p.pPr is not None and p._p.pPr.find(qn("a:buChar")) is not None]) <= 5


def test_slide_images_are_16_9_without_the_plotly_title(tmp_path, monkeypatch):
    """The exporter's figure specs: no title, 16:9, PNG_WIDTH px wide; PNG only unless SVG is asked."""
    result = sample_result(hostile=True)
    seen: list[dict] = []

    async def fake_draw(specs, path, kaleido, drawn=None):
        async for spec in specs:
            seen.append(spec)
            spec["path"].write_bytes(b"\x89PNG\r\n\x1a\n" if spec["opts"]["format"] == "png" else b"<svg/>")

    monkeypatch.setattr(slides_module, "_draw", fake_draw)
    monkeypatch.setattr(slides_module, "_check_browser", lambda: "/usr/bin/chromium")
    images = export_figures(result, tmp_path / "png")
    assert len(images) == len(slide_views(result)) == len(seen)
    assert all(s["opts"]["format"] == "png" for s in seen) and not list((tmp_path / "png").glob("*.svg"))
    for spec, image in zip(seen, images):
        layout = spec["fig"]["layout"]
        assert not (layout.get("title") or {}).get("text"), image.view.title
        width, height = spec["opts"]["width"], spec["opts"]["height"]
        assert abs(width / height - ASPECT) <= 0.01 * ASPECT
        assert round(width * spec["opts"]["scale"]) == PNG_WIDTH
        assert image.view.figure.layout.title.text  # the report's own figure keeps its title
    seen.clear()
    both = export_figures(result, tmp_path / "both", ("png", "svg"))
    assert len(seen) == 2 * len(both) and all(i.svg is not None and i.svg.is_file() for i in both)


def test_tall_figures_get_wider_not_squashed():
    assert slide_size({"layout": {"height": 832}}) == (1479, 832)
    assert slide_size({"layout": {"height": 420}}) == (1200, 675)
    assert slide_size({"layout": {"width": 900, "height": 900}}) == (1600, 900)


def test_text_measure():
    assert text_width("", 12) == 0
    assert text_width("W", 12) > text_width("i", 12)
    assert text_width("abc", 12, bold=True) > text_width("abc", 12)
    assert text_width("顧", 10) == 10  # outside the table: a full em
    assert line_count(Paragraph([Run("word " * 200, 12)]), 300) > 10
    assert line_count(Paragraph([Run("x" * 400, 12)]), 300) > 5  # an unbreakable word still wraps


def test_rfm_summary_slide_gives_the_action_its_room(olist_result):
    """The RFM summary's columns are sized by name: with the value column added, the suggested
    action stays the widest column and every other column at least 1 inch (the real Olist run)."""
    from pptx.util import Inches

    from custseg.report.deck import SLIDE_H, SLIDE_W, _rfm_slides

    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    _rfm_slides(prs, olist_result.summary["rfm_segments"])
    table = next(s.table for s in prs.slides[0].shapes if s.has_table)
    names = [c.text for c in table.rows[0].cells]
    widths = dict(zip(names, (c.width for c in table.columns)))
    assert "% of expected revenue" in names and max(widths, key=widths.get) == "Suggested action"
    assert min(widths.values()) >= Inches(1)


def _panel_values(figure, axis: str) -> list[float]:
    """Every bar value of one panel ("x": left, "x2": right) of a cluster x attribute chart, sorted."""
    return sorted(round(float(v), 6) for t in figure.data if (t.xaxis or "x") == axis for v in t.x if v == v)


def test_the_deck_leaves_out_only_views_whose_numbers_its_twin_shows(olist_result):
    """A figure left out of the deck (``same_as``, the attribute x cluster chart) has all its numbers
    on its twin's slide: its left panel is the twin's right panel and the other way round (the
    same cross-tab, transposed), read off the two figures' own bars."""
    views = {v.key: v for v in figure_views(olist_result)}
    shown = {v.key for v in slide_views(olist_result)}
    left_out = [v for v in views.values() if v.key not in shown]
    assert len({v.same_as for v in left_out}) == len(left_out) == 24  # 12 attributes x 2 populations, each twin once
    for view in left_out:
        twin = views[view.same_as]
        assert twin.key in shown and not twin.same_as
        assert _panel_values(view.figure, "x") == _panel_values(twin.figure, "x2")
        assert _panel_values(view.figure, "x2") == _panel_values(twin.figure, "x")
        assert len(_panel_values(view.figure, "x")) > 4


def test_a_table_over_two_slides_shares_its_rows_evenly(olist_result):
    """The real Olist RFM summary (10 segments) does not fit one slide: its rows are shared evenly
    between the slides it needs (it was 9 rows, then a slide holding 1)."""
    from custseg.report.deck import SLIDE_H, SLIDE_W, _rfm_slides

    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    _rfm_slides(prs, olist_result.summary["rfm_segments"])
    counts = [len(next(s for s in slide.shapes if s.has_table).table.rows) - 1 for slide in prs.slides]
    assert sum(counts) == len(olist_result.summary["rfm_segments"]) == 10
    assert len(counts) >= 2 and max(counts) - min(counts) <= 1


def test_no_word_of_a_table_is_wider_than_its_column(olist_result):
    """A word wider than its cell is broken inside it ("Customer / s"): every word of the real
    Olist RFM summary's cells fits its column at the size the table is set in (font metrics)."""
    from custseg.report._textfit import text_width
    from custseg.report.deck import INSET_X, SLIDE_H, SLIDE_W, _rfm_slides

    prs = Presentation()
    prs.slide_width, prs.slide_height = SLIDE_W, SLIDE_H
    _rfm_slides(prs, olist_result.summary["rfm_segments"])
    for slide in prs.slides:
        table = next(s for s in slide.shapes if s.has_table).table
        for r, row in enumerate(table.rows):
            for column, cell in zip(table.columns, row.cells):
                room = _pt(column.width - 2 * INSET_X)
                for paragraph in cell.text_frame.paragraphs:
                    for run in paragraph.runs:
                        for word in run.text.split():
                            assert text_width(word, run.font.size.pt, bold=bool(run.font.bold)) <= room, (r, word)
