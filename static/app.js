// Questionnaire: after a refused step, put focus on the error summary at the top, whose
// links lead to each field (the summary's autofocus does the same where supported).
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();

// Live dashboard: poll for changes every 2 s while the tab is visible, never overlapping
// (the poller's hx-sync drops a poll while one is in flight), and add the bookings that the
// page does not show yet. Served from our own origin; no inline script, no eval.
(function () {
  "use strict";
  var POLL_INTERVAL_MS = 2000;

  function poll() {
    var poller = document.getElementById("poller");
    if (poller && document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(poller, "poll");
    }
  }

  // A changed row arrives as an out-of-band swap; when the page has no such row yet and the
  // server says it belongs to this list, put it at the top.
  document.addEventListener("htmx:oobErrorNoTarget", function (event) {
    var row = event.detail.content;
    var rows = document.getElementById("consultation-rows");
    if (!rows || !row || row.tagName !== "TR" || row.dataset.belongs !== "true") {
      return;
    }
    row.removeAttribute("hx-swap-oob");
    var empty = document.getElementById("empty-state");
    if (empty) {
      empty.remove();
    }
    rows.insertBefore(row, rows.firstChild);
    window.htmx.process(row);
  });

  document.addEventListener("visibilitychange", poll);
  window.setInterval(poll, POLL_INTERVAL_MS);
})();
