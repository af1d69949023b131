// Charts of the Overview and Analytics pages, drawn with the vendored uPlot from JSON embedded
// in the page (<script type="application/json">, never executed). Colours are fixed per series
// order so a provider keeps its colour across charts on a page.
(function () {
  "use strict";
  if (!window.uPlot) return;
  const PALETTE = ["#3a4fd6", "#e07b39", "#2e9d6a", "#a855c7", "#c23b4a", "#3b97b5", "#8a7a2e"];
  const dollars = (v) => v == null ? "" : "$" + (v < 1 ? v.toFixed(v < 0.01 ? 4 : 2) : v.toLocaleString(undefined, { maximumFractionDigits: 2 }));
  const count = (v) => v == null ? "" : v.toLocaleString();

  function data(id) { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  function opts(el, series, fmt, stepped) {
    const width = Math.max(280, el.clientWidth);
    return {
      width, height: 220, padding: [8, 8, 0, 0],
      legend: { live: true },
      cursor: { points: { size: 6 } },
      scales: { x: { time: true, range: (u, min, max) => min === max ? [min - 43200, max + 43200] : [min, max] } },
      axes: [
        { stroke: "#5f6775", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e3e6eb" } },
        { stroke: "#5f6775", grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e3e6eb" }, size: 60,
          values: (u, vals) => vals.map(fmt) },
      ],
      series: [{ label: "time" }].concat(series.map((s, i) => Object.assign({
        stroke: PALETTE[i % PALETTE.length], width: 2, value: (u, v) => fmt(v),
        points: { show: stepped },
        paths: stepped && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
        fill: stepped ? PALETTE[i % PALETTE.length] + "cc" : PALETTE[i % PALETTE.length] + "14",
      }, s))),
    };
  }

  function draw(el) {
    const d = data(el.dataset.source); if (!d || !d.x || !d.x.length) {
      el.innerHTML = ""; const p = document.createElement("p"); p.className = "muted small";
      p.textContent = "No data in this range."; el.appendChild(p); return;
    }
    let series, values, fmt = count, bars = false;
    if (el.dataset.chart === "cost") {
      const names = Object.keys(d.cost);
      series = names.map((n) => ({ label: n })); values = names.map((n) => d.cost[n]); fmt = dollars;
    } else if (el.dataset.chart === "requests") {
      series = [{ label: "requests" }, { label: "errors", stroke: "#c23b4a", fill: "#c23b4acc" }];
      values = [d.requests, d.errors]; bars = true;
    } else {
      series = [{ label: "spans" }]; values = [d.counts]; bars = true;
    }
    const plot = new uPlot(opts(el, series, fmt, bars), [d.x].concat(values), el);
    new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 })).observe(el);
  }
  document.querySelectorAll("[data-chart]").forEach(draw);
})();
