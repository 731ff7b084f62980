"""The report's custom plotly.js bundle holds every trace type custseg's figures use.

The bundle (report/templates/plotly-custseg.min.js) is built by scripts/build_plotly_bundle.mjs
from report/plotly_bundle.toml; a figure with a trace type the bundle lacks would be a blank
box in the report, so every figure of a real run is checked against the list.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from custseg.report._sample import sample_result
from custseg.report._walk import figure_views
from custseg.report.html import PLOTLY_BUNDLE, plotly_js

CONFIG = tomllib.loads(resources.files("custseg.report").joinpath("plotly_bundle.toml").read_text(encoding="utf-8"))
BUNDLED = set(CONFIG["traces"])

# Layout keys that are subplots of their own, and the trace modules that bring them.
SUBPLOTS = {"polar": {"scatterpolar", "scatterpolargl", "barpolar"}, "ternary": {"scatterternary"},
            "smith": {"scattersmith"}, "geo": {"scattergeo", "choropleth"}, "scene": {"scatter3d", "surface", "mesh3d"},
            "map": {"scattermap", "choroplethmap", "densitymap"}, "mapbox": set()}


def trace_types(figure) -> set[str]:
    data = (figure.get("data") or []) if isinstance(figure, dict) else figure.data
    return {(t.get("type") if isinstance(t, dict) else t.type) or "scatter" for t in data}


def subplots(figure) -> set[str]:
    layout = (figure.get("layout") or {}) if isinstance(figure, dict) else figure.layout.to_plotly_json()
    return {m.group(1) for key in layout if (m := re.fullmatch(r"([a-z]+?)\d*", key)) and m.group(1) in SUBPLOTS}


def missing(figures) -> list[str]:
    out = []
    for fig in figures:
        types = trace_types(fig)
        out += [f"trace type {t}" for t in types - BUNDLED]
        out += [f"{s} subplot" for s in subplots(fig) if not SUBPLOTS[s] & BUNDLED]
    return sorted(set(out))


def test_every_figure_of_a_real_run_is_drawn_by_the_bundle(olist_result):
    figures = [v.figure for result in (olist_result, sample_result(), sample_result(hostile=True)) for v in figure_views(result)]
    assert len(figures) > 80
    assert missing(figures) == []
    seen = set().union(*map(trace_types, figures))
    assert {"bar", "scatter", "scatterpolar", "heatmap", "treemap"} <= seen  # the walk did reach them


def test_a_missing_trace_type_is_caught():
    import plotly.graph_objects as go

    assert missing([go.Figure(go.Pie(values=[1, 2])), {"data": [{"type": "scattergeo"}]}]) == ["trace type pie", "trace type scattergeo"]
    assert missing([{"data": [], "layout": {"ternary2": {}}}]) == ["ternary subplot"]


def test_the_committed_bundle_is_built_from_the_list():
    text = resources.files("custseg.report").joinpath("templates", PLOTLY_BUNDLE).read_text(encoding="utf-8")
    first, licence = text.split("\n", 1)
    version, traces = CONFIG["plotly_js"], ", ".join(sorted(BUNDLED))
    assert f"plotly.js v{version}, trace types {traces};" in first, "rebuild: node scripts/build_plotly_bundle.mjs"
    assert licence.startswith(f"/**\n* plotly.js v{version}\n") and "Licensed under the MIT license" in licence[:200]
    assert "var Plotly=" in text[:2000]  # a classic script defining the global the report's script uses
    assert plotly_js() == text.replace("</script", "<\\/script")


def test_the_bundle_is_the_plotly_js_python_plotly_targets():
    # Figures are built and checked against the Python package's schema, made for one plotly.js.
    from plotly.offline import get_plotlyjs_version

    if get_plotlyjs_version() != CONFIG["plotly_js"]:
        pytest.fail(f"plotly (Python) targets plotly.js {get_plotlyjs_version()}; the bundle is {CONFIG['plotly_js']}: "
                    "set plotly_js in report/plotly_bundle.toml and run node scripts/build_plotly_bundle.mjs")
