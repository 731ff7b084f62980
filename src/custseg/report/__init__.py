"""Report stage: the HTML report, slide images, a PowerPoint deck and summary.json.

``write_report(result, folder)`` writes into the folder it is given (the caller stages it):

- ``report.html``: self-contained (plotly.js inlined once), works offline;
- ``slides/<title>.png`` (and ``.svg`` if asked): every figure of the deck, 16:9, named after its title;
- ``deck.pptx``: title, summary, profile tables, then a slide per figure with its findings;
- ``summary.json``: the headline numbers and, per population, k, silhouette and method.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
from pathlib import Path
from typing import Any

from custseg.report._walk import slide_views
from custseg.result import AnalysisResult

__all__ = ["render_html", "safe_file_name", "summary_data", "write_deck", "write_report", "write_slides", "write_summary"]


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy/pandas scalars to Python, NaN to null, dates to ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set) else items
    if value is None or isinstance(value, (str, bool)):
        return value
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def summary_data(result: AnalysisResult) -> dict:
    """``result.summary`` plus a ``populations`` entry: per population k, silhouette, method, and
    its summary: per cluster name, customers, revenue, medians, traits and suggested action
    (profile.overview), and the headline findings."""
    data = _plain(dict(result.summary or {}))
    data["title"] = _plain(result.title)
    data["source"] = _plain(result.source)
    data["populations"] = {
        str(p.name): {
            "title": _plain(p.title),
            "customers": _plain(p.n_customers),
            "k": _plain(p.k),
            "k_reason": _plain(p.k_reason),
            "method": _plain(p.method_label),
            "silhouette": _plain(p.silhouette),
            "silhouette_label": _plain(p.silhouette_label),
            "silhouette_method": _plain(p.silhouette_method or None),
            "features": _plain(list(p.features_used or [])),
            **({"clusters": [{k: _plain(v) for k, v in row.items() if k != "trait_words"} for row in p.overview.to_dict("records")],
                "findings": _plain(list(p.findings))} if p.overview is not None else {}),
        }
        for p in result.populations
    }
    return data


def write_summary(result: AnalysisResult, path: str | Path) -> Path:
    path = Path(path)
    text = json.dumps(summary_data(result), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def write_report(result: AnalysisResult, out_folder: str | Path, *, slides: bool = True,
                 slide_formats: tuple[str, ...] = ("png",), progress=None, slide_export=None,
                 audiences: dict | None = None) -> dict[str, Path]:
    """Write report.html, slides/, deck.pptx and summary.json into `out_folder`; returns their paths.

    ``slides=False`` skips the slide images and the deck (they need a browser). The browser
    draws the slide images while Python writes the HTML report and summary.json.
    ``slide_formats``: ("png",) or ("png", "svg"). ``slide_export``: a started
    :class:`~custseg.report.slides.SlideExport` into ``out_folder/slides`` that may already
    have drawn some figures (``custseg.api.run`` starts one with the analysis). ``audiences``:
    the manifest of the audience files written beside the report (custseg.audiences), linked
    from its summary tables.
    """
    from custseg.report.html import render_html as _render_html

    out = Path(out_folder)
    out.mkdir(parents=True, exist_ok=True)
    export = slide_export
    if slides and export is None:  # python-pptx and the slide exporter are imported only for slides
        from custseg.report.slides import SlideExport

        export = SlideExport(out / "slides", slide_formats).start()
    if export is not None:
        export.draw(slide_views(result))  # the browser draws while Python writes the HTML
    html_path = out / "report.html"
    html_path.write_text(_render_html(result, audiences=audiences), encoding="utf-8")
    paths = {"report": html_path}
    paths["summary"] = write_summary(result, out / "summary.json")
    if export is not None:
        from custseg.report.deck import write_deck as _write_deck

        if progress:
            progress("writing the deck while the last slide images are drawn")
        paths["slides"] = out / "slides"
        try:
            paths["deck"] = _write_deck(result, out / "deck.pptx", lambda: export.images(result))
        finally:
            if slide_export is None:  # our own browser: closed (custseg.api.run settles the one it started)
                export.settle()
    return paths


def __getattr__(name: str):  # lazy: importing custseg.report stays cheap
    if name == "render_html":
        from custseg.report.html import render_html

        return render_html
    if name in ("write_slides", "safe_file_name"):
        from custseg.report import slides

        return getattr(slides, name)
    if name == "write_deck":
        from custseg.report.deck import write_deck

        return write_deck
    raise AttributeError(name)
