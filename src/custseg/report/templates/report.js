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
    // The view's heading already shows the figure's title: do not repeat it above the plot.
    var title = layout.title;
    var titleText = typeof title === "string" ? title : (title && title.text) || "";
    if (titleText && same(titleText, div.getAttribute("data-title") || "")) {
      layout.title = { text: "" };
      layout.margin = layout.margin || {};
      if (layout.margin.t === undefined) layout.margin.t = hasTopAnnotations(layout) ? 50 : 24;
    }
    var config = {
      responsive: true,
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
