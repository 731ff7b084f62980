"""Screenshots of the HTML report, for the docs: the top of the report, one population and one
comparison section, taken in headless Chromium (Debian's /usr/bin/chromium, via Playwright).

    .venv/bin/python docs/make_screenshots.py                     # the built-in sample result
    .venv/bin/python docs/make_screenshots.py out/report.html     # a real report

Writes docs/screenshots/report-top.png, report-population.png and report-comparison.png
(``--out`` to write elsewhere). Network requests are blocked: the report must not need any.
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

# The first section whose title says it compares (else the first subsection), and the first population.
_FIND = """
() => {
  const secs = Array.from(document.querySelectorAll('section.section'));
  const title = s => (s.querySelector(':scope > .section-title') || {}).textContent || '';
  const cmp = secs.find(s => /compar|×| x /i.test(title(s)) && s.querySelector('.figure'))
           || secs.find(s => s.classList.contains('depth-1') && s.querySelector('.figure'));
  const pop = secs.find(s => s.querySelector(':scope > .population'));
  return {comparison: cmp ? cmp.id : null, population: pop ? pop.id : null};
}
"""


def _sample_report(folder: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from custseg.report._sample import sample_result
    from custseg.report.html import render_html

    path = folder / "report.html"
    path.write_text(render_html(sample_result()), encoding="utf-8")
    return path


def shoot(report: Path, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1)
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
            page.goto(report.resolve().as_uri())
            page.wait_for_selector("body[data-figures-done='true']", timeout=120_000)
            page.wait_for_timeout(300)

            page.evaluate("window.scrollTo(0, 0)")
            written.append(out / "report-top.png")
            page.screenshot(path=str(written[-1]))

            found = page.evaluate(_FIND)
            for name, anchor, height in (("population", found["population"], 1500), ("comparison", found["comparison"], 1500)):
                if not anchor:
                    print(f"no {name} section found; skipped", file=sys.stderr)
                    continue
                top = page.evaluate("id => document.getElementById(id).getBoundingClientRect().top + window.scrollY", anchor)
                page.evaluate("y => window.scrollTo(0, y - 16)", top)
                page.wait_for_timeout(300)
                written.append(out / f"report-{name}.png")
                total = page.evaluate("document.documentElement.scrollHeight")
                y = max(0, top - 16)
                page.screenshot(path=str(written[-1]), full_page=True,
                                clip={"x": 0, "y": y, "width": WIDTH, "height": min(height, total - y)})
        finally:
            browser.close()
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
