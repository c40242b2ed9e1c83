// Station Fleet console: a small SVG line chart of rx/tx bit/s from the history API, refreshed.
(function () {
  "use strict";
  var REFRESH_MS = 30000;
  var H = 240, PAD = { l: 72, r: 16, t: 12, b: 28 };
  var SERIES = [{ metric: "rx_bps", cls: "rx" }, { metric: "tx_bps", cls: "tx" }];
  var SVGNS = "http://www.w3.org/2000/svg";

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

  function el(name, attrs, text) {
    var node = document.createElementNS(SVGNS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function niceMax(v) {
    if (v <= 0) { return 1000; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 4, 6, 8, 10];  // a quarter of each is a round number for the 4 grid steps
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= v) { return steps[i] * p; } }
    return 10 * p;
  }

  function fmtBps(v) {
    var units = [["Gbit/s", 1e9], ["Mbit/s", 1e6], ["kbit/s", 1e3]];
    for (var i = 0; i < units.length; i++) {
      if (v >= units[i][1]) { return +(v / units[i][1]).toFixed(1) + " " + units[i][0]; }
    }
    return Math.round(v) + " bit/s";
  }

  function hhmm(ms) {
    return new Date(ms + 8 * 3600 * 1000).toISOString().slice(11, 16); // Beijing time
  }

  function draw(box, series) {
    var W = Math.max(320, box.clientWidth || 720);  // draw at the box's width so text stays readable
    var now = Date.now(), t0 = now - 3600 * 1000;
    var max = 0;
    series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] > max) { max = p[1]; } }); });
    var top = niceMax(max);
    var x = function (t) { return PAD.l + (t - t0) / (now - t0) * (W - PAD.l - PAD.r); };
    var y = function (v) { return H - PAD.b - v / top * (H - PAD.t - PAD.b); };
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, "class": "linechart", role: "img" });
    for (var i = 0; i <= 4; i++) {
      var v = top * i / 4, gy = y(v);
      svg.appendChild(el("line", { x1: PAD.l, x2: W - PAD.r, y1: gy, y2: gy, "class": "grid" }));
      svg.appendChild(el("text", { x: PAD.l - 6, y: gy + 4, "class": "axis", "text-anchor": "end" }, fmtBps(v)));
    }
    for (var m = 0; m <= 60; m += 15) {
      var tx = t0 + m * 60000, anchor = m === 0 ? "start" : (m === 60 ? "end" : "middle");
      svg.appendChild(el("text", { x: x(tx), y: H - 8, "class": "axis", "text-anchor": anchor }, hhmm(tx)));
    }
    series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return p[0] >= t0; });
      if (!pts.length) { return; }
      var d = pts.map(function (p, k) { return (k ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1); });
      svg.appendChild(el("path", { d: d.join(" "), "class": "line " + s.cls, "data-points": pts.length }));
    });
    var legend = document.createElement("div");
    legend.className = "legend";
    series.forEach(function (s) {
      var item = document.createElement("span");
      item.className = "key " + s.cls;
      item.textContent = s.label;
      legend.appendChild(item);
    });
    box.replaceChildren(svg, legend);
    if (!series.some(function (s) { return s.points.length; })) {
      var empty = document.createElement("p");
      empty.className = "muted";
      empty.textContent = box.dataset.empty;
      box.appendChild(empty);
    }
  }

  function load(box) {
    var requests = SERIES.map(function (s) {
      var url = box.dataset.historyUrl + "?metric=" + s.metric + "&range=1h";
      return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
        .then(function (data) {
          return { cls: s.cls, label: box.dataset[s.cls + "Label"], points: toPoints(data) };
        });
    });
    return Promise.all(requests).then(function (series) { draw(box, series); }).catch(function () {
      if (!box.querySelector("svg")) { box.textContent = box.dataset.error; }
    });
  }

  document.querySelectorAll(".chart[data-history-url]").forEach(function (box) {
    load(box);
    window.setInterval(function () { load(box); }, REFRESH_MS);
  });
})();
