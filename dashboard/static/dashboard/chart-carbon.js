// Grid carbon intensity: what was stored over the last 24 h, and the stored forecast ahead.
window.Status.panel(["carbon-chart", "carbon-summary"], function (S, el, summary) {
  "use strict";
  // A site with no carbon provider (the server says why): nothing to ask, the API's 409.
  var none = document.getElementById("status").dataset.noCarbon;
  if (none) { summary.textContent = none; return; }
  S.api("/api/carbon/series", { hours: 24 }).then(function (res) {
    if (!res.ok) { summary.textContent = S.problem(res); return; }
    var b = res.body;
    if (!b.actual.length && !b.forecast.length) {
      // Not "yet": values older than that may be stored (the Now table shows the latest).
      // Why: what the last collection did (a failure with its error), times as the page's.
      var why = b.reason ? " " + S.timesIn(b.reason.charAt(0).toUpperCase() + b.reason.slice(1)) : "";
      summary.textContent = "No carbon intensity is stored for " + b.provider + " from 24 h ago on." + why;
      return;
    }
    // One row per moment (epoch seconds): [measured, forecast], null where a series has none.
    var rows = {}, missing = [];
    [b.actual, b.forecast].forEach(function (points, k) {
      var x = points.map(function (p) { return Date.parse(p.time) / 1000; });
      var step = S.usualStep(x);
      points.forEach(function (p, i) {
        (rows[x[i]] = rows[x[i]] || [null, null])[k] = p.value;
        // Values of a series further apart than 1.5 times its usual spacing have none between
        // them (the collector failed, InfluxDB was down): a moment without values there makes
        // it a gap in the line (uPlot draws none across a null), not a line through the hours
        // not measured.
        if (i && x[i] - x[i - 1] > 1.5 * step) {
          var mid = (x[i - 1] + x[i]) / 2;
          rows[mid] = rows[mid] || [null, null];
          missing.push((k ? " No forecast between " : " No measured value between ") +
                       S.span(points[i - 1].time, p.time, " and ") + ".");
        }
      });
    });
    var moments = b.actual.concat(b.forecast).map(function (p) { return p.time; });
    var x = Object.keys(rows).map(Number).sort(function (a, c) { return a - c; });
    var data = [x, x.map(function (t) { return rows[t][0]; }), x.map(function (t) { return rows[t][1]; })];
    S.chart("carbon", el, {
      series: [
        { label: "Time", value: S.legendTime },
        { label: "Measured (" + b.unit + ")", stroke: S.color("carbon"), width: 2, value: S.orDash,
          points: lonePoints(S.color("carbon")) },
        { label: "Forecast (" + b.unit + ")", stroke: S.color("forecast"), width: 2, dash: [6, 4],
          value: S.orDash, points: lonePoints(S.color("forecast")) },
      ],
    }, data, b.unit);
    el.dataset.points = String(new Set(moments).size);  // the values' moments, not the gaps'
    var last = b.actual.length ? b.actual[b.actual.length - 1] : null;
    summary.textContent = b.provider + " (" + b.region + "): " + S.count(b.actual.length, "measured value") +
      " over 24 h" + (last ? ", latest " + S.num(last.value) + " " + b.unit + " at " + S.time(last.time) : "") +
      "; " + S.count(b.forecast.length, "forecast value") + " ahead." + missing.join("");
  });

  // A value with no neighbour in its series (a first collection's one measured value, or one
  // between two gaps) is a line of no length, drawn as nothing: it gets a dot of its colour.
  // Where uPlot shows every point itself (few of them), it still does.
  function lonePoints(colour) {
    return { fill: colour, size: 7, filter: function (u, si, show) {
      if (show) return null;
      var y = u.data[si], lone = [];
      for (var i = 0; i < y.length; i++) {
        if (y[i] != null && y[i - 1] == null && y[i + 1] == null) lone.push(i);
      }
      return lone.length ? lone : null;
    } };
  }
});
