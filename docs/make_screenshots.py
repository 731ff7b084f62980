"""Screenshots of the HTML report, for the docs, taken in headless Chromium (Debian's
/usr/bin/chromium, via Playwright).

    .venv/bin/python docs/make_screenshots.py                     # the built-in sample result
    .venv/bin/python docs/make_screenshots.py out/report.html     # a real report

Writes docs/screenshots/report-{top,summary,profile,polar,comparison}.png at 1,440 px and the
same with ``-390`` at a phone's 390 px (``--out`` to write elsewhere); for a real run's report
also value-{rfm,clusters,p-alive,models}.png, its Value section. Network requests are blocked:
the report must not need any.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--hide-scrollbars"]
WIDTH, HEIGHT = 1440, 900

def _sample_report(folder: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from custseg.report._sample import sample_result
    from custseg.report.html import render_html

    path = folder / "report.html"
    path.write_text(render_html(sample_result()), encoding="utf-8")
    return path


#: What the docs show, at a laptop's and a phone's width: the top, the summary, a profile table,
#: a polar chart and a comparison (the first of each kind).
WIDTHS = {"": 1440, "-390": 390}
PARTS = {"summary": "#summary", "profile": "article[id$='-profile']", "polar": "article[id$='-polar']",
         "comparison": "article[id$='-by-cluster']",
         # the Value section (a real run's report; the sample result has none): value-*.png
         "value-rfm": "#view-value-rfm-segments", "value-clusters": "#view-value-all",
         "value-p-alive": "#view-value-p-alive", "value-models": "#view-value-models"}


def _file_name(name: str, suffix: str) -> str:
    return f"{name}{suffix}.png" if name.startswith("value") else f"report-{name}{suffix}.png"


def report_pages(report: Path, widths: dict[str, int] = WIDTHS):
    """Yield (suffix, page): `report` opened at each width, its figures drawn, scrolled to the top
    (network requests blocked: a report must not need any)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for suffix, width in widths.items():
                page = browser.new_page(viewport={"width": width, "height": HEIGHT}, device_scale_factor=1)
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
                page.goto(report.resolve().as_uri())
                page.wait_for_selector("body[data-figures-done='true']", timeout=120_000)
                page.wait_for_timeout(300)
                page.evaluate("window.scrollTo(0, 0)")
                yield suffix, page
                page.close()
        finally:
            browser.close()


def shoot_parts(page, parts: dict[str, str], path_of) -> list[Path]:
    """A screenshot of the first element of each selector in `parts` (name -> selector), saved at
    ``path_of(name)``; a part the report does not have is skipped and said."""
    written = []
    for name, selector in parts.items():
        element = page.locator(selector).first
        if element.count() == 0:
            print(f"no {name} in this report; skipped", file=sys.stderr)
            continue
        element.scroll_into_view_if_needed()
        page.wait_for_timeout(200)
        written.append(path_of(name))
        element.screenshot(path=str(written[-1]))
    return written


def shoot(report: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, page in report_pages(report):
        written.append(out / f"report-top{suffix}.png")
        page.screenshot(path=str(written[-1]))
        written += shoot_parts(page, PARTS, lambda name: out / _file_name(name, suffix))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="report.html (default: render the sample result)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "screenshots")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = args.report or _sample_report(Path(tmp))
        for path in shoot(report, args.out):
            print(path)


if __name__ == "__main__":
    main()
