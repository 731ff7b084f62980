(function () {
  "use strict";
  var body = document.body;
  var pending = Array.prototype.slice.call(document.querySelectorAll("div.figure[data-src]"));
  var rendered = 0;
  var failed = 0;
  body.setAttribute("data-figures-total", String(pending.length));

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < (window.innerHeight || document.documentElement.clientHeight);
  }

  function nextFigure() {
    for (var i = 0; i < pending.length; i++) {
      if (inView(pending[i])) return pending.splice(i, 1)[0];
    }
    return pending.shift();
  }

  function plain(text) {
    return String(text).replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().toLowerCase();
  }

  function same(a, b) {
    return plain(a) === plain(b);
  }

  function hasTopAnnotations(layout) {
    return (layout.annotations || []).some(function (a) { return a.yref === "paper" && a.y >= 1; });
  }

  // Below this width a chart is laid out for a phone: panels stacked, legends below, short labels.
  var NARROW = 700;
  var NARROW_TICKS = 15;  // x labels a phone's width holds side by side, turned upright

  function shorten(text, n) {
    text = String(text);
    return text.length > n ? text.slice(0, n - 1) + "\u2026" : text;
  }

  // Side by side -> one above the other: two panels sharing the y axis (comparisons), or a bar
  // beside a polar chart (cluster sizes and metric profiles). Each part keeps its own height.
  function stackPanels(layout) {
    if (layout.xaxis2 && layout.xaxis && layout.xaxis.domain) {
      layout.xaxis.domain = [0, 1];
      layout.xaxis2.domain = [0, 1];
      layout.yaxis.domain = [0.56, 1];
      layout.yaxis2 = Object.assign({}, layout.yaxis2, { domain: [0, 0.44], showticklabels: true, matches: undefined,
                                                         autorange: layout.yaxis.autorange });
      var titles = (layout.annotations || []).filter(function (a) { return a.name === "panel-title"; });
      titles.forEach(function (a, i) { a.x = 0; a.y = i === 0 ? 1 : 0.44; });
      return true;
    }
    if (layout.polar && layout.xaxis) {
      layout.xaxis.domain = [0, 1];
      layout.yaxis = Object.assign({}, layout.yaxis, { domain: [0.62, 1] });
      layout.polar.domain = { x: [0.2, 0.8], y: [0, 0.5] };  // room for the axis labels beside it
      return true;
    }
    return false;
  }

  function narrowLayout(data, layout) {
    var height = layout.height || 450;
    var twoPanels = Boolean(layout.xaxis2);
    if (stackPanels(layout)) height *= 1.9;
    if (twoPanels) {  // the note under the panels would sit on the legend; the section's intro says the same
      layout.annotations = (layout.annotations || []).filter(function (a) { return a.name === "panel-title"; });
    }
    layout.legend = Object.assign({}, layout.legend, { orientation: "h", x: 0, xanchor: "left", y: -0.08, yanchor: "top" });
    layout.margin = Object.assign({}, layout.margin, { l: 10, r: 10 });
    (layout.annotations || []).forEach(function (a) {  // annotations do not wrap: keep them within a phone's width
      a.text = a.name === "panel-title" ? shorten(a.text, 40) : String(a.text).split(" (")[0];
      if (a.font) a.font = Object.assign({}, a.font, { size: Math.min(a.font.size || 12, 12) });
    });
    ["yaxis", "yaxis2"].forEach(function (k) { if (layout[k]) layout[k].automargin = true; });
    ["xaxis", "xaxis2"].forEach(function (k) {  // many labels side by side (a dendrogram's branches): every n-th; hover shows all
      var ax = layout[k];
      if (ax && Array.isArray(ax.ticktext) && ax.ticktext.length > NARROW_TICKS) {
        var step = Math.ceil(ax.ticktext.length / NARROW_TICKS);
        ax.ticktext = ax.ticktext.map(function (t, i) { return i % step === 0 ? t : ""; });
      }
    });
    data.forEach(function (trace) {  // long category labels would take the whole width
      if (trace.orientation === "h" && Array.isArray(trace.y)) trace.y = trace.y.map(function (v) { return shorten(v, 22); });
    });
    var legendRows = data.filter(function (t) { return t.showlegend !== false && t.name; }).length;
    layout.height = Math.round(height + 22 * legendRows);
  }

  // A heatmap of many columns with numbers in its cells (the migration report's transition
  // matrix) keeps its cells wide enough to read: on a narrow screen it scrolls sideways.
  function matrixWidth(data) {
    var columns = 0;
    data.forEach(function (t) {
      if (t.type === "heatmap" && t.texttemplate && Array.isArray(t.x)) columns = Math.max(columns, t.x.length);
    });
    return columns > 6 ? 170 + 62 * columns : 0;
  }

  function render(div) {
    var spec;
    try {
      spec = JSON.parse(document.getElementById(div.getAttribute("data-src")).textContent);
      // the figure's layout template, written once for every figure that shares it
      var templateId = div.getAttribute("data-template");
      if (templateId) (spec.layout = spec.layout || {}).template = JSON.parse(document.getElementById(templateId).textContent);
    } catch (err) {
      failed += 1;
      div.classList.add("failed");
      div.textContent = "This figure could not be read.";
      return Promise.resolve();
    }
    var layout = spec.layout || {};
    delete layout.width; // fit the column; the slide images keep the figure's own size
    layout.autosize = true;
    var scrolled = div.clientWidth < NARROW && div.clientWidth < matrixWidth(spec.data || []);
    if (scrolled) {
      layout.width = matrixWidth(spec.data || []);
      layout.autosize = false;
      (spec.data || []).forEach(function (t) { t.showscale = false; });  // the cells show their numbers
      div.classList.add("scroll-x");
    } else if (div.clientWidth < NARROW) narrowLayout(spec.data || [], layout);
    // The view's heading already shows the figure's title: do not repeat it above the plot.
    var title = layout.title;
    var titleText = typeof title === "string" ? title : (title && title.text) || "";
    if (titleText && same(titleText, div.getAttribute("data-title") || "")) {
      layout.title = { text: "" };
      // the top margin was the title's room: keep only what panel titles above the plot need
      layout.margin = Object.assign({}, layout.margin, { t: hasTopAnnotations(layout) ? 50 : 24 });
    }
    var config = {
      responsive: !scrolled,
      displaylogo: false,
      modeBarButtonsToRemove: ["select2d", "lasso2d"],
      toImageButtonOptions: { format: "png", scale: 2, filename: div.getAttribute("data-file-name") || "figure" }
    };
    return Plotly.newPlot(div, spec.data || [], layout, config).then(function () {
      rendered += 1;
      div.classList.add("rendered");
      div.style.minHeight = "";
    }, function (err) {
      failed += 1;
      div.classList.add("failed");
      div.textContent = "This figure could not be drawn.";
    });
  }

  function step() {
    var div = nextFigure();
    if (!div) {
      body.setAttribute("data-figures-rendered", String(rendered));
      body.setAttribute("data-figures-failed", String(failed));
      body.setAttribute("data-figures-done", "true");
      return;
    }
    render(div).then(function () { window.setTimeout(step, 0); });
  }

  if (typeof Plotly === "undefined") {
    body.setAttribute("data-figures-done", "true");
    body.setAttribute("data-figures-rendered", "0");
  } else {
    step();
  }

  // Contents: highlight the part being read.
  var links = Array.prototype.slice.call(document.querySelectorAll("nav.toc a[href^='#']"));
  var toc = document.getElementById("toc");
  var targets = links.map(function (a) { return document.getElementById(a.getAttribute("href").slice(1)); });
  var active = null;
  var queued = false;

  function spy() {
    queued = false;
    var current = null;
    for (var i = 0; i < targets.length; i++) {
      if (targets[i] && targets[i].getBoundingClientRect().top <= 140) current = links[i];
    }
    if (current === active) return;
    if (active) active.classList.remove("active");
    active = current;
    if (!active) return;
    active.classList.add("active");
    if (toc && toc.scrollHeight > toc.clientHeight) {
      var top = active.offsetTop - toc.clientHeight / 3;
      toc.scrollTop = Math.max(0, top);
    }
  }

  window.addEventListener("scroll", function () {
    if (!queued) {
      queued = true;
      window.requestAnimationFrame(spy);
    }
  }, { passive: true });
  spy();
})();
