// "Processes": is the beat ticking, which workers are alive and consume each queue, and which
// periodic tasks the beat leaves out (enrich's own disabled in the admin too), with the reasons
// (/api/processes/). The times in the beat's and workers' details ("last at …") are written as
// the page writes times.
(function () {
  "use strict";
  var S = window.Status;
  S.api("/api/processes/", null, { site: false }).then(function (res) {
    var tbody = document.querySelector("#processes-table tbody");
    var list = document.getElementById("skipped-schedules");
    list.textContent = "";
    function item(text, cls) {
      var li = document.createElement("li");
      li.textContent = text;
      if (cls) li.className = cls;
      list.appendChild(li);
    }
    if (!res.ok) { S.fill(tbody, [], S.problem(res), 4); item(S.problem(res), "problem"); return; }
    var p = res.body, rows = [];
    function state(ok, good, bad) { return ok ? [good, "good"] : [bad, "problem"]; }
    if (p.beat) {
      rows.push(["Beat" + (p.beat.host ? " (" + p.beat.host + ")" : ""), state(p.beat.ok, "ticking", "stopped"),
                 p.beat.last_tick ? S.age(p.beat.age_seconds) + " ago" : "never",
                 [S.timesIn(p.beat.detail), "message"]]);
    }
    (p.workers || []).forEach(function (w) {
      rows.push(["Worker " + w.node + " (queues " + w.queues.join(", ") + ")", state(w.ok, "alive", "gone"),
                 S.age(w.age_seconds) + " ago", [S.timesIn(w.detail), "message"]]);
    });
    (p.queues || []).forEach(function (q) {
      rows.push(["Queue " + q.name, state(q.ok, "served", "not served"), "—",  // no sign of life of its own
                 [q.ok ? "by " + q.workers.join(", ") : q.detail, "message"]]);
    });
    S.fill(tbody, rows, p.detail, 4);  // no rows: Redis, where they are kept, does not answer
    if (p.detail) tbody.rows[0].cells[0].className = "problem message";
    if (!p.skipped_schedules.length && !p.disabled_schedules.length) {
      item("None: the beat loads every enabled periodic task.");
    }
    p.skipped_schedules.forEach(function (s) { item(s.task + ": " + s.reason, "problem"); });
    // enrich's own entries disabled in the admin: a choice, not a fault, but their work waits
    p.disabled_schedules.forEach(function (s) { item(s.task + ": " + s.reason); });
  });
})();
