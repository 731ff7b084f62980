"""Slide images: a 16:9 PNG of every figure of the deck (and an SVG on request), named after the figure's title.

Images are drawn by kaleido (1.x), which drives a Chromium-based browser over the DevTools
protocol. custseg never downloads a browser: it uses ``BROWSER_PATH`` when set, else Debian's
``/usr/bin/chromium`` (installed by ``scripts/setup.sh``), else a chromium/chrome on ``PATH``.

Where the time went (the Olist demo, 2 cores): one browser start (~1-2 s), then per image
~0.07 s of the browser's CPU, about 60 % plotly.js drawing the figure and 40 % rasterising and
encoding the PNG; kaleido's reload of plotly.js after every image and SVG copies doubled it.
Now: PNG only unless asked, the report's own (smaller) plotly.js reloaded every
``RELOAD_EVERY`` images, the browser started with the run and fed each section's figures as
soon as the analysis makes them (:class:`SlideExport`), so it draws on the core Python leaves
idle; only the deck's figures (48 of the 72: an attribute x cluster chart's twin shows its
numbers, see :func:`~custseg.report._walk.slide_views`), 1440 px wide (1920 took ~7 % more of the
browser's CPU and looked the same on a 1080p screen). A slide image has no title (the slide has
its own) and is 16:9.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from custseg.report._walk import slide_views
from custseg.result import AnalysisResult, View

MAX_NAME_LENGTH = 80
DEFAULT_WIDTH = 1200  # CSS pixels: the width figures are designed for
ASPECT = 16 / 9  # every slide image
SLIDE_FONT_SIZE = 15  # the figures' 12 px text, made readable on a slide
SLIDE_TOP_MARGIN = 40  # room for a top legend or panel titles once the figure title is gone
FORMATS = ("png", "svg")
DEFAULT_FORMATS = ("png",)  # the deck uses PNG; SVG on request (--slide-format png,svg)
TABS = 1  # browser tabs: a second one drew 48 PNGs ~10 % sooner alone but took 1 s more CPU, which the analysis needs
PNG_WIDTH = 1440  # pixels of a PNG: a picture beside its findings is ~1,140 px on a 1080p screen, a full-width one ~1,490
RELOAD_EVERY = 25  # reload a tab's page (plotly.js) after this many images, not after each one
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
    svg: Path | None = None  # written only when asked for
    size: tuple[int, int] = (0, 0)  # the PNG's pixels (16:9)


def parse_formats(text: str | None) -> tuple[str, ...]:
    """``"png,svg"`` -> ("png", "svg"); PNG is always written (the deck needs it)."""
    asked = [f.strip().lower() for f in (text or "").split(",") if f.strip()]
    bad = [f for f in asked if f not in FORMATS]
    if bad:
        raise ValueError(f"slide format {bad[0]!r}: use png or png,svg")
    return tuple(f for f in FORMATS if f == "png" or f in asked)


def _layout_value(figure, key: str):
    layout = getattr(figure, "layout", None)
    if layout is None and isinstance(figure, dict):
        layout = figure.get("layout", {})
    if isinstance(layout, dict):
        return layout.get(key)
    return getattr(layout, key, None)


def slide_size(figure) -> tuple[int, int]:
    """The figure's size on a slide in CSS pixels: 16:9, at least as wide and as tall as the figure."""
    width = int(_layout_value(figure, "width") or DEFAULT_WIDTH)
    height = int(_layout_value(figure, "height") or 0)
    width = max(width, round(height * ASPECT))
    return width, round(width / ASPECT)


def slide_figure(figure) -> dict:
    """The figure as a slide shows it: no title (the slide has its own), larger text."""
    fig = figure.to_dict() if hasattr(figure, "to_dict") else json.loads(json.dumps(figure, default=str))
    layout = fig.setdefault("layout", {})
    layout["title"] = {"text": ""}
    font = dict(layout.get("font") or {})
    font["size"] = max(int(font.get("size") or 12), SLIDE_FONT_SIZE)
    layout["font"] = font
    top = SLIDE_TOP_MARGIN
    for note in layout.get("annotations") or []:  # panel titles set in small fixed sizes
        if not isinstance(note, dict):
            continue
        if isinstance(note.get("font"), dict) and (note["font"].get("size") or 0) < SLIDE_FONT_SIZE - 1:
            note["font"] = {**note["font"], "size": SLIDE_FONT_SIZE - 1}
        if note.get("yref") == "paper" and (note.get("y") or 0) >= 1 and note.get("yanchor") == "bottom":  # above the plot
            size = (note.get("font") or {}).get("size") or font["size"]
            top = max(top, round((str(note.get("text", "")).count("<br>") + 1) * size * 1.3) + 8)
    margin = dict(layout.get("margin") or {})
    margin["t"] = min(int(margin.get("t", top)), top)  # the title's room, less what the title took
    layout["margin"] = margin
    return fig


def _check_browser() -> str:
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
    return path


def _kaleido_class():
    """kaleido's Kaleido, reloading a tab every RELOAD_EVERY images instead of after each one.

    The reload (plotly.js parsed again) was 40 % of an image's time; a page that drew 25
    figures is as good as new for the next (each figure is drawn into its own, purged, div).
    Falls back to kaleido's own class if its tab queue ever changes shape.
    """
    import kaleido

    base = kaleido.Kaleido
    if not (hasattr(base, "_return_kaleido_tab") and hasattr(base, "_get_kaleido_tab")):
        return base

    class _Kaleido(base):
        _drawn: dict

        async def _return_kaleido_tab(self, tab) -> None:
            drawn = self.__dict__.setdefault("_drawn", {})
            drawn[id(tab)] = drawn.get(id(tab), 0) + 1
            if drawn[id(tab)] % RELOAD_EVERY == 0:
                await tab.reload()
            await self.tabs_ready.put(tab)

    return _Kaleido


_DONE = object()  # ends the stream of figures


class SlideExport:
    """Slide images drawn by a browser on a background thread, fed figures as the analysis makes them.

    ``SlideExport(folder).start()`` starts the browser (while the data loads); :meth:`draw`
    queues views as their figures are ready (``custseg.api.run`` passes it to the analysis, so
    the browser draws one population's charts while Python builds the next one's);
    :meth:`images` queues whatever was not drawn yet, waits, and names the files after the
    views' titles in report order, as soon as the last one is written (the browser closes
    meanwhile); :meth:`settle` waits for it to close, ``settle(drop=True)`` stops early (the
    analysis failed).
    """

    def __init__(self, folder: str | Path, formats: tuple[str, ...] = DEFAULT_FORMATS):
        self.folder = Path(folder)
        self.formats = tuple(f for f in FORMATS if f == "png" or f in formats)
        self._drawing = self.folder / ".drawing"  # files named by view key until the report order is known
        self._queue: queue.Queue = queue.Queue()
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ended = False  # the end of the stream is queued
        self._drawn = threading.Event()  # every queued image is written (or the browser failed)

    def start(self) -> "SlideExport":
        path = _check_browser()
        self._drawing.mkdir(parents=True, exist_ok=True)
        # kaleido (with plotly and narwhals) is imported here, not on the thread: importing them there
        # while the analysis imports scikit-learn (which imports narwhals too) can deadlock the imports.
        kaleido = _kaleido_class()
        self._thread = threading.Thread(target=self._work, args=(path, kaleido), name="custseg-slides", daemon=True)
        self._thread.start()
        return self

    def draw(self, views) -> None:
        """Queue the figures of `views` (each view key once); safe to call from any thread."""
        for view in views:
            if view.figure is None or view.same_as:  # the deck shows its twin (see slide_views)
                continue
            with self._lock:
                if view.key in self._queued:
                    continue
                self._queued.add(view.key)
            width, height = slide_size(view.figure)
            fig = slide_figure(view.figure)
            for fmt in self.formats:
                scale = PNG_WIDTH / width if fmt == "png" else 1
                self._queue.put(dict(fig=fig, path=self._drawing / f"{view.key}.{fmt}",
                                     opts=dict(format=fmt, width=width, height=height, scale=scale)))

    def images(self, result: AnalysisResult) -> list[SlideImage]:
        """Every figure of the deck (:func:`slide_views`) as a slide image, named after its title (waits for the browser)."""
        views = slide_views(result)
        self.draw(views)
        self._end()
        if self._thread is not None:
            self._drawn.wait()
        if self._error is not None:
            raise self._error
        images = []
        for view, name in zip(views, unique_file_names([v.title for v in views])):
            image = SlideImage(view, self.folder / f"{name}.png", self.folder / f"{name}.svg" if "svg" in self.formats else None,
                               (PNG_WIDTH, round(PNG_WIDTH / ASPECT)))
            for fmt, target in (("png", image.png), ("svg", image.svg)):
                drawn = self._drawing / f"{view.key}.{fmt}"
                if target is not None:
                    if not drawn.is_file():
                        raise SlideExportError(f"the browser did not write the slide image of {view.title!r}")
                    drawn.replace(target)
            images.append(image)
        shutil.rmtree(self._drawing, ignore_errors=True)
        return images

    def settle(self, drop: bool = False) -> None:
        """End the stream and wait for the browser to finish what was queued (``drop``: the rest of it)."""
        if self._thread is not None:
            while drop and not self._queue.empty():
                self._queue.get_nowait()
            self._end()
            self._thread.join()
            self._thread = None

    def _end(self) -> None:
        with self._lock:
            if not self._ended:
                self._ended = True
                self._queue.put(_DONE)

    def _work(self, path: str, kaleido) -> None:
        import asyncio

        async def stream():
            while (item := await asyncio.to_thread(self._queue.get)) is not _DONE:
                yield item

        try:
            asyncio.run(_draw(stream(), path, kaleido, self._drawn.set))
        except BaseException as exc:  # noqa: BLE001 - one line for the user (images()), the cause stays chained
            if not self._drawn.is_set():  # (the browser failing to close after the last image is no failure)
                detail = " ".join(str(exc).split())[:300] or type(exc).__name__
                self._error = SlideExportError(f"could not draw the slide images with {path}: {detail}")
                self._error.__cause__ = exc
        finally:
            self._drawn.set()


async def _draw(specs, path: str, kaleido, drawn=lambda: None) -> None:
    """Draw kaleido figure specs (an async iterable: they arrive as the analysis makes them);
    `drawn()` is called once every image is written, before the browser closes."""
    # The report's own plotly.js (a third of the full bundle kaleido would parse on every reload), so
    # slides and report are drawn alike. mathjax=False: otherwise kaleido's page loads MathJax from
    # a CDN (we never need it, and work offline).
    from importlib import resources

    with resources.as_file(resources.files("custseg.report").joinpath("templates", "plotly-custseg.min.js")) as plotlyjs:
        async with kaleido(path=path, plotlyjs=str(plotlyjs), mathjax=False, n=TABS) as k:
            await k.write_fig_from_object(specs, cancel_on_error=True)
            drawn()


def export_figures(result: AnalysisResult, folder: str | Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> list[SlideImage]:
    """Write ``<name>.png`` (and ``<name>.svg`` if asked) for every figure of the deck into `folder`."""
    export = SlideExport(folder, formats).start()
    try:
        return export.images(result)
    finally:
        export.settle()


def write_slides(result: AnalysisResult, folder: str | Path, formats: tuple[str, ...] = DEFAULT_FORMATS) -> list[Path]:
    """The slide images of every figure of the deck (in report order) in `folder`; returns the paths written."""
    return [p for image in export_figures(result, folder, formats) for p in (image.png, image.svg) if p is not None]
