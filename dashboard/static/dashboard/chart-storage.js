// Bytes per tier over time, stacked (raw at the bottom, then hourly, daily, archive), from the
// daily storage metrics (one measurement: one stacked bar); and the reduction so far from
// the newest of them.
window.Status.panel(["storage-chart", "storage-summary", "reduction"], function (S, el, summary, reduction) {
  "use strict";
  var TIERS = [["raw", "raw_size_bytes"], ["hourly", "hourly_size_bytes"],
               ["daily", "daily_size_bytes"], ["archive", "archive_size_bytes"]];
  var DAY = 86400;
  var DAYS = [1, 2, 3, 7, 14, 30, 90, 180, 365, 730, 1825].map(function (n) { return n * DAY; });
  S.api("/retention/metrics", { days: 365 }, { site: false }).then(function (res) {
    if (!res.ok) { summary.textContent = reduction.textContent = S.problem(res); return; }
    var points = res.body.points;
    if (!points.length) {
      summary.textContent = "No storage history yet: the periodic task \"Record storage metrics\" writes one point a day (08:15 UTC).";
      reduction.textContent = "Reduction so far: not measured yet.";
      return;
    }
    var x = points.map(function (p) { return Date.parse(p.time) / 1000; });
    var below = points.map(function () { return 0; });
    // The legend dates a point by the UTC day it measures, as the axis does.
    var data = [x], series = [{ label: "Day", value: function (u, v) {
      return v == null ? "--" : S.date(v * 1000);
    } }];
    var bands = [];
    // Room between the day ticks for their labels; more while the first is of another year
    // than this one, whose labels carry the year (S.date: "Wed, Dec 31, 2025").
    function space(u, i, min) { return new Date(min * 1000).getUTCFullYear() !== new Date().getUTCFullYear() ? 120 : 80; }
    TIERS.forEach(function (tier, i) {
      // A size not measured that day (null: InfluxDB's sizes could not be read, or the tier's
      // database does not exist) is a gap in its band and in every band stacked on it, never
      // a tier of 0 bytes.
      var stacked = points.map(function (p, j) {
        var size = p[tier[1]];
        below[j] = below[j] === null || size === null || size === undefined ? null : below[j] + size;
        return below[j];
      });
      data.push(stacked);
      series.push({ label: tier[0], stroke: S.color(tier[0]), fill: S.color(tier[0]) + "66", width: 1,
                    value: function (u, v, si, idx) { return idx == null ? "--" : S.bytes(points[idx][tier[1]]); } });
      if (i > 0) bands.push({ series: [i + 1, i], fill: S.color(tier[0]) + "66" });
    });
    // The days measured, labelled by date; one day (a fresh install) with a day either side.
    var opts = { series: series, bands: bands, tzDate: S.clockOf("UTC"),
                 scales: { x: { time: true, range: S.timeRange(DAY, DAY) },
                           y: { range: function (u, min, max) { return [0, max * 1.05 || 1024]; } } },
                 axes: [{ stroke: S.color("fg"), grid: { stroke: S.color("line") }, space: space, incrs: DAYS,
                          values: function (u, ticks) { return ticks.map(function (t) { return S.date(t * 1000); }); } },
                        { stroke: S.color("fg"), grid: { stroke: S.color("line") }, size: 90,
                          values: function (u, ticks) { return ticks.map(S.bytes); } }] };
    // With bands, the upper series' own fill would cover the ones below: fill only the first.
    series.forEach(function (s, i) { if (i > 1) delete s.fill; });
    // One measurement (a fresh install's first) has no band to fill: its four points at one
    // day, the archive's drawn last over the others, read as all archive. It is one bar
    // stacked of the tiers, each from the one below it up to its own top, in its colour.
    if (points.length === 1) {
      opts.bands = [];
      series.forEach(function (s, i) {
        if (!i) return;
        var from = i > 1 ? data[i - 1][0] : 0;
        Object.assign(s, { fill: S.color(TIERS[i - 1][0]), width: 0, points: { show: false },
                           fillTo: function () { return from; },
                           paths: uPlot.paths.bars({ size: [0.4, 120] }) });
      });
    }
    S.chart("storage", el, opts, data);
    var last = points[points.length - 1];
    summary.textContent = S.count(points.length, "daily measurement") + "; on " + S.date(last.time) + ": " +
      TIERS.map(function (t) { return t[0] + " " + S.bytes(last[t[1]]); }).join(", ") + ".";
    reduction.textContent = last.reduction_percentage === null
      ? "Reduction so far: not measured on " + S.date(last.time) + ": " + (last.unmeasured || "see /retention/stats") + "."
      : "Reduction so far: " + last.reduction_percentage.toFixed(1) + " % (" + S.bytes(last.storage_saved_bytes) +
        " saved against keeping everything raw), measured " + S.date(last.time) + ".";
  });
});
