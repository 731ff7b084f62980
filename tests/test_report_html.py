"""The HTML report: structure, self-containment, and escaping of every string from the data."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
import plotly.graph_objects as go
import pytest

from custseg.report._sample import HOSTILE, sample_result
from custseg.report.html import render_html
from custseg.report.tables import format_value, safe_color
from custseg.result import AnalysisResult, Note, Section, View


class Doc(HTMLParser):
    """Elements, attributes, text and script blocks of a document, as a browser's tokenizer sees them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.text: list[str] = []
        self._in_script: dict | None = None
        self._script_text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "script":
            self._in_script, self._script_text = attrs, []

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._script_text)))
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self._script_text.append(data)
        else:
            self.text.append(data)

    def ids(self) -> list[str]:
        return [a["id"] for _, a in self.tags if "id" in a]


@pytest.fixture(scope="module")
def normal():
    result = sample_result()
    html = render_html(result)
    return result, html, Doc(html)


@pytest.fixture(scope="module")
def hostile():
    result = sample_result(hostile=True)
    html = render_html(result)
    return result, html, Doc(html)


def _figure_count(result: AnalysisResult) -> int:
    from custseg.report._walk import figure_views

    return len(figure_views(result))


def test_plotly_inlined_once_and_nothing_fetched(normal):
    result, html, doc = normal
    executable = [(a, s) for a, s in doc.scripts if a.get("type") in (None, "text/javascript")]
    assert len(executable) == 2  # plotly.js, then the report's own script
    assert sum("Plotly" in s and len(s) > 1_000_000 for _, s in executable) == 1
    assert html.count("plotly.js v") <= 2  # the bundle's banner, once
    for tag, attrs in doc.tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"^\s*(https?:)?//", value), (tag, name, value)
    ours = html.replace(next(s for _, s in executable if len(s) > 1_000_000), "")  # the plotly.js bundle names its CDN
    assert "cdn.plot.ly" not in ours and "<link" not in ours and "http" not in ours.replace("http-equiv", "")
    csp = next(a["content"] for t, a in doc.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "unsafe-eval" not in csp


def test_every_figure_has_a_div_and_parseable_json(normal):
    result, html, doc = normal
    figures = [a for t, a in doc.tags if t == "div" and "figure" in (a.get("class") or "").split()]
    assert len(figures) == _figure_count(result) == 13
    data = {a["id"]: s for a, s in doc.scripts if a.get("type") == "application/json"}
    for div in figures:
        spec = json.loads(data[div["data-src"]])
        assert spec["data"], div
    # the figures share one layout template, written once
    assert {div["data-template"] for div in figures} == {"plotly-template-1"}
    assert json.loads(data["plotly-template-1"])["layout"]


def test_table_of_contents_links_every_section_and_view(normal):
    result, html, doc = normal
    ids = doc.ids()
    assert len(ids) == len(set(ids)), "duplicate ids"
    in_toc = False
    links = []
    for tag, attrs in doc.tags:
        if tag == "nav":
            in_toc = True
        elif tag == "main":
            in_toc = False
        elif in_toc and tag == "a":
            links.append(attrs["href"])
    assert links and all(h.startswith("#") and h[1:] in ids for h in links)
    text = " ".join(doc.text)
    for view in [v for s in result.sections for v in s.views] + [v for p in result.populations for v in p.section.views]:
        assert view.title in text
    # one section per population, with how its clusters were chosen
    for pop in result.populations:
        assert pop.title in text and pop.method_label in text and pop.k_reason in text
        # how the silhouette was measured: all customers, or the sample and its interval
        assert (f"exact: every one of the {pop.n_customers:,} customers" if pop.silhouette_method == "exact" else pop.silhouette_label) in text


def test_headline_numbers_reconciliation_notes_and_colours(normal):
    result, html, doc = normal
    text = " ".join(doc.text)
    for key in ("customers", "converted_customers", "repeat_customers"):
        assert f"{result.summary[key]:,}" in text
    assert f"{sum(result.summary['excluded_input_rows'].values()):,}" in text
    for reason in result.reconciliation["reason"]:
        assert reason in text
    assert "significant (p < 0.001)" in text and "indicative only: small group (n = 48)" in text
    styled = [a["style"] for t, a in doc.tags if t == "td" and "style" in a]
    assert any("background-color: #" in s for s in styled)


def test_hostile_strings_are_escaped_everywhere(hostile):
    result, html, doc = hostile
    # No markup from the data became markup: two scripts we wrote, JSON blocks, no <img>, no handlers.
    executable = [s for a, s in doc.scripts if a.get("type") != "application/json"]
    assert len(executable) == 2
    assert not any("alert(" in s for s in executable)
    assert not [t for t, _ in doc.tags if t in ("img", "iframe", "object", "embed", "b", "i")]
    assert not [(t, k) for t, a in doc.tags for k in a if k.startswith("on")]
    # The raw strings never appear; their escaped text does, and reads back as the original.
    for bad in HOSTILE[:4]:
        assert bad not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&#34;quoted&#34; &amp; &#39;single&#39;" in html
    text = "".join(doc.text)
    for bad in HOSTILE:
        assert bad in text  # shown as text to the reader
    # titles, section titles, population description, notes, table cells/headers/index, summary keys
    assert result.title in text and result.sections[0].title in text and result.populations[0].description in text
    assert "metric <i>" in text
    # Figure data keeps the strings (plotly.js draws them as text) but cannot end its <script> block.
    blocks = [s for a, s in doc.scripts if a.get("type") == "application/json"]
    assert all("<" not in s and ">" not in s and "&" not in s for s in blocks)
    joined = "\n".join(json.dumps(json.loads(s)) for s in blocks)
    assert json.dumps(HOSTILE[1])[1:-1] in joined and json.dumps(HOSTILE[0])[1:-1] in joined
    # ids from hostile keys are safe, unique; injected colours were dropped
    ids = doc.ids()
    assert all(re.fullmatch(r"[a-z0-9-]+", i) for i in ids) and len(ids) == len(set(ids))
    styles = " ".join(a.get("style", "") for _, a in doc.tags)
    assert "javascript" not in styles and "url(" not in styles and "script" not in styles


def test_script_end_tag_in_every_kind_of_field():
    """`</script>` and quotes in a figure label, a table cell, a note, a caption and every title."""
    bad = "</script><script>alert('x')</script>\"'"
    fig = go.Figure(go.Bar(x=[bad, "b"], y=[1, 2], name=bad, text=[bad, bad], hovertemplate=bad))
    fig.update_layout(title=bad, xaxis_title=bad)
    view = View(key=bad, title=bad, figure=fig, table=pd.DataFrame({bad: [bad, 1]}, index=pd.Index([bad, bad], name=bad)),
                table_colors=pd.DataFrame({bad: [bad, "#fff"]}), notes=[Note(bad, bad, {bad: bad})], caption=bad)
    result = AnalysisResult(title=bad, source=bad, customers=pd.DataFrame(), summary={"customers": 3, bad: bad,
                            "excluded_input_rows": {bad: 2}}, reconciliation=pd.DataFrame({"reason": [bad], "customers": [1]}),
                            sections=[Section(key=bad, title=bad, intro=bad, views=[view], subsections=[Section(key=bad, title=bad, views=[])])],
                            populations=[])
    html = render_html(result)
    doc = Doc(html)
    assert bad not in html and "alert('x')</script>" not in html
    assert [a.get("type") for a, _ in doc.scripts] == ["application/json", "application/json", None, None]  # figure, template
    assert "".join(doc.text).count(bad) >= 10
    assert json.loads(doc.scripts[0][1])["data"][0]["name"] == bad


def test_format_value_and_safe_color():
    assert format_value(1234567) == ("1,234,567", True)
    assert format_value(0.41234) == ("0.412", True)
    assert format_value(float("nan")) == ("–", False)
    assert format_value("27.32%") == ("27.32%", True)
    assert format_value(pd.Timestamp("2018-01-02")) == ("2018-01-02", False)
    for ok in ("#abc", "#00441b", "rgb(1, 2, 3)", "rgba(1,2,3,0.5)", "hsl(120, 50%, 40%)", "darkgreen"):
        assert safe_color(ok) == ok
    for bad in ("red;x:y", "url(javascript:1)", "expression(alert(1))", '"><script>', "#12", "", None, 3):
        assert safe_color(bad) is None


def test_rendering_is_deterministic():
    assert render_html(sample_result()) == render_html(sample_result())


def test_sparse_and_unusual_results_render():
    """Empty summary, no reconciliation, a population without a section, a dict figure, MultiIndex tables."""
    from custseg.result import PopulationResult

    table = pd.DataFrame([[1, 2.5], [3, float("nan")]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]),
                         index=pd.MultiIndex.from_tuples([("p", 1), ("q", 2)], names=["group", "n"]))
    views = [
        View(key="dict-fig", title="A figure given as a dict", figure={"data": [{"type": "bar", "x": [1], "y": [2]}], "layout": {"height": 300}}),
        View(key="t", title="Wide table", table=table, table_colors=pd.DataFrame([["#fff"]])),  # wrong shape: ignored
        View(key="empty", title="Only words", notes=[Note("Nothing to draw.")]),
    ]
    pop = PopulationResult(name="p", title="Population without a section", description="", n_customers=0, method_label="",
                           k=1, k_reason="", silhouette=None, silhouette_label="", features_used=[], preparation_notes=[],
                           evidence=None, assignments=pd.DataFrame(), cluster_names={})
    result = AnalysisResult(title="T", source="", customers=pd.DataFrame(), summary={}, reconciliation=None,
                            sections=[Section(key="s", title="S", views=views)], populations=[pop])
    doc = Doc(render_html(result))
    text = " ".join(doc.text)
    assert "a / x" in text and "group" in text and "Population without a section" in text and "Nothing to draw." in text
    assert "Where the customers went" not in text
    assert len([a for t, a in doc.tags if t == "div" and "figure" in (a.get("class") or "").split()]) == 1


def test_figure_json_is_plotlys_own_text_for_every_figure(normal, hostile, tmp_path):
    # the template is encoded once and spliced in: the text must be what Figure.to_json() gives
    from custseg.api import run
    from custseg.generate.olist import generate_olist
    from custseg.report._walk import figure_views
    from custseg.report.html import _escape_json_for_html, figure_json, figure_parts

    generate_olist(3000, 4, tmp_path / "olist")
    real = run(tmp_path / "olist")
    figures = [v.figure for result in (normal[0], hostile[0], real) for v in figure_views(result) if hasattr(v.figure, "to_json")]
    assert len(figures) > 60
    for fig in figures:
        assert figure_json(fig) == _escape_json_for_html(fig.to_json())
        # the report's form: the template in a block of its own, put back by report.js
        text, template = figure_parts(fig)
        spec = json.loads(text)
        assert spec["layout"]["template"] is None
        spec["layout"]["template"] = json.loads(template)
        assert spec == json.loads(fig.to_json())
    changed = go.Figure(figures[0])  # a figure whose template differs from the others'
    changed.layout.template.layout.font.size = 31
    assert figure_json(changed) == _escape_json_for_html(changed.to_json())
    assert '"size":31' in figure_json(changed)
