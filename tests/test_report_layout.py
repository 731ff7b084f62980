"""The report as a reader sees it (issue 20): in Chromium at 1,280 px and at a phone's 390 px, no
chart's title, panel title, axis title, note or axis labels run into one another, and no table
hides a column at 1,280 px (the evidence table, in its collapsed block, may scroll)."""

from __future__ import annotations

import os

import pytest

from tests.test_report_browser import CHROMIUM, Visit, browser  # noqa: F401 - the browser fixture

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (Debian package 'chromium')"),
    pytest.mark.timeout(300),
]

# Text boxes of every drawn figure, grouped: a title or note is a group of its own, the tick
# labels of one axis one group (neighbouring ticks may touch; ticks of two axes may not).
TEXT_BOXES = """
() => Array.from(document.querySelectorAll('div.figure.rendered')).map(fig => {
  const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const items = [];
  const add = (group, el) => { const t = (el.textContent || '').trim(); if (t) items.push({group, text: t, box: box(el)}); };
  fig.querySelectorAll('.gtitle, .g-xtitle text, .g-x2title text, .g-ytitle text, .g-y2title text, .legendtitletext')
     .forEach((el, i) => add('title-' + i, el));
  fig.querySelectorAll('.annotation').forEach((el, i) => add('note-' + i, el));
  fig.querySelectorAll('.xaxislayer-above .xtick text').forEach(el => add('xticks', el));
  fig.querySelectorAll('.xaxislayer-above .x2tick text').forEach(el => add('x2ticks', el));
  return {id: fig.closest('article').id, items};
})
"""

HIDDEN_COLUMNS = """
() => Array.from(document.querySelectorAll('.table-wrap'))
  .filter(w => !w.closest('details.evidence') && w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.closest('article, .summary-population, section') || {}).id || w.textContent.slice(0, 40))
"""


def overlaps(figures: list[dict], tolerance: float = 2.0) -> list[str]:
    """Pairs of text boxes of different groups that overlap by more than `tolerance` px each way."""
    found = []
    for fig in figures:
        items = fig["items"]
        for i, a in enumerate(items):
            for b in items[i + 1:]:
                if a["group"] == b["group"]:
                    continue
                (l1, t1, r1, b1), (l2, t2, r2, b2) = a["box"], b["box"]
                if min(r1, r2) - max(l1, l2) > tolerance and min(b1, b2) - max(t1, t2) > tolerance:
                    found.append(f"{fig['id']}: {a['text'][:40]!r} overlaps {b['text'][:40]!r}")
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import custseg
    from custseg.generate.olist import generate_olist

    folder = tmp_path_factory.mktemp("layout")
    generate_olist(3000, 5, folder / "data")
    custseg.run(folder / "data", out=folder / "out", slides=False)
    return folder / "out" / "report.html"


@pytest.mark.parametrize("width", [1280, 390])
def test_no_chart_text_runs_into_another(browser, report, width):
    visit = Visit(browser, report, width=width)
    try:
        assert not visit.errors
        figures = visit.page.evaluate(TEXT_BOXES)
        assert len(figures) >= 20
        assert overlaps(figures) == []
    finally:
        visit.page.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_dendrogram_branch_labels_do_not_run_into_one_another(browser, report, width):
    """30 branch sizes side by side: at a phone's width every other one is shown (hover shows all)."""
    visit = Visit(browser, report, width=width)
    try:
        dendrograms = [f for f in visit.page.evaluate(TEXT_BOXES) if f["id"].endswith("-dendrogram")]
        assert dendrograms
        for fig in dendrograms:
            ticks = [dict(item, group=f"tick-{i}") for i, item in enumerate(i for i in fig["items"] if i["group"] == "xticks")]
            assert len(ticks) == (30 if width == 1280 else 15), fig["id"]
            assert overlaps([{"id": fig["id"], "items": ticks}], tolerance=0.5) == []
    finally:
        visit.page.close()


def test_every_table_shows_every_column_at_1280(browser, report):
    visit = Visit(browser, report, width=1280)
    try:
        assert visit.page.evaluate(HIDDEN_COLUMNS) == []
    finally:
        visit.page.close()


def test_the_overlap_check_sees_an_overlap():
    """The check itself: two boxes of different groups that cross are reported, ticks of one axis not."""
    a = {"group": "title-0", "text": "A title", "box": [0, 0, 100, 20]}
    b = {"group": "note-0", "text": "A note", "box": [90, 10, 200, 30]}
    t1 = {"group": "xticks", "text": "50%", "box": [0, 40, 30, 50]}
    t2 = {"group": "xticks", "text": "100%", "box": [25, 40, 60, 50]}
    assert overlaps([{"id": "v", "items": [a, b, t1, t2]}]) == ["v: 'A title' overlaps 'A note'"]
