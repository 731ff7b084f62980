"""Slide images, the deck, summary.json and safe file names."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custseg.report import summary_data, write_report
from custseg.report._sample import HOSTILE, sample_result
from custseg.report._walk import figure_views
from custseg.report.slides import ASPECT, MAX_NAME_LENGTH, PNG_WIDTH, browser_path, safe_file_name, unique_file_names

SAFE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def _assert_safe(name: str) -> None:
    assert SAFE.fullmatch(name), name
    assert 0 < len(name) <= MAX_NAME_LENGTH
    assert name not in RESERVED and name not in (".", "..")
    assert "/" not in name and "\\" not in name and os.sep not in name
    assert Path(name).name == name


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_safe_file_name_of_any_unicode_title(title):
    _assert_safe(safe_file_name(title))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=120), max_size=30))
def test_unique_file_names_are_safe_and_distinct(titles):
    names = unique_file_names(titles)
    assert len(names) == len(titles) and len(set(names)) == len(names)
    for name in names:
        _assert_safe(name)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Cluster profile (All Customers)", "cluster-profile-all-customers"),
        ("Clusters × São Paulo: top 5", "clusters-sao-paulo-top-5"),
        ("../../etc/passwd", "etc-passwd"),
        ("<script>alert(1)</script>", "script-alert-1-script"),
        ("CON", "con-figure"),
        ("..", None),
        ("", "figure"),
        ("顧客の分類", None),
    ],
)
def test_safe_file_name_examples(title, expected):
    name = safe_file_name(title)
    _assert_safe(name)
    if expected is not None:
        assert name == expected
    else:
        assert name.startswith("figure-") and name == safe_file_name(title)  # stable hash name


def test_long_titles_are_capped_at_a_word_boundary():
    name = safe_file_name("Share of customers by cluster and by top general product category " * 5)
    assert len(name) <= MAX_NAME_LENGTH and not name.endswith("-")
    assert unique_file_names(["x" * 200, "x" * 200])[1].endswith("-2")


def test_summary_json_content():
    data = summary_data(sample_result())
    assert data["customers"] == 99_441 and data["excluded_input_rows"]["canceled orders"] == 625
    assert data["populations"]["all"] == {
        "title": "All Customers", "customers": 93_358, "k": 5, "k_reason": "the elbow of the inertia curve",
        "method": "KMeans (k-means++, random_state 42)", "silhouette": 0.492, "silhouette_label": "0.492 (exact)", "silhouette_method": "exact",
        "features": ["avg_unique_products_cnt", "recency", "frequency", "monetary"],
    }
    assert data["populations"]["repeat_champions"]["k"] == 7


needs_browser = pytest.mark.skipif(browser_path() is None, reason="no Chromium found (install Debian's chromium or set BROWSER_PATH)")


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The whole report stage on a result whose titles, categories and cities are hostile."""
    result = sample_result(hostile=True)
    out = tmp_path_factory.mktemp("report")
    return result, out, write_report(result, out)


@needs_browser
def test_write_report_files(written):
    result, out, paths = written
    assert set(paths) == {"report", "slides", "deck", "summary"}
    assert sorted(p.name for p in out.iterdir()) == ["deck.pptx", "report.html", "slides", "summary.json"]
    views = figure_views(result)
    files = sorted(p.name for p in (out / "slides").iterdir())
    stems = unique_file_names([v.title for v in views])
    assert files == sorted(f"{s}.png" for s in stems)  # SVG only on request (--slide-format png,svg)
    for stem in stems:
        _assert_safe(stem)
        png = out / "slides" / f"{stem}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
        from PIL import Image

        with Image.open(png) as img:
            assert img.size == (PNG_WIDTH, round(PNG_WIDTH / ASPECT)) == (1440, 810)
    # a hostile title gave a plain name, not a path
    assert "rfm-segments-share-of-converted-customers-img-src-x-onerror-alert-3" in stems


@needs_browser
def test_summary_json_is_deterministic(written, tmp_path):
    result, out, _ = written
    from custseg.report import write_summary

    again = write_summary(result, tmp_path / "summary.json")
    text = (out / "summary.json").read_text(encoding="utf-8")
    assert again.read_text(encoding="utf-8") == text
    data = json.loads(text)
    assert list(data) == sorted(data) and HOSTILE[0] in data["excluded_input_rows"]


@needs_browser
def test_deck_has_a_title_slide_and_one_slide_per_figure(written):
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    result, out, _ = written
    views = figure_views(result)
    deck = Presentation(str(out / "deck.pptx"))
    slides = list(deck.slides)
    assert len(slides) > 1 + len(views)  # title, profile tables, figures
    assert slides[0].shapes.title.text == result.title
    for slide, view in zip(slides[-len(views):], views):
        assert slide.shapes.title.text == view.title
        pictures = [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == 1
        for shape in pictures:  # inside the slide
            assert shape.left >= 0 and shape.top >= 0
            assert shape.left + shape.width <= deck.slide_width and shape.top + shape.height <= deck.slide_height
        text = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame) + slide.notes_slide.notes_text_frame.text
        for note in view.notes:
            if note.finding:
                assert note.text in text and note.confidence in text


def test_missing_browser_is_one_clear_error(tmp_path, monkeypatch):
    from custseg.report.slides import SlideExportError, write_slides

    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    with pytest.raises(SlideExportError, match="BROWSER_PATH=.*no executable there") as info:
        write_slides(sample_result(), tmp_path / "slides")
    assert "\n" not in str(info.value)
