// Live lesson page: polls live.json, refreshes the station table and the per-station rebuffering chart.
(function () {
  var root = document.getElementById("lesson");
  if (!root) { return; }
  var url = root.dataset.url;
  var every = parseInt(root.dataset.pollMs, 10) || 5000;
  var labels = JSON.parse(root.dataset.labels || "{}");

  function text(v) { return v === null || v === undefined ? "" : String(v); }

  function draw(v) {
    var el = document.getElementById("lesson-chart");
    if (!el || !window.SFCharts) { return; }
    var watching = v.stations.filter(function (s) { return s.watching; });
    window.SFCharts.bars(el, {
      unit: "ratio", horizontal: true,
      categories: watching.map(function (s) { return s.station; }),
      series: [{ name: labels.rebuffer || "rebuffer", values: watching.map(function (s) { return s.rebuffer_ratio || 0; }) }]
    });
  }

  function fill(v) {
    document.querySelector('[data-testid="lesson-watching"]').textContent = v.watching;
    document.querySelector('[data-testid="lesson-targets"]').textContent = v.targets;
    document.querySelector('[data-testid="lesson-updated"]').textContent = v.generated_at;
    v.stations.forEach(function (s) {
      var row = document.querySelector('[data-testid="lesson-station-' + s.station + '"]');
      if (!row) { return; }
      row.dataset.watching = s.watching ? "1" : "0";
      ["startup_s", "rebuffer_ratio", "bitrate_bps", "latency_s"].forEach(function (f) {
        var cell = row.querySelector('[data-field="' + f + '"]');
        if (cell) { cell.textContent = text(s[f]); }
      });
    });
    regions(v.regions);
    draw(v);
  }

  function regions(list) {
    var body = document.querySelector('[data-testid="lesson-regions-body"]');
    if (!body) { return; }
    body.textContent = "";
    list.forEach(function (r) {
      var tr = document.createElement("tr");
      [r.region, r.watching + "/" + r.stations, (100 * (r.worst_rebuffer || 0)).toFixed(1) + " %",
       r.mean_startup_s === null || r.mean_startup_s === undefined ? "" : r.mean_startup_s.toFixed(2)].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = v;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (v) { if (v) { fill(v); } })
      .catch(function () { /* next poll */ })
      .then(function () { setTimeout(poll, every); });
  }
  poll();
})();
