// Station Fleet console: the per-device bandwidth chart (rx/tx bit/s over the last hour from the
// history API), drawn with Apache ECharts through SFCharts (/console/charts/), refreshed every 30 s.
(function () {
  "use strict";
  var REFRESH_MS = 30000;
  var SERIES = [{ metric: "rx_bps", cls: "rx", color: "#2563eb" }, { metric: "tx_bps", cls: "tx", color: "#16a34a" }];

  // Accepts [[t, v], ...], [{t|ts|time, v|value}], {points: ...}, {values: ...} or a Prometheus
  // matrix ({data: {result: [{values: [[t, "v"]]}]}}); t in seconds or milliseconds or ISO text.
  function toPoints(data) {
    if (data && data.data && data.data.result) {
      var result = data.data.result[0];
      data = result ? result.values : [];
    } else if (data && !Array.isArray(data)) {
      data = data.points || data.values || data.samples || [];
    }
    return data.map(function (p) {
      var t = Array.isArray(p) ? p[0] : (p.t !== undefined ? p.t : (p.ts !== undefined ? p.ts : p.time));
      var v = Array.isArray(p) ? p[1] : (p.v !== undefined ? p.v : p.value);
      if (typeof t === "string" && isNaN(Number(t))) { t = Date.parse(t); } else { t = Number(t); }
      if (t < 1e12) { t = t * 1000; }
      return [t, Number(v)];
    }).filter(function (p) { return isFinite(p[0]) && isFinite(p[1]); });
  }

  function draw(box, series) {
    var plot = box.querySelector(".chart-plot");
    if (!plot) {
      plot = document.createElement("div");
      plot.className = "chart-plot";
      plot.style.height = "260px";
      box.replaceChildren(plot);
    }
    window.SFCharts.timeLine(plot, {
      unit: "bps",
      series: series.map(function (s) { return { name: s.label, points: s.points, color: s.color }; })
    });
    series.forEach(function (s) { box.dataset[s.cls + "Points"] = String(s.points.length); });
    var empty = box.querySelector("p.muted");
    var none = !series.some(function (s) { return s.points.length; });
    if (none && !empty) {
      empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = box.dataset.empty;
      box.appendChild(empty);
    } else if (!none && empty) {
      empty.remove();
    }
  }

  function load(box) {
    var requests = SERIES.map(function (s) {
      var url = box.dataset.historyUrl + "?metric=" + s.metric + "&range=1h";
      return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (data) {
          return { cls: s.cls, color: s.color, label: box.dataset[s.cls + "Label"], points: toPoints(data) };
        });
    });
    return Promise.all(requests).then(function (series) { draw(box, series); }).catch(function () {
      if (!box.querySelector(".chart-plot")) { box.textContent = box.dataset.error; }
    });
  }

  document.querySelectorAll(".chart[data-history-url]").forEach(function (box) {
    load(box);
    window.setInterval(function () { load(box); }, REFRESH_MS);
  });
})();
