"""The report in a real browser: headless Debian Chromium driven by Playwright, network blocked."""

from __future__ import annotations

import os

import pytest

from custseg.report._sample import HOSTILE, sample_result
from custseg.report.html import render_html

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not installed (Debian package 'chromium')"),
    pytest.mark.timeout(120),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Visit:
    """A page on a report file, recording console errors, page errors, dialogs and blocked requests."""

    def __init__(self, browser, path, width=1440, height=900):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-figures-done='true']", timeout=60_000)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route):
        url = route.request.url
        if url.startswith("file://") or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "report.html"
    result = sample_result()
    path.write_text(render_html(result), encoding="utf-8")
    return result, path


@pytest.fixture(scope="module")
def visit(browser, report):
    v = Visit(browser, report[1])
    yield v
    v.page.close()


def test_every_figure_renders_offline_without_errors(visit):
    page = visit.page
    total = page.locator("div.figure").count()
    assert total == 13
    assert page.evaluate("document.body.dataset.figuresRendered") == str(total)
    assert page.evaluate("document.body.dataset.figuresFailed") == "0"
    missing = page.evaluate(
        "Array.from(document.querySelectorAll('div.figure')).filter(d => !d.querySelector('svg.main-svg')).map(d => d.id)"
    )
    assert missing == []
    # drawn, not just created: every figure has a real size and marks (bars, lines, cells)
    sizes = page.evaluate(
        "Array.from(document.querySelectorAll('div.figure')).map(d => [d.getBoundingClientRect().width, d.getBoundingClientRect().height,"
        " d.querySelectorAll('.trace, .point, .hm, .scatterlayer path, .barlayer path').length])"
    )
    assert all(w > 300 and h > 200 and marks > 0 for w, h, marks in sizes), sizes
    assert visit.errors == []
    assert visit.blocked == []  # nothing even tried the network
    assert visit.dialogs == []


def test_table_of_contents_links_scroll_to_their_target(visit):
    page = visit.page
    links = page.locator("nav.toc a")
    hrefs = links.evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert len(hrefs) >= 20
    for i, href in enumerate(hrefs):
        links.nth(i).click()
        page.wait_for_function("h => location.hash === h", arg=href, timeout=5_000)
        box = page.evaluate(
            "id => { const r = document.getElementById(id).getBoundingClientRect(); return [r.top, r.bottom, innerHeight]; }",
            href[1:],
        )
        top, bottom, height = box
        assert bottom > 0 and top < height, (href, box)
        assert top <= 40 or page.evaluate("innerHeight + scrollY >= document.documentElement.scrollHeight - 2"), (href, box)
    assert visit.errors == []


def test_hostile_names_stay_text_in_the_browser(browser, tmp_path):
    result = sample_result(hostile=True)
    path = tmp_path / "report.html"
    path.write_text(render_html(result), encoding="utf-8")
    v = Visit(browser, path, width=1000)
    page = v.page
    try:
        assert v.dialogs == [] and v.errors == [] and v.blocked == []
        counts = page.evaluate(
            "({scripts: Array.from(document.scripts).filter(s => !s.type).length, imgs: document.images.length,"
            " rendered: document.body.dataset.figuresRendered, figures: document.querySelectorAll('div.figure').length})"
        )
        assert counts["scripts"] == 2 and counts["imgs"] == 0 and counts["rendered"] == str(counts["figures"])
        assert page.locator("h1").inner_text().strip() == result.title
        body = page.locator("main").inner_text()
        for bad in HOSTILE:
            assert bad in body
        # plotly.js drew the hostile category names as text in the charts
        legend = page.evaluate("Array.from(document.querySelectorAll('.legendtext')).map(t => t.textContent)")
        assert HOSTILE[0] in legend and HOSTILE[1] in legend
    finally:
        page.close()


def test_every_figure_of_the_real_olist_report_renders(browser, olist_result, tmp_path):
    """The full reference report (68 figures: bar, scatter, heatmap, polar, treemap) under its CSP with the custom bundle."""
    from custseg.report._walk import figure_views

    path = tmp_path / "report.html"
    path.write_text(render_html(olist_result), encoding="utf-8")
    v = Visit(browser, path)
    page = v.page
    try:
        total = len(figure_views(olist_result))
        assert total > 60 and page.locator("div.figure").count() == total
        assert page.evaluate("[document.body.dataset.figuresRendered, document.body.dataset.figuresFailed]") == [str(total), "0"]
        undrawn = page.evaluate(
            "Array.from(document.querySelectorAll('div.figure')).filter(d => !d.querySelector('svg.main-svg')"
            " || !d.querySelector('.trace, .point, .slice, .hm, .scatterlayer path, .barlayer path')).map(d => d.id)"
        )
        assert undrawn == []
        # each figure's layout template (written once per kind) reached it and was applied: its plot area colour
        expected = [v.figure.layout.template.layout.plot_bgcolor for v in figure_views(olist_result)]
        drawn = page.evaluate("Array.from(document.querySelectorAll('div.figure'))"
                              ".map(d => [d.layout.template.layout.plot_bgcolor, d._fullLayout.plot_bgcolor || null])")
        assert len(set(expected)) == 2 and page.locator("script[id^='plotly-template-']").count() == 2
        assert [t for t, _ in drawn] == expected
        assert all(full in (None, t) for t, full in drawn) and sum(full is not None for _, full in drawn) > 60
        assert v.errors == [] and v.blocked == [] and v.dialogs == []  # a CSP refusal would be a console error
    finally:
        page.close()
