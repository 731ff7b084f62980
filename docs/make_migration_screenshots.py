"""Screenshots of the migration report for docs/migration.md, in headless Chromium (as
docs/make_screenshots.py takes the analysis report's).

    .venv/bin/python docs/make_migration_screenshots.py OUT/migration.html

Writes docs/screenshots/migration-{top,sankey,matrix,prediction}.png at 1,440 px and the same
with ``-390`` at a phone's 390 px (``--out`` to write elsewhere): the top of the report, then the
first Sankey, transition matrix and "did they buy again" table (the RFM segments').
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import report_pages, shoot_parts  # noqa: E402

PARTS = {"sankey": "article[id$='-sankey']", "matrix": "article[id$='-matrix']", "prediction": "article[id$='-prediction']"}


def shoot(report: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, page in report_pages(report):
        written.append(out / f"migration-top{suffix}.png")
        page.screenshot(path=str(written[-1]))
        written += shoot_parts(page, PARTS, lambda name: out / f"migration-{name}{suffix}.png")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="migration.html written by custseg migrate")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "screenshots")
    args = parser.parse_args()
    for path in shoot(args.report, args.out):
        print(path)


if __name__ == "__main__":
    main()
