// Overview (landing page): polls /console/overview/data.json every few seconds and redraws the
// figures, lists and ECharts charts in place (no reload). Text goes in with textContent only.
(function () {
  "use strict";
  var root = document.getElementById("overview");
  if (!root) { return; }
  var L = JSON.parse(document.getElementById("overview-labels").textContent);
  var POLL_MS = Number(root.dataset.pollMs) || 5000;

  function q(testid) { return root.querySelector('[data-testid="' + testid + '"]'); }
  function text(testid, value) { var el = q(testid); if (el) { el.textContent = String(value); } }
  function node(tag, cls, content) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    if (content !== undefined) { el.textContent = content; }
    return el;
  }
  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString(root.dataset.lang === "zh" ? "zh-CN" : "en-GB",
      { timeZone: "Asia/Shanghai", hour12: false });
  }
  function fill(list, items, empty, build) {
    list.replaceChildren.apply(list, items.length ? items.map(build) : [node("li", "muted", empty)]);
  }

  function drawRegions(regions) {
    var top = regions.slice(0, 12).reverse();
    var el = document.getElementById("ov-regions");
    if (!window.SFCharts || !el) { return; }
    window.SFCharts.bars(el, {
      horizontal: true, labels: false, integer: true,
      categories: top.map(function (r) { return r.region || "–"; }),
      series: [
        { name: L.online, stack: "n", color: "#16a34a", values: top.map(function (r) { return r.online; }) },
        { name: L.offline, stack: "n", color: "#dc2626", values: top.map(function (r) { return r.offline; }) }
      ]
    });
  }

  function drawLessons(lessons) {
    var el = document.getElementById("ov-lessons-chart");
    if (!window.SFCharts || !el) { return; }
    var rated = (lessons || []).filter(function (l) { return l.rebuffer_ratio !== null && l.rebuffer_ratio !== undefined; });
    el.classList.toggle("ov-hidden", rated.length === 0);
    if (!rated.length) { return; }
    window.SFCharts.bars(el, {
      unit: "ratio", horizontal: true,
      categories: rated.map(function (l) { return l.title; }),
      series: [{ name: L.rebuffer, color: "#d97706", values: rated.map(function (l) { return l.rebuffer_ratio; }) }]
    });
  }

  function render(o) {
    text("ov-online", o.devices.online);
    text("ov-offline", o.devices.offline);
    text("ov-firing", o.alerts.length);
    text("ov-portal", o.portal_online);
    var updated = q("ov-updated");
    updated.textContent = localTime(o.generated_at);
    updated.dataset.iso = o.generated_at;
    fill(q("ov-regions"), o.regions, L.none, function (r) {
      var li = node("li", "", (r.region || "–") + " · " + L.online + " " + r.online + " · " + L.offline + " " + r.offline);
      li.dataset.region = r.region;
      return li;
    });
    fill(q("ov-alerts"), o.alerts, L.no_alerts, function (a) {
      var li = node("li", "sev-" + a.severity);
      li.dataset.testid = "ov-alert-" + a.alertname + "-" + (a.device || "");
      li.append(node("b", "", a.alertname), " " + (a.station || a.device || "") + " ",
        node("span", "muted", a.summary + (a.acknowledged ? " (" + L.ack + ")" : "")));
      return li;
    });
    if (o.lessons === null) {
      fill(q("ov-lessons"), [], L.lessons_missing, null);
    } else {
      fill(q("ov-lessons"), o.lessons, L.no_lessons, function (l) {
        var li = node("li");
        li.dataset.testid = "ov-lesson-" + l.id;
        var link = node("a");
        link.href = l.url || "#";
        link.append(node("b", "", l.title));
        var ratio = l.rebuffer_ratio === null || l.rebuffer_ratio === undefined ? "–" : window.SFCharts.format("ratio", l.rebuffer_ratio);
        li.append(link, " ", node("span", "badge", L[l.state] || l.state), " ",
          node("span", "muted", L.watching + " " + (l.watching === null || l.watching === undefined ? "–" : l.watching) + " · " + L.rebuffer + " " + ratio));
        return li;
      });
    }
    drawRegions(o.regions);
    drawLessons(o.lessons);
    root.dataset.polls = String(Number(root.dataset.polls || 0) + 1);
  }

  function poll() {
    fetch(root.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (o) { q("ov-stale").classList.add("ov-hidden"); render(o); })
      .catch(function () { q("ov-stale").classList.remove("ov-hidden"); })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }
  poll();
})();
