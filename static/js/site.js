// Kindred site script: no dependencies, no build step. Progressive enhancement only.
(function () {
  "use strict";

  // The cookie notice is remembered in localStorage, so dismissing it sets no cookie.
  function setUpCookieNotice() {
    var notice = document.getElementById("cookie-notice");
    var button = document.getElementById("cookie-notice-dismiss");
    if (!notice || !button) return;
    var dismissed = false;
    try { dismissed = window.localStorage.getItem("kindred-cookie-notice") === "dismissed"; } catch (e) { /* private mode */ }
    if (!dismissed) notice.hidden = false;
    button.addEventListener("click", function () {
      notice.hidden = true;
      try { window.localStorage.setItem("kindred-cookie-notice", "dismissed"); } catch (e) { /* private mode */ }
    });
  }

  // <time datetime="..."> elements are rewritten into the reader's own time zone.
  function localizeTimes() {
    var nodes = document.querySelectorAll("time[data-local]");
    for (var i = 0; i < nodes.length; i++) {
      var value = nodes[i].getAttribute("datetime");
      var date = value ? new Date(value) : null;
      if (date && !isNaN(date.getTime())) {
        nodes[i].textContent = date.toLocaleString(document.documentElement.lang || undefined,
          { dateStyle: "medium", timeStyle: "short" });
      }
    }
  }

  // The live rooms' offline outboxes (live.js) hold unsent words under "kindred-outbox:<account>:<room>".
  // A shared tablet must never keep one member's words for the next: they are cleared on logout,
  // and on any page that shows someone else signed in (or nobody), all but that account's are.
  function clearOutboxes(keep) {
    try {
      var storage = window.localStorage;
      for (var i = storage.length - 1; i >= 0; i--) {
        var key = storage.key(i);
        if (key && key.indexOf("kindred-outbox:") === 0 && (!keep || key.indexOf(keep) !== 0)) storage.removeItem(key);
      }
    } catch (e) { /* private mode: nothing was stored */ }
  }

  function guardOutboxes() {
    var member = document.body.getAttribute("data-member-id") || "";
    clearOutboxes(member ? "kindred-outbox:" + member + ":" : "");
    var forms = document.querySelectorAll("form[action='/logout']");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function () { clearOutboxes(""); });
    }
  }

  // The phone header: one line with a Menu button that opens the links below it (a disclosure
  // button, so Enter and Space work; Escape closes it and gives focus back to the button).
  function setUpMenu() {
    var header = document.querySelector(".site-header");
    var button = document.getElementById("menu-toggle");
    if (!header || !button) return;
    function setOpen(open) {
      header.classList.toggle("menu-open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.hidden = false;
    header.classList.add("has-menu");
    button.addEventListener("click", function () { setOpen(button.getAttribute("aria-expanded") !== "true"); });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        button.focus();
      }
    });
  }

  setUpMenu();
  guardOutboxes(); // before live.js reads its outbox (scripts run in order, both deferred)

  // A moment (ms) as a sentence's "until …": in the page's language and the reader's time zone (their setting,
  // as the server writes it; zone: an IANA name, or empty for the browser's own). Used by live.js and
  // conversation.js for a mute's end.
  window.kindredFormatMoment = function (ms, zone) {
    var options = { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
    var lang = document.documentElement.lang || undefined;
    try {
      return new Date(ms).toLocaleString(lang, zone ? Object.assign({ timeZone: zone }, options) : options);
    } catch (e) { // a time zone this browser does not know
      return new Date(ms).toLocaleString(lang, options);
    }
  };

  document.addEventListener("DOMContentLoaded", function () {
    setUpCookieNotice();
    localizeTimes();
  });
})();
