"""Slide images: a PNG and an SVG of every figure, named after the figure's title.

Images are drawn by kaleido (1.x), which drives a Chromium-based browser over the DevTools
protocol. custseg never downloads a browser: it uses ``BROWSER_PATH`` when set, else Debian's
``/usr/bin/chromium`` (installed by ``scripts/setup.sh``), else a chromium/chrome on ``PATH``.
All figures are exported in one batch (one browser start, ~0.3 s per image afterwards) instead
of one ``fig.write_image`` per figure (one browser start, ~3-4 s, per image).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from custseg.report._walk import figure_views
from custseg.result import AnalysisResult, View

MAX_NAME_LENGTH = 80
DEFAULT_WIDTH = 1200
DEFAULT_HEIGHT = 675
PNG_SCALE = 2
DEBIAN_CHROMIUM = "/usr/bin/chromium"

_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


class SlideExportError(RuntimeError):
    """The slide images could not be drawn (no browser, or the browser failed); one-line message."""


def safe_file_name(title: str, max_length: int = MAX_NAME_LENGTH) -> str:
    """A file name stem from a title: ASCII lowercase letters, digits and single hyphens.

    Never empty, never a path separator, dot or Windows reserved name, at most `max_length`
    characters. Titles with nothing ASCII left get a stable ``figure-<hash>`` name. Callers make
    names unique (see :func:`unique_file_names`).
    """
    max_length = max(16, int(max_length))
    text = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        if "-" in cut[max_length // 2 :]:
            cut = cut[: cut.rindex("-")]
        slug = cut.strip("-")
    if not slug:
        digest = hashlib.sha1(str(title).encode("utf-8", "surrogatepass")).hexdigest()[:8]
        slug = f"figure-{digest}" if str(title).strip() else "figure"
    if slug in _RESERVED:
        slug = f"{slug}-figure"
    return slug


def unique_file_names(titles: list[str], max_length: int = MAX_NAME_LENGTH) -> list[str]:
    """`safe_file_name` of each title, with ``-2``, ``-3``... added to repeats."""
    used: set[str] = set()
    names = []
    for title in titles:
        base = safe_file_name(title, max_length)
        name, n = base, 2
        while name in used:
            suffix = f"-{n}"
            name = base[: max_length - len(suffix)].rstrip("-") + suffix
            n += 1
        used.add(name)
        names.append(name)
    return names


def browser_path() -> str | None:
    """The browser kaleido should drive; sets ``BROWSER_PATH`` for choreographer when unset."""
    path = os.environ.get("BROWSER_PATH")
    if path:
        return path
    candidates = [DEBIAN_CHROMIUM] + [shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "chrome")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            os.environ["BROWSER_PATH"] = candidate
            return candidate
    return None


@dataclass
class SlideImage:
    view: View
    png: Path
    svg: Path


def _image_size(figure) -> tuple[int, int]:
    layout = getattr(figure, "layout", None)
    if layout is None and isinstance(figure, dict):
        layout = figure.get("layout", {})
    get = (lambda k: layout[k] if k in layout else None) if isinstance(layout, dict) else (lambda k: getattr(layout, k, None))
    width, height = get("width"), get("height")
    if width and height:  # the author chose the size
        return int(width), int(height)
    # Otherwise at least 16:9 at the default width, so the image fills a slide; taller figures keep their height.
    return int(width or DEFAULT_WIDTH), max(int(height or DEFAULT_HEIGHT), DEFAULT_HEIGHT)


def _figure_dict(figure) -> dict:
    if hasattr(figure, "to_dict"):
        return figure.to_dict()
    return dict(figure)


def export_figures(result: AnalysisResult, folder: str | Path) -> list[SlideImage]:
    """Write ``<name>.png`` and ``<name>.svg`` for every figure of `result` into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    views = figure_views(result)
    names = unique_file_names([v.title for v in views])
    images = [SlideImage(v, folder / f"{n}.png", folder / f"{n}.svg") for v, n in zip(views, names)]
    if not images:
        return []
    specs = []
    for image in images:
        width, height = _image_size(image.view.figure)
        fig = _figure_dict(image.view.figure)
        specs.append(dict(fig=fig, path=image.png, opts=dict(format="png", width=width, height=height, scale=PNG_SCALE)))
        specs.append(dict(fig=fig, path=image.svg, opts=dict(format="svg", width=width, height=height, scale=1)))
    path = browser_path()
    if path is None:
        raise SlideExportError(
            "slide images need a Chromium browser: install Debian's chromium (apt-get install chromium) "
            "or set BROWSER_PATH to a Chrome/Chromium executable"
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SlideExportError(
            f"BROWSER_PATH={path}: no executable there; point it at Chrome/Chromium or unset it to use /usr/bin/chromium"
        )
    import kaleido

    try:
        # mathjax=False: otherwise kaleido's page loads MathJax from a CDN (we never need it, and work offline).
        kaleido.write_fig_from_object_sync(specs, kopts=dict(path=path, mathjax=False, n=1), cancel_on_error=True)
    except Exception as exc:  # noqa: BLE001 - one line for the user, the cause stays chained
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise SlideExportError(f"could not draw the slide images with {path}: {detail}") from exc
    missing = [str(p) for i in images for p in (i.png, i.svg) if not p.is_file()]
    if missing:
        raise SlideExportError(f"the browser did not write {len(missing)} slide image(s), e.g. {missing[0]}")
    return images


def write_slides(result: AnalysisResult, folder: str | Path) -> list[Path]:
    """PNG and SVG of every figure (in report order) in `folder`; returns the paths written."""
    return [p for image in export_figures(result, folder) for p in (image.png, image.svg)]
