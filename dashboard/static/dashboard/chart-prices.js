// Prices for the known horizon as slots, the cheapest window for the chosen duration drawn
// as a second series over the slots it uses, the plan chosen in the Plan panel as a third
// (plan.js hands it over with S.showPlan). Each series is a step chart: a slot's price holds from
// its start to its end, the last slot's too, and time between slots with no price is a gap.
window.Status.panel(["price-chart", "price-summary", "window-hours"], function (S, el, summary, hours) {
  "use strict";
  var slots = null;
  var lastWindow = null;
  var noWindow = null;  // why the cheapest window could not be asked (kept when the plan redraws)
  var plan = null;  // {label, windows} of the plan drawn

  function overlaps(slot, w) {
    return Date.parse(slot.end) > Date.parse(w.start) && Date.parse(slot.start) < Date.parse(w.end);
  }
  function draw(prices, win) {
    lastWindow = win;
    var y = prices.slots.map(function (s) { return s.price; });
    var inWindow = [];
    var cheap = prices.slots.map(function (s, i) {
      var hit = win && overlaps(s, win);
      if (hit) inWindow.push(i);
      return hit ? s.price : null;
    });
    var planned = [];
    var inPlan = prices.slots.map(function (s, i) {
      var hit = plan && plan.windows.some(function (w) { return overlaps(s, w); });
      if (hit) planned.push(i);
      return hit ? s.price : null;
    });
    var step = uPlot.paths.stepped({ align: 1 });
    var n = prices.slots.length;
    var slot = (Date.parse(prices.slots[0].end) - Date.parse(prices.slots[0].start)) / 1000;
    var starts = prices.slots.map(function (s) { return Date.parse(s.start) / 1000; });
    var ends = prices.slots.map(function (s) { return Date.parse(s.end) / 1000; });
    // The points drawn: each slot's start; where the next slot starts after this one's end (no
    // price stored between them), that end without a value, so the step ends there and the
    // time to the next slot is a gap (uPlot draws none across a null); after the last slot its
    // end repeating its value (else uPlot would end the line at the last slot's start, drawing
    // that slot without width). `of`: the slot of each point (null for a gap's).
    var x = [], of = [], first = [], gaps = [];
    prices.slots.forEach(function (s, i) {
      first.push(x.length);
      x.push(starts[i]); of.push(i);
      if (i === n - 1 || starts[i + 1] > ends[i]) {
        x.push(ends[i]); of.push(i === n - 1 ? i : null);
        if (i < n - 1) gaps.push(S.span(s.end, prices.slots[i + 1].start));
      }
    });
    function drawn(values) { return of.map(function (k) { return k === null ? null : values[k]; }); }
    // The point of the slot holding moment `at` (seconds), its end included for the last slot;
    // null before the first, after the last or in a gap between slots.
    function slotAt(at) {
      for (var i = n - 1; i >= 0; i--) {
        if (starts[i] <= at) return at < ends[i] || (i === n - 1 && at === ends[i]) ? first[i] : null;
      }
      return null;
    }
    S.chart("prices", el, {
      // uPlot's cursor picks the nearest point, in a step chart the next slot's start over the
      // second half of a slot: legend and points follow the slot drawn under the cursor instead.
      cursor: { dataIdx: function (u, si, nearest, at) { return slotAt(at); } },
      // One slot: a slot either side. Prices all 0: uPlot's 0..100 would read as 100 EUR/kWh.
      scales: { x: { time: true, range: S.timeRange(slot, slot + 1) },
                y: { range: function (u, min, max) {
                  return min === 0 && max === 0 ? [-0.1, 0.1] : uPlot.rangeNum(min, max, 0.1, true);
                } } },
      series: [
        // The legend names the slot under the cursor; the closing point is the last slot's.
        { label: "Slot", value: function (u, v, si, i) {
          if (i == null || of[i] === null) return null;
          var s = prices.slots[of[i]];
          return S.span(s.start, s.end);
        } },
        { label: "Price (" + prices.unit + ")", stroke: S.color("price"), paths: step, width: 2 },
        { label: "Cheapest " + hours.value + " h", stroke: S.color("cheap"), fill: S.color("cheap") + "55",
          paths: step, width: 3, spanGaps: false, value: S.orDash },
        { label: "Plan" + (plan ? ": " + plan.label : " (none)"), stroke: S.color("plan"),
          fill: S.color("plan") + "44", paths: step, width: 3, dash: [8, 4], spanGaps: false, value: S.orDash },
      ],
    }, [x, drawn(y), drawn(cheap), drawn(inPlan)], prices.unit);
    el.dataset.points = String(prices.slots.length);  // the slots, not the closing point
    el.dataset.highlight = inWindow.join(",");
    el.dataset.planHighlight = planned.join(",");
    // The prices' range, or the one price when all are the same (one slot: not "0.1 to 0.1").
    var low = S.num(Math.min.apply(null, y)), high = S.num(Math.max.apply(null, y));
    var range = low !== high ? low + " to " + high : (n > 1 ? "all " : "") + low;
    var text = S.count(n, "price slot") + " from " + S.span(prices.slots[0].start, prices.known_until) + ", " + range + " " + prices.unit + ".";
    if (gaps.length) text += " No price from " + gaps.join(", nor from ") + ".";
    if (!win && noWindow) text += " No cheapest window: " + S.timesIn(noWindow);
    if (win) {
      text += " Cheapest " + hours.value + " h: " + S.span(win.start, win.end) +
        ", average " + S.num(win.average_price) + " " + prices.unit + ".";
    }
    if (plan) {
      text += " Plan for " + plan.label + " (dashed): " + plan.windows.map(function (w) {
        return S.span(w.start, w.end);
      }).join(", then ") + ".";
    }
    summary.textContent = text;
  }
  S.showPlan = function (label, windows) {
    plan = windows ? { label: label, windows: windows } : null;
    if (slots) draw(slots, lastWindow);
  };

  // The window is asked for over the same stored slots (48 h ahead at most), in parallel.
  function windowFor() {
    var asked = hours.value;
    return S.api("/api/pricing/windows", { hours: asked, within: "48h" }).then(function (res) {
      return asked === hours.value ? res : null;  // null: a newer choice is on its way
    });
  }
  function show(res) {
    if (res === null || !slots) return;
    noWindow = res.ok ? null : S.problem(res);
    draw(slots, res.ok ? res.body : null);
  }

  // A site with no price provider (the server says why): nothing to ask, the API's 409.
  var none = document.getElementById("status").dataset.noPricing;
  if (none) { summary.textContent = none; return; }
  var asking = windowFor();
  S.api("/api/pricing/slots").then(function (res) {
    if (!res.ok || !res.body.slots.length) {
      summary.textContent = res.ok ? "No price slots are stored from now on." : S.timesIn(S.problem(res));
      return;
    }
    slots = res.body;
    return asking.then(show);
  });
  hours.addEventListener("change", function () { windowFor().then(show); });
});
