// Kindred: the header's notification count, kept current over the live connection. No dependencies.
(function () {
  "use strict";

  // Moves a count badge inside `link` by `count` (negative: read elsewhere), from its data attribute.
  function moveBadge(link, attribute, className, count) {
    var total = Math.max(0, (parseInt(link.getAttribute(attribute) || "0", 10) || 0) + count);
    link.setAttribute(attribute, String(total));
    var badge = link.querySelector("." + className);
    if (!total) {
      if (badge) badge.parentNode.removeChild(badge);
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge " + className;
      link.appendChild(document.createTextNode(" "));
      link.appendChild(badge);
    }
    badge.textContent = total >= 100 ? "99+" : String(total);
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = " " + (link.getAttribute(attribute === "data-unread" ? "data-label-unread" : "data-label-waiting") || "");
    badge.appendChild(hidden);
  }

  // Adds `count` (negative when notifications were read for this member: an item a leader dealt with) to the
  // header's unread badge, and, when the change is about a community's review queue (`review`, its slug), to
  // that queue's badge on the page.
  window.kindredNotified = function (count, review) {
    if (!count) return;
    var link = document.querySelector(".notifications-link");
    if (link) moveBadge(link, "data-unread", "notification-count", count);
    if (!review) return;
    var queues = document.querySelectorAll(".review-link");
    for (var i = 0; i < queues.length; i++) {
      if (queues[i].getAttribute("data-community") === review) moveBadge(queues[i], "data-waiting", "review-count", count);
    }
  };

  // Pages without a live script of their own watch notifications on the page's socket (static/js/socket.js,
  // which connects only once a script listens).
  function watchNotifications() {
    if (document.body.getAttribute("data-member") !== "1") return;
    if (document.getElementById("live-room") || document.getElementById("thread-posts")) return;
    if (document.querySelector("[data-room-list][data-counts='1']")) return; // rooms.js's socket brings them
    var live = window.kindredSocket;
    if (!live) return;
    live.listen({
      open: function () { live.watch("member:me"); },
      frame: function (frame) { if (frame.type === "notify") window.kindredNotified(frame.count, frame.review); },
    });
  }

  document.addEventListener("DOMContentLoaded", watchNotifications);
})();
