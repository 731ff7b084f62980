"""Colours that mean the same thing on every chart.

A cluster's colour depends only on its label (cluster 3 is the same orange on the polar
chart, the share bar and every comparison), never on how many clusters a chart shows or in
what order. Dimension values get a separate, softer palette so they are not mistaken for
clusters; "Other" is always grey.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

#: Qualitative palette indexed by integer cluster label (label mod 12).
CLUSTER_PALETTE: tuple[str, ...] = (
    "#4C78A8",  # 0 blue
    "#F58518",  # 1 orange
    "#E45756",  # 2 red
    "#72B7B2",  # 3 teal
    "#54A24B",  # 4 green
    "#EECA3B",  # 5 yellow
    "#B279A2",  # 6 purple
    "#FF9DA6",  # 7 pink
    "#9D755D",  # 8 brown
    "#17BECF",  # 9 cyan
    "#1F3B73",  # 10 navy
    "#BCBD22",  # 11 olive
)
#: Colour of the noise label (-1, as DBSCAN/HDBSCAN use).
NOISE_COLOR = "#9E9E9E"
#: Colour of the "Other" bucket on comparisons.
OTHER_COLOR = "#C7C7C7"
#: Palette for dimension values (Set2 then Pastel1), in order of frequency.
VALUE_PALETTE: tuple[str, ...] = (
    "#66C2A5", "#FC8D62", "#8DA0CB", "#E78AC3", "#A6D854", "#FFD92F", "#E5C494",
    "#FBB4AE", "#B3CDE3", "#CCEBC5", "#DECBE4", "#FED9A6", "#E5D8BD", "#FDDAEC",
)  # fmt: skip

#: Shading of profile-table rows: lightest and darkest green.
SHADE_LIGHT = (229, 245, 224)  # #e5f5e0
SHADE_DARK = (0, 109, 44)  # #006d2c


def _as_int(label: Any) -> int | None:
    if isinstance(label, (bool, np.bool_)):
        return None
    if isinstance(label, (int, np.integer)):
        return int(label)
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return int(label)
    if isinstance(label, str) and label.strip().lstrip("-").isdigit():
        return int(label.strip())
    return None


def cluster_color(label: Any) -> str:
    """Colour of one cluster: palette[label mod 12] for integer labels, grey for -1.

    Non-integer labels (e.g. "A") get a palette entry chosen by a stable hash (CRC32), so
    they too keep their colour between runs.
    """
    as_int = _as_int(label)
    if as_int is not None:
        if as_int < 0:
            return NOISE_COLOR
        return CLUSTER_PALETTE[as_int % len(CLUSTER_PALETTE)]
    idx = zlib.crc32(str(label).encode("utf-8")) % len(CLUSTER_PALETTE)
    return CLUSTER_PALETTE[idx]


def cluster_colors(labels: Iterable[Any]) -> dict[Any, str]:
    """``{label: colour}`` for every label given."""
    return {lab: cluster_color(lab) for lab in labels}


def value_colors(values: Sequence[Any], other_label: str | None = "Other") -> dict[Any, str]:
    """Colours for dimension values in the order given (most frequent first); "Other" grey."""
    out: dict[Any, str] = {}
    i = 0
    for v in values:
        if other_label is not None and v == other_label:
            out[v] = OTHER_COLOR
        else:
            out[v] = VALUE_PALETTE[i % len(VALUE_PALETTE)]
            i += 1
    return out


@lru_cache(maxsize=1)
def _rfm_segment_colors() -> dict[str, str]:
    text = resources.files("custseg.rfm").joinpath("segment_colors.csv").read_text(encoding="utf-8")
    return {row["rfm_segment"].casefold(): row["color"] for row in csv.DictReader(text.splitlines())}


def rfm_segment_colors(segments: Sequence[Any]) -> dict[Any, str]:
    """Colours of RFM segments by their standing, the same in every view: Champions dark green,
    through yellow and orange (need attention, about to sleep), to red (at risk) and grey (lost);
    rfm/segment_colors.csv holds them. A segment not listed there gets a value colour."""
    known = _rfm_segment_colors()
    others = value_colors([s for s in segments if str(s).casefold() not in known], other_label=None)
    return {s: known.get(str(s).casefold(), others.get(s)) for s in segments}


def shade(t: float) -> str:
    """Green for position ``t`` in [0, 1] (0 lightest, 1 darkest), as ``#rrggbb``."""
    t = float(np.clip(t, 0.0, 1.0))
    rgb = [round(a + (b - a) * t) for a, b in zip(SHADE_LIGHT, SHADE_DARK, strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def text_color_on(t: float) -> str:
    """Black on light shades, white on dark ones (switch at t = 0.55)."""
    return "#ffffff" if t > 0.55 else "#000000"
