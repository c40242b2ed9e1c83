// Station Fleet charts: a thin wrapper over Apache ECharts (window.echarts, /console/charts/echarts.min.js).
// SFCharts.timeLine(el, {series: [{name, points: [[ms, value], ...]}], unit, rangeMs})
// SFCharts.bars(el, {categories: [...], series: [{name, values: [...], stack, color}], unit, horizontal,
//   integer})  (integer: counts, whole-number ticks)
// Calling either again on the same element updates the chart in place. After each draw the element
// gets data-chart-ready="1" and data-chart-points="<number of points drawn>" (tests and live pages
// read them). Rendered as SVG so text stays crisp and the page needs no canvas permission.
(function () {
  "use strict";
  var COLORS = ["#2563eb", "#16a34a", "#dc2626", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  var charts = new WeakMap();

  function format(unit, v) {
    if (v === null || v === undefined || !isFinite(v)) { return "–"; }
    if (unit === "bps") {
      var units = [["Gbit/s", 1e9], ["Mbit/s", 1e6], ["kbit/s", 1e3]];
      for (var i = 0; i < units.length; i++) {
        if (Math.abs(v) >= units[i][1]) { return +(v / units[i][1]).toFixed(1) + " " + units[i][0]; }
      }
      return Math.round(v) + " bit/s";
    }
    if (unit === "pct") { return +Number(v).toFixed(1) + " %"; }
    if (unit === "ratio") { return +(v * 100).toFixed(2) + " %"; }
    if (unit === "s") { return +Number(v).toFixed(2) + " s"; }
    return String(+Number(v).toFixed(2));
  }

  function chartFor(el) {
    var chart = charts.get(el);
    if (!chart) {
      if (!el.style.height && !el.clientHeight) { el.style.height = "260px"; }
      el.replaceChildren();
      chart = window.echarts.init(el, null, { renderer: "svg" });
      charts.set(el, chart);
      window.addEventListener("resize", function () { chart.resize(); });
    }
    return chart;
  }

  function mark(el, points) {
    el.dataset.chartReady = "1";
    el.dataset.chartPoints = String(points);
  }

  function timeLine(el, opts) {
    var unit = opts.unit || "";
    var now = Date.now(), range = opts.rangeMs || 3600 * 1000;
    var points = 0;
    var series = (opts.series || []).map(function (s, i) {
      points += s.points.length;
      return {
        name: s.name, type: "line", showSymbol: false, smooth: false, sampling: "lttb",
        lineStyle: { width: 2 }, color: s.color || COLORS[i % COLORS.length], data: s.points
      };
    });
    chartFor(el).setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return format(unit, v); } },
      xAxis: { type: "time", min: opts.rangeMs === 0 ? null : now - range, max: opts.rangeMs === 0 ? null : now },
      yAxis: { type: "value", min: 0, axisLabel: { formatter: function (v) { return format(unit, v); } } },
      series: series
    }, { notMerge: true });
    mark(el, points);
  }

  function bars(el, opts) {
    var unit = opts.unit || "";
    var points = 0;
    var category = { type: "category", data: opts.categories || [], axisLabel: { interval: 0 } };
    var value = { type: "value", min: 0, minInterval: opts.integer ? 1 : 0, axisLabel: { formatter: function (v) { return format(unit, v); } } };
    var series = (opts.series || []).map(function (s, i) {
      points += s.values.length;
      return {
        name: s.name, type: "bar", stack: s.stack, data: s.values, color: s.color || COLORS[i % COLORS.length],
        label: { show: !!opts.labels, position: "inside" }
      };
    });
    chartFor(el).setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: opts.horizontal ? value : category,
      yAxis: opts.horizontal ? category : value,
      series: series
    }, { notMerge: true });
    mark(el, points);
  }

  window.SFCharts = { timeLine: timeLine, bars: bars, format: format, colors: COLORS };
})();
