"""Screenshots of a report's summary tables with their audience-file links (docs/audiences.md),
taken in headless Chromium (Debian's /usr/bin/chromium, via Playwright), at 1,440 and 390 px.

    .venv/bin/python docs/make_audience_screenshots.py OUT/report.html [--name audiences]

Writes docs/screenshots/<name>-clusters-1440.png, <name>-rfm-1440.png and the same at 390: the
summary of the first population and the RFM segments' table. Checks on the way that every audience link of the report points at
a file that exists beside it (as it does when the folder is opened locally).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import report_pages, shoot_parts  # noqa: E402


def shoot(report: Path, out: Path, name: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, page in report_pages(report, {"-1440": 1440, "-390": 390}):
        hrefs = page.eval_on_selector_all("td .files a.file", "links => links.map(a => a.href)")
        missing = [h for h in hrefs if not Path(unquote(urlparse(h).path)).is_file()]
        if not hrefs or missing:
            raise SystemExit(f"{len(hrefs)} audience links, {len(missing)} without a file: {missing[:3]}")
        parts = {"clusters": "#summary .summary-population >> nth=0", "rfm": "#summary .summary-population >> nth=-1"}
        written += shoot_parts(page, parts, lambda part: out / f"{name}-{part}{suffix}.png")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="report.html of a run (audiences/ beside it)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "screenshots")
    parser.add_argument("--name", default="audiences")
    args = parser.parse_args()
    for path in shoot(args.report, args.out, args.name):
        print(path)


if __name__ == "__main__":
    main()
