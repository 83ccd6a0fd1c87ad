// The joint price + CO2 plan: each flexible load of the site (/api/plan/loads) or, when none is
// configured, the duration chosen for the cheapest window (/api/plan). Per plan: its window(s),
// averages, what it saves against running now and the cheapest-only and greenest-only windows,
// where carbon was carried forward or absent, or why no plan is possible. The chosen plan is
// drawn on the price chart (chart-prices.js, S.showPlan).
window.Status.panel(["plan-loads", "plan-summary", "plan-shown", "window-hours"], function (S, box, summary, chooser, hours) {
  "use strict";
  var plans = [];  // [{label, plan}] in the chooser's order
  var byDuration = false;  // no loads configured: the plan follows the window duration
  // The server's clock minus this browser's (ms), from /api/plan/loads' `now`: the plan by
  // duration is due 48 h after the server's now (a browser's clock days behind asked for a
  // deadline already past, and got "No plan possible").
  var skew = 0;
  var none = document.getElementById("status").dataset.noPricing;  // why the site has no prices

  // With `digits`: fixed (money 2, gCO2 0); without: a price per kWh as the page shows values
  // (at most 4 decimals, no trailing zeros: 0.25, not 0.2500).
  function num(v, digits) {
    return v === null || v === undefined ? "—" : digits === undefined ? String(S.num(v)) : v.toFixed(digits);
  }
  function span(w) { return S.span(w.start, w.end); }
  // The plan lists its windows; a compared split window gives only its first start, last end
  // and how many windows it uses.
  function when(p) {
    if (p.windows) return p.windows.map(span).join(", then ");
    return span(p) + (p.windows_used > 1 ? " (in " + p.windows_used + " windows)" : "");
  }
  function hoursText(h) { return +h.toFixed(2) + " h"; }
  // "saves 0.0123 EUR/kWh" / "pays 0.0123 EUR/kWh more" (`digits` as num's); null: not known;
  // "the same" when it shows as 0.
  function versus(v, digits, unit, less, more) {
    if (v === null || v === undefined) return "not known";
    var shown = num(Math.abs(v), digits);
    if (+shown === 0) return "the same";
    return (v > 0 ? less : more).replace("X", shown + " " + unit);
  }
  function priceVs(p, row) {
    var text = versus(row.price_saving, undefined, p.unit, "saves X", "pays X more");
    if (text !== "the same" && row.cost_saving !== undefined && row.cost_saving !== null) {
      text += " (" + versus(row.cost_saving, 2, p.currency, "X less", "X more") + " for " + num(p.kwh, 1) + " kWh)";
    }
    return text;
  }
  function carbonVs(p, row) {
    if (!p.carbon.known) return "no carbon data";
    var text = versus(row.carbon_saving, 0, p.carbon_unit, "emits X less", "emits X more");
    if (text !== "the same" && row.emissions_saving_kg !== undefined && row.emissions_saving_kg !== null) {
      text += " (" + versus(row.emissions_saving_kg, 2, "kg CO2", "X less", "X more") + ")";
    }
    return text;
  }
  function carbonCell(p, row) {
    if (row.average_carbon === null) return "—";
    var text = num(row.average_carbon, 0) + " " + p.carbon_unit;
    if (row.carbon_last_known_hours > 0) text += " (" + hoursText(row.carbon_last_known_hours) + " carried forward)";
    return text;
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function carbonNote(p) {
    var c = p.carbon;
    if (!c.known) return [c.message || "No carbon data: planned by price only.", "status-budget carbon-absent"];
    var text = "Carbon: " + c.provider + " (" + c.region + ")" +
      (c.forecast_until ? ", forecast until " + S.time(c.forecast_until) : ", no forecast stored") +
      "; CO2 priced at " + p.carbon_price + " " + p.carbon_price_unit + ".";
    // the carbon data starts after now: the message says what that left unplanned
    if (c.known_from && c.message) text += " " + S.timesIn(c.message);
    if (p.carbon_last_known_hours > 0) {
      return [text + " " + hoursText(p.carbon_last_known_hours) + " of the plan have no forecast: " +
        "the last known value is carried forward there.", "status-budget carbon-carried"];
    }
    return [text, "note"];
  }
  // A comparison as the sentence's verb: "saves X" reads as it is, "the same" needs its verb.
  function said(text, verb) { return text === "the same" ? verb + " the same" : text; }
  function sentence(label, p) {
    var c = p.compared, text = label + ": run " + when(p) + ", average " + num(p.average_price) + " " +
      p.unit + (p.carbon.known ? " and " + num(p.average_carbon, 0) + " " + p.carbon_unit : ", by price only") + ".";
    [["running now", c.running_now], ["the cheapest-only window", c.cheapest], ["the greenest-only window", c.greenest]]
      .forEach(function (pair) {
        if (pair[1]) text += " Against " + pair[0] + " it " + said(priceVs(p, pair[1]), "costs") +
          (p.carbon.known ? " and " + said(carbonVs(p, pair[1]), "emits") : "") + ".";
      });
    return text;
  }
  function table(label, p) {
    var t = el("table", null, "plan-table stack");
    t.appendChild(el("caption", label + ": the plan against the other windows", "sr-only"));
    var head = t.createTHead().insertRow();
    ["Window", "When", "Average price", "Average carbon", "The plan's price against it", "The plan's carbon against it"]
      .forEach(function (h) { var th = el("th", h); th.scope = "col"; head.appendChild(th); });
    var body = t.createTBody();
    [["Plan", p], ["Running now", p.compared.running_now], ["Cheapest only", p.compared.cheapest],
     ["Greenest only", p.compared.greenest]].forEach(function (pair, i) {
      var row = body.insertRow(), w = pair[1];
      row.dataset.window = ["plan", "running_now", "cheapest", "greenest"][i];
      var th = el("th", pair[0]); th.scope = "row"; row.appendChild(th);
      if (!w) { S.cell(row, "not known from the stored prices").colSpan = 5; return; }
      S.cell(row, when(w), "when");
      S.cell(row, num(w.average_price) + " " + p.unit);
      S.cell(row, carbonCell(p, w));
      S.cell(row, i ? priceVs(p, w) : "—");
      S.cell(row, i ? carbonVs(p, w) : "—");
    });
    return t;
  }
  function card(label, title, answer, reason, known) {
    var article = el("article", null, "plan");
    article.dataset.load = label;
    article.appendChild(el("h4", title));
    if (!answer) {
      reason = S.timesIn(reason);  // the API's UTC times as the page writes times
      article.dataset.plan = "none";
      article.appendChild(el("p", "No plan possible: " + reason, "problem plan-reason"));
      if (known) {
        article.appendChild(el("p", "Stored: prices until " + (known.prices_until ? S.time(known.prices_until) : "—") +
          ", carbon forecast until " + (known.carbon_forecast_until ? S.time(known.carbon_forecast_until) : "—") +
          (known.carbon_known_from ? ", carbon known only from " + S.time(known.carbon_known_from) : "") + ".", "note"));
      }
      return { article: article, text: label + ": no plan possible. " + reason };
    }
    article.dataset.start = answer.start;
    article.dataset.end = answer.end;
    article.dataset.windows = String(answer.windows.length);
    var split = answer.windows.length > 1 ? " (" + answer.windows.length + " windows)" : "";
    article.appendChild(el("p", "Recommended: " + when(answer) + split, "plan-window"));
    var note = carbonNote(answer);
    article.appendChild(el("p", note[0], note[1] + " plan-carbon"));
    article.appendChild(el("div", null, "table-scroll")).appendChild(table(label, answer));
    plans.push({ label: label, plan: answer });
    return { article: article, text: sentence(label, answer) };
  }
  function render(cards, intro) {
    box.textContent = "";
    chooser.textContent = "";
    cards.forEach(function (c) { box.appendChild(c.article); });
    plans.forEach(function (p, i) { chooser.appendChild(new Option(p.label, String(i))); });
    chooser.disabled = !plans.length;
    if (!plans.length) chooser.appendChild(new Option("no plan", ""));
    summary.textContent = intro + " " + cards.map(function (c) { return c.text; }).join(" ");
    showChosen();
  }
  function showChosen() {
    var p = plans[+chooser.value];
    S.showPlan(p ? p.label : null, p ? p.plan.windows : null);
  }
  function fromLoads(res) {
    plans = [];
    if (!res.ok) { render([], "No plan: " + S.problem(res)); return; }
    skew = Date.parse(res.body.now) - Date.now();
    if (!res.body.loads.length) { byDuration = true; return askDuration(); }
    render(res.body.loads.map(function (load) {
      var title = load.name + " · " + hoursText(load.hours) + (load.contiguous ? "" : ", may be interrupted") +
        " · done by " + S.time(load.before) + (load.kw ? " · " + load.kw + " kW" : "");
      return card(load.name, title, load.plan, load.message, load.known);
    }), S.count(res.body.loads.length, "flexible load") + " of the site.");
  }
  function askDuration() {
    var asked = hours.value;
    var before = new Date(Date.now() + skew + 48 * 3600 * 1000).toISOString();
    // A site with no price provider (the server says why): nothing to ask, the API's 409.
    var asking = none ? Promise.resolve({ ok: false, status: 409, body: { detail: none } })
      : S.api("/api/plan", { hours: asked, before: before });
    return asking.then(function (res) {
      if (asked !== hours.value) return;  // a newer choice is on its way
      plans = [];
      var label = asked + " h load";
      var title = "A " + asked + " h load (no flexible loads are configured: Admin → Collectors → Flexible loads)";
      var reason = res.ok ? null : S.problem(res);
      render([card(label, title, res.ok ? res.body : null, reason, res.ok ? null : res.body.known)],
             "No flexible loads are configured; planned for the cheapest window's duration.");
    });
  }
  chooser.addEventListener("change", showChosen);
  hours.addEventListener("change", function () { if (byDuration) askDuration(); });
  S.api("/api/plan/loads").then(fromLoads);
});
