// Station Fleet console: live presence badges and latest values by polling small JSON endpoints.
(function () {
  "use strict";
  var POLL_MS = 3000;
  var labels = JSON.parse((document.getElementById("i18n") || {}).textContent || "{}");

  function setBadge(deviceId, online) {
    var state = online ? "online" : "offline";
    document.querySelectorAll('[data-testid="status-' + deviceId + '"]').forEach(function (el) {
      if (el.dataset.state === state) { return; }
      el.dataset.state = state;
      el.className = "badge " + state;
      el.textContent = labels[state] || state;
    });
  }

  function fmtTime(iso) {
    if (!iso) { return "–"; }
    var d = new Date(iso);
    var local = new Date(d.getTime() + 8 * 3600 * 1000); // Beijing time, like the server-rendered cells
    return local.toISOString().slice(0, 19).replace("T", " ");
  }

  function setLastSeen(deviceId, iso) {
    var el = document.querySelector('[data-testid="last-seen-' + deviceId + '"]');
    if (el) { el.textContent = fmtTime(iso); }
  }

  function fmtBps(v) {
    if (v === null || v === undefined) { return "–"; }
    var units = [["Gbit/s", 1e9], ["Mbit/s", 1e6], ["kbit/s", 1e3]];
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(v) >= units[i][1]) { return (v / units[i][1]).toFixed(1) + " " + units[i][0]; }
    }
    return Math.round(v) + " bit/s";
  }

  function fmtDuration(s) {
    if (s === null || s === undefined) { return "–"; }
    var m = Math.floor(s / 60), d = Math.floor(m / 1440), h = Math.floor(m / 60) % 24;
    if (d) { return d + "d " + h + "h"; }
    return h ? h + "h " + (m % 60) + "m" : (m % 60) + "m";
  }

  var FORMATS = {
    cpu_pct: function (v) { return v === null ? "–" : v.toFixed(1) + " %"; },
    mem_pct: function (v) { return v === null ? "–" : v.toFixed(1) + " %"; },
    disk_pct: function (v) { return v === null ? "–" : v.toFixed(1) + " %"; },
    uptime_s: fmtDuration,
    temp_c: function (v) { return v === null ? "–" : v.toFixed(1) + " °C"; },
    rx_bps: fmtBps,
    tx_bps: fmtBps
  };

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.href = "/console/login"; throw new Error("logged out"); }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }

  function pollList(table) {
    var ids = Array.prototype.map.call(table.querySelectorAll("tr[data-device-id]"), function (tr) {
      return tr.dataset.deviceId;
    });
    var url = table.dataset.statusUrl + (table.dataset.statusUrl.indexOf("?") < 0 ? "?" : "&") +
      "ids=" + encodeURIComponent(ids.join(","));
    return getJson(url).then(function (data) {
      Object.keys(data.devices).forEach(function (id) {
        setBadge(id, data.devices[id].online);
        setLastSeen(id, data.devices[id].last_seen_at);
      });
      document.getElementById("count-online").textContent = data.counts.online;
      document.getElementById("count-offline").textContent = data.counts.offline;
    });
  }

  function pollStation(table) {
    return getJson(table.dataset.liveUrl).then(function (data) {
      Object.keys(data).forEach(function (id) {
        setBadge(id, data[id].online);
        setLastSeen(id, data[id].last_seen_at);
        var row = table.querySelector('tr[data-device-id="' + id + '"]');
        if (!row) { return; }
        row.querySelectorAll("td[data-metric]").forEach(function (td) {
          var value = data[id].latest[td.dataset.metric];
          td.textContent = FORMATS[td.dataset.metric](value === undefined ? null : value);
        });
      });
    });
  }

  function every(fn, target) {
    function tick() {
      fn(target).catch(function () { /* keep polling; the next tick retries */ })
        .then(function () { window.setTimeout(tick, POLL_MS); });
    }
    window.setTimeout(tick, POLL_MS);
  }

  document.addEventListener("submit", function (ev) {
    var msg = ev.target.dataset && ev.target.dataset.confirm;
    if (msg && !window.confirm(msg)) { ev.preventDefault(); }
  });

  var list = document.getElementById("device-list");
  if (list) { every(pollList, list); }
  var station = document.getElementById("station-devices");
  if (station) { every(pollStation, station); }
})();
