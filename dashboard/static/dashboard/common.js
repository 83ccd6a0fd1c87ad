// Shared by the status page's scripts: the REST calls (session cookie), formatting, and
// uPlot options that follow the page's light/dark colours.
(function () {
  "use strict";
  var root = document.getElementById("status");
  var site = root ? root.dataset.site : "";
  // Requests in flight; when the last one has been rendered, <html data-loaded> says after
  // how many ms since navigation start (the browser test waits for it, bench.status_page
  // reports it). Not before every script has run (DOMContentLoaded follows the deferred
  // scripts): the first panel's answer may come while a later script is still loading, and
  // the page would have said it was loaded before that panel had asked anything.
  var pending = 0;
  var started = false;
  function check() {
    if (started && pending === 0) {
      document.documentElement.dataset.loaded = String(Math.round(performance.now()));
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    started = true;
    setTimeout(check, 0); // after the other scripts' DOMContentLoaded handlers
  });
  function settled() {
    pending -= 1;
    check();
  }
  // How long a call may take before its panel says it did not answer (a hung InfluxDB query
  // behind the API, a proxy holding the connection); a test may set window.StatusConfig first.
  var config = Object.assign({ timeoutMs: 30000 }, window.StatusConfig || {});
  var signedOut = false;  // a call was refused for want of a session: ask nothing more
  function sessionEnded() {
    var res = { ok: false, status: 401, body: { detail: "Not loaded: you are no longer logged in (see above)." } };
    if (signedOut) return res;
    signedOut = true;
    var next = encodeURIComponent(location.pathname + location.search).replace(/%2F/g, "/");
    var note = document.createElement("p");
    note.id = "session-ended";
    note.className = "problem";
    note.setAttribute("role", "alert");
    note.append("Your session has ended (it expired, or you logged out in another tab): ");
    var link = document.createElement("a");
    link.href = "/login/?next=" + next;
    link.textContent = "log in again";
    note.append(link, " to see the status.");
    root.parentNode.insertBefore(note, root);
    return res;
  }
  // An answer's JSON, or what the panel says instead: not JSON (a proxy's HTML error page), or
  // refused for want of a session (401: the API's first authentication, the token's, asks
  // for credentials; a 403 is a refusal to a logged-in user and says why).
  function answered(path, r, text) {
    var body;
    try { body = JSON.parse(text); } catch (e) { body = undefined; }
    if (body === undefined || body === null || typeof body !== "object") {
      return { ok: false, status: r.status, body: { detail: path + " answered HTTP " + r.status +
        (r.statusText ? " " + r.statusText : "") + ", not JSON (an error page, e.g. of a proxy in front of enrich)." } };
    }
    if (r.status === 401) return sessionEnded();
    return { ok: r.ok, status: r.status, body: body };
  }
  // GET `path` with `query`, and the page's site (`site`), but with `options.site` false: the
  // endpoints not about one site (processes, retention) take no `site` and refuse one.
  function api(path, query, options) {
    if (signedOut) return Promise.resolve(sessionEnded());
    pending += 1;
    var params = new URLSearchParams(query || {});
    if (site && (options || {}).site !== false) params.set("site", site);
    var url = path + (path.indexOf("?") === -1 ? "?" : "&") + params.toString();
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, config.timeoutMs);
    var answer = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" },
                              signal: controller.signal })
      .then(function (r) {
        return r.text().then(function (text) { return answered(path, r, text); });
      })
      .catch(function (err) {
        var detail = controller.signal.aborted
          ? path + " did not answer within " + Math.round(config.timeoutMs / 1000) + " s; reload the page to ask again."
          : path + " could not be asked: " + String(err);
        return { ok: false, status: 0, body: { detail: detail } };
      })
      .finally(function () { clearTimeout(timer); });
    // After the caller's handlers (they may start the next request first).
    answer.then(function () { setTimeout(settled, 0); });
    return answer;
  }
  function problem(res) {
    var b = res.body || {};
    return b.detail || b.site || JSON.stringify(b);
  }
  // "1 measured value", "2 measured values" (`plural` where not just an added "s").
  function count(n, one, plural) {
    return n + " " + (n === 1 ? one : plural || one + "s");
  }
  // A value as the page shows one: at most 4 decimals, no trailing zeros (123.4568, 0.075).
  function num(v) {
    return +v.toFixed(4);
  }
  function age(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    if (seconds < 120) return Math.round(seconds) + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    if (seconds < 172800) return (seconds / 3600).toFixed(1) + " h";
    return (seconds / 86400).toFixed(1) + " d";
  }
  function bytes(n) {
    if (n === null || n === undefined) return "—";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return n.toFixed(i ? 1 : 0) + " " + units[i];
  }
  // Times are shown on the home's clock (the site's time zone), whatever the browser's is; one
  // the clock reads twice (the hour repeated when clocks go back) says its zone: "02:15 GMT+1".
  // A zone this browser does not know: its own clock, every time with its zone.
  var zone = root && root.dataset.timezone ? root.dataset.timezone : undefined;
  try { new Intl.DateTimeFormat([], { timeZone: zone }); } catch (e) { zone = undefined; }
  var always = root && root.dataset.timezone && zone === undefined;
  if (always) {
    document.getElementById("zone").textContent = "This browser does not know the home's time zone (" +
      root.dataset.timezone + "): times are this browser's, each with its zone.";
  }
  var clock = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric",
    month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  function offset(ms) {  // minutes the home's clock is ahead of UTC at `ms`
    var p = {};
    clock.formatToParts(new Date(ms)).forEach(function (part) { p[part.type] = +part.value; });
    var whole = Math.floor(ms / 1000) * 1000;
    return Math.round((Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - whole) / 60000);
  }
  // The other moment the home's clock shows the same at, or null.
  function twin(ms) {
    var own = offset(ms), around = [offset(ms - 6 * 3600000), offset(ms + 6 * 3600000)];
    for (var i = 0; i < around.length; i++) {
      var other = ms + (own - around[i]) * 60000;
      if (around[i] !== own && offset(other) === around[i]) return other;
    }
    return null;
  }
  function zoneName(ms, style) {
    var parts = new Intl.DateTimeFormat([], { timeZone: zone, timeZoneName: style }).formatToParts(new Date(ms));
    return parts.filter(function (p) { return p.type === "timeZoneName"; })[0].value;
  }
  // The zone said with the time at `ms`: "" unless the clock shows that time twice (or the
  // home's zone is unknown here); "CET"/"CEST" where the language has names for both, else the
  // offsets.
  function zoneSaid(ms) {
    var other = twin(ms);
    if (other === null && !always) return "";
    var name = zoneName(ms, "short");
    return other !== null && name === zoneName(other, "short") ? zoneName(ms, "shortOffset") : name;
  }
  function shown(iso, options) {
    var ms = Date.parse(iso);
    var text = new Date(ms).toLocaleString([], Object.assign({ timeZone: zone }, options));
    var said = zoneSaid(ms);
    return said ? text + " " + said : text;
  }
  function time(iso) {
    return shown(iso, { weekday: "short", hour: "2-digit", minute: "2-digit" });
  }
  // A moment as `time` writes it, with its date when it lies 6 days or more from `now` (ms, the
  // moment an API answered for), where the weekday alone would read as this week's ("Fri
  // 04:00 AM" of a value 8 days old).
  function near(iso, now) {
    return Math.abs(Date.parse(iso) - now) < 6 * 86400000 ? time(iso) : day(iso);
  }
  // From `start` to `end` (ISO times; `joiner` default " to "; with `now`, the times as near's):
  // the end without its weekday when the home's clock shows both on the same day ("Sat 10:00 AM
  // to 11:00 AM"), with it when not ("Sat 11:00 PM to Sun 01:00 AM").
  var calendar = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
  function span(start, end, joiner, now) {
    var sameDay = calendar.format(new Date(start)) === calendar.format(new Date(end));
    var at = now === undefined ? time : function (iso) { return near(iso, now); };
    return at(start) + (joiner || " to ") + (sameDay ? shown(end, { hour: "2-digit", minute: "2-digit" }) : at(end));
  }
  // A message of the API with its ISO times ("now (2026-12-05T07:40:12.123456+00:00)") written
  // as the page writes times, with the date 6 days or more from now (as near's: a last run 8
  // days back read as this week's).
  var ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:\d\d)/g;
  function timesIn(text) {
    var now = Date.now();
    return String(text).replace(ISO_TIME, function (iso) { return near(iso, now); });
  }
  // With the date: for lists that span more than a week (a month holds four of each weekday)
  // and for moments that may lie days back (a last run or measurement when beat stopped); with
  // the year when the home's clock is in another year there (a last run of a year ago).
  function day(iso) {
    var other = calendar.format(new Date(iso)).slice(0, 4) !== calendar.format(new Date()).slice(0, 4);
    return shown(iso, { weekday: "short", day: "numeric", month: "short", year: other ? "numeric" : undefined,
                        hour: "2-digit", minute: "2-digit" });
  }
  // A daily storage measurement: stamped at the start of the UTC day it measures, shown as
  // that day (not as the evening before west of UTC), with its year when that is not this
  // one: a year of measurements spans two ("Sun 7 Dec" to "Mon 7 Dec").
  function date(iso) {
    var at = new Date(iso), other = at.getUTCFullYear() !== new Date().getUTCFullYear();
    return at.toLocaleDateString([], { timeZone: "UTC", weekday: "short", day: "numeric", month: "short",
                                       year: other ? "numeric" : undefined });
  }
  // uPlot's axes and legend on the home's clock (or `tz`'s).
  function clockOf(tz) {
    return function (seconds) { return uPlot.tzDate(new Date(seconds * 1000), tz || zone || "UTC"); };
  }
  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue("--" + name).trim();
  }
  // A cell labelled with its column's heading: in a box narrower than it needs (a phone) a table
  // of class "stack" shows each row as lines "Heading  value" (dashboard.css), not scrolling sideways.
  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    var column = 0;
    Array.prototype.forEach.call(row.cells, function (c) { column += c.colSpan; });
    var head = row.closest("table").tHead;
    var th = head && head.rows[0].cells[column];
    if (th) td.dataset.label = th.textContent;
    row.appendChild(td);
    return td;
  }
  function fill(tbody, rows, empty, columns) {
    tbody.textContent = "";
    if (!rows.length) {
      var tr = tbody.insertRow();
      var td = cell(tr, empty, "message");
      td.colSpan = columns;
      delete td.dataset.label;  // the whole row's: no one column's
    }
    rows.forEach(function (values) {
      var tr = tbody.insertRow();
      values.forEach(function (v) {
        if (Array.isArray(v)) cell(tr, v[0], v[1]); else cell(tr, v);
      });
    });
  }
  // Where a time axis' ticks go: on whole hours (minutes) of the home's clock, `incr` apart on
  // it (the hour repeated when clocks go back only with hourly ticks); ticks a day or more
  // apart at the days' starts: midnight, or where the clock skips it (01:00 in Santiago on 7
  // September 2025), the moment it jumps. uPlot places them by a Date of the browser's zone
  // made to show the home's clock, which is off by an hour around the browser's own DST change
  // (a Berlin home in New York on 8 March: 02:00, 05:00, 07:00).
  function timeSplits(u, axisIdx, min, max, incr) {
    var step = incr % 900 === 0 ? 900 : incr % 300 === 0 ? 300 : 60;  // zones are 15 min apart
    var day = 86400, splits = [];
    function rest(a, b) { return ((a % b) + b) % b; }
    function wallAt(t) { return t + offset(t * 1000) * 60; }  // the home's clock, in s since 1970
    var t = Math.ceil(min / step) * step, before = wallAt(t - step);
    for (; t <= max; t += step) {
      var wall = wallAt(t), date = Math.floor(wall / day);
      var starts = date !== Math.floor(before / day);  // the home's day begins at t
      before = wall;
      var due = incr < day ? rest(wall, incr) === 0 : starts && rest(date, incr / day) === 0;
      if (due && (!splits.length || t - splits[splits.length - 1] >= 0.7 * incr)) splits.push(t);
    }
    return splits;
  }
  // A time axis' labels as the page writes times, not uPlot's US-style "12am" and "10/25/26":
  // the hour on the home's clock; under the first and wherever the day changes, the date; under
  // a time the clock shows twice (the hour repeated when clocks go back), its zone. Ticks a day
  // or more apart: their dates.
  function timeTicks(u, splits, axisIdx, space, incr) {
    var before = null;
    return splits.map(function (seconds) {
      var at = new Date(seconds * 1000);
      var date = at.toLocaleDateString([], { timeZone: zone, weekday: "short", day: "numeric", month: "short" });
      if (incr >= 86400) return date;
      var under = [date === before ? "" : date, zoneSaid(+at)].filter(Boolean).join(", ");
      before = date;
      var hour = at.toLocaleTimeString([], { timeZone: zone, hour: "2-digit", minute: "2-digit" });
      return under ? hour + "\n" + under : hour;
    });
  }
  // Time, and the values in `unit` (named on the axis, as the API gives it).
  function axes(unit) {
    var stroke = color("fg"), grid = color("line");
    return [
      { stroke: stroke, grid: { stroke: grid }, space: 70, splits: timeSplits, values: timeTicks },
      { stroke: stroke, grid: { stroke: grid }, label: unit },
    ];
  }
  // The time axis' range: uPlot widens a single moment to 1000 days (an axis of years), so
  // moments less than `least` seconds apart (default: one moment) get `pad` seconds either side.
  function timeRange(pad, least) {
    return function (u, min, max) {
      var x = u.data[0], first = x[0], last = x[x.length - 1];
      return last - first < (least || 1) ? [first - pad, last + pad] : [min, max];
    };
  }
  // A legend's value, but "—" (as the Now table shows a missing value) where a series has no
  // value at the cursor, not uPlot's ""; with no cursor uPlot's "--".
  function orDash(u, v, si, i) { return i == null ? "--" : v == null ? "—" : uPlot.fmtNum(v); }
  // A legend's time (epoch seconds) as the page writes times: on the home's clock, the
  // repeated hour saying which; not uPlot's own "2026-10-25 2:00am" for both.
  function legendTime(u, seconds) {
    return seconds == null ? "--" : time(new Date(seconds * 1000).toISOString());
  }
  // The spacing (seconds) most neighbouring moments of `x` (ascending) have, the smaller of
  // equally common ones: a series' resolution; null with fewer than two moments.
  function usualStep(x) {
    var counts = {}, best = null;
    for (var i = 1; i < x.length; i++) counts[x[i] - x[i - 1]] = (counts[x[i] - x[i - 1]] || 0) + 1;
    Object.keys(counts).forEach(function (d) {
      if (best === null || counts[d] > counts[best] || (counts[d] === counts[best] && +d < +best)) best = d;
    });
    return best === null ? null : +best;
  }
  // The width a chart in `el` is drawn at: its box's, inside the box's padding, at most 1100 px
  // (not at least 320 px: on a phone 360 px wide the box has less, and it scrolled sideways).
  function chartWidth(el) {
    var box = el.parentElement, style = getComputedStyle(box);
    var inside = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return Math.max(200, Math.min(Math.floor(inside), 1100));
  }
  // A chart's box that changes width (the window resized, a phone turned, the page's scroll
  // bar appearing once the page has grown): each chart redrawn to its box's new width.
  var boxes = window.ResizeObserver ? new ResizeObserver(function () {
    var charts = window.Status.charts;
    Object.keys(charts).forEach(function (name) {
      var u = charts[name], width = chartWidth(u.root.parentElement);
      if (width !== u.width) u.setSize({ width: width, height: u.height });
    });
  }) : null;
  // Draws (or redraws) a chart and notes its series and points on the element for tests
  // and assistive summaries. A lone moment gets an hour either side unless the chart says;
  // `unit` names the value axis (a chart with its own axes names its unit there).
  function chart(name, el, opts, data, unit) {
    var charts = window.Status.charts;
    if (charts[name]) charts[name].destroy();
    opts.width = chartWidth(el);
    if (boxes) boxes.observe(el.parentElement);
    opts.height = opts.height || 260;
    // Room right of the plot for half the last time label ("Sun, Dec 6", "08:00 AM"), which a
    // tick at the plot's right edge centres there; uPlot's own leaves ~17 px and cuts it off.
    opts.padding = [null, 40, null, null];
    opts.axes = opts.axes || axes(unit);
    // A dashed series' legend marker dashed too (uPlot draws every marker solid).
    opts.legend = opts.legend || { markers: { dash: function (u, i) { return u.series[i].dash ? "dashed" : "solid"; } } };
    opts.scales = opts.scales || {};
    opts.scales.x = opts.scales.x || { time: true, range: timeRange(3600) };
    if (zone && !opts.tzDate) opts.tzDate = clockOf();
    el.textContent = "";
    charts[name] = new uPlot(opts, data, el);
    el.dataset.series = String(data.length - 1);
    el.dataset.points = String(data[0].length);
    el.dataset.rendered = "true";
    return charts[name];
  }
  // Runs a panel's script with Status and the panel's elements, by id, in the order given:
  // panel(["price-chart", "price-summary"], function (S, el, summary) { ... }).
  function panel(ids, run) {
    var elements = ids.map(function (id) { return document.getElementById(id); });
    run.apply(null, [window.Status].concat(elements));
  }
  window.Status = { api: api, problem: problem, count: count, num: num, age: age, bytes: bytes,
                    time: time, near: near, span: span, timesIn: timesIn, day: day, date: date,
                    clockOf: clockOf, usualStep: usualStep, orDash: orDash, legendTime: legendTime,
                    color: color, cell: cell, fill: fill, timeRange: timeRange, chart: chart,
                    panel: panel, charts: {} };
})();
