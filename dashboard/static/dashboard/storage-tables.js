// Retention runs (ok, skipped, failed), archive objects per year, open alerts and history;
// operations, statuses and kinds in the admin's words ("raw -> hourly", not "downsample_hourly").
(function () {
  "use strict";
  var S = window.Status;
  S.api("/retention/history", { days: 30 }, { site: false }).then(function (res) {
    var tbody = document.querySelector("#runs-table tbody");
    if (!res.ok) { S.fill(tbody, [], S.problem(res), 7); return; }
    S.fill(tbody, res.body.runs.slice(0, 50).map(function (r) {
      // Settled: measured again once InfluxDB compacted; else right after the run. In the
      // bytes the page shows elsewhere (the API's MB are 10^6 bytes); storage that grew (a
      // shard InfluxDB had not compacted yet) says so, not a negative "freed".
      var freed = "";
      if (r.storage_freed_mb !== null && r.storage_freed_mb !== undefined) {
        var bytes = Math.round(r.storage_freed_mb * 1e6);
        freed = (bytes < 0 ? "grew by " + S.bytes(-bytes) : S.bytes(bytes)) +
          (r.storage_settled ? " (settled)" : " (before compaction)");
      }
      // A view's refresh names the view: the views are refreshed one after another, in rows
      // that read alike but for their counts.
      var operation = r.view ? r.operation_label + " (" + r.view + ")" : r.operation_label;
      return [S.day(r.started), operation, [r.status_label, "status-" + r.status],
              String(r.records_processed), String(r.records_deleted), freed, [r.errors || "", "message"]];
    }), "No retention runs in the last 30 days.", 7);
  });
  S.api("/retention/archive/years", null, { site: false }).then(function (res) {
    var tbody = document.querySelector("#archive-table tbody");
    if (!res.ok) { S.fill(tbody, [], S.problem(res), 4); return; }
    S.fill(tbody, res.body.years.map(function (y) {
      return [String(y.year), String(y.objects), String(y.records), S.bytes(y.bytes)];
    }), "Nothing archived yet.", 4);
  });
  S.api("/retention/alerts", { days: 30 }, { site: false }).then(function (res) {
    var list = document.getElementById("alerts-open");
    var tbody = document.querySelector("#alerts-history tbody");
    list.textContent = "";
    if (!res.ok) { list.textContent = S.problem(res); S.fill(tbody, [], S.problem(res), 4); return; }
    if (!res.body.open.length) { var li = document.createElement("li"); li.textContent = "No open alerts."; list.appendChild(li); }
    res.body.open.forEach(function (a) {
      var li = document.createElement("li");
      li.className = "problem";
      li.textContent = a.operation_label + " (" + a.kind_label + "): " + a.message;
      list.appendChild(li);
    });
    S.fill(tbody, res.body.history.map(function (a) {
      return [S.day(a.created), a.kind_label, a.operation_label, [a.message, "message"]];
    }), "No alerts in the last 30 days.", 4);
  });
})();
