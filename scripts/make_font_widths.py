"""Write src/custseg/report/fonts/dejavu-sans-widths.json: DejaVu Sans advance widths.

The deck sets its text in DejaVu Sans and measures it with this table (custseg.report._textfit),
so measuring needs no font file at run time. Run on Debian (fonts-dejavu-core):

    .venv/bin/python scripts/make_font_widths.py
"""

from __future__ import annotations

import json
from pathlib import Path

from PIL import ImageFont

FONTS = {"regular": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "bold": "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"}
UNITS = 2048
#: Latin, Latin-1, Latin Extended A/B, punctuation, currency, letterlike, arrows, maths, shapes.
RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2100, 0x22FF), (0x2500, 0x25FF)]
OUT = Path(__file__).resolve().parents[1] / "src/custseg/report/fonts/dejavu-sans-widths.json"


def _advance(font, ch: str) -> int:
    try:
        return round(font.getlength(ch))
    except RuntimeError:  # format characters (line separator, bidi marks) the layout engine refuses: no width
        return 0


def main() -> None:
    table = {"font": "DejaVu Sans", "units_per_em": UNITS, "widths": {}}
    for style, path in FONTS.items():
        font = ImageFont.truetype(path, UNITS)
        table["widths"][style] = [[lo, [_advance(font, chr(c)) for c in range(lo, hi + 1)]] for lo, hi in RANGES]
    OUT.write_text(json.dumps(table, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
