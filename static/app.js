// A patient's page (a quote) prints itself from its button.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();

// Questionnaire: after a refused step, put focus on the error summary at the top, whose
// links lead to each field (the summary's autofocus does the same where supported).
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();

// Live dashboard. Served from our own origin; no inline script, no eval.
// - Polls for changes every 500 ms while the tab is visible, never overlapping (the poller's
//   hx-sync drops a poll while one is in flight).
// - A booking the page does not show yet, and that the server says belongs to this list, is
//   inserted at its place by start time (the list's data-order says which way it runs).
// - "New" stays on a row until the consultant has seen it: the row has been at least half
//   in view for SEEN_AFTER_MS while the tab was visible, or they clicked or focused in it.
//   A row is new for its booking, or again for a patient's answer to a quote: data-news
//   names what is new, and only that news is remembered as seen.
// - Screen readers hear one short sentence per arrival or quote answer from #announcer.
//   The tab's title counts the rows still new: "(2) Consultations · Clinic bookings".
// - "in 25 min" is kept current between polls; copy buttons put links on the clipboard; the
//   focus stays on a tab the consultant switched to.
// - A poll re-sends every row changed in the last seconds: a row the page already shows at
//   the same version (data-version) stays as it is, with what an action said on it.
// - An action on a booking answers its row, also when Cal.com refused it (X-Booking-Row):
//   it is swapped in whatever its status; any other failure says so on the row.
(function () {
  "use strict";
  var POLL_INTERVAL_MS = 500;
  var SEEN_AFTER_MS = 3000;
  var SOON_MS = 60 * 60 * 1000; // as webapp/pages/filters.py's SOON
  var SOON_REFRESH_MS = 20000;
  var baseTitle = document.title;
  var seen = {}; // row id -> the news seen on it, so an update does not make it new again
  var seenTimers = {};
  var arrivals = [];
  var answers = []; // rows New for a patient's answer to a quote, to be announced
  var heard = {}; // the answers announced already
  var tabToFocus = null;

  function poll() {
    var poller = document.getElementById("poller");
    if (poller && document.visibilityState === "visible" && window.htmx) {
      window.htmx.trigger(poller, "poll");
    }
  }

  function startOf(row) {
    var start = Date.parse(row.dataset.start || "");
    return isNaN(start) ? null : start;
  }

  // Before the first row that comes after this one in the list's order; else at the end.
  function insertInOrder(container, row) {
    var descending = container.dataset.order === "desc";
    var start = startOf(row);
    var rows = container.querySelectorAll("tr.booking");
    for (var i = 0; start !== null && i < rows.length; i++) {
      var other = startOf(rows[i]);
      if (other !== null && (descending ? other < start : other > start)) {
        container.insertBefore(row, rows[i]);
        return;
      }
    }
    container.appendChild(row);
  }

  function describe(row) {
    var name = row.querySelector("[id^='patient-link-']");
    var when = row.querySelector("time");
    return (name ? name.textContent.trim() : "a patient") + (when ? ", " + when.textContent.trim() : "");
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) {
      return;
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  function announceArrivals() {
    if (!arrivals.length && !answers.length) {
      return;
    }
    var text = "";
    if (arrivals.length) {
      text = arrivals.length === 1
        ? "New booking: " + arrivals[0] + "."
        : arrivals.length + " new bookings: " + arrivals.join("; ") + ".";
    }
    if (answers.length) {
      text += (text ? " " : "") + "Quote answered: " + answers.join("; ") + ".";
    }
    arrivals = [];
    answers = [];
    announce(text);
  }

  function updateTitle() {
    var count = document.querySelectorAll("tr.booking.is-new").length;
    document.title = count ? "(" + count + ") " + baseTitle : baseTitle;
  }

  function newsOf(row) {
    return row.dataset.news || "booking";
  }

  function markSeen(row) {
    seen[row.id] = newsOf(row);
    window.clearTimeout(seenTimers[row.id]);
    delete seenTimers[row.id];
    row.classList.remove("is-new");
    var badge = row.querySelector(".badge-new");
    if (badge) {
      badge.remove();
    }
    updateTitle();
  }

  function seenLater(id) {
    window.clearTimeout(seenTimers[id]);
    seenTimers[id] = window.setTimeout(function () {
      var row = document.getElementById(id);
      if (!row) {
        return;
      }
      if (document.visibilityState === "visible") {
        markSeen(row);
      } else {
        seenLater(id); // not looked at yet: the tab is in the background
      }
    }, SEEN_AFTER_MS);
  }

  var viewport = "IntersectionObserver" in window
    ? new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        var id = entry.target.id;
        if (entry.isIntersecting && entry.target.classList.contains("is-new")) {
          seenLater(id);
        } else if (!entry.isIntersecting && document.getElementById(id) === entry.target) {
          window.clearTimeout(seenTimers[id]);
          delete seenTimers[id];
        }
      });
    }, { threshold: 0.5 })
    : null;

  // After rows arrived or changed: rows seen already stay seen, new ones are watched.
  function refreshNew() {
    document.querySelectorAll("tr.booking.is-new").forEach(function (row) {
      var news = newsOf(row);
      if (seen[row.id] === news) {
        markSeen(row);
        return;
      }
      if (viewport) {
        viewport.observe(row);
      }
      if (news.indexOf("answer-") === 0 && !heard[news]) {
        heard[news] = true;
        answers.push(describe(row));
      }
    });
    updateTitle();
  }

  function updateSoon() {
    var now = Date.now();
    document.querySelectorAll("tr.booking [data-soon]").forEach(function (label) {
      var start = startOf(label.closest("tr"));
      var text = "";
      if (start !== null && start - now >= 0 && start - now < SOON_MS) {
        var minutes = Math.floor((start - now) / 60000);
        text = minutes ? "in " + minutes + " min" : "now";
      }
      if (label.textContent !== text) {
        label.textContent = text;
      }
    });
  }

  // A changed row arrives as an out-of-band swap; when the page has no such row yet and the
  // server says it belongs here, put it at its place: in the list, or in its patient's
  // group of a search (a patient a search did not show yet waits for the next search).
  document.addEventListener("htmx:oobErrorNoTarget", function (event) {
    var row = event.detail.content;
    if (!row || row.tagName !== "TR" || row.dataset.belongs !== "true") {
      return;
    }
    var container = document.getElementById("consultation-rows") ||
      document.getElementById("patient-group-" + row.dataset.patient);
    if (!container) {
      return;
    }
    row.removeAttribute("hx-swap-oob");
    var empty = document.getElementById("empty-state");
    if (empty) {
      empty.remove();
    }
    insertInOrder(container, row);
    window.htmx.process(row);
    if (row.classList.contains("is-new")) {
      arrivals.push(describe(row));
    }
  });

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var current = event.detail.target;
    var incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (current && incoming && current.tagName === "TR" && current.dataset.version &&
        current.dataset.version === incoming.dataset.version) {
      event.detail.shouldSwap = false;
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    window.setTimeout(refreshNew, 0);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.id === "poller") {
      window.setTimeout(function () {
        refreshNew();
        updateSoon();
        announceArrivals();
      }, 0);
    }
  });

  // A booking's row answered by an action carries X-Booking-Row: swap it in, also a refusal.
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.getResponseHeader("X-Booking-Row")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A button back to its own words once its action is no longer under way.
  function idle(button) {
    button.textContent = button.dataset.idle;
    button.removeAttribute("aria-busy");
  }

  // An action that got no row back (no connection, an expired page) says so on its row.
  function actionFailed(event, text) {
    var form = event.detail.elt;
    var actions = form && form.closest && form.closest("[data-booking-actions]");
    if (!actions) {
      return;
    }
    var message = actions.querySelector(".row-message") || document.createElement("p");
    message.className = "row-message problem";
    message.setAttribute("role", "alert");
    message.textContent = text;
    actions.appendChild(message);
    form.querySelectorAll("[data-idle]").forEach(idle);
  }
  document.addEventListener("htmx:responseError", function (event) {
    actionFailed(event, "That did not work (HTTP " + event.detail.xhr.status +
      "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function (event) {
    actionFailed(event, "The app did not answer. Check the connection and try again.");
  });

  // While an action runs its button says so ("Confirming…"); a plain form is sent once.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    if (!form.closest || !form.closest("[data-booking-actions]")) {
      return;
    }
    if (!form.hasAttribute("hx-post")) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "true";
    }
    if (button && button.dataset.busy) {
      button.dataset.idle = button.textContent;
      button.textContent = button.dataset.busy;
      button.setAttribute("aria-busy", "true");
    }
  });

  // A page the browser brings back from its cache (Back) is as it was before it was sent.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) {
      return;
    }
    document.querySelectorAll("[data-booking-actions] form[data-sent]").forEach(function (form) {
      delete form.dataset.sent;
    });
    document.querySelectorAll("[data-booking-actions] [data-idle]").forEach(idle);
  });

  // Clicking or tabbing into a new row is seeing it.
  function seenByInteraction(event) {
    var row = event.target.closest && event.target.closest("tr.booking.is-new");
    if (row) {
      markSeen(row);
    }
  }
  document.addEventListener("click", seenByInteraction);
  document.addEventListener("focusin", seenByInteraction);

  // One click copies a link (the questionnaire's, an invite's); without a clipboard the
  // link still opens.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-copy]");
    if (!link || !navigator.clipboard || !window.isSecureContext) {
      return;
    }
    event.preventDefault();
    navigator.clipboard.writeText(link.href).then(function () {
      var label = link.textContent;
      link.textContent = "Copied";
      announce(link.dataset.copied || "Questionnaire link copied.");
      window.setTimeout(function () { link.textContent = label; }, 2000);
    }, function () {
      window.open(link.href, "_blank", "noopener");
    });
  });

  // Switching tabs swaps the tab bar too; keep the focus on the tab chosen, and keep the
  // search form's tab in step with the list shown.
  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("#tabs a[data-tab]");
    if (tab) {
      tabToFocus = tab.dataset.tab;
      var search = document.getElementById("search");
      if (search) {
        search.value = ""; // a tab leaves the search, which covers every tab
      }
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    var results = document.getElementById("results");
    var form = document.querySelector("form.search input[name=tab]");
    if (results && form && results.dataset.tab) {
      form.value = results.dataset.tab;
    }
    if (tabToFocus) {
      var tab = document.querySelector("#tabs a[data-tab='" + tabToFocus + "']");
      tabToFocus = null;
      if (tab) {
        tab.focus();
      }
    }
    refreshNew();
    updateSoon();
  });

  document.addEventListener("visibilitychange", poll);
  window.setInterval(poll, POLL_INTERVAL_MS);
  window.setInterval(updateSoon, SOON_REFRESH_MS);
  document.addEventListener("DOMContentLoaded", function () {
    refreshNew();
    updateSoon();
  });
})();
