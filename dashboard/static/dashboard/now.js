// "Now": each source's current value, the time it is of, when it was fetched, stale or fresh,
// OAuth state, runs and budget.
(function () {
  "use strict";
  var S = window.Status;
  var HEADLINE = {
    carbon_intensity: [["carbon_intensity_gco2_kwh", " gCO2/kWh"], ["moer_percentile", " (MOER percentile)"]],
    electricity_pricing: [["current_price", ""]],
    air_quality: [["aqi", " AQI"]],
    occupancy: [["currently_home", ""]],
    smart_meter: [["total_power_w", " W"]],
  };
  var INSTEAD = {failed: true, budget: true, no_data: true};  // runs that wrote nothing new
  function headline(source, value) {
    if (!value) return "—";
    var fields = HEADLINE[source] || [];
    for (var i = 0; i < fields.length; i++) {
      var v = value[fields[i][0]];
      if (v !== undefined && v !== null) {
        var unit = fields[i][1] || (value.currency ? " " + value.currency + "/kWh" : "");
        if (typeof v === "boolean") return (v ? "home" : "away");
        return (typeof v === "number" ? S.num(v) : v) + unit;
      }
    }
    return "—";
  }
  function budget(b) {
    if (!b) return "no limit";
    if (b.error) return b.spec + ": " + b.error;
    return b.used + " of " + b.limit + " (" + b.spec + ")";
  }
  // The time the value is of, on the home's clock, and how old it is at `now` (the moment the
  // API answered for): a slot's value (a price, a carbon forecast slot) "Sat 06:00 AM to
  // 07:00 AM, running now" or "…, ended 40 min ago" (the end's weekday only when it is another
  // day's); another value (a measurement, an hourly observation) "Sat 03:00 AM, 3.0 h ago"
  // (with the date 6 days or more back: "Fri, Nov 27, 04:00 AM, 8.0 d ago").
  // Not the fetch's age: a value fetched 19 s ago can be of a slot that began 40 min ago, or an
  // observation hours old.
  function valueTime(p, now) {
    if (!p.time) return "—";
    var start = Date.parse(p.time);
    var minutes = p.value && typeof p.value.slot_minutes === "number" ? p.value.slot_minutes : null;
    if (minutes === null) return S.near(p.time, now) + ", " + S.age(Math.max(0, now - start) / 1000) + " ago";
    var end = start + minutes * 60000;
    var text = S.span(p.time, new Date(end).toISOString(), null, now);
    if (now < start) return text + ", starts in " + S.age((start - now) / 1000);
    return text + (now < end ? ", running now" : ", ended " + S.age((now - end) / 1000) + " ago");
  }
  function fetched(p) {
    return p.age_seconds === null || p.age_seconds === undefined ? "—" : S.age(p.age_seconds) + " ago";
  }
  function render(res) {
    var tbody = document.querySelector("#now-table tbody");
    if (!res.ok) { S.fill(tbody, [], S.problem(res), 9); return; }
    tbody.textContent = "";
    var now = Date.parse(res.body.now);
    Object.keys(res.body.sources).forEach(function (source) {
      var entry = res.body.sources[source];
      var name = source.replace(/_/g, " ");
      if (!entry.configured) {
        var tr = tbody.insertRow();
        S.cell(tr, name);
        S.cell(tr, "none").colSpan = 1;
        S.cell(tr, entry.message, "message").colSpan = 7;
        return;
      }
      entry.providers.forEach(function (p) {
        var tr = tbody.insertRow();
        tr.dataset.source = source;
        tr.dataset.provider = p.provider;
        S.cell(tr, name);
        var who = S.cell(tr, p.provider);
        if (p.connection) {
          var state = document.createElement("div");
          state.className = "status-" + p.connection.status;
          state.textContent = p.connection.status_label;  // as the admin and setup page say it
          who.appendChild(state);
          var link = document.createElement("a");
          link.href = "/oauth/google/";
          link.textContent = p.connection.status === "connected" ? "manage" : "reconnect";
          who.appendChild(link);
        }
        // The reason with its times as the page writes times: "no stored price slot covers now
        // (Sat 11:16 AM)", not "(2026-12-05T11:16:25+01:00)".
        var message = p.message ? S.timesIn(p.message) : "";
        var value = S.cell(tr, p.value ? headline(source, p.value) : (message || "—"),
                           message ? "value message" : "value");
        if (p.value && message) {  // an older value shown, and why (e.g. prices not readable)
          var why = document.createElement("div");
          why.className = "note";
          why.textContent = message;
          value.appendChild(why);
        }
        S.cell(tr, valueTime(p, now), "value-time");
        S.cell(tr, fetched(p), "fetched");
        // No value at all is not a stale one (the price's entry says `stale: true` beside
        // `value: null` when no answer was ever fetched; the other sources leave `stale` out).
        var known = p.value != null && p.stale != null;
        var stale = known && p.stale === true;
        S.cell(tr, known ? (stale ? "stale" : "fresh") : "no value", "state " + (stale ? "stale" : known ? "fresh" : ""));
        var run = p.last_run;
        // The status in words, as the admin lists runs ("API had no data", not "no_data"); a
        // run that fetched nothing new says what it served instead: the last good answer, or
        // nothing when there was none (it said "failed, last good served" also then). The error
        // as a person reads it, without its class (it said "TransientError: ..."), as the setup
        // page says it.
        var instead = run && INSTEAD[run.status] && run.served ? " · served instead: " + S.timesIn(run.served) : "";
        S.cell(tr, run ? run.status_label + " · " + S.day(run.started) + instead + (run.message ? " · " + run.message : "") : "never",
               (run ? "status-" + run.status : "") + (run && run.message ? " message" : ""));
        S.cell(tr, p.runs_today ? String(p.runs_today.total) : "—");
        S.cell(tr, budget(p.budget));
      });
    });
  }
  S.api("/api/enrichment/current").then(render);
})();
