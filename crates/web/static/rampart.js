/* Rampart — small progressive enhancements. Loaded with `defer` from /static (CSP:
   script-src 'self'); every page works without it.

   Live deadline countdowns: every element with a `data-due` attribute (an RFC 3339
   instant) shows the time left, e.g. "2h 14m 05s", or, once past, the word from its
   `data-overdue-label` attribute followed by the time since, e.g. "overdue 0h 12m",
   and gets the class `is-overdue`. The server-rendered text (the due time) is kept in
   the element's title. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  // Date.parse copes with RFC 3339, but not every engine accepts more than three
  // fractional digits; trim them.
  function parseInstant(value) {
    var trimmed = String(value).trim().replace(/(\.\d{3})\d+/, "$1");
    var ms = Date.parse(trimmed);
    return isNaN(ms) ? null : ms;
  }

  function format(ms, withSeconds) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    var text = (days > 0 ? days + "d " : "") + hours + "h " + pad(minutes) + "m";
    if (withSeconds && days === 0) {
      text += " " + pad(seconds) + "s";
    }
    return text;
  }

  function update(el, now) {
    var due = parseInstant(el.getAttribute("data-due"));
    if (due === null) {
      return;
    }
    if (!el.hasAttribute("data-due-text")) {
      var original = el.textContent.trim();
      el.setAttribute("data-due-text", original);
      if (original && !el.hasAttribute("title")) {
        el.setAttribute("title", original);
      }
    }
    var left = due - now;
    var text;
    if (left >= 0) {
      text = format(left, true);
      el.classList.remove("is-overdue");
    } else {
      var label = el.getAttribute("data-overdue-label") || "";
      text = (label ? label + " " : "") + format(left, false);
      el.classList.add("is-overdue");
    }
    if (el.textContent !== text) {
      el.textContent = text;
    }
  }

  function tick() {
    var now = Date.now();
    var els = document.querySelectorAll("[data-due]");
    for (var i = 0; i < els.length; i++) {
      update(els[i], now);
    }
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
