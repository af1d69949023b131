// Charts of the Overview and Analytics pages, drawn with the vendored uPlot from JSON embedded
// in the page (<script type="application/json">, never executed). The server zero-fills every
// bucket of the selected range (pulse/api/web/charts.py); here the x scale is pinned to that
// range plus half a bucket each side (so the first and last bars are whole), the y axis is as
// wide as its longest label, and points are drawn so a lone non-zero bucket is visible.
// Colours are fixed per series order so a provider keeps its colour across charts on a page.
(function () {
  "use strict";
  if (!window.uPlot) return;
  const PALETTE = ["#3a4fd6", "#e07b39", "#2e9d6a", "#a855c7", "#c23b4a", "#3b97b5", "#8a7a2e"];
  const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  // Significant digits below a cent ($0.00079), cents below $100, whole dollars above.
  const dollars = (v) => {
    if (v == null) return "";
    if (v === 0) return "$0";
    const a = Math.abs(v);
    if (a < 0.01) return "$" + Number(v.toPrecision(2)).toFixed(Math.min(12, 1 - Math.floor(Math.log10(a)))).replace(/0+$/, "");
    if (a < 100) return "$" + v.toFixed(2);
    return "$" + Math.round(v).toLocaleString("en-US");
  };
  const count = (v) => v == null ? "" : v.toLocaleString("en-US");
  const year = new Date().getUTCFullYear();
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // x labels in UTC (like every other time on the dashboard), with the year when not this one
  const when = (d, step) => {
    const t = new Date(d.x * 1000), y = t.getUTCFullYear() !== year ? " " + t.getUTCFullYear() : "";
    const day = MONTHS[t.getUTCMonth()] + " " + t.getUTCDate() + y;
    return step === 3600 ? day + " " + String(t.getUTCHours()).padStart(2, "0") + ":00" : day;
  };
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = FONT;
  const width = (labels) => Math.max(0, ...labels.map((s) => measure.measureText(s).width));

  function data(id) { const el = document.getElementById(id); return el ? JSON.parse(el.textContent) : null; }

  function opts(el, d, series, fmt, bars) {
    const half = d.step / 2;
    return {
      width: Math.max(280, el.clientWidth), height: 220, padding: [12, 16, 0, 4],
      legend: { live: true },
      cursor: { points: { size: 6 } },
      scales: {
        x: { time: true, range: () => [Math.min(d.xmin, d.x[0]) - half, Math.max(d.xmax, d.x[d.x.length - 1]) + half] },
        y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { stroke: "#5f6775", font: FONT, grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e3e6eb" },
          values: (u, vals) => vals.map((v) => when({ x: v }, d.step)) },
        { stroke: "#5f6775", font: FONT, grid: { stroke: "#eef0f3" }, ticks: { stroke: "#e3e6eb" },
          values: (u, vals) => vals.map(fmt),
          size: (u, values) => Math.ceil(width(values || ["$0.000"])) + 18 },
      ],
      series: [{ label: "time", value: (u, v) => v == null ? "" : when({ x: v }, d.step) }].concat(series.map((s, i) => Object.assign({
        stroke: PALETTE[i % PALETTE.length], width: 2, value: (u, v) => fmt(v),
        points: { show: !bars, size: 5 },
        paths: bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.7, 40] }) : undefined,
        fill: bars ? PALETTE[i % PALETTE.length] + "cc" : PALETTE[i % PALETTE.length] + "14",
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
      if (!names.length) { series = [{ label: "cost" }]; values = [d.x.map(() => 0)]; }
    } else if (el.dataset.chart === "requests") {
      series = [{ label: "requests" }, { label: "errors", stroke: "#c23b4a", fill: "#c23b4acc" }];
      values = [d.requests, d.errors]; bars = true;
    } else {
      series = [{ label: "spans" }]; values = [d.counts]; bars = true;
    }
    const plot = new uPlot(opts(el, d, series, fmt, bars), [d.x].concat(values), el);
    el.uplot = plot; // read by the browser tests (axis range, series drawn)
    new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 220 })).observe(el);
  }
  window.pulseDollars = dollars;
  document.querySelectorAll("[data-chart]").forEach(draw);
})();
