/* Draws the trend and ranking charts with plotly.js (served by Django from the wheel). */
(function () {
  "use strict";
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-source"));
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      var layout = { margin: { l: 60, r: 20, t: 10, b: 40 }, height: 320, showlegend: true,
                     legend: { orientation: "h" }, font: { family: "Noto Sans CJK SC, sans-serif" } };
      var traces;
      if (el.getAttribute("data-chart") === "trend") {
        traces = [{ type: "scatter", mode: "lines+markers", x: data.months, y: data.values, name: data.labels.value, connectgaps: false }];
        if (data.target !== null) {
          traces.push({ type: "scatter", mode: "lines", x: data.months, y: data.months.map(function () { return data.target; }),
                        name: data.labels.target, line: { dash: "dash" } });
        }
      } else {
        traces = [{ type: "bar", orientation: "h", y: data.ranking.names.slice().reverse(), x: data.ranking.values.slice().reverse(), name: data.labels.value }];
        layout.margin.l = 160;
        layout.height = Math.max(240, 24 * data.ranking.names.length + 60);
      }
      Plotly.newPlot(el, traces, layout, { displaylogo: false, displayModeBar: false, responsive: true });
      el.setAttribute("data-drawn", "1");
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
