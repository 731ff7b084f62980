"""The self-contained HTML report: one file, plotly.js inlined once, no network access. (Just over
400 lines: the page's model and its rendering; its tables are in :mod:`.tables`.)

The plotly.js is a custom bundle of the trace types custseg draws (``templates/plotly-custseg.min.js``,
the list in ``plotly_bundle.toml``), the same plotly.js version the Python plotly package targets.

Everything that comes from the data goes through Jinja2 autoescaping (text and attributes),
figure JSON sits in ``<script type="application/json">`` blocks with ``<``, ``>`` and ``&``
written as ``\\u003c``-style escapes (so no string can close the block), table colours are
checked against a strict CSS colour pattern, and a Content-Security-Policy allows only the two
inline scripts the report ships (by hash) and no network requests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from custseg.report._audiences import audience_links, audience_note
from custseg.report._walk import Anchors, blocks, figure_views
from custseg.report.tables import (
    Headline,
    TableModel,
    format_value,
    headlines,
    rfm_summary_table,
    sample_sentence,
    summary_model,
    table_model,
)
from custseg.report.slides import unique_file_names
from custseg.result import AnalysisResult, Note, PopulationResult, Section, View, findings, statistics

DEFAULT_FIGURE_HEIGHT = 450


# ---------------------------------------------------------------- the model the template renders


@dataclass
class FigureModel:
    div_id: str
    data_id: str
    json: Markup
    height: int
    file_name: str
    template_id: str | None = None  # its layout template's block (SharedTemplates), if not in `json`


@dataclass
class SharedTemplates:
    """Layout templates written once in the report, each in its own JSON block.

    custseg's figures carry one of two Plotly templates (plotly_white, plotly; ~6.5 kB of JSON
    each): written into each of the reference report's 68 figures they were 0.44 MB of it. The
    figure's JSON has ``"template": null`` and its div names the block; report.js puts it back.
    """

    ids: dict[str, str] = field(default_factory=dict)  # template JSON (escaped) -> id of its block

    def add(self, text: str) -> str:
        if text not in self.ids:
            self.ids[text] = f"plotly-template-{len(self.ids) + 1}"
        return self.ids[text]

    def blocks(self) -> list[tuple[str, Markup]]:
        return [(block_id, Markup(text)) for text, block_id in self.ids.items()]


@dataclass
class NoteModel:
    text: str
    confidence: str
    kind: str
    values: list[tuple[str, str]]


@dataclass
class ViewModel:
    anchor: str
    title: str
    caption: str
    figure: FigureModel | None
    table: TableModel | None
    notes: list[NoteModel]  # the view's findings (at most five)
    details: list[NoteModel] = field(default_factory=list)  # every other statistic, collapsed


@dataclass
class PopulationModel:
    name: str
    title: str
    description: str
    n_customers: str
    method: str
    k: int
    k_reason: str
    silhouette: str
    silhouette_label: str
    features: list[str]
    preparation: list[str]
    evidence: TableModel | None


@dataclass
class SectionModel:
    anchor: str
    title: str
    intro: str
    depth: int
    views: list[ViewModel] = field(default_factory=list)
    subsections: list["SectionModel"] = field(default_factory=list)
    population: PopulationModel | None = None


def _escape_json_for_html(text: str) -> str:
    # <, > and & only ever occur inside JSON strings, where \u escapes mean the same characters;
    # with them gone nothing in the block can end it (</script>) or open a comment (<!--).
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def figure_json(figure: Any) -> str:
    """The figure's Plotly JSON (the text ``figure.to_json()`` gives), escaped for a script block."""
    if hasattr(figure, "to_json"):
        text = _plotly_figure_json(figure)
    else:
        import plotly.io as pio

        text = pio.to_json(figure, validate=False)
    return _escape_json_for_html(text)


def figure_parts(figure: Any) -> tuple[str, str | None]:
    """The figure's JSON with ``"template": null`` and its template's JSON, both escaped for a
    script block; or its whole JSON and None when the template cannot be told apart."""
    if hasattr(figure, "to_json"):
        text, template = _plotly_figure_parts(figure)
    else:
        import plotly.io as pio

        text, template = pio.to_json(figure, validate=False), None
    if template is not None:
        text = text.replace(f'"{_TEMPLATE_MARK}"', "null", 1)
        template = _escape_json_for_html(template)
    return _escape_json_for_html(text), template


_TEMPLATE_MARK = f"__custseg_template_{uuid.uuid4().hex}__"  # no data text can equal it


def _plotly_figure_json(figure: Any) -> str:
    text, template = _plotly_figure_parts(figure)
    return text if template is None else text.replace(f'"{_TEMPLATE_MARK}"', template, 1)


def _plotly_figure_parts(figure: Any) -> tuple[str, str | None]:
    """``figure.to_json()``, without Plotly's deep copy and walk of the layout's template.

    Plotly copies and walks the whole figure, template included (~860 values, most of a chart's
    JSON time), to turn numeric arrays into typed base64. A template of plain JSON values has
    none: it is encoded on its own, and the figure's JSON has ``_TEMPLATE_MARK`` where Plotly
    puts it (None for the template when the figure's JSON is ``to_json()`` itself). Spliced
    together, tested equal to ``to_json()`` on every figure of a run.
    """
    from plotly.io._json import to_json_plotly

    layout = figure._layout
    template = layout.get("template") if isinstance(layout, dict) else None
    if template is None or getattr(figure, "_frame_objs", None):
        return figure.to_json(), None
    try:
        json.dumps(template)  # plain JSON values only: nothing for Plotly to convert
    except (TypeError, ValueError):
        return figure.to_json(), None
    spec = _typed_copy({"data": figure._data, "layout": {**layout, "template": _TEMPLATE_MARK}})
    return to_json_plotly(spec), to_json_plotly(template)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _typed_copy(obj: Any) -> Any:
    """What ``Figure.to_dict`` returns (a deep copy, then ``convert_to_base64``) in one pass:
    containers copied, a dict's array values as Plotly's typed base64 spec. Plain numbers and
    text are never arrays: they skip Plotly's array test, which is most of its cost."""
    from _plotly_utils.basevalidators import is_homogeneous_array
    from _plotly_utils.utils import is_skipped_key, to_typed_array_spec

    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if type(value) in _SCALARS or is_skipped_key(key):
                out[key] = value
            elif is_homogeneous_array(value):
                out[key] = to_typed_array_spec(value)
            else:
                out[key] = _typed_copy(value)
        return out
    if isinstance(obj, (list, tuple)):
        return [_typed_copy(value) for value in obj]
    return obj


def _figure_height(figure: Any) -> int:
    if isinstance(figure, dict):
        height = (figure.get("layout") or {}).get("height")
    else:
        height = getattr(getattr(figure, "layout", None), "height", None)
    try:
        return int(height) if height else DEFAULT_FIGURE_HEIGHT
    except (TypeError, ValueError):
        return DEFAULT_FIGURE_HEIGHT


def note_kind(confidence: str) -> str:
    """The badge's colour class: a fact by construction, a caution, a strong or an exact result."""
    text = (confidence or "").lower()
    if "by construction" in text:
        return "construction"
    if text == "low":
        return "caution"
    if text == "high":
        return "strong"
    if any(w in text for w in ("not significant", "indicative", "small", "uncertain", "weak", "caution")):
        return "caution"
    if "significant" in text:
        return "strong"
    if "exact" in text:
        return "exact"
    return "neutral"


def note_values(values: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A note's numbers as (name, text) rows: nested dicts flattened to "metrics · monetary · ratio",
    lists joined, every number rounded by :func:`format_value` (no dict reprs, no 43.394999999999996)."""
    rows: list[tuple[str, str]] = []
    for key, value in (values or {}).items():
        name = f"{prefix} · {key}" if prefix else str(key)
        if isinstance(value, Mapping):
            rows += note_values(value, name)
        elif isinstance(value, (list, tuple)):
            rows.append((name, ", ".join(format_value(v)[0] for v in value)))
        else:
            rows.append((name, format_value(value)[0]))
    return rows


def note_model(note: Note | str) -> NoteModel:
    if not isinstance(note, Note):
        return NoteModel(str(note), "", "neutral", [])
    return NoteModel(str(note.text), str(note.confidence or ""), note_kind(note.confidence), note_values(note.values))


def view_model(view: View, anchors: Anchors, file_name: str | None, templates: SharedTemplates) -> ViewModel:
    anchor = anchors.make("view", view.key or view.title)
    figure = None
    if view.figure is not None:
        text, template = figure_parts(view.figure)
        figure = FigureModel(
            div_id=f"fig-{anchor}",
            data_id=f"figdata-{anchor}",
            json=Markup(text),
            height=_figure_height(view.figure),
            file_name=file_name or anchor,
            template_id=templates.add(template) if template is not None else None,
        )
    table = table_model(view.table, view.table_colors) if view.table is not None else None
    notes = [note_model(n) for n in findings(view.notes)]
    details = [note_model(n) for n in statistics(view.notes)]
    return ViewModel(anchor, str(view.title), str(view.caption or ""), figure, table, notes, details)


def population_model(pop: PopulationResult) -> PopulationModel:
    silhouette = "–" if pop.silhouette is None or (isinstance(pop.silhouette, float) and math.isnan(pop.silhouette)) else f"{pop.silhouette:.3f}"
    evidence = table_model(pop.evidence) if isinstance(pop.evidence, pd.DataFrame) and not pop.evidence.empty else None
    return PopulationModel(
        name=str(pop.name), title=str(pop.title), description=str(pop.description or ""),
        n_customers=format_value(pop.n_customers)[0], method=str(pop.method_label or ""), k=pop.k,
        k_reason=str(pop.k_reason or ""), silhouette=silhouette,
        # under the value: how it was measured (an exact value needs no repeating)
        silhouette_label=f"exact: every one of the {pop.n_customers:,} customers" if pop.silhouette_method == "exact" else str(pop.silhouette_label or ""),
        features=[str(f) for f in pop.features_used or []], preparation=[str(p) for p in pop.preparation_notes or []],
        evidence=evidence,
    )


def section_model(section: Section, anchors: Anchors, file_names: dict[int, str], templates: SharedTemplates, depth: int = 0,
                  population: PopulationResult | None = None) -> SectionModel:
    model = SectionModel(anchors.make("section", section.key or section.title), str(section.title), str(section.intro or ""), depth)
    if population is not None:
        model.population = population_model(population)
    model.views = [view_model(v, anchors, file_names.get(id(v)), templates) for v in section.views]
    model.subsections = [section_model(s, anchors, file_names, templates, depth + 1) for s in section.subsections]
    return model


# ---------------------------------------------------------------- rendering


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("custseg.report", "templates"),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


#: plotly.js with only the trace types the report's figures use (1.2 MB instead of the full
#: bundle's 4.8 MB): built by scripts/build_plotly_bundle.mjs from plotly_bundle.toml.
PLOTLY_BUNDLE = "plotly-custseg.min.js"


@lru_cache(maxsize=1)
def plotly_js() -> str:
    return _resource(PLOTLY_BUNDLE).replace("</script", "<\\/script")


def warm_up() -> None:
    """Load what every report needs (the template, compiled; Plotly's script) ahead of time:
    ``custseg.api.run`` calls it on its background thread while the data is read."""
    _environment().get_template("report.html.j2")
    plotly_js()


def _resource(name: str) -> str:
    from importlib import resources

    return resources.files("custseg.report").joinpath("templates", name).read_text(encoding="utf-8")


def _csp_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"


def render_html(result: AnalysisResult, *, kicker: str = "Customer segmentation report", cards: list[Headline] | None = None,
                audiences: dict | None = None) -> str:
    """The whole report as one HTML document (UTF-8 text).

    ``kicker``: the line above the title; ``cards``: the "At a glance" cards (default: from the
    result's summary). Another report made of sections (the migration report) passes its own.
    ``audiences``: the manifest of the audience files beside it (linked from the summary tables).
    """
    views_with_figures = figure_views(result)
    file_names = dict(zip(map(id, views_with_figures), unique_file_names([v.title for v in views_with_figures])))

    anchors = Anchors({"overview", "reconciliation", "populations", "top", "toc"})
    templates = SharedTemplates()
    sections = [section_model(b.section, anchors, file_names, templates, 0, b.population) for b in blocks(result)]
    populations = []
    for model in sections:
        if model.population is not None:
            populations.append((model.anchor, model.population))
    anchor_of = {model.population.name: model.anchor for model in sections if model.population is not None}
    converted = (result.summary or {}).get("converted_customers")
    currency = (result.summary or {}).get("currency", "")
    links = audience_links(audiences)
    horizon = ((result.summary or {}).get("value") or {}).get("horizon_days")
    summaries = [m for m in (summary_model(p, anchor_of.get(p.name, ""), converted, currency, links, horizon) for p in result.populations) if m is not None]
    reconciliation = table_model(result.reconciliation) if isinstance(result.reconciliation, pd.DataFrame) and not result.reconciliation.empty else None

    js_plotly = plotly_js()
    js_app = _resource("report.js")
    css = _resource("report.css")
    csp = (
        "default-src 'none'; "
        f"script-src {_csp_hash(js_plotly)} {_csp_hash(js_app)}; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
    n_figures = len(views_with_figures)
    warnings = (result.summary or {}).get("warnings") or []
    return _environment().get_template("report.html.j2").render(
        title=str(result.title),
        source=str(result.source or ""),
        sample=sample_sentence(result.summary),
        kicker=kicker,
        headlines=headlines(result.summary) if cards is None else cards,
        summaries=summaries,
        value_horizon=horizon if any(m.value is not None for m in summaries) else None,
        caveats=[str(c) for c in (result.summary or {}).get("caveats") or []],
        rfm_summary=rfm_summary_table((result.summary or {}).get("rfm_segments") or {}, links),
        audiences=audience_note(audiences),
        warnings=[str(w) for w in (warnings if isinstance(warnings, (list, tuple)) else [warnings])],
        reconciliation=reconciliation,
        populations=populations,
        sections=sections,
        n_figures=n_figures,
        templates=templates.blocks(),
        css=Markup(css),
        plotly_js=Markup(js_plotly),
        app_js=Markup(js_app),
        csp=csp,
    )
