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

  document.addEventListener("DOMContentLoaded", function () {
    setUpCookieNotice();
    localizeTimes();
  });
})();
