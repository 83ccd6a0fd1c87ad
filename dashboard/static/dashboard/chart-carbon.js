// Grid carbon intensity: what was stored over the last 24 h, and the stored forecast ahead.
window.Status.panel(["carbon-chart", "carbon-summary"], function (S, el, summary) {
  "use strict";
  S.api("/api/carbon/series", { hours: 24 }).then(function (res) {
    if (!res.ok) { summary.textContent = S.problem(res); return; }
    var b = res.body;
    if (!b.actual.length && !b.forecast.length) {
      summary.textContent = "No carbon intensity is stored for " + b.provider + " yet.";
      return;
    }
    var rows = {};
    b.actual.forEach(function (p) { rows[p.time] = [p.value, null]; });
    b.forecast.forEach(function (p) { (rows[p.time] = rows[p.time] || [null, null])[1] = p.value; });
    var times = Object.keys(rows).sort();
    // Moments further apart than 1.5 times the usual spacing have no value between them (the
    // collector failed, InfluxDB was down): a moment without values there makes it a gap in
    // the lines (uPlot draws none across a null), not a line through the hours not measured.
    var x = times.map(function (t) { return Date.parse(t) / 1000; });
    var step = S.usualStep(x);
    var data = [[], [], []], missing = [];
    times.forEach(function (t, i) {
      if (i && x[i] - x[i - 1] > 1.5 * step) {
        data[0].push((x[i - 1] + x[i]) / 2); data[1].push(null); data[2].push(null);
        missing.push(" No value between " + S.time(times[i - 1]) + " and " + S.time(t) + ".");
      }
      data[0].push(x[i]); data[1].push(rows[t][0]); data[2].push(rows[t][1]);
    });
    S.chart("carbon", el, {
      series: [
        { label: "Time", value: S.legendTime },
        { label: "Measured (" + b.unit + ")", stroke: S.color("carbon"), width: 2, value: S.orDash },
        { label: "Forecast (" + b.unit + ")", stroke: S.color("forecast"), width: 2, dash: [6, 4],
          value: S.orDash },
      ],
    }, data, b.unit);
    el.dataset.points = String(times.length);  // the values, not the gaps' moments
    var last = b.actual.length ? b.actual[b.actual.length - 1] : null;
    summary.textContent = b.provider + " (" + b.region + "): " + b.actual.length +
      " measured values over 24 h" +
      (last ? ", latest " + last.value + " " + b.unit + " at " + S.time(last.time) : "") +
      "; " + b.forecast.length + " forecast values ahead." + missing.join("");
  });
});
