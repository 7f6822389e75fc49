// Kindred: the header's notification count, kept current over the live connection. No dependencies.
(function () {
  "use strict";

  // Adds `count` to the unread badge of the header's Notifications link (creating it if needed).
  window.kindredNotified = function (count) {
    var link = document.querySelector(".notifications-link");
    if (!link || !count) return;
    var unread = (parseInt(link.getAttribute("data-unread") || "0", 10) || 0) + count;
    link.setAttribute("data-unread", String(unread));
    var badge = link.querySelector(".notification-count");
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge notification-count";
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    badge.textContent = unread >= 100 ? "99+" : String(unread);
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + (link.getAttribute("data-label-unread") || "");
    badge.appendChild(hidden);
  };

  // Pages without a live script of their own open a small socket just for notifications.
  function watchNotifications() {
    if (document.body.getAttribute("data-member") !== "1") return;
    if (document.getElementById("live-room") || document.getElementById("thread-posts")) return;
    if (document.querySelector("[data-room-list][data-counts='1']")) return; // rooms.js's socket brings them
    var attempt = 0;
    function connect() {
      var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
      ws.onopen = function () { attempt = 0; ws.send(JSON.stringify({ type: "watch", topic: "member:me" })); };
      ws.onmessage = function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (e) { return; }
        if (frame.type === "notify") window.kindredNotified(frame.count);
      };
      ws.onclose = function (event) {
        if (event.code === 1008 || event.code === 4001) return;
        attempt += 1;
        setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, attempt)) * (0.5 + Math.random()));
      };
    }
    connect();
  }

  document.addEventListener("DOMContentLoaded", watchNotifications);
})();
